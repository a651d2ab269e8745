import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPolicy } from '../fixtures/policy';
import { startTestStack, type TestStack } from '../helpers/stack';
import { startTarget } from '../helpers/target';

// Tokens are credentials: they must never reach the logs or the evidence, whatever happens.
describe('secrets stay out of logs and evidence', () => {
  let stack: TestStack;
  let target: Awaited<ReturnType<typeof startTarget>>;
  const lines: string[] = [];

  beforeAll(async () => {
    target = await startTarget();
    const log = pino({ level: 'trace' }, { write: (line: string) => void lines.push(line) });
    stack = await startTestStack(testPolicy(target.url), { log });
  });
  afterAll(async () => {
    await stack?.stop();
    await target?.close();
  });

  it('when principals authenticate, fail to, and act, then no token appears in any log line or evidence bundle', async () => {
    const agent = await stack.principal('agent-s', 'agent', ['agent']);
    const alice = await stack.principal('alice', 'human', ['reviewer'], ['finance']);
    const wrong = agent.slice(0, -4) + 'AAAA';
    await stack.call(wrong, 'GET', '/v1/actions');
    await stack.call(agent, 'POST', '/v1/actions', '{"broken":');
    const a = (await stack.call(agent, 'POST', '/v1/actions?wait=10', { action: 'payments.transfer', params: { amount: 500, currency: 'EUR', to: 'x' } })).body;
    await stack.call(alice, 'POST', `/v1/actions/${a.id}/decisions`, { decision: 'approve' });
    await stack.call(agent, 'GET', `/v1/actions/${a.id}?wait=10&since=executing`);
    const evidence = await stack.call(stack.admin, 'GET', `/v1/actions/${a.id}/evidence`);
    expect(evidence.status).toBe(200);

    const logged = lines.join('');
    expect(lines.filter((l) => l.includes('"msg":"request"')).length).toBeGreaterThan(5);
    // The secret part of the agent's token alone: everything after `cs_<id>_` (base64url may hold `_` too).
    const agentSecret = agent.split('_').slice(2).join('_');
    expect(agentSecret.length).toBeGreaterThan(20);
    for (const secret of [agent, alice, wrong, stack.admin, agentSecret]) {
      expect(logged).not.toContain(secret);
      expect(JSON.stringify(evidence.body)).not.toContain(secret);
    }
  });
});
