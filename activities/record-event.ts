import type { RecordEventInput } from '../domain/action-types';
import { WRITE_FAILURES } from '../domain/failure-types';
import { redactEventData } from '../ledger/redact';
import { sensitivePatternsFor } from '../ledger/sensitive-patterns';
import { ApplicationFailure } from '@temporalio/activity';
import { recordActionFault, type ActionFaultInput } from '../ledger/action-faults';
import { ActionRepository } from '../ledger/action-repository';
import { appendEvent, appendEventBatch, LedgerConflictError } from '../ledger/store';
import { classifyWriteFailure } from '../ledger/write-failure';
import type { PolicyStore } from '../ledger/policy-store';
import type { ActivityDeps } from './index';

/**
 * Params marked `x-sensitive` in the action's schema go into the ledger as keyed digests
 * (ledger/redact.ts): the ledger can never be edited, so it must never hold them; the read model
 * and the executor request keep them. The patterns come from the bundle the action was decided
 * under; an event recorded before the decision (`proposed`, written in the decision's batch)
 * takes the batch's version, else the active bundle's.
 */
async function redactForLedger(policies: PolicyStore, ev: RecordEventInput, batchVersion: string | undefined, key: Uint8Array): Promise<Record<string, unknown>> {
  const patterns = await sensitivePatternsFor(policies, ev.action, ev.view.policy?.version ?? batchVersion);
  return redactEventData(ev.data, patterns, { key });
}

/** Events whose batch, once written or not, means the executor may have been called. */
const EXECUTION_EVENTS: ReadonlySet<string> = new Set(['execution_started', 'executed', 'execution_failed']);

/** What the action's read model says when one of its writes was refused for good. */
export function permanentFailureMessage(fault: Pick<ActionFaultInput, 'seq' | 'type' | 'events' | 'code' | 'message'>): string {
  const unknown = fault.events.some((t) => EXECUTION_EVENTS.has(t))
    ? 'Outcome unknown: the executor may or may not have run. '
    : '';
  const refusal = fault.code ? `${fault.code}: ${fault.message}` : fault.message;
  return (
    `${unknown}Countersign could not record this action's next step (event ${fault.seq}, ${fault.type}) and stopped it: ` +
    `${fault.code ? 'Postgres refused the write' : 'the write was refused'} permanently (${refusal}). ` +
    'An operator must look; `countersign ledger verify` lists it.'
  );
}

