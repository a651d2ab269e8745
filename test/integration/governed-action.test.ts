import { createHmac } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTION_CHANGED_CHANNEL } from '../../activities/change-notifier';
import { testPolicy } from '../fixtures/policy';
import { eventually, saveReplayFixtures, startTestStack, type TestStack } from '../helpers/stack';
import { startTarget } from '../helpers/target';

// The governed-action slice end to end: real API, real worker, real Temporal dev server,
// real Postgres; only the executor target is a local fake.
describe('governed actions over HTTP', () => {
  let stack: TestStack;
  let target: Awaited<ReturnType<typeof startTarget>>;
  let agent: string;
  let otherAgent: string;
  let alice: string;
  let bob: string;
  let carol: string;
  let operator: string;

  beforeAll(async () => {
    target = await startTarget();
    stack = await startTestStack(testPolicy(target.url));
    agent = await stack.principal('agent-1', 'agent', ['agent']);
    otherAgent = await stack.principal('agent-2', 'agent', ['agent']);
    alice = await stack.principal('alice', 'human', ['reviewer'], ['finance']);
    bob = await stack.principal('bob', 'human', ['reviewer'], ['finance']);
    carol = await stack.principal('carol', 'human', ['reviewer'], ['comms']);
    operator = await stack.principal('olga', 'human', ['operator']);
  });
  const recorded: string[] = [];
  afterAll(async () => {
    if (stack) await saveReplayFixtures(stack, recorded);
    await stack?.stop();
    await target?.close();
  });

  const propose = (params: Record<string, unknown>, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
    stack.call(agent, 'POST', '/v1/actions?wait=20', { action: 'payments.transfer', params, ...extra }, headers);

  const events = async (actionId: string) =>
    (await stack.pool.query<{ type: string; seq: number }>('SELECT type, seq FROM ledger_events WHERE action_id = $1 ORDER BY seq', [actionId])).rows.map(
      (r) => r.type,
    );

  /** recordEvents local activities in the action's workflow history, once the workflow is done. */
  const ledgerWrites = async (actionId: string) => {
    const handle = stack.services.temporal.workflow.getHandle(`action-${actionId}`);
    // `succeeded` is in Postgres before the workflow task that wrote it completes.
    await handle.result();
    const { events: history } = await handle.fetchHistory();
    return (history ?? []).filter((e) => {
      const m = e.markerRecordedEventAttributes;
      const data = m?.markerName === 'core_local_activity' ? m.details?.data?.payloads?.[0]?.data : undefined;
      return data && JSON.parse(Buffer.from(data).toString('utf8')).activity_type === 'recordEvents';
    }).length;
  };

  it('when an action is allowed by policy, then it is executed exactly once with a signed idempotent request', async () => {
    const r = await propose({ amount: 50, currency: 'EUR', to: 'acct-1' });
    recorded.push(`allowed=action-${r.body.id}`);

    expect(r.status).toBe(201);
    expect(r.body.status).toBe('succeeded');
    expect(r.body.policy).toMatchObject({ decision: 'allow', ruleIds: ['small-transfers'] });
    expect(r.body.policy.version).toMatch(/^[0-9a-f]{64}$/);
    expect(r.body.result).toMatchObject({ status: 200, body: { receipt: expect.any(String) } });
    const calls = target.forAction(r.body.id);
    expect(calls).toHaveLength(1);
    expect(calls[0].headers['idempotency-key']).toBe(r.body.id);
    const expected = 'sha256=' + createHmac('sha256', 'test-executor-secret-0123456789').update(calls[0].rawBody).digest('hex');
    expect(calls[0].headers['x-countersign-signature']).toBe(expected);
    expect(calls[0].body).toEqual({ actionId: r.body.id, action: 'payments.transfer', params: { amount: 50, currency: 'EUR', to: 'acct-1' } });
    expect(await events(r.body.id)).toEqual(['proposed', 'policy_decided', 'execution_started', 'executed']);
  });

  it('when an action changes, then listeners are notified after each change has committed', async () => {
    const listener = new pg.Client({ connectionString: stack.pool.options.connectionString });
    await listener.connect();
    // What a listener reads when it is woken: the notification must follow the commit it announces.
    const seen: { id: string; status: string; lastSeq: number }[] = [];
    const reads: Promise<void>[] = [];
    listener.on('notification', ({ payload }) => {
      if (!payload) return;
      reads.push(
        stack.pool.query<{ status: string; last_seq: number }>('SELECT status, last_seq FROM actions WHERE id = $1', [payload]).then(({ rows }) => {
          if (rows[0]) seen.push({ id: payload, status: rows[0].status, lastSeq: rows[0].last_seq });
        }),
      );
    });
    try {
      await listener.query(`LISTEN ${ACTION_CHANGED_CHANNEL}`);
      const r = await stack.call(agent, 'POST', '/v1/actions', { action: 'payments.transfer', params: { amount: 500, currency: 'EUR', to: 'acct-n' } });
      expect(r.status).toBe(201);
      const id: string = r.body.id;
      await eventually(async () => (await stack.call(agent, 'GET', `/v1/actions/${id}`)).body.status === 'awaiting_approval');
      expect((await stack.call(alice, 'POST', `/v1/actions/${id}/decisions`, { decision: 'approve', reason: 'ok' })).status).toBe(200);
      // Reads may finish out of order; the one after the last write must see it.
      const last = await eventually(async () => (await Promise.all(reads), seen.find((s) => s.id === id && s.lastSeq === 6)));
      expect(last).toEqual({ id, status: 'succeeded', lastSeq: 6 });
      // One notification per ledger write; `awaiting_approval` was announced by its own.
      expect(seen.filter((s) => s.id === id).map((s) => s.status)).toContain('awaiting_approval');
    } finally {
      await listener.end();
    }
  });

  it('when policy denies an action, then it is never executed and the reason is returned', async () => {
    const r = await propose({ amount: 50, currency: 'XXX', to: 'acct-1' });
    recorded.push(`denied-by-policy=action-${r.body.id}`);

    expect(r.status).toBe(201);
    expect(r.body.status).toBe('denied');
    expect(r.body.policy.ruleIds).toContain('blocked-currency');
    expect(r.body.outcome).toMatchObject({ by: 'policy', reason: 'Currency XXX is not allowed' });
    expect(target.forAction(r.body.id)).toHaveLength(0);
    expect(await events(r.body.id)).toEqual(['proposed', 'policy_decided']);
  });

  it('when a reviewer approves an action that needs approval, then it is executed once and the vote is in the view', async () => {
    const r = await propose({ amount: 500, currency: 'EUR', to: 'acct-2' });
    expect(r.body.status).toBe('awaiting_approval');
    expect(r.body.approval).toMatchObject({ step: 1, group: 'finance', quorum: 1, approvals: [] });

    const inbox = await stack.call(alice, 'GET', '/v1/approvals');
    expect(inbox.body.items.map((i: { id: string }) => i.id)).toContain(r.body.id);

    const d = await stack.call(alice, 'POST', `/v1/actions/${r.body.id}/decisions`, { decision: 'approve', reason: 'ok' });
    expect(d.status).toBe(200);
    expect(d.body.approval.approvals).toEqual([expect.objectContaining({ reviewer: 'alice', decision: 'approve', reason: 'ok' })]);

    const done = await stack.call(agent, 'GET', `/v1/actions/${r.body.id}?wait=20&since=executing`);
    expect(done.body.status).toBe('succeeded');
    expect(target.forAction(r.body.id)).toHaveLength(1);
    expect(await events(r.body.id)).toEqual(['proposed', 'policy_decided', 'approval_requested', 'decision_recorded', 'execution_started', 'executed']);
    // Three ledger writes: up to the approval request; the decision with execution_started
    // (one write since the one-write-decision-v3 patch); the outcome.
    expect(await ledgerWrites(r.body.id)).toBe(3);
  });

  it('when quorum is 2, then one approval keeps it pending and the second executes it', async () => {
    const r = await propose({ amount: 20000, currency: 'EUR', to: 'acct-3' });
    const first = await stack.call(alice, 'POST', `/v1/actions/${r.body.id}/decisions`, { decision: 'approve' });
    expect(first.body.status).toBe('awaiting_approval');
    const again = await stack.call(alice, 'POST', `/v1/actions/${r.body.id}/decisions`, { decision: 'approve' });
    expect(again.status).toBe(403);
    expect(again.body.type).toMatch(/already-voted$/);
    const second = await stack.call(bob, 'POST', `/v1/actions/${r.body.id}/decisions`, { decision: 'approve' });
    expect(second.status).toBe(200);
    const done = await stack.call(agent, 'GET', `/v1/actions/${r.body.id}?wait=20&since=executing`);
    expect(done.body.status).toBe('succeeded');
    expect(target.forAction(r.body.id)).toHaveLength(1);
  });

  it('when a reviewer denies, then the action ends denied with the reviewer and reason, and is never executed', async () => {
    const r = await propose({ amount: 700, currency: 'EUR', to: 'acct-4' });
    const d = await stack.call(bob, 'POST', `/v1/actions/${r.body.id}/decisions`, { decision: 'deny', reason: 'unknown payee' });
    recorded.push(`denied-by-reviewer=action-${r.body.id}`);

    expect(d.status).toBe(200);
    expect(d.body.status).toBe('denied');
    expect(d.body.outcome).toEqual({ by: 'reviewer', actor: 'bob', reason: 'unknown payee' });
    const late = await stack.call(alice, 'POST', `/v1/actions/${r.body.id}/decisions`, { decision: 'approve' });
    expect(late.status).toBe(409);
    expect(late.body.type).toMatch(/not-pending$/);
    expect(target.forAction(r.body.id)).toHaveLength(0);
  });

  it('when a reviewer outside the eligible group decides, then 403 not-eligible and nothing is recorded', async () => {
    const r = await propose({ amount: 300, currency: 'EUR', to: 'acct-5' });
    const before = await events(r.body.id);
    const d = await stack.call(carol, 'POST', `/v1/actions/${r.body.id}/decisions`, { decision: 'approve' });
    expect(d.status).toBe(403);
    expect(d.body.type).toMatch(/not-eligible$/);
    expect(await events(r.body.id)).toEqual(before);
    const asAgent = await stack.call(agent, 'POST', `/v1/actions/${r.body.id}/decisions`, { decision: 'approve' });
    expect(asAgent.status).toBe(403);
    expect(asAgent.body.type).toMatch(/forbidden$/);
  });

  it('when the proposing agent cancels a pending action, then it ends cancelled and a later approval is refused', async () => {
    const r = await propose({ amount: 400, currency: 'EUR', to: 'acct-6' });
    const notMine = await stack.call(otherAgent, 'POST', `/v1/actions/${r.body.id}/cancel`, { reason: 'x' });
    expect(notMine.status).toBe(404);
    const c = await stack.call(agent, 'POST', `/v1/actions/${r.body.id}/cancel`, { reason: 'user changed their mind' });
    recorded.push(`cancelled=action-${r.body.id}`);
    expect(c.status).toBe(200);
    expect(c.body.status).toBe('cancelled');
    expect(c.body.outcome).toEqual({ by: 'agent', actor: 'agent-1', reason: 'user changed their mind' });
    const d = await stack.call(alice, 'POST', `/v1/actions/${r.body.id}/decisions`, { decision: 'approve' });
    expect(d.status).toBe(409);
    const again = await stack.call(operator, 'POST', `/v1/actions/${r.body.id}/cancel`, {});
    expect(again.status).toBe(409);
    expect(again.body.type).toMatch(/not-cancellable$/);
    expect(target.forAction(r.body.id)).toHaveLength(0);
    expect((await events(r.body.id)).at(-1)).toBe('cancelled');
  });

  it('when the executor is the agent, then approval leaves it approved and the agent reports the result', async () => {
    const r = await stack.call(agent, 'POST', '/v1/actions?wait=20', { action: 'email.send', params: { to: 'x@example.com', subject: 'hi' } });
    expect(r.body.status).toBe('awaiting_approval');
    const tooEarly = await stack.call(agent, 'POST', `/v1/actions/${r.body.id}/result`, { ok: true });
    expect(tooEarly.status).toBe(409);
    await stack.call(carol, 'POST', `/v1/actions/${r.body.id}/decisions`, { decision: 'approve' });
    const approved = await stack.call(agent, 'GET', `/v1/actions/${r.body.id}?wait=20&since=awaiting_approval`);
    expect(approved.body.status).toBe('approved');
    const other = await stack.call(otherAgent, 'POST', `/v1/actions/${r.body.id}/result`, { ok: true });
    expect(other.status).toBe(404);
    const done = await stack.call(agent, 'POST', `/v1/actions/${r.body.id}/result`, { ok: true, output: { messageId: 'm-1' } });
    recorded.push(`agent-executor=action-${r.body.id}`);
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ status: 'succeeded', result: { messageId: 'm-1' } });
  });

  it('when the same idempotency key is reused, then the same body gives the same action and a different body 409', async () => {
    const headers = { 'idempotency-key': `key-${Date.now()}` };
    const first = await propose({ amount: 20, currency: 'EUR', to: 'acct-7' }, {}, headers);
    const second = await propose({ amount: 20, currency: 'EUR', to: 'acct-7' }, {}, headers);
    const different = await propose({ amount: 21, currency: 'EUR', to: 'acct-7' }, {}, headers);

    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    expect(second.body.id).toBe(first.body.id);
    expect(different.status).toBe(409);
    expect(different.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(different.body.type).toMatch(/idempotency-conflict$/);
    expect(target.forAction(first.body.id)).toHaveLength(1);
  });

  it('when input is bad, then a precise problem+json comes back and no workflow is started', async () => {
    const count = async () => Number((await stack.pool.query('SELECT count(*) FROM actions')).rows[0].count);
    const before = await count();

    const malformed = await stack.call(agent, 'POST', '/v1/actions', '{"action": ');
    expect(malformed.status).toBe(400);
    expect(malformed.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(malformed.body).toMatchObject({ status: 400, title: expect.any(String), detail: expect.any(String) });

    const unknown = await stack.call(agent, 'POST', '/v1/actions', { action: 'payments.refund', params: {} });
    expect(unknown.status).toBe(422);
    expect(unknown.body.type).toMatch(/unknown-action$/);

    const schema = await stack.call(agent, 'POST', '/v1/actions', { action: 'payments.transfer', params: { amount: -5, currency: 'EUR' } });
    expect(schema.status).toBe(422);
    expect(schema.body.type).toMatch(/invalid-params$/);
    const paths = schema.body.errors.map((e: { path: string }) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['/params/amount', '/params/to']));

    const shape = await stack.call(agent, 'POST', '/v1/actions', { action: 'payments.transfer', params: {}, bogus: 1 });
    expect(shape.status).toBe(422);
    expect(shape.body.errors.length).toBeGreaterThan(0);

    const noToken = await stack.call(undefined, 'POST', '/v1/actions', { action: 'payments.transfer', params: {} });
    expect(noToken.status).toBe(401);
    const badToken = await stack.call('cs_0000000000000000_' + 'a'.repeat(43), 'GET', '/v1/actions');
    expect(badToken.status).toBe(401);
    const wrongRole = await stack.call(alice, 'POST', '/v1/actions', { action: 'payments.transfer', params: { amount: 1, currency: 'EUR', to: 'a' } });
    expect(wrongRole.status).toBe(403);
    const notAdmin = await stack.call(agent, 'POST', '/v1/principals', { id: 'x', kind: 'agent', roles: ['agent'] });
    expect(notAdmin.status).toBe(403);

    expect(await count()).toBe(before);
  });

  it('when an agent lists actions, then it sees only its own; an operator sees all', async () => {
    await stack.call(otherAgent, 'POST', '/v1/actions?wait=10', { action: 'payments.transfer', params: { amount: 5, currency: 'EUR', to: 'z' } });
    const mine = await stack.call(agent, 'GET', '/v1/actions?limit=200');
    expect(mine.status).toBe(200);
    expect(mine.body.items.length).toBeGreaterThan(0);
    expect(mine.body.items.every((i: { agent: string }) => i.agent === 'agent-1')).toBe(true);
    const all = await stack.call(operator, 'GET', '/v1/actions?limit=2');
    expect(all.body.items).toHaveLength(2);
    expect(all.body.nextCursor).toEqual(expect.any(String));
    const next = await stack.call(operator, 'GET', `/v1/actions?limit=2&cursor=${all.body.nextCursor}`);
    expect(next.body.items[0].id).not.toBe(all.body.items[0].id);
    const agents = new Set([...all.body.items, ...next.body.items].map((i: { agent: string }) => i.agent));
    expect(agents.size).toBeGreaterThan(0);
  });

  it('when the worker restarts while an approval is pending, then the action still completes after approval', async () => {
    const r = await propose({ amount: 800, currency: 'EUR', to: 'acct-8' });
    expect(r.body.status).toBe('awaiting_approval');
    await stack.services.stopWorker();
    await stack.services.startWorker();
    const d = await stack.call(alice, 'POST', `/v1/actions/${r.body.id}/decisions`, { decision: 'approve' });
    expect(d.status).toBe(200);
    const done = await eventually(async () => {
      const v = await stack.call(agent, 'GET', `/v1/actions/${r.body.id}`);
      return v.body.status === 'succeeded' && v;
    });
    expect(done.body.status).toBe('succeeded');
    expect(target.forAction(r.body.id)).toHaveLength(1);
  });
});
