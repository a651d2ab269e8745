import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPolicy } from '../fixtures/policy';
import { startTestStack, type TestStack } from '../helpers/stack';
import { startTarget } from '../helpers/target';

// Policy as operators manage it: versions, activation, dry-run, backtest, and what activation
// does (and does not do) to actions already waiting.
describe('policy API', () => {
  let stack: TestStack;
  let target: Awaited<ReturnType<typeof startTarget>>;
  let operator: string;
  let agent: string;
  let alice: string;
  let original: string;

  const putPolicy = (body: string) => stack.call(operator, 'PUT', '/v1/policy', body, { 'content-type': 'application/yaml' });

  beforeAll(async () => {
    target = await startTarget();
    original = testPolicy(target.url);
    stack = await startTestStack(original);
    operator = await stack.principal('olga', 'human', ['operator']);
    agent = await stack.principal('agent-p', 'agent', ['agent']);
    alice = await stack.principal('alice', 'human', ['reviewer'], ['finance']);
  });
  afterAll(async () => {
    await stack?.stop();
    await target?.close();
  });

  it('when a bundle with errors is put, then 422 names each error with line and column and the active policy stays', async () => {
    const before = (await stack.call(operator, 'GET', '/v1/policy')).body;
    const broken = original.replace('when: params.amount <= 100', 'when: params.amount <=').replace('decision: deny\n    reason: Currency', 'decision: nope\n    reason: Currency');
    const r = await putPolicy(broken);
    expect(r.status).toBe(422);
    expect(r.body.type).toMatch(/invalid-policy$/);
    expect(r.body.errors.length).toBeGreaterThanOrEqual(2);
    for (const e of r.body.errors) expect(e).toMatchObject({ line: expect.any(Number), column: expect.any(Number), message: expect.any(String) });
    expect((await stack.call(operator, 'GET', '/v1/policy')).body.version).toBe(before.version);
    expect((await putPolicy('')).status).toBe(422);
  });

  it('when an action is waiting and a stricter bundle is activated, then the action keeps the plan and version it was given', async () => {
    const waiting = (await stack.call(agent, 'POST', '/v1/actions?wait=10', { action: 'payments.transfer', params: { amount: 500, currency: 'EUR', to: 'x' } })).body;
    expect(waiting.approval.quorum).toBe(1);
    const stricter = original.replace('- { group: finance, quorum: 1, timeout: 1h }', '- { group: finance, quorum: 2, timeout: 1h }');
    const put = await putPolicy(stricter);
    expect(put.status).toBe(200);
    expect(put.body.version).not.toBe(waiting.policy.version);
    expect((await stack.call(operator, 'GET', '/v1/policy')).body).toMatchObject({ version: put.body.version, source: 'api' });

    const versions = (await stack.call(operator, 'GET', '/v1/policy/versions')).body.items;
    expect(versions.map((v: { version: string }) => v.version)).toEqual(expect.arrayContaining([put.body.version, waiting.policy.version]));
    expect(versions[0].version).toBe(put.body.version);

    const approved = await stack.call(alice, 'POST', `/v1/actions/${waiting.id}/decisions`, { decision: 'approve' });
    expect(approved.status).toBe(200);
    const done = (await stack.call(agent, 'GET', `/v1/actions/${waiting.id}?wait=10&since=executing`)).body;
    expect(done.status).toBe('succeeded');
    expect(done.policy.version).toBe(waiting.policy.version);

    const fresh = (await stack.call(agent, 'POST', '/v1/actions?wait=10', { action: 'payments.transfer', params: { amount: 500, currency: 'EUR', to: 'x' } })).body;
    expect(fresh.approval.quorum).toBe(2);
    expect(fresh.policy.version).toBe(put.body.version);
    await stack.call(agent, 'POST', `/v1/actions/${fresh.id}/cancel`, {});
  });

  it('when a decision is dry-run, then it is returned without starting anything, also against a candidate bundle', async () => {
    const count = async () => Number((await stack.pool.query('SELECT count(*) FROM actions')).rows[0].count);
    const before = await count();
    const active = await stack.call(operator, 'POST', '/v1/policy/evaluate', { action: 'payments.transfer', params: { amount: 50, currency: 'EUR', to: 'x' } });
    expect(active.status).toBe(200);
    expect(active.body).toMatchObject({ decision: 'allow', ruleIds: ['small-transfers'] });
    const candidate = original.replace('when: params.amount <= 100\n    decision: allow', 'when: params.amount <= 10\n    decision: allow');
    const dry = await stack.call(operator, 'POST', '/v1/policy/evaluate', { action: 'payments.transfer', params: { amount: 50, currency: 'EUR', to: 'x' }, bundle: candidate });
    expect(dry.body.decision).toBe('deny');
    const unknown = await stack.call(operator, 'POST', '/v1/policy/evaluate', { action: 'nope.nope', params: {} });
    expect(unknown.status).toBe(422);
    expect(await count()).toBe(before);
  });

  it('when a candidate is backtested, then the decisions it would change are counted and grouped', async () => {
    for (const amount of [20, 30, 40]) await stack.call(agent, 'POST', '/v1/actions?wait=10', { action: 'payments.transfer', params: { amount, currency: 'EUR', to: 'x' } });
    const candidate = original.replace('when: params.amount <= 100\n    decision: allow', 'when: params.amount <= 25\n    decision: allow');
    const r = await stack.call(operator, 'POST', '/v1/policy/backtest', candidate, { 'content-type': 'application/yaml' });
    expect(r.status).toBe(200);
    const allowToDeny = r.body.changes.find((c: { from: string; to: string }) => c.from === 'allow' && c.to === 'deny');
    expect(allowToDeny.count).toBeGreaterThanOrEqual(2);
    expect(allowToDeny.examples.length).toBeGreaterThan(0);
    expect(r.body.changed + r.body.unchanged).toBe(r.body.actions);
    const same = await stack.call(operator, 'POST', '/v1/policy/backtest', original, { 'content-type': 'application/yaml' });
    expect(same.body.changes.filter((c: { from: string }) => c.from === 'allow')).toEqual([]);
  });
});
