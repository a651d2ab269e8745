/**
 * The `action_faults` table (ledger/migrations/006_action_faults.sql): actions stopped because
 * Postgres refused one of their writes permanently. Written by the recording activity, read by
 * ledger verification and the operator metric, acknowledged by an operator.
 */
import type { Pool } from 'pg';
import { ActionRepository } from './action-repository';
import type { LedgerDb } from './store';

/** A write that could not be recorded, as the recorder reports it. */
export interface ActionFaultInput {
  actionId: string;
  /** First event of the batch that could not be written. */
  seq: number;
  type: string;
  /** Every event type in that batch, in seq order. */
  events: string[];
  /** SQLSTATE, or null when the refusal did not come from Postgres. */
  code: string | null;
  message: string;
  workflowId: string | null;
  runId: string | null;
}

/** A recorded fault: what the recorder reported, and when. */
export interface ActionFault extends ActionFaultInput {
  /** When it was recorded (ISO). */
  at: string;
}

// Postgres text cannot hold U+0000, the very thing a fault may be about, and a message is for
// people: kept short.
const storable = (s: string) => s.replace(/\u0000/g, '\\u0000').slice(0, 2000);

/**
 * Record a fault and set the action's read model to `failed` with `error`, in one statement
 * (atomic without a transaction: the fault and the read model agree). Idempotent by
 * (actionId, seq): a retried activity changes nothing.
 * @returns whether the read model changed (then notify listeners)
 */
export async function recordActionFault(db: LedgerDb, fault: ActionFaultInput, error: string): Promise<boolean> {
  // The read model's part is the actions repository's: its values follow the fault's eight.
  const failed = ActionRepository.failedStatement(fault.actionId, storable(error));
  const { rowCount } = await (db as Pool).query({
    name: 'countersign_record_fault_v2',
    text: `WITH fault AS (
             INSERT INTO action_faults (action_id, seq, type, events, code, message, workflow_id, run_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (action_id, seq) DO NOTHING
           )
           ${failed.text((i) => `$${8 + i}`)}`,
    values: [fault.actionId, fault.seq, fault.type, fault.events, fault.code, storable(fault.message), fault.workflowId, fault.runId, ...failed.values],
  });
  return (rowCount ?? 0) > 0;
}

/** Faults no operator has acknowledged yet, oldest first. */
export async function listActionFaults(db: LedgerDb): Promise<ActionFault[]> {
  const { rows } = await (db as Pool).query<{
    action_id: string;
    seq: number;
    type: string;
    events: string[];
    code: string | null;
    message: string;
    workflow_id: string | null;
    run_id: string | null;
    at: Date;
  }>(
    `SELECT action_id, seq, type, events, code, message, workflow_id, run_id, at
       FROM action_faults WHERE acknowledged_at IS NULL ORDER BY at, action_id, seq`,
  );
  return rows.map((r) => ({
    actionId: r.action_id,
    seq: r.seq,
    type: r.type,
    events: r.events,
    code: r.code,
    message: r.message,
    workflowId: r.workflow_id,
    runId: r.run_id,
    at: r.at.toISOString(),
  }));
}

/** How many faults no operator has acknowledged yet (the `countersign_action_faults` gauge). */
export async function countActionFaults(db: LedgerDb): Promise<number> {
  const { rows } = await (db as Pool).query<{ n: number }>({
    name: 'countersign_count_faults_v1',
    text: 'SELECT count(*)::int AS n FROM action_faults WHERE acknowledged_at IS NULL',
  });
  return rows[0]?.n ?? 0;
}

/**
 * Mark an action's open faults as dealt with: they leave verification's list and the gauge,
 * and stay in the table.
 * @returns how many faults were acknowledged now
 */
export async function acknowledgeActionFaults(db: LedgerDb, actionId: string, by: string): Promise<number> {
  const { rowCount } = await (db as Pool).query(
    'UPDATE action_faults SET acknowledged_at = now(), acknowledged_by = $2 WHERE action_id = $1 AND acknowledged_at IS NULL',
    [actionId, by],
  );
  return rowCount ?? 0;
}
