import type { Pool } from 'pg';
import { ActionRepository } from './action-repository';
import { loadFacts, PrincipalRepository, type PrincipalReader } from './principal-repository';
import { evaluatePolicy, UnknownActionError, type CompiledPolicyBundle } from '../policy';
import { readUsage } from './usage-store';
import { CountersignError } from '../domain/errors';
import type { PolicyOutcome } from '../domain/policy-types';

/** One group of changed decisions: same old and new outcome, same deciding rules. */
export interface BacktestChange {
  from: PolicyOutcome | 'unknown';
  to: PolicyOutcome | 'not-in-catalog';
  /** Matching rule ids under the candidate. */
  ruleIds: string[];
  count: number;
  /** Up to five action ids, newest first. */
  examples: string[];
}

/** What a candidate bundle would change. */
export interface BacktestReport {
  candidateVersion: string;
  actions: number;
  changed: number;
  unchanged: number;
  changes: BacktestChange[];
}

/**
 * Replay recorded actions (newest first, at most `limit`) against a candidate bundle and
 * group the decisions that would differ from the recorded ones by (old outcome, new outcome,
 * candidate rules). Reads Postgres; evaluates with the pure policy module; changes nothing.
 *
 * Facts (CEL `facts`) are the principals' as stored now, as the worker would read them for the
 * same proposal today; an action whose onBehalfOf human no longer delegates to its agent would
 * be denied (by no rule), and counts so.
 *
 * Usage (budgets) is counted over the recorded actions proposed before each one, with their
 * statuses as they are now (an action denied since then no longer counts).
 */
export async function backtestPolicy(pool: Pool, candidate: CompiledPolicyBundle, opts: { limit?: number } = {}): Promise<BacktestReport> {
  const limit = opts.limit ?? 10_000;
  const rows = await new ActionRepository(pool).recentDecided(limit);
  // Every principal the rows name, read once rather than twice per action.
  const ids = [...new Set(rows.flatMap((r) => (r.on_behalf_of ? [r.agent, r.on_behalf_of] : [r.agent])))];
  const known = await new PrincipalRepository(pool).findMany(ids);
  const principals: PrincipalReader = { find: async (id) => known.get(id) };
  const groups = new Map<string, BacktestChange>();
  let changed = 0;
  for (const r of rows) {
    let to: BacktestChange['to'];
    let ruleIds: string[] = [];
    try {
      const facts = await loadFacts(principals, r.agent, r.on_behalf_of);
      // Budgets: the agent's usage as it stood when the action was proposed (ledger/usage-store.ts).
      const calls = candidate.actions.get(r.action)?.usage ?? [];
      const usage = calls.length > 0 ? await readUsage(pool, calls, { agent: r.agent, action: r.action, actionId: r.id }, r.created_at) : undefined;
      const d = evaluatePolicy(candidate, {
        ...(usage ? { usage } : {}),
        action: r.action,
        params: r.params,
        resource: r.resource ?? undefined,
        context: r.context ?? {},
        agent: r.agent,
        onBehalfOf: r.on_behalf_of,
        facts,
      });
      to = d.decision;
      ruleIds = d.ruleIds;
    } catch (err) {
      if (err instanceof CountersignError && err.code === 'not-delegated') to = 'deny';
      else if (err instanceof UnknownActionError) to = 'not-in-catalog';
      else throw err;
    }
    const from = r.decision ?? 'unknown';
    if (from === to) continue;
    changed++;
    const key = `${from}\u0000${to}\u0000${ruleIds.join(',')}`;
    const g = groups.get(key) ?? { from, to, ruleIds, count: 0, examples: [] };
    g.count++;
    if (g.examples.length < 5) g.examples.push(r.id);
    groups.set(key, g);
  }
  return {
    candidateVersion: candidate.version,
    actions: rows.length,
    changed,
    unchanged: rows.length - changed,
    changes: [...groups.values()].sort((a, b) => b.count - a.count),
  };
}

/** The report as text for the CLI. */
export function formatBacktest(r: BacktestReport): string {
  const lines = [`backtest of ${r.candidateVersion.slice(0, 12)}… over ${r.actions} recorded action(s): ${r.changed} would change, ${r.unchanged} unchanged`];
  for (const c of r.changes) {
    lines.push(`  ${String(c.count).padStart(6)}  ${c.from} -> ${c.to}  rules: ${c.ruleIds.join(', ') || '(default)'}  e.g. ${c.examples.join(', ')}`);
  }
  return lines.join('\n');
}
