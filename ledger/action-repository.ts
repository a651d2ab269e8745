/**
 * The `actions` table (ledger/migrations/001_core.sql): the read model of every action, one
 * row each. This module is its only reader and writer: the API's use cases, the recording
 * activity, the fault recorder, evidence and backtests all come through {@link ActionRepository},
 * and the row type and its public view live here with it.
 */
import type { Pool, PoolClient } from 'pg';
import type { AccessSubject } from '../domain/access-rules';
import type { ActionProjection, ActionStatus, GovernedActionInput, ModelProvenance, RecordEventInput } from '../domain/action-types';
import type { ActionView } from '../domain/api-schemas';
import type { PolicyOutcome } from '../domain/policy-types';
import { maskEdits, maskSensitive, type SensitivePatterns } from '../domain/sensitive-params';
import type { AlongsideStatement, LedgerDb } from './store';

/** A row of the `actions` read model (`SELECT *`). */
export interface ActionRow {
  id: string;
  agent: string;
  idempotency_key: string | null;
  request_hash: string;
  action: string;
  status: ActionStatus;
  params: Record<string, unknown>;
  resource: unknown;
  on_behalf_of: string | null;
  parent_action_id: string | null;
  justification: string | null;
  policy: ActionProjection['policy'];
  approval: ActionProjection['approval'];
  outcome: ActionProjection['outcome'];
  result: unknown;
  error: string | null;
  workflow_id: string;
  run_id: string | null;
  eligible_groups: string[];
  voters: string[];
  deadline: Date | null;
  created_at: Date;
  updated_at: Date;
  last_seq: number;
}

/** What a view's `temporalUi` link is built from. */
export interface ActionLinks {
  temporalUiUrl: string;
  namespace: string;
}

