/**
 * bench:e2e rows for budgets in policy (docs/controls.md): the same allow rule with and without
 * `usage.sum("amount", "24h")`, measured in one run on one stack, with 10,000 recorded actions
 * of the budgeted action name for every agent (so each budgeted decision sums over 10,000 rows
 * under its agent's usage lock). Targets: throughput >= 0.8 x, p50 <= 1.25 x the rule without.
 */
import type { Pool } from 'pg';
import { transferAction } from '../test/fixtures/policy';
import { fmt, nowMs, percentile, round } from './stats';

/** The budgeted twin of the benchmark action. */
export const BUDGETED_ACTION = 'bench.budgeted';

/** The benchmark bundle plus the budgeted action, whose rule also reads usage. */
export function usageBenchPolicy(targetUrl: string, action: string): string {
  return `
defaults:
  decision: deny
  approval: { timeout: 1h, onTimeout: deny }
actions:
${transferAction(targetUrl, action, 'bench')}
${transferAction(targetUrl, BUDGETED_ACTION, 'bench')}
rules:
  - id: small-transfers
    action: ${action}
    when: params.amount <= 100
    decision: allow
  - id: small-transfers-within-budget
    action: ${BUDGETED_ACTION}
    when: params.amount <= 100 && usage.sum("amount", "24h") + params.amount <= 1000000000.0
    decision: allow
`;
}

export interface UsageRowsOptions {
  url: string;
  adminToken: string;
  pool: Pool;
  /** Agent tokens and their principal ids, in the same order. */
  tokens: string[];
  agentIds: string[];
  targetUrl: string;
  /** The benchmark's own action (the rule without usage). */
  action: string;
  samples: number;
  concurrency: number;
  perAgent: number;
  /** Recorded actions per agent. @default 10000 */
  recorded?: number;
  progress: (line: string) => void;
}

export interface UsageRows {
  rows: string[][];
  summary: { usageP50Ms: number | null; plainRuleP50Ms: number | null; usagePerSec: number | null; plainRulePerSec: number | null; usageThroughputRatio: number | null; usageP50Ratio: number | null; recordedPerAgent: number };
  lines: string[];
}

/** Activate the bundle with both rules, record the history, and measure both actions alike. */
export async function measureUsageRows(o: UsageRowsOptions): Promise<UsageRows> {
  const recorded = o.recorded ?? 10_000;
  const put = await fetch(`${o.url}/v1/policy`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${o.adminToken}`, 'content-type': 'application/yaml' },
    body: usageBenchPolicy(o.targetUrl, o.action),
  });
  if (put.status !== 200) throw new Error(`activating the usage bundle: HTTP ${put.status} ${await put.text()}`);

  o.progress(`usage: recording ${recorded} ${BUDGETED_ACTION} actions for each of ${o.agentIds.length} agents (last 24 h)`);
  for (const agent of o.agentIds) {
    await o.pool.query(
      `INSERT INTO actions (id, agent, request_hash, action, status, params, workflow_id, created_at, updated_at)
       SELECT 'act_' || substr(md5($1 || ':' || g), 1, 24), $1, 'bench', $2, 'succeeded',
              jsonb_build_object('amount', 1 + g % 100, 'currency', 'EUR', 'to', 'payee'), 'bench-recorded', now() - g * interval '8 seconds', now()
         FROM generate_series(1, $3::int) AS g`,
      [agent, BUDGETED_ACTION, recorded],
    );
  }
  await o.pool.query('ANALYZE actions');

  let seq = 0;
  const once = async (action: string, agent: number): Promise<number> => {
    const n = seq++;
    const sentAt = nowMs();
    const r = await fetch(`${o.url}/v1/actions?wait=30`, {
      method: 'POST',
      headers: { authorization: `Bearer ${o.tokens[agent]}`, 'content-type': 'application/json' },
      body: JSON.stringify({ action, params: { amount: 1 + (n % 100), currency: 'EUR', to: `payee-${n % 17}` }, justification: 'benchmark' }),
    });
    const body = (await r.json()) as { status?: string };
    if (r.status !== 201 || body.status !== 'succeeded') throw new Error(`${action}: HTTP ${r.status} status ${body.status} ${JSON.stringify(body).slice(0, 300)}`);
    return nowMs() - sentAt;
  };

  o.progress(`usage: ${o.samples} sequential samples per rule, interleaved`);
  for (let i = 0; i < 5; i++) {
    await once(BUDGETED_ACTION, 0);
    await once(o.action, 0);
  }
  const withUsage: number[] = [];
  const without: number[] = [];
  for (let i = 0; i < o.samples; i++) {
    withUsage.push(await once(BUDGETED_ACTION, 0));
    without.push(await once(o.action, 0));
  }
  const throughput = async (action: string) => {
    const lat: number[] = [];
    const start = nowMs();
    await Promise.all(
      Array.from({ length: o.concurrency }, async (_, agent) => {
        for (let i = 0; i < o.perAgent; i++) lat.push(await once(action, agent % o.tokens.length));
      }),
    );
    return { perSec: (lat.length / (nowMs() - start)) * 1000, p50: percentile(lat, 0.5), p99: percentile(lat, 0.99) };
  };
  o.progress(`usage: throughput, ${o.concurrency} concurrent agents x ${o.perAgent} per rule (without usage first, then with)`);
  const tpWithout = await throughput(o.action);
  const tpWith = await throughput(BUDGETED_ACTION);

  const summary = {
    usageP50Ms: round(percentile(withUsage, 0.5)),
    plainRuleP50Ms: round(percentile(without, 0.5)),
    usagePerSec: round(tpWith.perSec, 1),
    plainRulePerSec: round(tpWithout.perSec, 1),
    usageThroughputRatio: round(tpWith.perSec / tpWithout.perSec, 3),
    usageP50Ratio: round(percentile(withUsage, 0.5) / percentile(without, 0.5), 3),
    recordedPerAgent: recorded,
  };
  return {
    rows: [
      [`governed, rule with usage.sum 24h (${recorded} recorded/agent)`, fmt(percentile(withUsage, 0.5)), fmt(percentile(withUsage, 0.9)), fmt(percentile(withUsage, 0.99)), '', fmt(tpWith.perSec), fmt(tpWith.p50), fmt(tpWith.p99)],
      ['governed, same rule without usage', fmt(percentile(without, 0.5)), fmt(percentile(without, 0.9)), fmt(percentile(without, 0.99)), '', fmt(tpWithout.perSec), fmt(tpWithout.p50), fmt(tpWithout.p99)],
    ],
    summary,
    lines: [
      `usage.sum budget, throughput ratio: ${summary.usageThroughputRatio} (target >= 0.8: ${(summary.usageThroughputRatio ?? 0) >= 0.8 ? 'met' : 'missed'}); p50 ratio: ${summary.usageP50Ratio} (target <= 1.25: ${(summary.usageP50Ratio ?? Infinity) <= 1.25 ? 'met' : 'missed'})`,
    ],
  };
}
