/**
 * Budgets and rate limits in policy (docs/controls.md, docs/policy.md "Usage"): the calls a
 * rule's CEL may make on `usage`, and the figures that answer them.
 *
 * Policy evaluation stays pure: the bundle says (found by a static scan of each rule at load
 * time, policy/cel-engine.ts) which calls it makes; the policy activity counts the agent's
 * earlier actions for exactly those calls (ledger/usage-store.ts) and passes the figures in,
 * keyed by {@link usageKey}. No I/O here.
 *
 * - `usage.count(window)`: this agent's earlier actions of the same action name;
 * - `usage.sum(path, window)`: the sum of a params path over the same actions (an action whose
 *   params lack the path, or hold no number there, counts 0; after an edit, the edited params);
 * - `usage.agent.count(window)`: this agent's earlier actions of any name.
 * Counted: actions not denied, cancelled or expired (pending ones included), proposed within
 * the window before the evaluation.
 */

/** The longest window a usage call may name: 90 days. */
export const MAX_USAGE_WINDOW_MS = 90 * 86_400_000;

/** One usage call a bundle makes, with its arguments resolved. */
export type UsageCall = (
  | { kind: 'count'; window: string; windowMs: number }
  | { kind: 'agent.count'; window: string; windowMs: number }
  | { kind: 'sum'; path: string; window: string; windowMs: number }
) & {
  /** Where the call's first argument starts in its expression (for errors with a column). */
  at?: number;
};

/** The figures for one evaluation: {@link usageKey} -> value. */
export type UsageFigures = Readonly<Record<string, number>>;

/** The key of a call's figure: `count:1h`, `agent.count:1h`, `sum:amount:24h`. */
export function usageKey(call: Pick<UsageCall, 'kind' | 'window'> & { path?: string }): string {
  return call.kind === 'sum' ? `sum:${call.path}:${call.window}` : `${call.kind}:${call.window}`;
}

/** The segments of a params path (`amount`, `order.total`). */
export function usagePathSegments(path: string): string[] {
  return path.split('.');
}

/** What a params path may look like: dot-separated keys of letters, digits, `_` and `-`. */
export const USAGE_PATH = /^[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)*$/;

/** The distinct calls of a list (by key), in first-seen order. */
export function distinctUsageCalls(calls: Iterable<UsageCall>): UsageCall[] {
  const seen = new Map<string, UsageCall>();
  for (const c of calls) if (!seen.has(usageKey(c))) seen.set(usageKey(c), c);
  return [...seen.values()];
}
