import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPolicy } from '../fixtures/policy';
import { eventually, type Answer } from '../helpers/stack';
import { FAULT_EXECUTOR_SECRET, printLogsOnFailure, sleep, startFaultStack, type FaultStack } from '../helpers/processes';
import { startIdempotentTarget, type IdempotentTarget } from './idempotent-target';
import { expectSoundLedger, typesOf } from './checks';

// The API process dies with SIGKILL while an agent's proposal (with an Idempotency-Key) is in
// flight. The agent sees a dropped connection and retries with the same key against the
// restarted API: it must get the one action that key names, never a second one.
describe('fault: the API is killed mid-proposal', () => {
  let stack: FaultStack;
  let target: IdempotentTarget;
  let agent: string;

  beforeAll(async () => {
    // Amount 61: the target takes 5 s to answer, so a proposal with ?wait is held that long.
    target = await startIdempotentTarget(FAULT_EXECUTOR_SECRET, (_id, _attempt, body) => (body?.params?.amount === 61 ? { kind: 'perform', delayMs: 5000 } : undefined));
    stack = await startFaultStack({ policy: testPolicy(target.url) });
    agent = await stack.principal('agent-1', 'agent', ['agent']);
  });
  afterAll(async () => {
    await stack?.stop();
    await target?.close();
  });
  printLogsOnFailure(() => stack);

  /** A proposal as the agent sends it; a dropped connection comes back as an Error. */
  const propose = (key: string, amount: number, wait = 0): Promise<Answer | Error> =>
    stack
      .call(agent, 'POST', `/v1/actions${wait ? `?wait=${wait}` : ''}`, { action: 'payments.transfer', params: { amount, currency: 'EUR', to: 'acct-9' } }, { 'idempotency-key': key })
      .catch((err: Error) => err);
  const actionsWithKey = async (key: string) =>
    (await stack.pool.query<{ id: string; last_seq: number }>('SELECT id, last_seq FROM actions WHERE agent = $1 AND idempotency_key = $2', ['agent-1', key])).rows;

  it('when the API is killed while a proposal waits for its outcome, then the retry with the same key gets that action (200) and it executes once', async () => {
    // Arrange: the proposal is recorded, its workflow runs, the response is held by ?wait.
    const key = 'invoice-4711';
    const first = propose(key, 61, 30);
    await eventually(async () => target.deliveries.some((d) => d.behaviour === 'perform' && d.attempt === 1), 30_000, 'the executor call');
    const actionId = target.deliveries[0].actionId;

    // Act
    const exit = await stack.api.kill('SIGKILL');
    const lost = await first;
    await stack.api.start();
    const retry = await propose(key, 61, 30);

    // Assert
    expect(exit.signal).toBe('SIGKILL');
    expect(lost).toBeInstanceOf(Error);
    expect(retry).toMatchObject({ status: 200, body: { id: actionId, status: 'succeeded' } });
    expect(await actionsWithKey(key)).toEqual([expect.objectContaining({ id: actionId })]);
    expect(target.deliveriesOf(actionId)).toHaveLength(1);
    expect(target.performedCount(actionId)).toBe(1);
    expect(typesOf(await expectSoundLedger(stack, actionId))).toEqual(['proposed', 'policy_decided', 'execution_started', 'executed']);
  });

  it('when the API is killed after recording a proposal but before its workflow started, then the retry starts that very action and it executes once', async () => {
    // Arrange: Temporal is frozen (SIGSTOP), so the API records the row and then hangs
    // starting the workflow: the window a crash must not turn into a lost or doubled action.
    const key = 'invoice-4712';
    const temporalPid = stack.temporal.pid as number;
    process.kill(temporalPid, 'SIGSTOP');
    let recorded: { id: string; last_seq: number }[];
    let lost: Answer | Error;
    let exit;
    try {
      const first = propose(key, 62);
      recorded = await eventually(async () => {
        const rows = await actionsWithKey(key);
        return rows.length > 0 && rows;
      }, 20_000, 'the proposal to be recorded');
      await sleep(300);

      // Act
      exit = await stack.api.kill('SIGKILL');
      lost = await first;
    } finally {
      process.kill(temporalPid, 'SIGCONT');
    }
    await stack.api.start();
    const startedByTheDeadApi = await (await stack.temporalClient()).workflow
      .getHandle(`action-${recorded[0].id}`)
      .describe()
      .then(() => true, () => false);
    console.info(`API killed before the workflow start: Temporal ${startedByTheDeadApi ? 'still started it from the dead API\'s request' : 'never started it'}; the retry ${startedByTheDeadApi ? 'finds it' : 'starts it'}`);
    const retry = await propose(key, 62, 30);

    // Assert
    expect(exit.signal).toBe('SIGKILL');
    expect(lost).toBeInstanceOf(Error);
    expect(recorded).toEqual([{ id: expect.any(String), last_seq: 0 }]);
    const actionId = recorded[0].id;
    expect(retry).toMatchObject({ status: 200, body: { id: actionId } });
    const done = await stack.call(agent, 'GET', `/v1/actions/${actionId}?wait=30`);
    expect(done.body.status).toBe('succeeded');
    expect(await actionsWithKey(key)).toHaveLength(1);
    expect(target.performedCount(actionId)).toBe(1);
    expect(target.deliveriesOf(actionId)).toHaveLength(1);
    expect(typesOf(await expectSoundLedger(stack, actionId))).toEqual(['proposed', 'policy_decided', 'execution_started', 'executed']);
  });

  it('when the API is killed before it recorded a proposal, then nothing of it remains and the retry with the same key creates the action once', async () => {
    // Arrange: Postgres is frozen (SIGSTOP, connections stay open), so the proposal hangs on
    // its first query, before anything is written.
    const key = 'invoice-4713';
    const thaw = stack.postgres.freeze();
    let lost: Answer | Error;
    let exit;
    try {
      const first = propose(key, 63);
      await sleep(1000);

      // Act
      exit = await stack.api.kill('SIGKILL');
      lost = await first;
    } finally {
      thaw();
    }
    const recordedByTheDeadApi = await actionsWithKey(key);
    await stack.api.start();
    const retry = await propose(key, 63, 30);
    const again = await propose(key, 63, 30);

    // Assert: the dead API's request left nothing; the retry created the action, once.
    expect(exit.signal).toBe('SIGKILL');
    expect(lost).toBeInstanceOf(Error);
    expect(recordedByTheDeadApi).toEqual([]);
    expect(retry).toMatchObject({ status: 201, body: { status: 'succeeded' } });
    const actionId = (retry as Answer).body.id;
    expect(again).toMatchObject({ status: 200, body: { id: actionId, status: 'succeeded' } });
    expect(await actionsWithKey(key)).toEqual([expect.objectContaining({ id: actionId })]);
    expect(target.performedCount(actionId)).toBe(1);
    expect(target.deliveriesOf(actionId)).toHaveLength(1);
    expect(typesOf(await expectSoundLedger(stack, actionId))).toEqual(['proposed', 'policy_decided', 'execution_started', 'executed']);
  });

  it('when the API was killed three times, then the worker never noticed and the whole ledger verifies', async () => {
    const verify = await stack.call(stack.admin, 'GET', '/v1/ledger/verify');

    expect(verify.body).toMatchObject({ ok: true });
    expect(stack.api.pids).toHaveLength(4);
    expect(stack.worker.unexpectedExits).toEqual([]);
    expect(stack.api.unexpectedExits).toEqual([]);
  });
});
