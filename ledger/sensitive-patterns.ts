/**
 * Which params of an action are sensitive, from the stored bundle it was decided under: what
 * the recorder, notifications, the executor and the API mask (domain/sensitive-params.ts) or key
 * (domain/approval-digest.ts) by.
 */
import { ALL_PARAMS, type SensitivePatterns } from '../domain/sensitive-params';
import { sensitivePaths, UnknownActionError } from '../policy';
import { NoActivePolicyError, type PolicyStore } from './policy-store';

/**
 * The sensitive patterns of `action` in policy `version` (the active bundle when the version is
 * not known yet: an action still `evaluating`). Fails closed: an action that is not in that
 * bundle's catalog, or a version that is not stored, gets {@link ALL_PARAMS} (every top-level
 * value hidden), never "nothing is sensitive". Other failures (Postgres unreachable) are thrown.
 */
export async function sensitivePatternsFor(policies: Pick<PolicyStore, 'byVersion' | 'active'>, action: string, version: string | null | undefined): Promise<SensitivePatterns> {
  try {
    const bundle = version ? await policies.byVersion(version) : (await policies.active()).bundle;
    return sensitivePaths(bundle, action);
  } catch (err) {
    if (err instanceof UnknownActionError || err instanceof NoActivePolicyError) return ALL_PARAMS;
    throw err;
  }
}

/** The sensitive patterns of an `actions` row: of its action, under the version that decided it. */
export function sensitivePatternsOfRow(
  policies: Pick<PolicyStore, 'byVersion' | 'active'>,
  row: { action: string; policy: { version: string } | null },
): Promise<SensitivePatterns> {
  return sensitivePatternsFor(policies, row.action, row.policy?.version);
}
