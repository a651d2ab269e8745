/**
 * Usage figures for budgets in policy (domain/usage.ts): counts and sums over an agent's earlier
 * actions.
 *
 * Counted: the agent's actions (of the same action name, or of every name for
 * `usage.agent.count`) that are not denied, cancelled or expired, pending ones included, proposed
 * within the window. Summed: the number at the params path (the params as they stand, so an
 * edit's), 0 where there is none.
 *
 * Cost: live figures never read params. A trigger on `actions` (migration 011) keeps, for every
 * action that counts, one `usage_entries` row (what the counts count) and one per numeric value
 * of its params, by path; each call is one indexed aggregate over those rows. Backtests (figures
 * as of a past time, whatever the marks) still read `actions`.
 *
 * Serialisation (why two racing proposals cannot both fit under one budget): the policy activity
 * gathers an action's figures in one transaction that first takes a per-agent advisory lock
 * (`pg_advisory_xact_lock`), then reads the figures, then marks the action being decided as
 * counted (`usage_counted_at`; the trigger writes its usage rows in the same transaction). An
 * action still `evaluating` is counted only once marked. So of two proposals of one agent,
 * whichever takes the lock second sees the first (marked, committed before the lock was
 * released) with its params, whatever order their rows were inserted or their workflows ran in.
 * When any rule of the bundle reads `usage.agent.count`, every proposal of the agent is marked
 * this way (an action without usage rules of its own still counts toward the agent's rate while
 * it is being evaluated). Edits: see {@link gatherUsage}. Proposals of different agents never
 * wait for each other.
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
 * The live aggregate for `calls` (now): one column per call, each one indexed aggregate over
 * `usage_entries` (migration 011), the numbers a trigger keeps for every action that counts. An
 * action whose params hold too many numbers to keep there has its sums read from its params.
 */
function liveUsageQuery(calls: readonly UsageCall[], subject: UsageSubject, prefix = ''): { text: string; values: unknown[] } {
  const values: unknown[] = [subject.agent, subject.actionId ?? '', subject.action];
  const param = (v: unknown) => {
    values.push(v);
    return `$${values.length}`;
  };
  const inWindow = (ms: number, table = '') => `${table}created_at > now() - make_interval(secs => ${param(ms / 1000)}::double precision) AND ${table}created_at <= now() AND ${table}action_id <> $2`;
  const columns = calls.map((c, i) => {
    if (c.kind === 'agent.count') return `(SELECT count(*) FROM usage_entries WHERE agent = $1 AND path = '' AND ${inWindow(c.windowMs)}) AS c${i}`;
    if (c.kind === 'count') return `(SELECT count(*) FROM usage_entries WHERE agent = $1 AND action = $3 AND path = '' AND ${inWindow(c.windowMs)}) AS c${i}`;
    const path = param(c.path);
    const kept = `(SELECT coalesce(sum(value), 0) FROM usage_entries WHERE agent = $1 AND action = $3 AND path = ${path} AND ${inWindow(c.windowMs)})`;
    const v = `a.params #> ${param(usagePathSegments(c.path))}::text[]`;
    const overflow = `(SELECT coalesce(sum(CASE WHEN jsonb_typeof(${v}) = 'number' THEN (${v})::float8 END), 0)
        FROM usage_entries u JOIN actions a ON a.id = u.action_id
       WHERE u.agent = $1 AND u.action = $3 AND u.path = '' AND u.value IS NULL AND ${inWindow(c.windowMs, 'u.')})`;
    // float8: the figure is a CEL double anyway.
    return `${kept} + ${overflow} AS c${i}`;
  });
  return { text: `${prefix}SELECT ${columns.join(', ')}`, values };
}

/**
 * The aggregate query for `calls` as of a past time: the rows proposed before it, whatever
 * their marks, read from `actions` (backtests; not on any proposal's path).
 */
function pastUsageQuery(calls: readonly UsageCall[], subject: UsageSubject, asOf: Date): { text: string; values: unknown[] } {
  const values: unknown[] = [subject.agent, subject.actionId ?? '', asOf, NOT_COUNTED, subject.action];
  const param = (v: unknown) => {
    values.push(v);
    return `$${values.length}`;
  };
  const at = '$3::timestamptz';
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
    return `coalesce(sum(CASE WHEN jsonb_typeof(${v}) = 'number' THEN ${v}::float8 END) FILTER (WHERE action = $5 AND ${inWindow}), 0) AS c${i}`;
  });
  // Without usage.agent.count only this action name is read: the (agent, action, created_at) index range.
  const sameName = calls.every((c) => c.kind !== 'agent.count') ? ' AND action = $5' : '';
  const text = `SELECT ${columns.join(', ')}
  FROM (SELECT action, created_at${extracted}
          FROM actions
         WHERE agent = $1 AND id <> $2${sameName}
           AND created_at > ${since(maxMs)}
           AND created_at <= ${at}
           AND status <> ALL ($4::text[])) counted`;
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
 * Figures for a live decision, serialised per agent (see the module comment): lock, read (and
 * mark `subject.actionId` as counted, which writes its usage rows), decide, record an edit's
 * figures, commit.
 *
 * `decide` runs under the lock with the figures (the pure policy evaluation). When `edit` is
 * given (an edit being evaluated: `params` are the edited ones) and `edit.accepted` says the
 * decision lets the edit through, the summed paths of the edited params are recorded for the
 * action before the lock is released, conservatively: each kept value becomes the larger of the
 * current and the edited one. The edited params themselves reach `actions` later (the workflow
 * records the edit), and the trigger then keeps exactly the edited values; until then, an edit
 * racing another edit or a proposal of the same agent is counted at no less than either amount,
 * so two edits can never each see the other's old amount and both fit under one budget.
 */
