/**
 * Reviewer metrics (approval fatigue, docs/reviewer-metrics.md), read from the ledger: every
 * `decision_recorded` event is one decision, and the `approval_requested` event before it in the
 * same action's chain is when that decision was asked for.
 *
 * Definitions (the docs give the same, for operators):
 * - decision: a `decision_recorded` event whose time is in [since, until);
 * - approve / deny / edit: its `decision`; an edit is an approval with edits (`edited: true`),
 *   counted as an approval too (approveRate includes edits; editRate is edits / decisions);
 * - time to decide: the decision's time minus the time of the latest `approval_requested` event
 *   before it in the action's chain (the step it voted on was put to the reviewers, or put again
 *   after an edit); decisions with none before them (none today) have no time;
 * - median, p90: nearest-rank percentiles of those times;
 * - fast: a time to decide under `fastMs` (COUNTERSIGN_FAST_DECISION_MS);
 * - shared decision: the reviewer's decision on an action that another reviewer also decided
 *   (at any time); disagreement: a shared decision where another reviewer decided the other way
 *   (approve, with or without edits, against deny).
 */
import type { Pool } from 'pg';
import type { ReviewerFigures, ReviewerReport } from '../domain/controls';

interface DecisionRow {
  action_id: string;
  reviewer: string;
  decision: 'approve' | 'deny';
  edited: boolean;
  ms: number | null;
  disagreed: boolean;
  shared: boolean;
}

const REPORT_SQL = `
WITH d AS (
  SELECT e.action_id, e.seq, e.actor_id AS reviewer, e.at, e.data->>'decision' AS decision,
         coalesce((e.data->>'edited')::boolean, false) AS edited
    FROM ledger_events e
   WHERE e.type = 'decision_recorded' AND e.at >= $1 AND e.at < $2
)
SELECT d.action_id, d.reviewer, d.decision, d.edited,
       (SELECT extract(epoch FROM d.at - max(r.at)) * 1000 FROM ledger_events r
         WHERE r.action_id = d.action_id AND r.type = 'approval_requested' AND r.seq < d.seq)::double precision AS ms,
       EXISTS (SELECT 1 FROM ledger_events o WHERE o.action_id = d.action_id AND o.type = 'decision_recorded'
                 AND o.actor_id <> d.reviewer AND o.data->>'decision' <> d.decision) AS disagreed,
       EXISTS (SELECT 1 FROM ledger_events o WHERE o.action_id = d.action_id AND o.type = 'decision_recorded'
                 AND o.actor_id <> d.reviewer) AS shared
  FROM d`;

/** Nearest-rank percentile `p` (0..1) of sorted values. */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.max(1, Math.ceil(p * sorted.length));
  return sorted[rank - 1]!;
}

const rate = (n: number, of: number) => (of === 0 ? 0 : Math.round((n / of) * 10_000) / 10_000);

/** The report for [since, until): one entry per reviewer who decided in it, most decisions first. */
export async function reviewerReport(pool: Pool, since: Date, until: Date, fastMs: number): Promise<ReviewerReport> {
  const { rows } = await pool.query<DecisionRow>(REPORT_SQL, [since, until]);
  const by = new Map<string, DecisionRow[]>();
  for (const row of rows) by.set(row.reviewer, [...(by.get(row.reviewer) ?? []), row]);
  const reviewers: ReviewerFigures[] = [...by.entries()].map(([reviewer, list]) => {
    const times = list.flatMap((r) => (r.ms === null ? [] : [Math.max(0, r.ms)])).sort((a, b) => a - b);
    const approvals = list.filter((r) => r.decision === 'approve').length;
    const denials = list.filter((r) => r.decision === 'deny').length;
    const edits = list.filter((r) => r.edited).length;
    const shared = list.filter((r) => r.shared).length;
    const disagreements = list.filter((r) => r.disagreed).length;
    const p50 = percentile(times, 0.5);
    const p90 = percentile(times, 0.9);
    return {
      reviewer,
      decisions: list.length,
      approvals,
      denials,
      edits,
      approveRate: rate(approvals, list.length),
      denyRate: rate(denials, list.length),
      editRate: rate(edits, list.length),
      medianTimeToDecideMs: p50 === null ? null : Math.round(p50),
      p90TimeToDecideMs: p90 === null ? null : Math.round(p90),
      fastDecisions: times.filter((t) => t < fastMs).length,
      disagreements,
      sharedDecisions: shared,
      disagreementRate: shared === 0 ? null : rate(disagreements, shared),
    };
  });
  reviewers.sort((a, b) => b.decisions - a.decisions || a.reviewer.localeCompare(b.reviewer));
  return { since: since.toISOString(), until: until.toISOString(), fastDecisionMs: fastMs, reviewers };
}

/**
 * One decision as the metrics see it, right after it was recorded: its outcome and time to
 * decide (as the report defines them), from the reviewer's latest decision on the action.
 */
export async function decisionTiming(pool: Pool, actionId: string, reviewer: string): Promise<{ outcome: 'approve' | 'deny' | 'edit'; seconds: number | null } | undefined> {
  const { rows } = await pool.query<{ decision: 'approve' | 'deny'; edited: boolean; ms: number | null }>(
    `SELECT d.data->>'decision' AS decision, coalesce((d.data->>'edited')::boolean, false) AS edited,
            (SELECT extract(epoch FROM d.at - max(r.at)) * 1000 FROM ledger_events r
              WHERE r.action_id = d.action_id AND r.type = 'approval_requested' AND r.seq < d.seq)::double precision AS ms
       FROM ledger_events d
      WHERE d.action_id = $1 AND d.type = 'decision_recorded' AND d.actor_id = $2
      ORDER BY d.seq DESC LIMIT 1`,
    [actionId, reviewer],
  );
  const row = rows[0];
  if (!row) return undefined;
  return { outcome: row.edited ? 'edit' : row.decision, seconds: row.ms === null ? null : Math.max(0, row.ms) / 1000 };
}
