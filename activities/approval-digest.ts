import { createHash } from 'node:crypto';
import { canonicalJson } from '../domain/canonical-json';

/** What an approval is bound to. */
export interface ApprovalSubject {
  action: string;
  params: unknown;
  resource: unknown;
  policyVersion: string;
}

/**
 * `sha256:<hex>` of the canonical JSON of (action, params, resource, policy version). Each
 * approval records it; the executor recomputes it and refuses to run anything else.
 */
export function approvalDigest(s: ApprovalSubject): string {
  const doc = { action: s.action, params: s.params, resource: s.resource ?? null, policyVersion: s.policyVersion };
  return 'sha256:' + createHash('sha256').update(canonicalJson(doc)).digest('hex');
}

/** The digest as an activity, for the (crypto-free) workflow. */
export function createDigestActivities() {
  return {
    async computeApprovalDigest(s: ApprovalSubject): Promise<string> {
      return approvalDigest(s);
    },
  };
}
