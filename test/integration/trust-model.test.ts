import { randomBytes } from 'node:crypto';
import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GovernedActionInput } from '../../domain/action-types';
import { MessageSigner } from '../../runtime/message-keys';
import { cancelUpdate, decideUpdate, governedAction } from '../../workflows';
import { approvalsPolicy } from '../fixtures/policy';
import { eventually, saveReplayFixtures, startTestStack, type TestStack } from '../helpers/stack';
import { startTarget } from '../helpers/target';

// What an approval must mean, tried as an attacker would, against the real stack: edits re-plan,
// reviewers approve what they saw, and only what the API signed reaches a workflow.
describe('trust model', () => {
  let stack: TestStack;
  let target: Awaited<ReturnType<typeof startTarget>>;
  let hooks: Awaited<ReturnType<typeof startTarget>>;
  let agent: string;
  let alice: string;
  let bob: string;
  let carol: string;
  let operator: string;
  const recorded: string[] = [];

  beforeAll(async () => {
    target = await startTarget();
    hooks = await startTarget();
    stack = await startTestStack(approvalsPolicy(target.url, hooks.url));
    agent = await stack.principal('agent-1', 'agent', ['agent']);
    alice = await stack.principal('alice', 'human', ['reviewer'], ['finance']);
    bob = await stack.principal('bob', 'human', ['reviewer'], ['finance']);
    carol = await stack.principal('carol', 'human', ['reviewer'], ['finance']);
    operator = await stack.principal('olga', 'human', ['operator']);
  });
  afterAll(async () => {
    if (stack) await saveReplayFixtures(stack, recorded);
    await stack?.stop();
    await target?.close();
    await hooks?.close();
  });

  const propose = async (amount: number, to = 'acct') => {
    const r = await stack.call(agent, 'POST', '/v1/actions?wait=20', { action: 'payments.transfer', params: { amount, currency: 'EUR', to } });
    expect(r.status).toBe(201);
    expect(r.body.status).toBe('awaiting_approval');
    return r.body;
  };
  const decide = (token: string, id: string, body: Record<string, unknown>) => stack.call(token, 'POST', `/v1/actions/${id}/decisions`, body);
  const view = async (id: string) => (await stack.call(operator, 'GET', `/v1/actions/${id}`)).body;
  const settle = async (id: string) =>
    (
      await eventually(async () => {
        const r = await stack.call(operator, 'GET', `/v1/actions/${id}?wait=10`);
        return !['awaiting_approval', 'evaluating', 'executing'].includes(r.body.status) && r;
      }, 30_000, `action ${id} to finish`)
    ).body;
  const ledger = async (id: string) =>
    (await stack.pool.query<{ type: string; data: any }>('SELECT type, data FROM ledger_events WHERE action_id = $1 ORDER BY seq', [id])).rows;
  const historyLength = async (id: string) => (await stack.services.temporal.workflow.getHandle(`action-${id}`).fetchHistory()).events?.length ?? 0;
  /** History length once the workflow is idle (its current task done). */
  const settledHistoryLength = async (id: string) => {
    let last = -1;
    return eventually(async () => {
      const n = await historyLength(id);
      const stable = n === last && n > 3;
      last = n;
      if (!stable) await new Promise((r) => setTimeout(r, 200));
      return stable && n;
    }, 10_000, 'a settled history');
  };

  describe('edits re-plan', () => {
    it('when one reviewer edits a one-approver transfer into a two-approver one, then it waits for a second approval of the edited params', async () => {
      const a = await propose(500);
      recorded.push(`edit-replan=action-${a.id}`);
      const edited = await decide(alice, a.id, { decision: 'approve', reason: 'the real amount', params: { amount: 9000, currency: 'EUR', to: 'acct' } });
      expect(edited.status).toBe(200);
      // Before the trust model this executed at once: one finance approval, for the old params' plan.
      const now = await view(a.id);
      expect(now.status).toBe('awaiting_approval');
      expect(now.params.amount).toBe(9000);
      expect(now.approval.step).toBe(1);
      expect(now.approval.quorum).toBe(2);
      expect(now.approval.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(target.forAction(a.id)).toHaveLength(0);
      const events = await ledger(a.id);
      const edit = events.find((e) => e.type === 'edited');
      expect(edit?.data.policy.ruleIds).toEqual(['two-approvers']);
      expect(edit?.data.plan.steps[0]).toMatchObject({ group: 'finance', quorum: 2 });

      expect((await decide(bob, a.id, { decision: 'approve', expectedDigest: now.approval.digest })).status).toBe(200);
      expect((await settle(a.id)).status).toBe('succeeded');
      const calls = target.forAction(a.id);
      expect(calls).toHaveLength(1);
      expect(calls[0].body.params).toEqual({ amount: 9000, currency: 'EUR', to: 'acct' });
    });

    it('when an edit asks for more than policy allows at all, then it is refused (422 edit-denied) and nothing changes', async () => {
      const a = await propose(500);
      const before = await view(a.id);
      const denied = await decide(alice, a.id, { decision: 'approve', params: { amount: 9_000_000, currency: 'EUR', to: 'mallory' } });
      expect(denied.status).toBe(422);
      expect(denied.body.type).toMatch(/edit-denied$/);
      const after = await view(a.id);
      expect(after.params).toEqual(before.params);
      expect(after.approval.approvals).toHaveLength(0);
      expect(after.status).toBe('awaiting_approval');
    });

    it('when a reviewer edits after another approved, then the earlier approval no longer counts and the edited params need their own quorum', async () => {
      const a = await propose(6000); // two finance approvers
      expect((await decide(alice, a.id, { decision: 'approve' })).status).toBe(200);
      const edited = await decide(bob, a.id, { decision: 'approve', params: { amount: 7000, currency: 'EUR', to: 'acct' } });
      expect(edited.status).toBe(200);
      // Two approvals have been cast, but only bob's is for these params.
      expect((await view(a.id)).status).toBe('awaiting_approval');
      expect(target.forAction(a.id)).toHaveLength(0);
      // alice approved other params; she has voted and cannot vote again.
      const again = await decide(alice, a.id, { decision: 'approve' });
      expect(again.status).toBe(403);
      expect(again.body.type).toMatch(/already-voted$/);
      expect((await decide(carol, a.id, { decision: 'approve' })).status).toBe(200);
      expect((await settle(a.id)).status).toBe('succeeded');
      expect(target.forAction(a.id)[0].body.params.amount).toBe(7000);
    });
  });

  describe('a reviewer approves what they saw', () => {
    it('when a decision names params that have changed since (expectedDigest), then 409 stale-view and the vote is not cast', async () => {
      const a = await propose(6000);
      const seen = (await view(a.id)).approval.digest as string;
      expect(seen).toMatch(/^sha256:/);
      expect((await decide(alice, a.id, { decision: 'approve', params: { amount: 5500, currency: 'EUR', to: 'acct' } })).status).toBe(200);
      const stale = await decide(bob, a.id, { decision: 'approve', expectedDigest: seen });
      expect(stale.status).toBe(409);
      expect(stale.body.type).toMatch(/stale-view$/);
      const now = await view(a.id);
      expect(now.approval.approvals.map((v: { reviewer: string }) => v.reviewer)).toEqual(['alice']);
      expect(now.approval.digest).not.toBe(seen);
      const malformed = await decide(bob, a.id, { decision: 'approve', expectedDigest: 'sha256:abc' });
      expect(malformed.status).toBe(422);
      expect((await decide(bob, a.id, { decision: 'approve', expectedDigest: now.approval.digest })).status).toBe(200);
      expect((await settle(a.id)).status).toBe('succeeded');
    });

    it('when a reviewer decides over the API, then the evidence records how they were identified and where the decision came from', async () => {
      const a = await propose(500);
      expect((await decide(alice, a.id, { decision: 'approve' })).status).toBe(200);
      await settle(a.id);
      const vote = (await ledger(a.id)).find((e) => e.type === 'decision_recorded');
      expect(vote?.data).toMatchObject({ reviewer: 'alice', identity: { method: 'token' }, via: 'api' });
    });
  });

  describe('lineage', () => {
    it("when an agent names another agent's action as its parent, then 422 as if it did not exist; its own action is a parent it may name", async () => {
      const other = await stack.principal('agent-2', 'agent', ['agent']);
      const theirs = await propose(500);
      const body = (parentActionId: string) => ({ action: 'payments.transfer', params: { amount: 20, currency: 'EUR', to: 'acct' }, parentActionId });
      const hidden = await stack.call(other, 'POST', '/v1/actions', body(theirs.id));
      const missing = await stack.call(other, 'POST', '/v1/actions', body('act_000000000000000000000000'));
      expect(hidden.status).toBe(422);
      expect(hidden.body.errors).toEqual([{ path: '/parentActionId', message: `no action ${theirs.id}` }]);
      expect(missing.status).toBe(422);
      const own = await stack.call(other, 'POST', '/v1/actions', { action: 'payments.transfer', params: { amount: 20, currency: 'EUR', to: 'acct' } });
      expect(own.status).toBe(201);
      const child = await stack.call(other, 'POST', '/v1/actions', body(own.body.id));
      expect(child.status).toBe(201);
      expect(child.body.parentActionId).toBe(own.body.id);
      expect((await stack.pool.query('SELECT count(*)::int AS n FROM actions WHERE parent_action_id = $1', [theirs.id])).rows[0].n).toBe(0);
    });
  });

  describe('only what the API signed reaches a workflow', () => {
    it('when someone who can reach Temporal sends a decide Update straight to it, then it is refused and changes nothing; the API path still works', async () => {
      const a = await propose(500);
      const workflowId = `action-${a.id}`;
      const handle = stack.services.temporal.workflow.getHandle(workflowId);
      const before = await settledHistoryLength(a.id);
      const forged = { reviewer: 'cfo', reviewerGroups: ['finance'], decision: 'approve', reason: null };
      const unsigned = await handle.executeUpdate(decideUpdate, { args: [forged as never] }).catch((e) => e);
      expect(unsigned).toBeInstanceOf(WorkflowUpdateFailedError);
      expect(unsigned.cause.type).toBe('unsigned-message');

      // A signature from a key this installation never certified.
      const attacker = MessageSigner.load('/nonexistent', [randomBytes(32).toString('base64url')]);
      const selfSigned = attacker.sign(workflowId, { update: 'decide', id: 'forged-1' }, forged);
      const err2 = await handle.executeUpdate(decideUpdate, { args: [selfSigned as never], updateId: 'forged-1' }).catch((e) => e);
      expect(err2.cause.type).toBe('unsigned-message');

      // A genuine signature, replayed: onto other arguments, another Update id, another action.
      const genuine = stack.services.messages.sign(workflowId, { update: 'decide', id: 'genuine-1' }, { ...forged, reviewer: 'carol' });
      const otherArgs = await handle.executeUpdate(decideUpdate, { args: [{ ...genuine, reviewer: 'cfo' } as never], updateId: 'genuine-1' }).catch((e) => e);
      expect(otherArgs.cause.type).toBe('unsigned-message');
      const otherId = await handle.executeUpdate(decideUpdate, { args: [genuine as never], updateId: 'genuine-2' }).catch((e) => e);
      expect(otherId.cause.type).toBe('unsigned-message');
      const b = await propose(500);
      const otherAction = await stack.services.temporal.workflow
        .getHandle(`action-${b.id}`)
        .executeUpdate(decideUpdate, { args: [genuine as never], updateId: 'genuine-1' })
        .catch((e) => e);
      expect(otherAction.cause.type).toBe('unsigned-message');
      // An old signature: issued long ago.
      const old = stack.services.messages.sign(workflowId, { update: 'decide', id: 'old-1' }, { ...forged, reviewer: 'carol' }, Date.now() - 3600_000);
      const tooOld = await handle.executeUpdate(decideUpdate, { args: [old as never], updateId: 'old-1' }).catch((e) => e);
      expect(tooOld.cause.type).toBe('unsigned-message');
      const cancel = await handle.executeUpdate(cancelUpdate, { args: [{ by: 'olga', role: 'operator', reason: null } as never] }).catch((e) => e);
      expect(cancel.cause.type).toBe('unsigned-message');

      // Nothing entered the history or the ledger; the action still waits for a real reviewer.
      expect(await historyLength(a.id)).toBe(before);
      expect((await ledger(a.id)).filter((e) => e.type === 'decision_recorded')).toHaveLength(0);
      expect((await view(a.id)).status).toBe('awaiting_approval');
      expect(target.forAction(a.id)).toHaveLength(0);
      expect((await decide(alice, a.id, { decision: 'approve' })).status).toBe(200);
      expect((await settle(a.id)).status).toBe('succeeded');
      expect(target.forAction(a.id)).toHaveLength(1);
    });

    it('when someone starts a governedAction straight on Temporal, unsigned or signed with a root of their own, then it ends before anything is recorded', async () => {
      const input = (actionId: string): GovernedActionInput => ({
        actionId,
        action: 'payments.transfer',
        params: { amount: 50, currency: 'EUR', to: 'mallory' },
        resource: null,
        context: null,
        agent: 'agent-1',
        onBehalfOf: null,
        parentActionId: null,
        justification: null,
        model: null,
        idempotencyKey: null,
      });
      const attacker = MessageSigner.load('/nonexistent', [randomBytes(32).toString('base64url')]);
      const starts: Record<string, (id: string) => GovernedActionInput> = {
        unsigned: (id) => input(id),
        'signed by a root of its own': (id) => attacker.sign(`action-${id}`, 'start', { ...input(id), trust: attacker.root }),
        'a genuine signature for another action': (id) => {
          const other = `act_${randomBytes(12).toString('hex')}`;
          return { ...stack.services.messages.sign(`action-${other}`, 'start', { ...input(other), trust: stack.services.messages.root }), actionId: id };
        },
      };
      for (const [what, make] of Object.entries(starts)) {
        const id = `act_${randomBytes(12).toString('hex')}`;
        const started = await stack.services.temporal.workflow.start(governedAction, { workflowId: `action-${id}`, taskQueue: stack.taskQueue, args: [make(id)] });
        const err = await started.result().catch((e) => e);
        expect(err, what).toBeInstanceOf(WorkflowFailedError);
        expect((err as WorkflowFailedError).cause?.message, what).toMatch(/refused/);
        expect((await ledger(id)).length, what).toBe(0);
        expect(target.forAction(id), what).toHaveLength(0);
      }
    });
  });
});
