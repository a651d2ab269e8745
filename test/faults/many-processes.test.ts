import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyLedger } from '../../ledger/store';
import { trustedPublicKeys } from '../../ledger/signing';
import { defaultWitnessFile, FileWitness } from '../../ledger/witness';
import { testPolicy } from '../fixtures/policy';
import { call, eventually, type Answer } from '../helpers/stack';
import { FAULT_EXECUTOR_SECRET, printLogsOnFailure, sleep, startFaultStack, type FaultStack } from '../helpers/processes';
import { startIdempotentTarget, type IdempotentTarget } from './idempotent-target';
import { expectSoundLedger, settledView } from './checks';

// The production shape (issue 20, item 7): two API processes and two workers on one Temporal
// and one Postgres. Agents propose and reviewers approve through both APIs; mid-load one API and
// one worker die (SIGKILL). Clients whose API died retry on the other with the same
// Idempotency-Key, as they would behind a load balancer. Every action must end exactly once,
// executed at most once at the target, with a whole ledger, and both workers must have worked.
describe('fault: many processes at once', () => {
  let stack: FaultStack;
  let target: IdempotentTarget;
  let agents: string[];
  let reviewers: string[];

  beforeAll(async () => {
    target = await startIdempotentTarget(FAULT_EXECUTOR_SECRET, () => ({ kind: 'perform', delayMs: 50 }));
    stack = await startFaultStack({ policy: testPolicy(target.url), apis: 2, workers: 2, checkpointIntervalSeconds: 5 });
    agents = [await stack.principal('agent-a', 'agent', ['agent']), await stack.principal('agent-b', 'agent', ['agent'])];
    reviewers = [await stack.principal('alice', 'human', ['reviewer'], ['finance']), await stack.principal('bob', 'human', ['reviewer'], ['finance'])];
  });
  afterAll(async () => {
    await stack?.stop();
    await target?.close();
  });
  printLogsOnFailure(() => stack);

  /** Send to API `i`; if that process is gone (connection refused or reset), to the other one, same key. */
  async function send(i: number, token: string, method: string, path: string, body: unknown, key: string): Promise<Answer> {
    const order = [i % 2, (i + 1) % 2];
    let last: unknown;
    for (const k of order) {
      try {
        return await call(stack.urls[k]!, token, method, path, body, { 'idempotency-key': key });
      } catch (err) {
        last = err; // the process died under the request: a load balancer retries elsewhere
      }
    }
    throw last;
  }

  it('when an API and a worker are killed mid-load, then every action ends once, executes at most once, the ledger is whole, and both workers did work', async () => {
    const N = 40;
    const ids: string[] = [];
    const needsApproval = new Set<string>();
    const decide = async (i: number, id: string) => {
      const r = await send(i, reviewers[i % 2]!, 'POST', `/v1/actions/${id}/decisions`, { decision: 'approve', reason: 'checked' }, `decide-${id}`);
      // A retried decision on the other API may find it already applied: 200 (same key) or not-pending.
      expect([200, 409]).toContain(r.status);
    };
    const propose = async (i: number) => {
      const big = i % 2 === 0; // half need a finance approval, half are allowed outright
      const r = await send(i, agents[i % 2]!, 'POST', '/v1/actions?wait=10', { action: 'payments.transfer', params: { amount: big ? 500 + i : 10 + i, currency: 'EUR', to: `acct-${i}` } }, `propose-${i}`);
      expect([200, 201]).toContain(r.status);
      ids[i] = r.body.id;
      if (big) needsApproval.add(r.body.id);
      if (r.body.status === 'awaiting_approval') await decide(i, r.body.id);
    };

    // A third of the load with everything up, then the kill, then the rest on what is left.
    const inflight: Promise<void>[] = [];
    for (let i = 0; i < N; i++) {
      inflight.push(propose(i));
      if (i === Math.floor(N / 3)) {
        await sleep(300);
        const [apiExit, workerExit] = await Promise.all([stack.apis[1]!.kill('SIGKILL'), stack.workers[1]!.kill('SIGKILL')]);
        expect(apiExit.signal).toBe('SIGKILL');
        expect(workerExit.signal).toBe('SIGKILL');
      }
      await sleep(100);
    }
    await Promise.all(inflight);
    expect(ids.filter(Boolean)).toHaveLength(N);

    // Pending approvals whose first decision was lost with the dead API get decided again.
    for (const [i, id] of ids.entries()) {
      const v = await settledView(stack, stack.admin, id, 60_000, ['evaluating']);
      if (v.status === 'awaiting_approval') await decide(i, id);
    }

    // Every action ends once: succeeded, performed once at the target, whole ledger.
    for (const id of ids) {
      const v = await settledView(stack, stack.admin, id, 120_000, ['evaluating', 'awaiting_approval', 'approved', 'executing']);
      expect(v.status, `${id} (${needsApproval.has(id) ? 'approved' : 'allowed'})`).toBe('succeeded');
      expect(target.performedCount(id), `performed ${id}`).toBe(1);
      await expectSoundLedger(stack, id);
    }
    // No proposal was started twice: one action per idempotency key.
    const { rows } = await stack.pool.query<{ n: number }>("SELECT count(*)::int AS n FROM actions WHERE agent IN ('agent-a', 'agent-b')");
    expect(rows[0]!.n).toBe(N);

    // Both workers did work: the histories name each worker (identity <pid>@<host>) on completed tasks.
    const client = await stack.temporalClient();
    const identities = new Set<string>();
    for (const id of ids) {
      const { events } = await client.workflow.getHandle(`action-${id}`).fetchHistory();
      for (const e of events ?? []) {
        const identity = e.workflowTaskCompletedEventAttributes?.identity ?? e.activityTaskStartedEventAttributes?.identity;
        if (identity) identities.add(identity);
      }
    }
    const pidsOf = (w: (typeof stack.workers)[number]) => w.pids.map((pid) => `${pid}@${os.hostname()}`);
    expect([...identities].some((x) => pidsOf(stack.workers[0]!).includes(x))).toBe(true);
    expect([...identities].some((x) => pidsOf(stack.workers[1]!).includes(x))).toBe(true);

    // The whole ledger verifies, checkpoints and witness included, once a checkpoint has covered everything.
    await eventually(
      async () => {
        const v = await verifyLedger(stack.pool, trustedPublicKeys(stack.dataDir), { witnesses: [new FileWitness(defaultWitnessFile(stack.dataDir))] });
        expect(v.ok, v.reason).toBe(true);
        const { rows: uncovered } = await stack.pool.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM (SELECT action_id, max(seq) AS seq FROM ledger_events GROUP BY action_id) h
            WHERE NOT EXISTS (SELECT 1 FROM ledger_checkpoints c, jsonb_array_elements(c.covers) x
                               WHERE x->>'actionId' = h.action_id AND (x->>'seq')::int = h.seq)`,
        );
        return uncovered[0]!.n === 0;
      },
      60_000,
      'a checkpoint covering every chain head',
    );
    expect(await verifyLedger(stack.pool, trustedPublicKeys(stack.dataDir), { witnesses: [new FileWitness(defaultWitnessFile(stack.dataDir))], coveredBefore: new Date() })).toMatchObject({ ok: true });
  });
});
