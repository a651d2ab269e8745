import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPolicy } from '../fixtures/policy';
import { eventually } from '../helpers/stack';
import { FAULT_EXECUTOR_SECRET, printLogsOnFailure, sleep, startFaultStack, type FaultStack } from '../helpers/processes';
import { startIdempotentTarget, type IdempotentTarget } from './idempotent-target';
import { expectSoundLedger, typesOf } from './checks';

// The Temporal dev server is killed (SIGKILL: no shutdown) while approvals are pending and comes
// back on the same port with the same SQLite file. Its timers and the pending workflows are in
// that file: a deadline that passed while it was down fires after the restart, and decisions
// still work.
describe('fault: the Temporal server restarts', () => {
  let stack: FaultStack;
  let target: IdempotentTarget;
  let agent: string;
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    target = await startIdempotentTarget(FAULT_EXECUTOR_SECRET);
    // medium-transfers (100 < amount <= 10000) expire after 10 s without a decision.
    stack = await startFaultStack({ policy: testPolicy(target.url, { approvalTimeout: '10s' }) });
    agent = await stack.principal('agent-1', 'agent', ['agent']);
    alice = await stack.principal('alice', 'human', ['reviewer'], ['finance']);
    bob = await stack.principal('bob', 'human', ['reviewer'], ['finance']);
  });
  afterAll(async () => {
    await stack?.stop();
    await target?.close();
  });
  printLogsOnFailure(() => stack);

  const propose = (amount: number, headers: Record<string, string> = {}) =>
    stack.call(agent, 'POST', '/v1/actions?wait=20', { action: 'payments.transfer', params: { amount, currency: 'EUR', to: 'acct-1' } }, headers);

  it('when the server is killed, stays down across an approval deadline and comes back, then that action expires, a pending vote completes the other, and new proposals run', async () => {
    // Arrange: A expires 10 s after it was proposed; B needs two approvals and has one.
    const a = await propose(500);
    const b = await propose(20_000);
    expect([a.body.status, b.body.status]).toEqual(['awaiting_approval', 'awaiting_approval']);
    const first = await stack.call(alice, 'POST', `/v1/actions/${b.body.id}/decisions`, { decision: 'approve' });
    expect(first.body.status).toBe('awaiting_approval');
    for (const id of [a.body.id, b.body.id]) {
      await eventually(async () => (await stack.recordedStatus(`action-${id}`)) === 'awaiting_approval', 20_000, `Temporal to record ${id} as pending`);
    }

    // Act: kill Temporal (SIGKILL: no shutdown) and keep it down until A's deadline has passed.
    await stack.temporal.kill();
    const down = Date.now();
    const readyWhileDown = await stack.call(undefined, 'GET', '/readyz');
    const proposeStarted = Date.now();
    const whileDown = await propose(50, { 'idempotency-key': 'while-temporal-is-down' });
    const proposeMs = Date.now() - proposeStarted;
    await sleep(Math.max(0, Date.parse(a.body.approval.deadline) + 2000 - Date.now()));
    await stack.temporal.start();
    const downMs = Date.now() - down;
    await eventually(async () => (await stack.call(undefined, 'GET', '/readyz')).status === 200, 30_000, 'the API to see Temporal again');
    const second = await stack.call(bob, 'POST', `/v1/actions/${b.body.id}/decisions`, { decision: 'approve' });
    const expired = await eventually(
      async () => {
        const v = await stack.call(agent, 'GET', `/v1/actions/${a.body.id}?wait=10&since=awaiting_approval`);
        return v.body.status !== 'awaiting_approval' && v;
      },
      30_000,
      'A to leave awaiting_approval',
    );
    const retried = await propose(50, { 'idempotency-key': 'while-temporal-is-down' });
    console.info(`temporal restart: down ${Math.round(downMs / 1000)} s; a proposal while down answered ${whileDown.status} after ${proposeMs} ms; its retry answered ${retried.status}`);

    // Assert: while down, the API said so (503 problem, not a 500 or a hang).
    expect(readyWhileDown.status).toBe(503);
    expect(whileDown.status).toBe(503);
    expect(whileDown.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(proposeMs).toBeLessThan(30_000);
    // After: the timer that came due while the server was down fired.
    expect(expired.body.status).toBe('expired');
    expect(expired.body.outcome).toMatchObject({ by: 'timeout' });
    expect(target.deliveriesOf(a.body.id)).toHaveLength(0);
    expect(typesOf(await expectSoundLedger(stack, a.body.id))).toEqual(['proposed', 'policy_decided', 'approval_requested', 'expired']);
    // The vote cast before the restart still counts: the second approval executes B, once.
    expect(second.status).toBe(200);
    const doneB = await stack.call(agent, 'GET', `/v1/actions/${b.body.id}?wait=30&since=executing`);
    expect(doneB.body.status).toBe('succeeded');
    expect(doneB.body.approval.approvals.map((v: { reviewer: string }) => v.reviewer)).toEqual(['alice', 'bob']);
    expect(target.performedCount(b.body.id)).toBe(1);
    expect(target.deliveriesOf(b.body.id)).toHaveLength(1);
    expect(typesOf(await expectSoundLedger(stack, b.body.id))).toEqual([
      'proposed',
      'policy_decided',
      'approval_requested',
      'decision_recorded',
      'decision_recorded',
      'execution_started',
      'executed',
    ]);
    // The proposal refused while Temporal was down left nothing behind: its retry is new (201) and runs.
    expect(retried.status).toBe(201);
    expect(retried.body.status).toBe('succeeded');
    const withKey = await stack.pool.query('SELECT id FROM actions WHERE idempotency_key = $1', ['while-temporal-is-down']);
    expect(withKey.rows).toEqual([{ id: retried.body.id }]);
    expect(target.performedCount(retried.body.id)).toBe(1);
  });

  it('when the restart is over, then the worker and the API kept running and the whole ledger verifies', async () => {
    const verify = await stack.call(stack.admin, 'GET', '/v1/ledger/verify');

    expect(verify.body).toMatchObject({ ok: true });
    expect(stack.worker.unexpectedExits).toEqual([]);
    expect(stack.api.unexpectedExits).toEqual([]);
    expect(stack.worker.pids).toHaveLength(1);
    expect(stack.api.pids).toHaveLength(1);
  });
});
