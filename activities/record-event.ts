import type { RecordEventInput } from '../domain/action-types';
import { sensitivePaths, UnknownActionError } from '../policy';
import { digestValue, redactSensitive } from '../ledger/redact';
import { ApplicationFailure } from '@temporalio/activity';
import { appendEvent, appendEventBatch, LedgerConflictError } from '../ledger/store';
import type { PolicyStore } from '../ledger/policy-store';
import type { ActivityDeps } from './index';

/**
 * Params marked `x-sensitive: true` in the action schema go into the ledger as digests (the
 * ledger can never be edited, so it must never hold them); the executor request has them.
 */
async function redactForLedger(policies: PolicyStore, ev: RecordEventInput): Promise<Record<string, unknown>> {
  const version = ev.view.policy?.version;
  let paths: readonly string[];
  try {
    const bundle = version ? await policies.byVersion(version) : (await policies.active()).bundle;
    paths = sensitivePaths(bundle, ev.action).filter((p) => !p.includes('*'));
  } catch (err) {
    if (err instanceof UnknownActionError) return ev.data;
    throw err;
  }
  if (paths.length === 0) return ev.data;
  const data: Record<string, unknown> = { ...ev.data };
  if (data.params && typeof data.params === 'object') data.params = redactSensitive(data.params, paths);
  const edits = data.edits as Record<string, { from: unknown; to: unknown }> | undefined;
  if (edits) {
    data.edits = Object.fromEntries(
      Object.entries(edits).map(([ptr, e]) => [ptr, paths.some((p) => ptr === p || ptr.startsWith(p + '/')) ? { from: digestValue(e.from), to: digestValue(e.to) } : e]),
    );
  }
  return data;
}

/**
 * The `actions` read model set to the projection of an action's last event, unless a later one
 * is there: {@link projectionValues} are its values. The change notification goes out after the
 * commit (ChangeNotifier).
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

export function createRecordingActivities({ pool, policies, notifier }: Pick<ActivityDeps, 'pool' | 'policies' | 'notifier'>) {
  return {
    /**
     * Append a batch of events (one workflow task's worth) to the action's hash chain and set
     * the `actions` read model to the projection of the last one in one transaction, then
     * notify listeners that the action changed. Idempotent by (actionId, seq): a retried or
     * replayed batch finds its events already there and changes nothing. `head` is the hash
     * of the event before the batch as the workflow knows it (from the previous batch's
     * result); without it (workflows started before it was passed) or when it does not match,
     * events go in one by one.
     */
    async recordEvents(events: RecordEventInput[], head?: string): Promise<{ hashes: string[] }> {
      if (events.length === 0) return { hashes: [] };
      const prepared = await Promise.all(events.map(async (ev) => ({ ev, data: await redactForLedger(policies, ev) })));
      const inputs = prepared.map(({ ev, data }) => ({ actionId: ev.actionId, seq: ev.seq, type: ev.type, actor: ev.actor, at: ev.at, data }));
      const projection = projectionValues(events[events.length - 1]);
      // The usual case: the whole batch is new. It goes in with the read model in one
      // statement: one round trip, atomic without BEGIN/COMMIT.
      if (head !== undefined) {
        const batch = await appendEventBatch(pool, inputs, head, {
          name: 'countersign_record_events_v2',
          text: (p) => projectionSql(p, 'AND EXISTS (SELECT 1 FROM appended)'),
          values: projection,
        });
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
              throw ApplicationFailure.nonRetryable(err.message, 'LedgerConflict');
            }
            hashes.push(rows[0].hash);
          }
        }
        const updated = await client.query({ name: 'countersign_record_projection_v2', text: projectionSql((i) => `$${i}`), values: projection });
        await client.query('COMMIT');
        changed = (updated.rowCount ?? 0) > 0;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
      if (changed) await notifier.actionChanged(events[0].actionId);
      return { hashes };
    },
  };
}
