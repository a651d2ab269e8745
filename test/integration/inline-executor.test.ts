import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transferAction } from '../fixtures/policy';
import { saveReplayFixtures, startTestStack, type TestStack } from '../helpers/stack';
import { startTarget } from '../helpers/target';

/**
 * One action per scenario, each with its own executor URL (a path on one fake target), because
 * what the worker has seen of a URL decides whether its next call runs inline: a local activity
 * in the workflow task, or a regular activity through the task queue.
 */
function inlinePolicy(targetUrl: string): string {
  const scenarios = ['fast', 'approved', 'flaky', 'refused', 'slow', 'hanging'];
  return `
defaults:
  decision: deny
  approval: { timeout: 1h, onTimeout: deny }
actions:
${scenarios.map((s) => transferAction(`${targetUrl}/${s}`, `${s}.transfer`)).join('\n')}
rules:
  - id: small
    action: "*"
    when: params.amount <= 100
    decision: allow
  - id: large
    action: "*"
    when: params.amount > 100
    decision: require_approval
    approval:
      steps:
        - { group: finance, quorum: 1, timeout: 1h }
`;
}

describe('inline executor calls', () => {
  let stack: TestStack;
  let target: Awaited<ReturnType<typeof startTarget>>;
  let agent: string;
  let alice: string;
  const recorded: string[] = [];

  beforeAll(async () => {
    // Per scenario, what the target does with the first delivery of an action (later ones: 200 at once).
    target = await startTarget((req) => {
      if (target.forAction(req.body?.actionId).length > 1 || req.body?.params?.amount <= 1) return undefined;
      if (req.path.startsWith('/flaky/')) return { status: 503, body: { error: 'try again' } };
      if (req.path.startsWith('/refused/')) return { status: 422, body: { error: 'account closed' } };
      if (req.path.startsWith('/slow/')) return { status: 200, body: { receipt: 'slow' }, delayMs: 1500 };
      // Longer than the inline budget (3 s): the worker gives up on this delivery first.
      if (req.path.startsWith('/hanging/')) return { status: 200, body: { receipt: 'late' }, delayMs: 6500 };
      return undefined;
    });
    stack = await startTestStack(inlinePolicy(target.url));
    agent = await stack.principal('agent-1', 'agent', ['agent']);
    alice = await stack.principal('alice', 'human', ['reviewer'], ['finance']);
  });
  afterAll(async () => {
    if (stack) await saveReplayFixtures(stack, recorded);
    await stack?.stop();
    await target?.close();
  });

  const propose = async (scenario: string, amount: number) => {
    const r = await stack.call(agent, 'POST', '/v1/actions?wait=30', { action: `${scenario}.transfer`, params: { amount, currency: 'EUR', to: 'acct' } });
    expect(r.status).toBe(201);
    return r.body;
  };
  /** A first call that answers at once: from then on the worker knows the scenario's URL as fast. */
  const warmUp = async (scenario: string) => expect((await propose(scenario, 1)).status).toBe('succeeded');
  /** The action's workflow history, once the workflow is done. */
  const historyOf = async (actionId: string) => {
    const handle = stack.services.temporal.workflow.getHandle(`action-${actionId}`);
    await handle.result();
    return (await handle.fetchHistory()).events ?? [];
  };
  /** Executor calls through the task queue (regular activities). */
  const activityTasks = async (actionId: string) => (await historyOf(actionId)).filter((e) => e.activityTaskScheduledEventAttributes).length;
  /** A value of the history as the stack's client reads it: the history holds it encrypted (runtime/payload-codec.ts). */
  const valueOf = async (payload: Payload) => defaultPayloadConverter.fromPayload<{ sent?: boolean; message?: string }>((await stack.services.payloadCodec.decode([payload]))[0]);
  /** What the inline attempt (the local activity `tryExecuteHttpInline`) did: sent, did not send, or failed (and why). */
  const inlineAttempts = async (actionId: string) =>
    (
      await Promise.all(
        (await historyOf(actionId)).map(async (e) => {
          const m = e.markerRecordedEventAttributes;
          const raw = m?.markerName === 'core_local_activity' ? m.details?.data?.payloads?.[0]?.data : undefined;
          if (!raw || JSON.parse(Buffer.from(raw).toString('utf8')).activity_type !== 'tryExecuteHttpInline') return [];
          const result = m?.details?.result?.payloads?.[0];
          // A failure's message travels in its encoded attributes.
          if (!result) return [`failed: ${m?.failure?.encodedAttributes ? (await valueOf(m.failure.encodedAttributes as Payload)).message : m?.failure?.message}`];
          return [(await valueOf(result as Payload)).sent ? 'sent' : 'not sent'];
        }),
      )
    ).flat();
  const ledger = async (id: string) =>
    (await stack.pool.query<{ type: string }>('SELECT type FROM ledger_events WHERE action_id = $1 ORDER BY seq', [id])).rows.map((r) => r.type);

  it('when the worker has not seen a target answer, then the call goes through the task queue; once it answered fast, the next call runs inline', async () => {
    // Act
    const cold = await propose('fast', 10);
    const warm = await propose('fast', 11);

    // Assert
    expect(cold.status).toBe('succeeded');
    expect(await inlineAttempts(cold.id)).toEqual(['not sent']);
    expect(await activityTasks(cold.id)).toBe(1);
    expect(warm.status).toBe('succeeded');
    expect(await inlineAttempts(warm.id)).toEqual(['sent']);
    expect(await activityTasks(warm.id)).toBe(0);
    expect(target.forAction(warm.id)).toHaveLength(1);
    expect(target.forAction(warm.id)[0].headers['idempotency-key']).toBe(warm.id);
    expect(await ledger(warm.id)).toEqual(['proposed', 'policy_decided', 'execution_started', 'executed']);
  });

  it('when the decisive approval meets a target known to be fast, then the decision is answered with the action done', async () => {
    // Arrange
    await warmUp('approved');
    const pending = await propose('approved', 500);
    expect(pending.status).toBe('awaiting_approval');

    // Act
    const d = await stack.call(alice, 'POST', `/v1/actions/${pending.id}/decisions`, { decision: 'approve' });
    recorded.push(`inline-approved=action-${pending.id}`);

    // Assert: the call and the outcome were part of the decision's workflow task.
    expect(d.status).toBe(200);
    expect(d.body.status).toBe('succeeded');
    expect(d.body.result).toMatchObject({ status: 200 });
    expect(await inlineAttempts(pending.id)).toEqual(['sent']);
    expect(await activityTasks(pending.id)).toBe(0);
    expect(await ledger(pending.id)).toEqual(['proposed', 'policy_decided', 'approval_requested', 'decision_recorded', 'execution_started', 'executed']);
  });

  it('when the inline call gets a 5xx, then it is retried as a regular activity, and the next call goes through the task queue', async () => {
    // Arrange
    await warmUp('flaky');

    // Act
    const r = await propose('flaky', 12);
    recorded.push(`inline-fallback=action-${r.id}`);
    const next = await propose('flaky', 1);

    // Assert
    expect(r.status).toBe('succeeded');
    expect(await inlineAttempts(r.id)).toEqual([expect.stringMatching(/^failed: executor answered HTTP 503/)]);
    expect(await activityTasks(r.id)).toBe(1);
    expect(target.forAction(r.id).map((c) => c.headers['idempotency-key'])).toEqual([r.id, r.id]);
    expect(await ledger(r.id)).toEqual(['proposed', 'policy_decided', 'execution_started', 'executed']);
    // A 5xx takes the target off the inline path (for the cool-down).
    expect(next.status).toBe('succeeded');
    expect(await inlineAttempts(next.id)).toEqual(['not sent']);
  });

  it('when the inline call is refused with a 4xx, then the refusal is final: the action fails after one delivery', async () => {
    // Arrange
    await warmUp('refused');

    // Act
    const r = await propose('refused', 16);

    // Assert
    expect(r.status).toBe('failed');
    expect(r.error).toMatch(/HTTP 422/);
    expect(r.result).toMatchObject({ status: 422, body: { error: 'account closed' } });
    expect(target.forAction(r.id)).toHaveLength(1);
    expect(await activityTasks(r.id)).toBe(0);
    expect(await ledger(r.id)).toEqual(['proposed', 'policy_decided', 'execution_started', 'execution_failed']);
  });

  it('when a target known to be fast answers slowly, then that call still completes inline and the next one goes through the task queue', async () => {
    // Arrange
    await warmUp('slow');

    // Act
    const slow = await propose('slow', 13);
    const next = await propose('slow', 14);

    // Assert
    expect(slow.status).toBe('succeeded');
    expect(slow.result).toMatchObject({ body: { receipt: 'slow' } });
    expect(await inlineAttempts(slow.id)).toEqual(['sent']);
    expect(await activityTasks(slow.id)).toBe(0);
    expect(next.status).toBe('succeeded');
    expect(await inlineAttempts(next.id)).toEqual(['not sent']);
    expect(await activityTasks(next.id)).toBe(1);
  });

  it('when a target known to be fast stops answering, then the inline call is cut off at its budget and retried as a regular activity', async () => {
    // Arrange
    await warmUp('hanging');
    const started = Date.now();

    // Act
    const r = await propose('hanging', 15);

    // Assert: cut off by the 3 s inline budget (not the 25 s executor timeout, nor the local
    // activity's own timeout), a 1 s pause, then the retry answers at once.
    const tookMs = Date.now() - started;
    expect(r.status).toBe('succeeded');
    expect(tookMs).toBeGreaterThanOrEqual(3_000);
    expect(tookMs).toBeLessThan(15_000);
    expect(await inlineAttempts(r.id)).toEqual([expect.stringMatching(/^failed: executor .* did not answer within 3000 ms$/)]);
    expect(await activityTasks(r.id)).toBe(1);
    expect(target.forAction(r.id).map((c) => c.headers['idempotency-key'])).toEqual([r.id, r.id]);
  });
});
