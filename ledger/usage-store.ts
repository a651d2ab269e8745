/**
 * Usage figures for budgets in policy (domain/usage.ts): counts and sums over an agent's earlier
 * actions in the `actions` read model.
 *
 * Counted: the agent's actions (of the same action name, or of every name for
 * `usage.agent.count`) that are not denied, cancelled or expired, pending ones included, proposed
 * within the window. Summed: the number at the params path (the params as they stand, so an
 * edit's), 0 where there is none.
 *
 * Serialisation (why two racing proposals cannot both fit under one budget): the policy activity
 * gathers an action's figures in one transaction that first takes a per-agent advisory lock
 * (`pg_advisory_xact_lock`), then reads the figures, then marks the action being decided as
 * counted (`usage_counted_at`). An action still `evaluating` is counted only once marked. So of
 * two proposals of one agent, whichever takes the lock second sees the first (marked, committed
 * before the lock was released) with its params, whatever order their rows were inserted or
 * their workflows ran in. The lock is held for one aggregate query; proposals of different
 * agents never wait for each other.
 */
import type { Pool, PoolClient } from 'pg';
import { usageKey, usagePathSegments, type UsageCall, type UsageFigures } from '../domain/usage';

/** Whose usage, for which action, as of when. */
export interface UsageSubject {
  agent: string;
  action: string;
  /** The action being decided: never counted toward itself. */
  actionId?: string;
}

/** Statuses that do not count: the action did not (and will not) happen. */
const NOT_COUNTED = ['denied', 'cancelled', 'expired'];

/**
 * The aggregate query for `calls`: one column per call, over the agent's rows in the longest
 * window. `asOf` null: now, counting an `evaluating` row only once marked (live decisions);
 * a time: the rows proposed before it, whatever their marks (backtests, dry-runs as of then).
 */
function usageQuery(calls: readonly UsageCall[], subject: UsageSubject, asOf: Date | null, prefix = ''): { text: string; values: unknown[] } {
  const values: unknown[] = [subject.agent, subject.actionId ?? '', asOf, NOT_COUNTED, subject.action];
  const param = (v: unknown) => {
    values.push(v);
    return `$${values.length}`;
  };
  const at = 'coalesce($3::timestamptz, now())';
  const since = (ms: number) => `${at} - make_interval(secs => ${param(ms / 1000)}::double precision)`;
  const maxMs = Math.max(...calls.map((c) => c.windowMs));
  // Each summed path is read out of params once per row (reading params is most of the cost).
  const paths = [...new Set(calls.flatMap((c) => (c.kind === 'sum' ? [c.path] : [])))];
  const pathColumn = new Map(paths.map((p, i) => [p, `v${i}`]));
  const extracted = paths.map((p) => `, params #> ${param(usagePathSegments(p))}::text[] AS ${pathColumn.get(p)}`).join('');
  const columns = calls.map((c, i) => {
    const inWindow = `created_at > ${since(c.windowMs)}`;
    if (c.kind === 'agent.count') return `count(*) FILTER (WHERE ${inWindow}) AS c${i}`;
    if (c.kind === 'count') return `count(*) FILTER (WHERE action = $5 AND ${inWindow}) AS c${i}`;
    const v = pathColumn.get(c.path) as string;
    // float8: the figure is a CEL double anyway.
    return `coalesce(sum(CASE WHEN jsonb_typeof(${v}) = 'number' THEN ${v}::float8 END) FILTER (WHERE action = $5 AND ${inWindow}), 0) AS c${i}`;
  });
  // Without usage.agent.count only this action name is read: the (agent, action, created_at) index range.
  const sameName = calls.every((c) => c.kind !== 'agent.count') ? ' AND action = $5' : '';
  const text = `${prefix}SELECT ${columns.join(', ')}
  FROM (SELECT action, created_at${extracted}
          FROM actions
         WHERE agent = $1 AND id <> $2${sameName}
           AND created_at > ${since(maxMs)}
           AND created_at <= ${at}
           AND status <> ALL ($4::text[])
           AND ($3::timestamptz IS NOT NULL OR status <> 'evaluating' OR usage_counted_at IS NOT NULL)) counted`;
  return { text, values };
}

function figuresOf(calls: readonly UsageCall[], row: Record<string, unknown> | undefined): UsageFigures {
  const out: Record<string, number> = {};
  calls.forEach((c, i) => {
    out[usageKey(c)] = Number(row?.[`c${i}`] ?? 0);
  });
  return out;
}

/** Lock key of an agent's usage (any 64-bit number; the text keeps it apart from other locks). */
const LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtextextended('countersign.usage:' || $1, 0))";

/**
 * Figures for a live decision, serialised per agent (see the module comment): lock, read, mark
 * `subject.actionId` as counted, commit.
 */
export async function gatherUsage(pool: Pool, calls: readonly UsageCall[], subject: UsageSubject & { actionId: string }): Promise<UsageFigures> {
  if (calls.length === 0) return {};
  const client: PoolClient = await pool.connect();
  try {
    // Three round trips: BEGIN with the lock (one simple-protocol message), the figures with this
    // action's mark (a new statement, so its snapshot sees every mark committed before the lock
    // was granted), COMMIT.
    await client.query(`BEGIN; ${LOCK_SQL.replace('$1', client.escapeLiteral(subject.agent))}`);
    const { rows } = await client.query(
      usageQuery(calls, subject, null, 'WITH mark AS (UPDATE actions SET usage_counted_at = now() WHERE id = $2 AND usage_counted_at IS NULL RETURNING 1) '),
    );
    await client.query('COMMIT');
    return figuresOf(calls, rows[0]);
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/**
 * Figures as of `asOf` (default now), without locking or marking anything: the dry-run
 * (`POST /v1/policy/evaluate`), an edit's pre-check in the API, and backtests over recorded actions.
 */
export async function readUsage(db: Pool | PoolClient, calls: readonly UsageCall[], subject: UsageSubject, asOf?: Date): Promise<UsageFigures> {
  if (calls.length === 0) return {};
  const { rows } = await db.query(usageQuery(calls, subject, asOf ?? null));
  return figuresOf(calls, rows[0]);
}