/** The Temporal UI page of an action's workflow. */
export function temporalUiLink(links: ActionLinks, workflowId: string): string {
  return `${links.temporalUiUrl}/namespaces/${encodeURIComponent(links.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

/**
 * The public ActionView of a row: the approval plan and vote request hashes stay inside, and
 * the values `sensitive` names (the action's patterns, ledger/sensitive-patterns.ts
 * `sensitivePatternsFor`) show as `"***"` in `params` and in every vote's `edits`. The row
 * keeps them in clear: it is the executor's input.
 */
export function toActionView(row: ActionRow, links: ActionLinks, sensitive: SensitivePatterns = []): ActionView {
  const self = `/v1/actions/${row.id}`;
  const view: ActionView = {
    id: row.id,
    status: row.status,
    action: row.action,
    params: maskSensitive(row.params, sensitive),
    resource: row.resource ?? null,
    agent: row.agent,
    onBehalfOf: row.on_behalf_of,
    parentActionId: row.parent_action_id,
    justification: row.justification,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
    policy: row.policy ? { decision: row.policy.decision, ruleIds: row.policy.ruleIds, reasons: row.policy.reasons, version: row.policy.version } : null,
    links: { self, evidence: `${self}/evidence`, temporalUi: temporalUiLink(links, row.workflow_id) },
  };
  if (row.approval) {
    const { plan: _plan, ...approval } = row.approval;
    view.approval = {
      ...approval,
      approvals: approval.approvals.map(({ requestHash: _hash, ...vote }) => (vote.edits ? { ...vote, edits: maskEdits(vote.edits, sensitive) } : vote)),
    };
  }
  if (row.outcome) view.outcome = row.outcome;
  if (row.result !== null && row.result !== undefined) view.result = row.result;
  if (row.error) view.error = row.error;
  return view;
}

/** The part of a row the access rules (domain/access-rules.ts) look at. */
export function accessSubjectOf(row: Pick<ActionRow, 'status' | 'agent' | 'on_behalf_of' | 'eligible_groups' | 'voters'>): AccessSubject {
  return { status: row.status, agent: row.agent, onBehalfOf: row.on_behalf_of, eligibleGroups: row.eligible_groups, voters: row.voters };
}

/** A new action, as the API records it before starting its workflow (status `evaluating`). */
export interface NewAction {
  id: string;
  agent: string;
  idempotencyKey: string | null;
  requestHash: string;
  action: string;
  params: Record<string, unknown>;
  resource: unknown;
  onBehalfOf: string | null;
  parentActionId: string | null;
  justification: string | null;
  context: Record<string, unknown> | undefined;
  model: ModelProvenance | undefined;
  workflowId: string;
}

/** `GET /v1/actions` filters; `readableBy` limits the rows to what that caller may read. */
export interface ActionListQuery {
  status?: ActionStatus;
  action?: string;
  agent?: string;
  /** Absent: every action (operators). */
  readableBy?: { id: string; groups: readonly string[]; reviewer: boolean };
  /** Rows strictly before this (created_at, id), newest first. */
  before?: { createdAt: string; id: string };
  limit: number;
}

/** One action of a delegation tree, with what visibility needs. */
export type LineageRow = Pick<ActionRow, 'id' | 'parent_action_id' | 'action' | 'status' | 'agent' | 'on_behalf_of' | 'created_at' | 'eligible_groups' | 'voters'>;

/** A recorded action as a backtest replays it. */
export type DecidedAction = Pick<ActionRow, 'id' | 'action' | 'params' | 'resource' | 'agent' | 'on_behalf_of' | 'created_at'> & {
  context: Record<string, unknown> | null;
  decision: PolicyOutcome | null;
};

/** The Temporal ids and policy version an evidence bundle names. */
export interface EvidenceRefs {
  workflow_id: string;
  run_id: string | null;
  policy_version: string | null;
}

/**
 * The `actions` read model set to the projection of an action's last event, unless a later one
 * is there: {@link projectionValues} are its values, `p(i)` the placeholder of the i-th.
 */
function projectionSql(p: (i: number) => string, condition = ''): string {
  return `UPDATE actions SET status = ${p(2)}, params = ${p(3)}, policy = ${p(4)}, approval = ${p(5)}, outcome = ${p(6)},
                 result = ${p(7)}, error = ${p(8)}, executor = ${p(9)}, eligible_groups = ${p(10)}, voters = ${p(11)},
                 deadline = ${p(12)}, run_id = ${p(13)}, last_seq = ${p(14)}, updated_at = ${p(15)}
           WHERE id = ${p(1)} AND last_seq < ${p(14)} ${condition}
       RETURNING id`;
}

function projectionValues(last: RecordEventInput): unknown[] {
  const v = last.view;
  return [
    last.actionId,
    v.status,
    JSON.stringify(v.params),
    JSON.stringify(v.policy),
    JSON.stringify(v.approval),
    JSON.stringify(v.outcome),
    JSON.stringify(v.result ?? null),
    v.error,
    JSON.stringify(v.executor),
    v.eligibleGroups,
    v.voters,
    v.deadline,
    last.runId,
    last.seq,
    last.at,
  ];
}

/** Reads and writes of the `actions` table. Works on a pool or on a checked-out client. */
export class ActionRepository {
  constructor(private readonly db: LedgerDb) {}

  private get pool(): Pool {
    // Pool and PoolClient have the same query(); their overloads do not unify as a union.
    return this.db as Pool;
  }

  /** Record a new action; undefined when the agent's idempotency key is already taken. */
  async insert(a: NewAction): Promise<ActionRow | undefined> {
    const { rows } = await this.pool.query<ActionRow>(
      `INSERT INTO actions (id, agent, idempotency_key, request_hash, action, status, params, resource, on_behalf_of,
                            parent_action_id, justification, context, model, workflow_id)
       VALUES ($1, $2, $3, $4, $5, 'evaluating', $6, $7, $8, $9, $10, $11, $12, $13)
       ON CONFLICT (agent, idempotency_key) DO NOTHING RETURNING *`,
      [
        a.id,
        a.agent,
        a.idempotencyKey,
        a.requestHash,
        a.action,
        JSON.stringify(a.params),
        a.resource === undefined ? null : JSON.stringify(a.resource),
        a.onBehalfOf,
        a.parentActionId,
        a.justification,
        a.context === undefined ? null : JSON.stringify(a.context),
        a.model === undefined ? null : JSON.stringify(a.model),
        a.workflowId,
      ],
    );
    return rows[0];
  }

  /** Remove an action nothing was recorded for yet (its workflow could not be started). */
  async deleteUnstarted(id: string): Promise<void> {
    await this.pool.query('DELETE FROM actions WHERE id = $1 AND last_seq = 0', [id]);
  }

  /** An action by id, or undefined. */
  async find(id: string): Promise<ActionRow | undefined> {
    const { rows } = await this.pool.query<ActionRow>('SELECT * FROM actions WHERE id = $1', [id]);
    return rows[0];
  }

  /** The action an agent proposed with an idempotency key, or undefined. */
  async findByKey(agent: string, key: string): Promise<ActionRow | undefined> {
    const { rows } = await this.pool.query<ActionRow>('SELECT * FROM actions WHERE agent = $1 AND idempotency_key = $2', [agent, key]);
    return rows[0];
  }

  /** Whether an action with this id exists. */
  async exists(id: string): Promise<boolean> {
    const { rowCount } = await this.pool.query('SELECT 1 FROM actions WHERE id = $1', [id]);
    return Boolean(rowCount);
  }

  /** The proposal's context and model provenance (kept out of ActionRow reads: not in any view). */
  async proposalInputs(id: string): Promise<{ context: Record<string, unknown> | null; model: GovernedActionInput['model'] } | undefined> {
    const { rows } = await this.pool.query<{ context: Record<string, unknown> | null; model: GovernedActionInput['model'] }>(
      'SELECT context, model FROM actions WHERE id = $1',
      [id],
    );
    return rows[0];
  }

  /** Up to `limit + 1` rows, newest first, keyset-paginated (the extra row says there is more). */
  async list(q: ActionListQuery): Promise<ActionRow[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const arg = (v: unknown) => `$${args.push(v)}`;
    if (q.status) where.push(`status = ${arg(q.status)}`);
    if (q.action) where.push(`action = ${arg(q.action)}`);
    if (q.agent) where.push(`agent = ${arg(q.agent)}`);
    if (q.readableBy) {
      // mayReadAction (domain/access-rules.ts) for the database: an agent its own; a reviewer
      // what it has voted on and what its groups may decide now. Keep the two in step.
      const me = arg(q.readableBy.id);
      const visible = [`agent = ${me}`];
      if (q.readableBy.reviewer) {
        visible.push(`${me} = ANY(voters)`, `(status = 'awaiting_approval' AND eligible_groups && ${arg(q.readableBy.groups)}::text[])`);
      }
      where.push(`(${visible.join(' OR ')})`);
    }
    if (q.before) where.push(`(created_at, id) < (${arg(q.before.createdAt)}::timestamptz, ${arg(q.before.id)})`);
    const sql = `SELECT * FROM actions ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
                 ORDER BY created_at DESC, id DESC LIMIT ${arg(q.limit + 1)}`;
    const { rows } = await this.pool.query<ActionRow>(sql, args);
    return rows;
  }

  /**
   * Up to `limit + 1` actions `reviewer` may decide now, oldest deadline first, after the
   * (deadline, id) `after`.
   */
  async decidableBy(reviewer: { id: string; groups: readonly string[] }, q: { after?: { deadline: string; id: string }; limit: number }): Promise<ActionRow[]> {
    const args: unknown[] = [reviewer.groups, reviewer.id];
    let after = '';
    if (q.after) {
      args.push(q.after.deadline, q.after.id);
      after = 'AND (deadline, id) > ($3::timestamptz, $4)';
    }
    args.push(q.limit + 1);
    // decisionRefusal (domain/access-rules.ts) for the database: pending, in a group eligible
    // now, not the agent's own nor on the reviewer's behalf, not voted yet. Keep them in step.
    const { rows } = await this.pool.query<ActionRow>(
      `SELECT * FROM actions
        WHERE status = 'awaiting_approval' AND eligible_groups && $1::text[]
          AND NOT ($2 = ANY(voters)) AND agent <> $2 AND on_behalf_of IS DISTINCT FROM $2 ${after}
        ORDER BY deadline ASC, id ASC LIMIT $${args.length}`,
      args,
    );
    return rows;
  }

  /**
   * The whole delegation tree (via `parent_action_id`) that contains `id`: its root's id and
   * every action in it, oldest first (at most 100 levels and 10,000 actions).
   */
  async lineage(id: string): Promise<{ rootId: string; rows: LineageRow[] }> {
    const { rows: up } = await this.pool.query<{ id: string }>(
      `WITH RECURSIVE up AS (
         SELECT id, parent_action_id, 0 AS depth FROM actions WHERE id = $1
         UNION ALL
         SELECT a.id, a.parent_action_id, up.depth + 1 FROM actions a JOIN up ON a.id = up.parent_action_id WHERE up.depth < 100
       ) SELECT id FROM up ORDER BY depth DESC LIMIT 1`,
      [id],
    );
    const rootId = up[0]?.id ?? id;
    const { rows } = await this.pool.query<LineageRow>(
      `WITH RECURSIVE down AS (
         SELECT id, parent_action_id, action, status, agent, on_behalf_of, created_at, eligible_groups, voters, 0 AS depth FROM actions WHERE id = $1
         UNION ALL
         SELECT a.id, a.parent_action_id, a.action, a.status, a.agent, a.on_behalf_of, a.created_at, a.eligible_groups, a.voters, down.depth + 1
           FROM actions a JOIN down ON a.parent_action_id = down.id WHERE down.depth < 100
       ) SELECT * FROM down ORDER BY created_at, id LIMIT 10000`,
      [rootId],
    );
    return { rootId, rows };
  }

  /** Recorded actions that have a policy decision, newest first, at most `limit`. */
  async recentDecided(limit: number): Promise<DecidedAction[]> {
    const { rows } = await this.pool.query<DecidedAction>(
      `SELECT id, action, params, resource, context, agent, on_behalf_of, created_at, policy->>'decision' AS decision
         FROM actions WHERE policy IS NOT NULL ORDER BY created_at DESC, id DESC LIMIT $1`,
      [limit],
    );
    return rows;
  }

  /** Whether the table is there at all (a ledger database used on its own has none). */
  async tableExists(): Promise<boolean> {
    const { rows } = await this.pool.query<{ exists: boolean }>("SELECT to_regclass('actions') IS NOT NULL AS exists");
    return rows[0]?.exists === true;
  }

  /** The Temporal ids and the policy version of an action, or undefined. */
  async evidenceRefs(id: string): Promise<EvidenceRefs | undefined> {
    const { rows } = await this.pool.query<EvidenceRefs>(
      "SELECT workflow_id, run_id, policy->>'version' AS policy_version FROM actions WHERE id = $1",
      [id],
    );
    return rows[0];
  }

  /**
   * The read model set to the projection of `last`, for {@link appendEventBatch} to run in the
   * same statement as the batch: it takes effect only when the batch went in.
   */
  projectionWithBatch(last: RecordEventInput): AlongsideStatement {
    return {
      name: 'countersign_record_events_v2',
      text: (p) => projectionSql(p, 'AND EXISTS (SELECT 1 FROM appended)'),
      values: projectionValues(last),
    };
  }

  /**
   * Set the read model to the projection of `last` inside the caller's transaction on `client`.
   * @returns whether the row changed (false when a later event is already there)
   */
  async setProjection(client: PoolClient, last: RecordEventInput): Promise<boolean> {
    const updated = await client.query({ name: 'countersign_record_projection_v2', text: projectionSql((i) => `$${i}`), values: projectionValues(last) });
    return (updated.rowCount ?? 0) > 0;
  }

  /**
   * The action set to `failed` with `error` (unless it already says so), for the fault recorder
   * to run in the same statement as its own insert. Returns the updated id.
   */
  static failedStatement(actionId: string, error: string): Omit<AlongsideStatement, 'name'> {
    return {
      text: (p) => `UPDATE actions SET status = 'failed', error = ${p(2)}, eligible_groups = '{}', deadline = NULL, updated_at = now()
            WHERE id = ${p(1)} AND (status <> 'failed' OR error IS DISTINCT FROM ${p(2)})
           RETURNING id`,
      values: [actionId, error],
    };
  }
}
