import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPolicy } from '../fixtures/policy';
import { call, startTestStack, type TestStack } from '../helpers/stack';
import { startTarget } from '../helpers/target';

// Graceful stop: readiness turns 503 first, in-flight requests (long polls included) are
// answered, then the listener closes.
describe('draining', () => {
  let stack: TestStack;
  let target: Awaited<ReturnType<typeof startTarget>>;

  beforeAll(async () => {
    target = await startTarget();
    stack = await startTestStack(testPolicy(target.url), { drainDelayMs: 1500 });
  });
  afterAll(async () => {
    await target?.close();
  });

  it('when the services stop, then /readyz says 503 while draining, a long poll in flight is answered, and new connections are refused after', async () => {
    const agent = await stack.principal('agent-d', 'agent', ['agent']);
    expect((await stack.call(undefined, 'GET', '/readyz')).status).toBe(200);
    const pending = (await stack.call(agent, 'POST', '/v1/actions?wait=10', { action: 'payments.transfer', params: { amount: 500, currency: 'EUR', to: 'x' } })).body;
    expect(pending.status).toBe('awaiting_approval');

    const started = Date.now();
    const longPoll = stack.call(agent, 'GET', `/v1/actions/${pending.id}?wait=30&since=awaiting_approval`);
    await new Promise((r) => setTimeout(r, 200));
    const stopping = stack.stop();
    await new Promise((r) => setTimeout(r, 300));
    const ready = await stack.call(undefined, 'GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.headers.get('content-type')).toMatch(/application\/problem\+json/);

    const answered = await longPoll;
    expect(answered.status).toBe(200);
    expect(answered.body.id).toBe(pending.id);
    expect(Date.now() - started).toBeLessThan(15_000);
    await stopping;

    const refused = await call(stack.url, undefined, 'GET', '/healthz').then(
      () => 'answered',
      (err: Error & { cause?: { code?: string } }) => err.cause?.code ?? err.message,
    );
    expect(refused).toBe('ECONNREFUSED');
  });
});
