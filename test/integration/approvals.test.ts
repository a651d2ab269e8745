import { WorkflowUpdateFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decideUpdate } from '../../workflows';
import { approvalsPolicy } from '../fixtures/policy';
import { eventually, saveReplayFixtures, startTestStack, type TestStack } from '../helpers/stack';
import { startTarget } from '../helpers/target';

// Approval semantics against the real Temporal dev server, with second-scale durations.
describe('approvals', () => {
  let stack: TestStack;
  let target: Awaited<ReturnType<typeof startTarget>>;
  let hooks: Awaited<ReturnType<typeof startTarget>>;
  let agent: string;
  let alice: string;
  let bob: string;
  let lead: string;
  let operator: string;
  const recorded: string[] = [];

  beforeAll(async () => {
    target = await startTarget();
    hooks = await startTarget();
    stack = await startTestStack(approvalsPolicy(target.url, hooks.url));
    agent = await stack.principal('agent-1', 'agent', ['agent']);
    alice = await stack.principal('alice', 'human', ['reviewer'], ['finance']);
    bob = await stack.principal('bob', 'human', ['reviewer'], ['finance']);
    lead = await stack.principal('lena', 'human', ['reviewer'], ['finance-leads']);
    operator = await stack.principal('olga', 'human', ['operator']);
  });
  afterAll(async () => {
    if (stack) await saveReplayFixtures(stack, recorded);
    await stack?.stop();
    await target?.close();
    await hooks?.close();
  });

  const propose = async (amount: number, extra: Record<string, unknown> = {}) => {
    const r = await stack.call(agent, 'POST', '/v1/actions?wait=20', { action: 'payments.transfer', params: { amount, currency: 'EUR', to: 'acct' }, ...extra });
    expect(r.status).toBe(201);
    return r.body;
  };
  const decide = (token: string, id: string, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
    stack.call(token, 'POST', `/v1/actions/${id}/decisions`, body, headers);
  const settle = async (id: string) => {
    const v = await eventually(async () => {
      const r = await stack.call(operator, 'GET', `/v1/actions/${id}?wait=10`);
      return !['awaiting_approval', 'evaluating', 'executing'].includes(r.body.status) && r;
    }, 30_000, `action ${id} to finish`);
    return v.body;
  };
  const ledger = async (id: string) =>
    (await stack.pool.query<{ type: string; data: any }>('SELECT type, data FROM ledger_events WHERE action_id = $1 ORDER BY seq', [id])).rows;
  const historyLength = async (id: string) => (await stack.services.temporal.workflow.getHandle(`action-${id}`).fetchHistory()).events?.length ?? 0;
  /** History length once the workflow is idle (its current task done). */
  const settledHistoryLength = async (id: string) => {
    let last = -1;
    return eventually(async () => {
      const n = await historyLength(id);
      const stable = n === last;
      last = n;
      if (!stable) await new Promise((r) => setTimeout(r, 300));
      return stable && n;
    });
  };
  const hookCalls = (id: string, event?: string) =>
    hooks.received.filter((r) => r.body?.countersign?.actionId === id && (!event || r.body.countersign.event === event));

  it('when no one decides before the step timeout, then reviewers are reminded, the escalation group joins, and it can approve', async () => {
    const a = await propose(1500);
    recorded.push(`escalation=action-${a.id}`);
    expect(a.status).toBe('awaiting_approval');

    const early = await decide(lead, a.id, { decision: 'approve' });
    expect(early.status).toBe(403);
    expect(early.body.type).toMatch(/not-eligible$/);

    const escalated = await eventually(async () => {
      const r = await stack.call(operator, 'GET', `/v1/actions/${a.id}`);
      return r.body.approval.escalations.length === 1 && r.body;
    }, 15_000, 'escalation');
    expect(escalated.approval.escalations[0]).toMatchObject({ group: 'finance-leads', step: 1 });
    expect(escalated.approval.eligibleGroups).toEqual(['finance', 'finance-leads']);

    // Webhooks go out without holding up the workflow: the second reminder's delivery may land
    // after the escalation is visible.
    const reminders = await eventually(async () => {
      const calls = hookCalls(a.id, 'reminded').filter((r) => r.path === '/finance');
      return calls.length >= 2 && calls;
    }, 10_000, 'two reminder webhooks');
    expect(reminders.length).toBeGreaterThanOrEqual(2);
    expect(hookCalls(a.id, 'approval_requested').map((r) => r.path)).toEqual(['/finance']);
    const leadsNotified = await eventually(async () => hookCalls(a.id, 'escalated').some((r) => r.path === '/finance-leads'), 10_000, 'escalation webhook');
    expect(leadsNotified).toBe(true);
    const signed = hookCalls(a.id)[0];
    expect(signed.headers['x-countersign-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(signed.body.text).toEqual(expect.any(String));
    expect(signed.body.blocks.length).toBeGreaterThan(0);

    const late = await decide(lead, a.id, { decision: 'approve', reason: 'covering for finance' });
    expect(late.status).toBe(200);
    expect((await settle(a.id)).status).toBe('succeeded');
    expect(target.forAction(a.id)).toHaveLength(1);

    const types = (await ledger(a.id)).map((e) => e.type);
    expect(types.filter((t) => t === 'reminded').length).toBeGreaterThanOrEqual(2);
    expect(types).toContain('escalated');
    // Reminders are spaced by remindEvery (1 s), not sent in a burst.
    const times = (await stack.pool.query<{ at: Date }>("SELECT at FROM ledger_events WHERE action_id = $1 AND type = 'reminded' ORDER BY seq", [a.id])).rows.map((r) => r.at.getTime());
    for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1]).toBeGreaterThanOrEqual(900);
  });

  it('when the last timeout passes without quorum, then the action expires (not a human denial) and never executes', async () => {
    const a = await propose(3500);
    recorded.push(`expiry=action-${a.id}`);
    const done = await settle(a.id);
    expect(done.status).toBe('expired');
    expect(done.outcome).toMatchObject({ by: 'timeout', actor: null });
    expect(target.forAction(a.id)).toHaveLength(0);
    expect((await ledger(a.id)).map((e) => e.type).at(-1)).toBe('expired');
    await eventually(async () => hookCalls(a.id, 'expired').length > 0, 10_000, 'expiry webhook');
  });

  it('when onTimeout is allow (written explicitly), then the action executes after the timeout', async () => {
    const a = await propose(4500);
    recorded.push(`expiry-allow=action-${a.id}`);
    const done = await settle(a.id);
    expect(done.status).toBe('succeeded');
    expect(target.forAction(a.id)).toHaveLength(1);
  });

  it('when a plan has two steps, then each step needs its own group in order', async () => {
    const a = await propose(2500);
    recorded.push(`two-steps=action-${a.id}`);
    expect(a.approval).toMatchObject({ step: 1, steps: 2, group: 'finance' });
    const leadFirst = await decide(lead, a.id, { decision: 'approve' });
    expect(leadFirst.status).toBe(403);
    const first = await decide(alice, a.id, { decision: 'approve' });
    expect(first.status).toBe(200);
    const step2 = await eventually(async () => {
      const r = await stack.call(operator, 'GET', `/v1/actions/${a.id}`);
      return r.body.approval.step === 2 && r.body;
    });
    expect(step2.approval).toMatchObject({ step: 2, group: 'finance-leads', eligibleGroups: ['finance-leads'] });
    const bobStep2 = await decide(bob, a.id, { decision: 'approve' });
    expect(bobStep2.status).toBe(403);
    expect(bobStep2.body.type).toMatch(/not-eligible$/);
    expect((await decide(lead, a.id, { decision: 'approve' })).status).toBe(200);
    expect((await settle(a.id)).status).toBe('succeeded');
    expect(target.forAction(a.id)).toHaveLength(1);
  });

  it('when a reviewer approves with edits, then the edit is recorded and the executor receives exactly the approved params', async () => {
    const a = await propose(500);
    recorded.push(`edits=action-${a.id}`);
    const edited = await decide(alice, a.id, { decision: 'approve', reason: 'reduced', params: { amount: 400, currency: 'EUR', to: 'acct' } });
    expect(edited.status).toBe(200);
    expect(edited.body.approval.approvals[0]).toMatchObject({ reviewer: 'alice', edits: { '/amount': { from: 500, to: 400 } }, digest: expect.stringMatching(/^sha256:/) });
    expect((await settle(a.id)).status).toBe('succeeded');
    expect(target.forAction(a.id).map((r) => r.body.params)).toEqual([{ amount: 400, currency: 'EUR', to: 'acct' }]);
    const types = (await ledger(a.id)).map((e) => e.type);
    expect(types).toEqual(expect.arrayContaining(['edited', 'decision_recorded']));
  });

  it('when an edit would be denied by policy or breaks the schema, then it is refused with 422 and nothing changes', async () => {
    const a = await propose(600);
    const before = await settledHistoryLength(a.id);
    const denied = await decide(alice, a.id, { decision: 'approve', params: { amount: 600, currency: 'XXX', to: 'acct' } });
    expect(denied.status).toBe(422);
    expect(denied.body.type).toMatch(/edit-denied$/);
    const invalid = await decide(alice, a.id, { decision: 'approve', params: { amount: 'lots', currency: 'EUR', to: 'acct' } });
    expect(invalid.status).toBe(422);
    expect(invalid.body.errors[0].path).toBe('/params/amount');
    expect(await historyLength(a.id)).toBe(before);
    const v = await stack.call(operator, 'GET', `/v1/actions/${a.id}`);
    expect(v.body).toMatchObject({ status: 'awaiting_approval', params: { amount: 600 } });
  });

  it('when a decision is retried with the same idempotency key, then it is applied once', async () => {
    const a = await propose(10000);
    const key = { 'idempotency-key': `vote-${a.id}` };
    const first = await decide(alice, a.id, { decision: 'approve' }, key);
    const retry = await decide(alice, a.id, { decision: 'approve' }, key);
    expect(first.status).toBe(200);
    expect(retry.status).toBe(200);
    expect(retry.body.approval.approvals).toHaveLength(1);
    expect((await ledger(a.id)).filter((e) => e.type === 'decision_recorded')).toHaveLength(1);
    const otherKey = await decide(alice, a.id, { decision: 'approve' }, { 'idempotency-key': 'another' });
    expect(otherKey.status).toBe(403);
    expect(otherKey.body.type).toMatch(/already-voted$/);
  });

  it('when the validator refuses a decision, then nothing is written to the workflow history', async () => {
    // hana delegates to agent-1, so it may name her (domain/access-rules.ts delegationRefusal).
    const created = await stack.call(stack.admin, 'POST', '/v1/principals', { id: 'hana', kind: 'human', roles: ['reviewer'], groups: ['finance'], delegates: ['agent-1'] });
    expect(created.status).toBe(201);
    const human = created.body.token as string;
    const a = await propose(700, { onBehalfOf: 'hana' });
    const viaApi = await decide(human, a.id, { decision: 'approve' });
    expect(viaApi.status).toBe(403);
    expect(viaApi.body.type).toMatch(/self-approval$/);

    // Straight to the workflow, past the API's pre-checks (signed as the API would, so only the
    // access rules are in question): the Update validator itself refuses.
    const workflowId = `action-${a.id}`;
    const handle = stack.services.temporal.workflow.getHandle(workflowId);
    let n = 0;
    const send = (d: Record<string, unknown>) => {
      const updateId = `test-decide-${++n}`;
      const args = stack.services.messages.sign(workflowId, { update: 'decide', id: updateId }, d);
      return handle.executeUpdate(decideUpdate, { args: [args as never], updateId });
    };
    const before = await settledHistoryLength(a.id);
    const refusals: Record<string, Record<string, unknown>> = {
      'not-eligible': { reviewer: 'lena', reviewerGroups: ['finance-leads'], decision: 'approve', reason: null },
      'self-approval': { reviewer: 'agent-1', reviewerGroups: ['finance'], decision: 'approve', reason: null },
    };
    for (const [type, d] of Object.entries(refusals)) {
      const err = await send(d).catch((e) => e);
      expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
      expect(err.cause.type).toBe(type);
    }
    expect(await historyLength(a.id)).toBe(before);
    await send({ reviewer: 'alice', reviewerGroups: ['finance'], decision: 'deny', reason: 'no' });
    const afterVote = await historyLength(a.id);
    expect(afterVote).toBeGreaterThan(before);
    for (const [type, d] of Object.entries({
      'not-pending': { reviewer: 'bob', reviewerGroups: ['finance'], decision: 'approve', reason: null },
    })) {
      const err = await send(d).catch((e) => e);
      expect(err.cause?.type ?? err.name).toMatch(new RegExp(`${type}|WorkflowNotFoundError|already completed`));
    }
    const history = await handle.fetchHistory();
    const accepted = history.events?.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes) ?? [];
    expect(accepted).toHaveLength(1);
    expect((await settle(a.id)).status).toBe('denied');
  });

  it('when the worker is restarted between two votes, then quorum still completes and executes once', async () => {
    const a = await propose(8000);
    recorded.push(`quorum-restart=action-${a.id}`);
    expect((await decide(alice, a.id, { decision: 'approve' })).status).toBe(200);
    await stack.services.restartWorker();
    expect((await decide(bob, a.id, { decision: 'approve' })).status).toBe(200);
    expect((await settle(a.id)).status).toBe('succeeded');
    expect(target.forAction(a.id)).toHaveLength(1);
  });

  it('when approvals are pending, then the inbox lists them oldest deadline first and Temporal search attributes find them', async () => {
    const slow = await propose(300); // 1 h deadline
    const fast = await propose(3200); // 2 s deadline
    const inbox = await stack.call(bob, 'GET', '/v1/approvals');
    const ids = inbox.body.items.map((i: { id: string }) => i.id);
    expect(ids.indexOf(fast.id)).toBeGreaterThanOrEqual(0);
    expect(ids.indexOf(fast.id)).toBeLessThan(ids.indexOf(slow.id));
    expect(inbox.body.items.find((i: { id: string }) => i.id === slow.id).approval).toMatchObject({ group: 'finance', quorum: 1, approvals: [] });
    expect(inbox.body.items.every((i: { status: string }) => i.status === 'awaiting_approval')).toBe(true);
    const first = await stack.call(bob, 'GET', '/v1/approvals?limit=1');
    expect(first.body.items).toHaveLength(1);
    expect(first.body.items[0].id).toBe(ids[0]);
    const second = await stack.call(bob, 'GET', `/v1/approvals?limit=1&cursor=${first.body.nextCursor}`);
    expect(second.body.items[0].id).toBe(ids[1]);
    expect((await stack.call(bob, 'GET', '/v1/approvals?limit=0')).status).toBe(422);
    const leadInbox = await stack.call(lead, 'GET', '/v1/approvals');
    expect(leadInbox.body.items.map((i: { id: string }) => i.id)).not.toContain(slow.id);

    const found = await eventually(async () => {
      const ids: string[] = [];
      for await (const wf of stack.services.temporal.workflow.list({
        query: `CountersignStatus = "awaiting_approval" AND CountersignWaitingGroups = "finance" AND CountersignAgent = "agent-1"`,
      })) {
        ids.push(wf.workflowId);
      }
      return ids.includes(`action-${slow.id}`) && ids;
    }, 20_000, 'search attributes');
    expect(found).toContain(`action-${slow.id}`);
  });
});