export async function gatherUsage<D>(
  pool: Pool,
  calls: readonly UsageCall[],
  subject: UsageSubject & { actionId: string },
  decide: (figures: UsageFigures) => D,
  edit?: { params: Record<string, unknown>; accepted: (decision: D) => boolean },
): Promise<D> {
  const client: PoolClient = await pool.connect();
  try {
    // BEGIN with the lock (one simple-protocol message), then the figures with this action's
    // mark (a new statement, so its snapshot sees every mark committed before the lock was
    // granted), then COMMIT.
    // The usage indexes lead with the agent: a table holding little but this agent's rows makes a
    // sequential scan look cheaper to the planner, yet the index-only scan is about 3x faster.
    await client.query(`BEGIN; SET LOCAL enable_seqscan = off; ${LOCK_SQL.replace('$1', client.escapeLiteral(subject.agent))}`);
    let figures: UsageFigures = {};
    let edited = false;
    if (calls.length > 0) {
      const query = liveUsageQuery(calls, subject, `WITH mark AS (${MARK_SQL}) `);
      // Whether these params are an edit: not the ones recorded for the action.
      if (edit) query.text += `, (SELECT params IS DISTINCT FROM $${query.values.push(JSON.stringify(edit.params))}::jsonb FROM actions WHERE id = $2) AS edited`;
      const { rows } = await client.query(query);
      figures = figuresOf(calls, rows[0]);
      edited = rows[0]?.edited === true;
    } else {
      await client.query(MARK_SQL.replace('$2', '$1'), [subject.actionId]);
    }
    const decision = decide(figures);
    if (edit && edited && edit.accepted(decision)) await recordEdit(client, calls, subject.actionId, edit.params);
    await client.query('COMMIT');
    return decision;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/** Marks an action as counted (its usage rows are written by the trigger, migration 011). */
const MARK_SQL = 'UPDATE actions SET usage_counted_at = now() WHERE id = $2 AND usage_counted_at IS NULL RETURNING 1';

/**
 * An edit's summed values, kept as the larger of the current and the edited value, for an action
 * that counts (one with its '' row). Paths the bundle does not sum are left to the trigger.
 */
async function recordEdit(client: PoolClient, calls: readonly UsageCall[], actionId: string, params: Record<string, unknown>): Promise<void> {
  const paths = [...new Set(calls.flatMap((c) => (c.kind === 'sum' ? [c.path] : [])))];
  const edited = paths.flatMap((path) => {
    let v: unknown = params;
    for (const key of usagePathSegments(path)) v = v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>)[key] : undefined;
    return typeof v === 'number' && Number.isFinite(v) ? [{ path, value: v }] : [];
  });
  if (edited.length === 0) return;
  await client.query(
    `INSERT INTO usage_entries (action_id, agent, action, created_at, path, value)
     SELECT u.action_id, u.agent, u.action, u.created_at, e.path, e.value
       FROM usage_entries u, unnest($2::text[], $3::float8[]) AS e (path, value)
      WHERE u.action_id = $1 AND u.path = ''
     ON CONFLICT (action_id, path) DO UPDATE SET value = GREATEST(usage_entries.value, EXCLUDED.value)`,
    [actionId, edited.map((e) => e.path), edited.map((e) => e.value)],
  );
}

/**
 * Figures as of `asOf` (default now), without locking or marking anything: the dry-run
 * (`POST /v1/policy/evaluate`), an edit's pre-check in the API, and backtests over recorded actions.
 */
export async function readUsage(db: Pool | PoolClient, calls: readonly UsageCall[], subject: UsageSubject, asOf?: Date): Promise<UsageFigures> {
  if (calls.length === 0) return {};
  const { rows } = await db.query(asOf ? pastUsageQuery(calls, subject, asOf) : liveUsageQuery(calls, subject));
  return figuresOf(calls, rows[0]);
}