export function createRecordingActivities({
  pool,
  policies,
  notifier,
  log,
  digestKey,
}: Pick<ActivityDeps, 'pool' | 'policies' | 'notifier' | 'log'> & Required<Pick<ActivityDeps, 'digestKey'>>) {
  const actions = new ActionRepository(pool);
  return {
    /**
     * Append a batch of events (one workflow task's worth) to the action's hash chain and set
     * the `actions` read model to the projection of the last one in one transaction, then
     * notify listeners that the action changed. Idempotent by (actionId, seq): a retried or
     * replayed batch finds its events already there and changes nothing. `head` is the hash
     * of the event before the batch as the workflow knows it (from the previous batch's
     * result); without it (workflows started before it was passed) or when it does not match,
     * events go in one by one.
     *
     * A failure a retry may cure (ledger/write-failure.ts) is thrown as is, and the workflow's
     * retry policy retries it for as long as it takes. One Postgres will refuse again is
     * recorded as a fault (the `action_faults` row and the read model set to `failed`, outside
     * the failed transaction) and ends the activity with the non-retryable
     * {@link WRITE_FAILURES.permanent}: the workflow then stops, instead of retrying forever.
     */
    async recordEvents(events: RecordEventInput[], head?: string): Promise<{ hashes: string[] }> {
      try {
        return await writeEvents(events, head);
      } catch (err) {
        // LedgerConflict, already decided; and anything a retry may cure goes back to the retry policy.
        if (err instanceof ApplicationFailure || classifyWriteFailure(err) !== 'permanent') throw err;
        throw await stopAction(events, err);
      }
    },
  };

  /**
   * Record why the action's write failed for good and return the failure that ends the activity.
   * Recording runs on its own connection, after the failed write rolled back.
   */
  async function stopAction(events: RecordEventInput[], err: unknown): Promise<ApplicationFailure> {
    const first = events[0]!;
    const code = (err as { code?: unknown }).code;
    const fault: ActionFaultInput = {
      actionId: first.actionId,
      seq: first.seq,
      type: first.type,
      events: events.map((e) => e.type),
      code: typeof code === 'string' ? code : null,
      message: (err as Error).message ?? String(err),
      // Absent from workflows that predate them.
      workflowId: first.workflowId ?? null,
      runId: first.runId ?? null,
    };
    log.error({ actionId: fault.actionId, seq: fault.seq, events: fault.events, code: fault.code, err: fault.message }, 'ledger write refused permanently: action stopped');
    try {
      if (await recordActionFault(pool, fault, permanentFailureMessage(fault))) await notifier.actionChanged(fault.actionId);
    } catch (recordErr) {
      // Postgres unreachable now: retry the whole activity (the write fails again, the fault goes in).
      if (classifyWriteFailure(recordErr) !== 'permanent') throw recordErr;
      // Refused for good too: the workflow still fails with the named failure, and this log line stays.
      log.error({ actionId: fault.actionId, err: (recordErr as Error).message }, 'the fault of a stopped action could not be recorded either');
    }
    return ApplicationFailure.create({
      type: WRITE_FAILURES.permanent,
      message: `Postgres refused event ${fault.seq} (${fault.type}) of action ${fault.actionId} permanently${fault.code ? ` (${fault.code})` : ''}: ${fault.message}`,
      nonRetryable: true,
      details: [{ actionId: fault.actionId, seq: fault.seq, type: fault.type, events: fault.events, code: fault.code }],
    });
  }

  async function writeEvents(events: RecordEventInput[], head?: string): Promise<{ hashes: string[] }> {
    if (events.length === 0) return { hashes: [] };
    const batchVersion = events.find((e) => e.view.policy?.version)?.view.policy?.version;
    const prepared = await Promise.all(events.map(async (ev) => ({ ev, data: await redactForLedger(policies, ev, batchVersion, digestKey) })));
    const inputs = prepared.map(({ ev, data }) => ({ actionId: ev.actionId, seq: ev.seq, type: ev.type, actor: ev.actor, at: ev.at, data }));
    const last = events[events.length - 1]!;
    // The usual case: the whole batch is new. It goes in with the read model in one
    // statement: one round trip, atomic without BEGIN/COMMIT.
    if (head !== undefined) {
      const batch = await appendEventBatch(pool, inputs, head, actions.projectionWithBatch(last));
      if (batch) {
        // The batch went in, so the read model moved to it (its row exists since the proposal).
        await notifier.actionChanged(events[0].actionId);
        return { hashes: batch.map((r) => r.hash) };
      }
    }
    // Otherwise (a retried batch, partly or wholly written before, or a workflow from before
    // `head` was passed) one by one, then the read model, in one transaction.
    const client = await pool.connect();
    const hashes: string[] = [];
    let changed: boolean;
    try {
      await client.query('BEGIN');
      for (const input of inputs) {
        try {
          hashes.push((await appendEvent(client, input)).hash);
        } catch (err) {
          if (!(err instanceof LedgerConflictError)) throw err;
          // A workflow task that wrote here and then died before Temporal recorded it is run
          // again with a later workflow time: the same step, another `at`. The first write stands.
          const { rows } = await client.query<{ type: string; actor_id: string; hash: string }>(
            'SELECT type, actor_id, hash FROM ledger_events WHERE action_id = $1 AND seq = $2',
            [input.actionId, input.seq],
          );
          if (rows[0]?.type !== input.type || rows[0]?.actor_id !== input.actor.id) {
            throw ApplicationFailure.nonRetryable(err.message, WRITE_FAILURES.ledgerConflict);
          }
          hashes.push(rows[0].hash);
        }
      }
      changed = await actions.setProjection(client, last);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
    if (changed) await notifier.actionChanged(events[0].actionId);
    return { hashes };
  }
}
