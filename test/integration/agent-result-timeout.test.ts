import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, saveReplayFixtures, startTestStack, type TestStack } from '../helpers/stack';

// Executor `agent` has a deadline: an approved action whose agent never reports ends `failed`
// with outcome-unknown, so a crashed agent (or MCP gateway) cannot leave it `approved` forever.
const POLICY = `
defaults:
  decision: deny
actions:
  notes.write:
    owner: ops
    category: production_change
    params: { type: object, properties: { text: { type: string } } }
    executor: { type: agent, resultTimeout: 3s }
  notes.append:
    owner: ops
    category: production_change
    params: { type: object, properties: { text: { type: string } } }
    executor: { type: agent }
rules:
  - { id: notes, action: "notes.*", decision: allow }
  - id: reviewed-notes
    action: notes.write
    when: params.text == "needs review"
    decision: require_approval
    approval: { steps: [ { group: ops, timeout: 1h } ] }
`;

describe('agent executor result deadline (resultTimeout)', () => {
  let stack: TestStack;
  let agent: string;
  let reviewer: string;

  beforeAll(async () => {
    stack = await startTestStack(POLICY);
    agent = await stack.principal('agent-rt', 'agent', ['agent']);
    reviewer = await stack.principal('rita', 'human', ['reviewer'], ['ops']);
  });
  const recorded: string[] = [];
  afterAll(async () => {
    if (stack) await saveReplayFixtures(stack, recorded);
    await stack?.stop();
  });

  const propose = (action: string, text: string) => stack.call(agent, 'POST', '/v1/actions?wait=10', { action, params: { text } });
  const events = async (id: string) =>
    (await stack.pool.query<{ type: string; data: any }>('SELECT type, data FROM ledger_events WHERE action_id = $1 ORDER BY seq', [id])).rows;

  it('when an allowed action is never reported, then it ends failed with outcome-unknown after resultTimeout, and a late report is refused', async () => {
    const r = await propose('notes.write', 'hello');
    expect(r.status).toBe(201);
    expect(r.body.status).toBe('approved');
    const started = Date.now();

    const done = await eventually(async () => {
      const v = await stack.call(agent, 'GET', `/v1/actions/${r.body.id}?wait=10&since=approved`);
      return v.body.status !== 'approved' && v.body;
    }, 30_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
    expect(done.status).toBe('failed');
    expect(done.error).toMatch(/^outcome-unknown: no result was reported within 3s of approval/);
    expect(done.outcome).toMatchObject({ by: 'timeout', actor: null });
    const evs = await events(r.body.id);
    expect(evs.map((e) => e.type)).toEqual(['proposed', 'policy_decided', 'execution_failed']);
    expect(evs[2].data).toMatchObject({ executor: 'agent', ok: false, code: 'outcome-unknown', resultTimeoutMs: 3000 });

    const late = await stack.call(agent, 'POST', `/v1/actions/${r.body.id}/result`, { ok: true, output: { done: true } });
    expect(late.status).toBe(409);
    expect(late.body.type).toMatch(/\/not-awaiting-result$/);
    recorded.push(`agent-result-timeout=action-${r.body.id}`);
  });

  it('when an approved action is reported before the deadline, then it succeeds and the deadline does nothing', async () => {
    const r = await propose('notes.write', 'needs review');
    expect(r.body.status).toBe('awaiting_approval');
    expect((await stack.call(reviewer, 'POST', `/v1/actions/${r.body.id}/decisions`, { decision: 'approve' })).status).toBe(200);
    await eventually(async () => (await stack.call(agent, 'GET', `/v1/actions/${r.body.id}`)).body.status === 'approved');
    const reported = await stack.call(agent, 'POST', `/v1/actions/${r.body.id}/result`, { ok: true, output: { written: 1 } });
    expect(reported.status).toBe(200);
    expect(reported.body).toMatchObject({ status: 'succeeded', result: { written: 1 } });
    // Past the 3 s deadline nothing changes.
    await new Promise((res) => setTimeout(res, 3_500));
    const v = await stack.call(agent, 'GET', `/v1/actions/${r.body.id}`);
    expect(v.body.status).toBe('succeeded');
    expect((await events(r.body.id)).map((e) => e.type)).not.toContain('execution_failed');
  });

  it('when the bundle names no resultTimeout, then the decision carries the 24h default', async () => {
    const r = await stack.call(stack.admin, 'POST', '/v1/policy/evaluate', { action: 'notes.append', params: { text: 'x' }, agent: 'agent-rt' });
    expect(r.status).toBe(200);
    expect(r.body.executor).toEqual({ type: 'agent', resultTimeoutMs: 86_400_000 });
  });

  it('when a bundle gives a malformed resultTimeout, then it is refused with the path and nothing changes', async () => {
    const before = await stack.call(stack.admin, 'GET', '/v1/policy');
    const bad = POLICY.replace('resultTimeout: 3s', 'resultTimeout: soon');
    const r = await stack.call(stack.admin, 'PUT', '/v1/policy', bad, { 'content-type': 'application/yaml' });
    expect(r.status).toBe(422);
    expect(JSON.stringify(r.body.errors)).toContain('resultTimeout');
    expect(JSON.stringify(r.body.errors)).toContain('invalid duration');
    expect((await stack.call(stack.admin, 'GET', '/v1/policy')).body.version).toBe(before.body.version);
  });
});
