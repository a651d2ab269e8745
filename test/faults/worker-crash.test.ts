import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPolicy } from '../fixtures/policy';
import { eventually } from '../helpers/stack';
import { FAULT_EXECUTOR_SECRET, printLogsOnFailure, sleep, startFaultStack, type FaultStack } from '../helpers/processes';
import { startIdempotentTarget, type IdempotentTarget } from './idempotent-target';
import { expectSoundLedger, settledView, typesOf } from './checks';

// The worker process dies with SIGKILL (no graceful shutdown, nothing flushed) while an action
// waits for approval, while the executor call is on the wire (inline, and as an activity), and -
// through a link to Temporal that the test freezes - right after a workflow task wrote to
// Postgres but before Temporal recorded that task. Each time a new worker process picks the
// action up and finishes it.
describe('fault: the worker is killed', () => {
  let stack: FaultStack;
  let target: IdempotentTarget;
  let agent: string;
  let alice: string;

  beforeAll(async () => {
    // Amount 77 is the in-flight case: the first delivery is performed and its answer held.
    target = await startIdempotentTarget(FAULT_EXECUTOR_SECRET, (_id, attempt, body) =>
      body?.params?.amount === 77 && attempt === 1 ? { kind: 'perform-then-hold' } : undefined,
    );
    stack = await startFaultStack({ policy: testPolicy(target.url), workerLink: true });
    agent = await stack.principal('agent-1', 'agent', ['agent']);
    alice = await stack.principal('alice', 'human', ['reviewer'], ['finance']);
  });
  afterAll(async () => {
    await stack?.stop();
    await target?.close();
  });
  printLogsOnFailure(() => stack);

  it('when the worker is killed while an approval is pending, then a decision sent meanwhile is applied by a new worker and the action executes once', async () => {
    // Arrange
    const r = await stack.call(agent, 'POST', '/v1/actions?wait=20', { action: 'payments.transfer', params: { amount: 500, currency: 'EUR', to: 'acct-1' } });
    expect(r.body.status).toBe('awaiting_approval');
    // Pending as far as Temporal knows too: the workflow task that got there has completed.
    // (Killing the worker the moment the API reports awaiting_approval can land before that;
    // the case after next covers that window on purpose.)
    await eventually(async () => (await stack.recordedStatus(`action-${r.body.id}`)) === 'awaiting_approval', 20_000, 'Temporal to record awaiting_approval');
    const oldPid = stack.worker.pid;

    // Act: kill it, approve while no worker runs (the Update waits for one), start a new worker.
    const exit = await stack.worker.kill('SIGKILL');
    const decision = stack.call(alice, 'POST', `/v1/actions/${r.body.id}/decisions`, { decision: 'approve', reason: 'checked' });
    await sleep(1000);
    await stack.worker.start();
    const decided = await decision;

    // Assert
    expect(exit.signal).toBe('SIGKILL');
    expect(stack.worker.pid).not.toBe(oldPid);
    expect(decided.status).toBe(200);
    expect(decided.body.approval.approvals).toEqual([expect.objectContaining({ reviewer: 'alice', decision: 'approve' })]);
    const done = await stack.call(agent, 'GET', `/v1/actions/${r.body.id}?wait=30&since=executing`);
    expect(done.body.status).toBe('succeeded');
    expect(target.deliveriesOf(r.body.id)).toHaveLength(1);
    expect(target.performedCount(r.body.id)).toBe(1);
    const events = await expectSoundLedger(stack, r.body.id);
    expect(typesOf(events)).toEqual(['proposed', 'policy_decided', 'approval_requested', 'decision_recorded', 'execution_started', 'executed']);
  });

  /** The events of an action's workflow history, by type. */
  const historyTypes = async (actionId: string) => {
    const client = await stack.temporalClient();
    const { events } = await client.workflow.getHandle(`action-${actionId}`).fetchHistory();
    return (events ?? []).map((e) => Object.keys(e).find((k) => k.endsWith('EventAttributes')) ?? '');
  };

  /**
   * Once the target holds the answer to the action's first delivery: kill the worker, start a
   * new one, and check that the action succeeded within `ms`, performed once, with a whole
   * ledger. Returns the event types of its history, for what differs between the two paths.
   */
  const killMidCallThenFinish = async (actionId: string, path: string, ms: number) => {
    await eventually(async () => target.deliveriesOf(actionId).length === 1, 30_000, 'the first delivery');
    const exit = await stack.worker.kill('SIGKILL');
    const killedAt = Date.now();
    await stack.worker.start();
    const done = await settledView(stack, agent, actionId, ms);

    expect(exit.signal).toBe('SIGKILL');
    expect(done.status).toBe('succeeded');
    const deliveries = target.deliveriesOf(actionId);
    console.info(
      `worker killed mid-call (${path}): ${deliveries.length} deliveries of ${actionId} (${deliveries.map((d) => d.behaviour).join(', ')}); ` +
        `succeeded ${Math.round((Date.now() - killedAt) / 1000)} s after the kill`,
    );
    expect(deliveries.length).toBeGreaterThanOrEqual(2);
    expect(deliveries.every((d) => d.signatureValid && d.idempotencyKey === actionId)).toBe(true);
    expect(target.performedCount(actionId)).toBe(1);
    expect(done.result).toMatchObject({ status: 200, body: { receipt: target.receiptOf(actionId), replayed: true } });
    const events = await expectSoundLedger(stack, actionId);
    expect(typesOf(events)).toEqual(['proposed', 'policy_decided', 'execution_started', 'executed']);
    return historyTypes(actionId);
  };

  it('when the worker is killed while an inline executor call is in flight, then a new worker calls again after the workflow task timeout and the target performs it once', async () => {
    // Arrange: a fast answer first, so this worker calls the target inline (a local activity
    // inside the workflow task); then the target performs the next delivery and holds its answer.
    const warm = await stack.call(agent, 'POST', '/v1/actions?wait=20', { action: 'payments.transfer', params: { amount: 10, currency: 'EUR', to: 'acct-0' } });
    expect(warm.body.status).toBe('succeeded');
    const r = await stack.call(agent, 'POST', '/v1/actions', { action: 'payments.transfer', params: { amount: 77, currency: 'EUR', to: 'acct-2' } });
    expect(r.status).toBe(201);

    // Act and assert: the workflow task (10 s timeout) that ran the call times out before
    // another worker runs it again.
    const history = await killMidCallThenFinish(r.body.id, 'inline', 60_000);

    // Assert: the new worker, which had not seen the target answer, called it as an activity.
    expect(history).toContain('workflowTaskTimedOutEventAttributes');
    expect(history).toContain('activityTaskScheduledEventAttributes');
  });

  it('when the worker is killed while an executor activity is in flight, then a new worker retries it after the activity timeout and the target performs it once', async () => {
    // Arrange: a new worker has not seen the target answer, so its call is a regular activity;
    // the target performs the first delivery and holds its answer.
    await stack.worker.kill('SIGKILL');
    await stack.worker.start();
    const r = await stack.call(agent, 'POST', '/v1/actions', { action: 'payments.transfer', params: { amount: 77, currency: 'EUR', to: 'acct-3' } });
    expect(r.status).toBe(201);

    // Act and assert: the activity's startToCloseTimeout (30 s) passes before Temporal retries it.
    const history = await killMidCallThenFinish(r.body.id, 'activity', 90_000);

    // Assert
    expect(history).not.toContain('workflowTaskTimedOutEventAttributes');
    expect(history.filter((t) => t === 'activityTaskScheduledEventAttributes')).toHaveLength(1);
  });

  it('when the worker is killed after its ledger write committed but before Temporal heard of the workflow task, then a new worker redoes the task and the action completes', async () => {
    // Arrange: from now on nothing the worker sends reaches Temporal (it still gets tasks).
    const link = stack.workerLink!;
    link.freeze();
    const r = await stack.call(agent, 'POST', '/v1/actions', { action: 'payments.transfer', params: { amount: 60, currency: 'EUR', to: 'acct-3' } });
    expect(r.status).toBe(201);
    // The first workflow task ran its local activities: the first events are in Postgres...
    await eventually(
      async () => (await stack.pool.query('SELECT 1 FROM ledger_events WHERE action_id = $1', [r.body.id])).rowCount! > 0,
      30_000,
      'the first ledger write',
    );
    await sleep(500);
    // ...and its completion went nowhere.
    expect(link.droppedBytes).toBeGreaterThan(0);

    // Act: the worker dies; after the 10 s workflow task timeout Temporal gives the task to a
    // new worker, which runs it again from the start.
    await stack.worker.kill('SIGKILL');
    link.cut();
    await stack.worker.start();
    const done = await settledView(stack, agent, r.body.id, 60_000);

    // Assert
    expect(done.status).toBe('succeeded');
    expect(target.performedCount(r.body.id)).toBe(1);
    const events = await expectSoundLedger(stack, r.body.id);
    expect(typesOf(events)).toEqual(['proposed', 'policy_decided', 'execution_started', 'executed']);
  });

  it('when the worker dies before Temporal recorded that an action is pending, then an approval sent meanwhile is accepted and the action executes once', async () => {
    // Arrange: the doomed worker gets the action to awaiting_approval in Postgres (so the API
    // shows it pending), but Temporal never hears of that workflow task.
    const link = stack.workerLink!;
    link.freeze();
    const r = await stack.call(agent, 'POST', '/v1/actions?wait=20', { action: 'payments.transfer', params: { amount: 700, currency: 'EUR', to: 'acct-4' } });
    expect(r.body.status).toBe('awaiting_approval');
    await sleep(500);
    expect(link.droppedBytes).toBeGreaterThan(0);
    expect(await stack.recordedStatus(`action-${r.body.id}`)).toBe('evaluating');

    // Act: the worker dies; the reviewer approves what the API shows as pending.
    await stack.worker.kill('SIGKILL');
    link.cut();
    const decision = stack.call(alice, 'POST', `/v1/actions/${r.body.id}/decisions`, { decision: 'approve' });
    await sleep(500);
    await stack.worker.start();
    const decided = await decision;

    // Assert
    expect(decided.status, JSON.stringify(decided.body)).toBe(200);
    const done = await settledView(stack, agent, r.body.id, 60_000, ['awaiting_approval', 'executing']);
    expect(done.status).toBe('succeeded');
    expect(target.performedCount(r.body.id)).toBe(1);
    const events = await expectSoundLedger(stack, r.body.id);
    expect(typesOf(events)).toEqual(['proposed', 'policy_decided', 'approval_requested', 'decision_recorded', 'execution_started', 'executed']);
  });

  it('when all kills are over, then no worker died on its own and the whole ledger verifies', async () => {
    const verify = await stack.call(stack.admin, 'GET', '/v1/ledger/verify');

    expect(verify.status).toBe(200);
    expect(verify.body).toMatchObject({ ok: true });
    expect(stack.worker.unexpectedExits).toEqual([]);
    expect(stack.api.unexpectedExits).toEqual([]);
  });
});
