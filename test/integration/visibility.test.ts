import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPolicy } from '../fixtures/policy';
import { startTestStack, type TestStack } from '../helpers/stack';
import { startTarget } from '../helpers/target';

// Who sees which action: the list's SQL filter and GET per id (mayReadAction) must agree, the
// lineage shows only what the caller may read, and a decision does not tell an outsider the
// status of an action it cannot read.
describe('read visibility', () => {
  let stack: TestStack;
  let target: Awaited<ReturnType<typeof startTarget>>;
  const tokens: Record<string, string> = {};
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    target = await startTarget();
    stack = await startTestStack(testPolicy(target.url));
    tokens.agent = await stack.principal('agent-v', 'agent', ['agent']);
    tokens.otherAgent = await stack.principal('agent-w', 'agent', ['agent']);
    tokens.finance = await stack.principal('fiona', 'human', ['reviewer'], ['finance']);
    tokens.comms = await stack.principal('connor', 'human', ['reviewer'], ['comms']);
    tokens.operator = await stack.principal('oscar', 'human', ['operator']);

    const propose = async (token: string, body: Record<string, unknown>) => {
      const r = await stack.call(token, 'POST', '/v1/actions?wait=20', body);
      expect(r.status).toBe(201);
      return r.body as { id: string; status: string };
    };
    const transfer = (amount: number, extra: Record<string, unknown> = {}) => ({ action: 'payments.transfer', params: { amount, currency: 'EUR', to: 'x' }, ...extra });
    // Arrange: a spread of statuses, owners and eligible groups, with a delegation chain.
    const allowed = await propose(tokens.agent, transfer(10));
    const pending = await propose(tokens.agent, transfer(500, { parentActionId: allowed.id }));
    const email = await propose(tokens.agent, { action: 'email.send', params: { to: 'a@b', subject: 'hi' }, parentActionId: pending.id });
    const denied = await propose(tokens.agent, transfer(600, { parentActionId: pending.id }));
    expect((await stack.call(tokens.finance, 'POST', `/v1/actions/${denied.id}/decisions`, { decision: 'deny', reason: 'no' })).status).toBe(200);
    const otherPending = await propose(tokens.otherAgent, transfer(700));
    const policyDenied = await propose(tokens.otherAgent, transfer(10, { params: { amount: 10, currency: 'XXX', to: 'x' } }));
    Object.assign(ids, { allowed: allowed.id, pending: pending.id, email: email.id, denied: denied.id, otherPending: otherPending.id, policyDenied: policyDenied.id });
    expect(pending.status).toBe('awaiting_approval');
    expect(email.status).toBe('awaiting_approval');
    expect(policyDenied.status).toBe('denied');
  });
  afterAll(async () => {
    await stack?.stop();
    await target?.close();
  });

  const listed = async (token: string): Promise<Set<string>> => {
    const seen = new Set<string>();
    let cursor: string | null = null;
    do {
      const r = await stack.call(token, 'GET', `/v1/actions?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(r.status).toBe(200);
      for (const item of r.body.items as { id: string }[]) seen.add(item.id);
      cursor = r.body.nextCursor;
    } while (cursor);
    return seen;
  };

  it('when each kind of caller lists actions and reads each by id, then both show exactly the same set', async () => {
    const expected: Record<string, string[]> = {
      agent: ['allowed', 'pending', 'email', 'denied'],
      otherAgent: ['otherPending', 'policyDenied'],
      finance: ['pending', 'denied', 'otherPending'],
      comms: ['email'],
      operator: Object.keys(ids),
    };
    for (const [who, names] of Object.entries(expected)) {
      const byGet = new Set<string>();
      for (const id of Object.values(ids)) {
        const r = await stack.call(tokens[who], 'GET', `/v1/actions/${id}`);
        expect([200, 404], `${who} GET ${id}`).toContain(r.status);
        if (r.status === 200) byGet.add(id);
      }
      const mine = new Set([...(await listed(tokens[who]))].filter((id) => Object.values(ids).includes(id)));
      expect(mine, `${who}: list`).toEqual(byGet);
      expect(byGet, `${who}: GET`).toEqual(new Set(names.map((n) => ids[n])));
    }
  });

  it('when a reviewer asks for the lineage of an action it may read, then only the actions it may read are in the tree', async () => {
    const r = await stack.call(tokens.finance, 'GET', `/v1/actions/${ids.denied}/lineage`);
    expect(r.status).toBe(200);
    // The root (allowed) and the email are not finance's to read: pending is the top, denied its child.
    expect(r.body.root.id).toBe(ids.pending);
    expect(r.body.root.children.map((c: { id: string }) => c.id)).toEqual([ids.denied]);

    const comms = await stack.call(tokens.comms, 'GET', `/v1/actions/${ids.email}/lineage`);
    expect(comms.body.root).toMatchObject({ id: ids.email, children: [] });

    const all = await stack.call(tokens.operator, 'GET', `/v1/actions/${ids.email}/lineage`);
    expect(all.body.root.id).toBe(ids.allowed);
    expect(all.body.root.children[0].children.map((c: { id: string }) => c.id).sort()).toEqual([ids.email, ids.denied].sort());
  });

  it('when a caller asks for the lineage of an action it may not read, then 404', async () => {
    const r = await stack.call(tokens.comms, 'GET', `/v1/actions/${ids.denied}/lineage`);
    expect(r.status).toBe(404);
    expect(r.body.type).toMatch(/not-found$/);
  });

  it('when a reviewer outside the plan decides a finished action it cannot read, then 404, not its status', async () => {
    const r = await stack.call(tokens.comms, 'POST', `/v1/actions/${ids.denied}/decisions`, { decision: 'approve' });
    expect(r.status).toBe(404);
    expect(r.body.type).toMatch(/not-found$/);
    const policyDenied = await stack.call(tokens.comms, 'POST', `/v1/actions/${ids.policyDenied}/decisions`, { decision: 'approve' });
    expect(policyDenied.status).toBe(404);
  });

  it('when a reviewer of the plan decides a finished action, or one outside the groups decides a pending one, then the contract answers', async () => {
    const other = await stack.principal('fred', 'human', ['reviewer'], ['finance']);
    const late = await stack.call(other, 'POST', `/v1/actions/${ids.denied}/decisions`, { decision: 'approve' });
    expect(late.status).toBe(409);
    expect(late.body.type).toMatch(/not-pending$/);
    const outside = await stack.call(tokens.comms, 'POST', `/v1/actions/${ids.pending}/decisions`, { decision: 'approve' });
    expect(outside.status).toBe(403);
    expect(outside.body.type).toMatch(/not-eligible$/);
  });
});
