import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPolicy } from '../fixtures/policy';
import { FAULT_EXECUTOR_SECRET, printLogsOnFailure, startFaultStack, type FaultStack } from '../helpers/processes';
import { startIdempotentTarget, type Behaviour, type IdempotentTarget } from './idempotent-target';
import { expectSoundLedger, typesOf } from './checks';

// The executor target misbehaves (5xx, stalls and dropped connections, lost answers, a 4xx):
// the http executor retries what may succeed later, stops at a refusal, and the target ends
// up performing each action at most once. API, worker, Temporal and Postgres are real processes.
describe('fault: the executor target fails', () => {
  let stack: FaultStack;
  let target: IdempotentTarget;
  let agent: string;
  /** Per-amount scripts: the amount picks the scenario, the attempt number the fault. */
  const scripts = new Map<number, (attempt: number) => Behaviour | undefined>();

  beforeAll(async () => {
    target = await startIdempotentTarget(FAULT_EXECUTOR_SECRET, (_id, attempt, body) => scripts.get(body?.params?.amount)?.(attempt));
    // A short executor timeout, so a stalled target is a real client timeout in seconds, not 25.
    stack = await startFaultStack({ policy: testPolicy(target.url), executorTimeoutMs: 2000 });
    agent = await stack.principal('agent-1', 'agent', ['agent']);
  });
  afterAll(async () => {
    await stack?.stop();
    await target?.close();
  });
  printLogsOnFailure(() => stack);

  it('when the target answers 500, then times out, then drops the connection, then performs but the answer is lost, then the action succeeds and was performed once', async () => {
    // Arrange: attempt 1 -> 500; 2 -> never answers (the executor's 2 s timeout fires);
    // 3 -> 1 s stall then reset; 4 -> performed, answer lost; 5 -> the target recognises the
    // key and answers with the stored receipt.
    scripts.set(42, (attempt) =>
      (
        ({
          1: { kind: 'answer', status: 500, body: { error: 'database is on fire' } },
          2: { kind: 'hold' },
          3: { kind: 'reset', afterMs: 1000 },
          4: { kind: 'perform-then-reset' },
        }) as Record<number, Behaviour>
      )[attempt],
    );

    // Act
    const r = await stack.call(agent, 'POST', '/v1/actions?wait=60', { action: 'payments.transfer', params: { amount: 42, currency: 'EUR', to: 'acct-1' } });

    // Assert
    expect(r.status).toBe(201);
    expect(r.body.status).toBe('succeeded');
    const deliveries = target.deliveriesOf(r.body.id);
    console.info(`executor faults: ${deliveries.length} deliveries of ${r.body.id}: ${deliveries.map((d) => d.behaviour).join(', ')}`);
    expect(deliveries.map((d) => d.behaviour)).toEqual(['answer', 'hold', 'reset', 'perform-then-reset', 'perform']);
    expect(deliveries.every((d) => d.signatureValid && d.idempotencyKey === r.body.id)).toBe(true);
    expect(target.performedCount(r.body.id)).toBe(1);
    expect(r.body.result).toMatchObject({ status: 200, body: { receipt: target.receiptOf(r.body.id), replayed: true } });
    const events = await expectSoundLedger(stack, r.body.id);
    expect(typesOf(events)).toEqual(['proposed', 'policy_decided', 'execution_started', 'executed']);
  });

  it('when the target refuses with a 4xx, then the action ends failed after one delivery, with the answer in the evidence', async () => {
    // Arrange
    const refusal = { error: 'account closed', code: 'ACCT_CLOSED' };
    scripts.set(43, () => ({ kind: 'answer', status: 422, body: refusal }));

    // Act
    const r = await stack.call(agent, 'POST', '/v1/actions?wait=60', { action: 'payments.transfer', params: { amount: 43, currency: 'EUR', to: 'acct-2' } });

    // Assert
    expect(r.status).toBe(201);
    expect(r.body.status).toBe('failed');
    expect(r.body.error).toMatch(/HTTP 422/);
    expect(r.body.result).toMatchObject({ status: 422, body: refusal });
    expect(target.deliveriesOf(r.body.id)).toHaveLength(1);
    expect(target.performedCount(r.body.id)).toBe(0);
    const events = await expectSoundLedger(stack, r.body.id);
    expect(typesOf(events)).toEqual(['proposed', 'policy_decided', 'execution_started', 'execution_failed']);
    expect(events.at(-1)?.data).toMatchObject({ executor: 'http', error: expect.stringMatching(/HTTP 422/), response: { status: 422, body: refusal } });
  });

  it('when the target answers 503 and then 409, then the 4xx ends the retries and the action fails without being performed', async () => {
    // Arrange
    scripts.set(44, (attempt) => (attempt === 1 ? { kind: 'answer', status: 503 } : { kind: 'answer', status: 409, body: { error: 'duplicate payee' } }));

    // Act
    const r = await stack.call(agent, 'POST', '/v1/actions?wait=60', { action: 'payments.transfer', params: { amount: 44, currency: 'EUR', to: 'acct-3' } });

    // Assert
    expect(r.body.status).toBe('failed');
    expect(r.body.result).toMatchObject({ status: 409, body: { error: 'duplicate payee' } });
    expect(target.deliveriesOf(r.body.id).map((d) => d.behaviour)).toEqual(['answer', 'answer']);
    expect(target.performedCount(r.body.id)).toBe(0);
    expect(typesOf(await expectSoundLedger(stack, r.body.id))).toEqual(['proposed', 'policy_decided', 'execution_started', 'execution_failed']);
  });
});
