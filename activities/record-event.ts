import type { RecordEventInput } from '../domain/action-types';
import { appendEvent } from '../ledger/store';
import type { ActivityDeps } from './index';

/** Postgres channel that carries `<actionId>` whenever an action's read model changes. */
export const ACTION_CHANGED_CHANNEL = 'countersign_action_changed';

/** Recording: ledger event + read model + change notification, in one transaction. */
export function createRecordingActivities({ pool }: Pick<ActivityDeps, 'pool'>) {
  return {
    /**
     * Append one event to the action's hash chain and update the `actions` read model to the
     * projection carried with it. Idempotent by (actionId, seq): a retry or a replayed local
     * activity finds its event already there and changes nothing.
     */
    async recordEvent(ev: RecordEventInput): Promise<{ hash: string }> {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const appended = await appendEvent(client, {
          actionId: ev.actionId,
          seq: ev.seq,
          type: ev.type,
          actor: ev.actor,
          at: ev.at,
          data: ev.data,
        });
        const v = ev.view;
        await client.query(
          `UPDATE actions SET status = $2, params = $3, policy = $4, approval = $5, outcome = $6, result = $7,
                  error = $8, executor = $9, eligible_groups = $10, voters = $11, deadline = $12,
                  run_id = $13, last_seq = $14, updated_at = $15
            WHERE id = $1 AND last_seq < $14`,
          [
            ev.actionId,
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
            ev.runId,
            ev.seq,
            ev.at,
          ],
        );
        await client.query('SELECT pg_notify($1, $2)', [ACTION_CHANGED_CHANNEL, ev.actionId]);
        await client.query('COMMIT');
        return { hash: appended.hash };
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    },
  };
}
