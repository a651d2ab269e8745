import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPolicyActivities } from '../../activities/policy';
import { transferAction } from '../fixtures/policy';
import { startTestStack, type TestStack } from '../helpers/stack';
import { startTarget } from '../helpers/target';

// Trust model, issue 16: policy decides from facts Countersign keeps on principals (attributes,
// delegations), not from what an agent claims; agents hold only the agent role; admin is not a
// reviewer. Real API, worker, Temporal and Postgres.
describe('principal facts, delegation and roles', () => {
  let stack: TestStack;
  let target: Awaited<ReturnType<typeof startTarget>>;
  const token: Record<string, string> = {};

  const bundle = (targetUrl: string) => `
defaults: { decision: deny, approval: { timeout: 1h, onTimeout: deny } }
actions:
${transferAction(targetUrl)}
  notes.publish:
    owner: comms
    category: external_communication
    params: { type: object, required: [text], properties: { text: { type: string } } }
    executor: { type: agent }
rules:
  - { id: small-transfers, action: payments.transfer, when: params.amount <= 100, decision: allow }
  - id: transfers-need-finance
    action: payments.transfer
    when: params.amount > 100
    decision: require_approval
    approval: { steps: [ { group: finance, quorum: 1, timeout: 1h } ] }
  - id: gold-agents-publish
    action: notes.publish
    when: has(facts.agent.attributes.tier) && facts.agent.attributes.tier == "gold"
    decision: allow
  - id: for-sales-reps
    action: notes.publish
    when: facts.onBehalfOf != null && has(facts.onBehalfOf.attributes.team) && facts.onBehalfOf.attributes.team == "sales"
    decision: allow
`;

  /** Create a principal with any body; the answer as it is. */
  const create = (body: Record<string, unknown>) => stack.call(stack.admin, 'POST', '/v1/principals', { groups: [], ...body });
  const created = async (body: Record<string, unknown>) => {
    const r = await create(body);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body.token as string;
  };
  const propose = (agent: string, body: Record<string, unknown>, headers: Record<string, string> = {}) => stack.call(token[agent]!, 'POST', '/v1/actions?wait=20', body, headers);
  const transfer = (amount: number, extra: Record<string, unknown> = {}) => ({ action: 'payments.transfer', params: { amount, currency: 'EUR', to: 'acct' }, ...extra });
  const countRows = async (sql: string, args: unknown[]) => Number((await stack.pool.query<{ n: string }>(sql, args)).rows[0]!.n);

  beforeAll(async () => {
    target = await startTarget();
    stack = await startTestStack(bundle(target.url));
    for (const id of ['rep-bot', 'stranger-bot', 'gold-bot', 'plain-bot']) {
      token[id] = await created({ id, kind: 'agent', roles: ['agent'], ...(id === 'gold-bot' ? { attributes: { tier: 'gold' } } : {}) });
    }
    token.ivy = await created({ id: 'ivy', kind: 'human', roles: ['reviewer'], groups: ['sales'], attributes: { team: 'sales' }, delegates: ['rep-bot'] });
    token.rita = await created({ id: 'rita', kind: 'human', roles: ['reviewer'], groups: ['finance'] });
    token.ada = await created({ id: 'ada', kind: 'human', roles: ['admin'], groups: ['finance'] });
    token.rex = await created({ id: 'rex', kind: 'human', roles: ['admin', 'reviewer'], groups: ['finance'] });
    token.olga = await created({ id: 'olga', kind: 'human', roles: ['operator'] });
  });
  afterAll(async () => {
    await stack?.stop();
    await target?.close();
  });

  describe('creating and reading principals', () => {
    it('when a human is created with attributes and delegates, then GET answers them', async () => {
      const r = await stack.call(token.olga, 'GET', '/v1/principals/ivy');
      expect(r.status).toBe(200);
      expect(r.body).toEqual({
        id: 'ivy',
        kind: 'human',
        roles: ['reviewer'],
        groups: ['sales'],
        attributes: { team: 'sales' },
        delegates: ['rep-bot'],
        disabled: false,
        email: null,
        oidcSubject: null,
        slackUserId: null,
      });
      expect((await stack.call(token.olga, 'GET', '/v1/principals/rep-bot')).body).toMatchObject({ attributes: {}, delegates: [] });
    });

    it('when an agent is created with roles [agent, reviewer] or [agent, admin], then 422 points at the role, and nothing is created', async () => {
      for (const [roles, at] of [[['agent', 'reviewer'], '/roles/1'], [['admin', 'agent'], '/roles/0'], [['operator'], '/roles/0']] as const) {
        const r = await create({ id: 'sneaky-bot', kind: 'agent', roles });
        expect(r.status, JSON.stringify(roles)).toBe(422);
        expect(r.body.errors).toEqual([expect.objectContaining({ path: at, message: expect.stringContaining('holds only the role "agent"') })]);
      }
      expect((await stack.call(token.olga, 'GET', '/v1/principals/sneaky-bot')).status).toBe(404);
    });

    it('when delegates name no agent (unknown, or a human), or an agent delegates, then 422 at the offending entry', async () => {
      const unknown = await create({ id: 'hugo', kind: 'human', roles: ['reviewer'], delegates: ['rep-bot', 'ghost-bot', 'rita'] });
      expect(unknown.status).toBe(422);
      expect(unknown.body.errors.map((e: { path: string }) => e.path)).toEqual(['/delegates/1', '/delegates/2']);
      const agent = await create({ id: 'boss-bot', kind: 'agent', roles: ['agent'], delegates: ['rep-bot'] });
      expect(agent.status).toBe(422);
      expect(agent.body.errors).toEqual([expect.objectContaining({ path: '/delegates' })]);
      for (const id of ['hugo', 'boss-bot']) expect((await stack.call(token.olga, 'GET', `/v1/principals/${id}`)).status).toBe(404);
    });

    it('when attributes are not a small JSON object, then 422 names where', async () => {
      const list = await create({ id: 'hugo', kind: 'human', roles: ['reviewer'], attributes: ['gold'] });
      expect(list.status).toBe(422);
      expect(list.body.errors[0].path).toBe('/attributes');
      const big = await create({ id: 'hugo', kind: 'human', roles: ['reviewer'], attributes: { note: 'x'.repeat(5000) } });
      expect(big.status).toBe(422);
      expect(big.body.errors[0]).toMatchObject({ path: '/attributes', message: expect.stringContaining('bytes') });
    });
  });

  describe('admin is not a reviewer', () => {
    it('when an admin without the reviewer role is in the eligible group, then it has no inbox and cannot decide; an admin who is also a reviewer can', async () => {
      const a = await propose('stranger-bot', transfer(500));
      expect(a.body.status).toBe('awaiting_approval');
      const inbox = await stack.call(token.ada, 'GET', '/v1/approvals');
      expect(inbox.status).toBe(403);
      for (const who of [token.ada, stack.admin]) {
        const d = await stack.call(who, 'POST', `/v1/actions/${a.body.id}/decisions`, { decision: 'approve' });
        expect(d.status).toBe(403);
        expect(d.body.type).toMatch(/\/forbidden$/);
      }
      // The admin still reads it (admin implies operator), and nothing was counted.
      const seen = await stack.call(token.ada, 'GET', `/v1/actions/${a.body.id}`);
      expect(seen.body.approval.approvals).toEqual([]);

      expect((await stack.call(token.rex, 'GET', '/v1/approvals')).body.items.map((i: { id: string }) => i.id)).toContain(a.body.id);
      const ok = await stack.call(token.rex, 'POST', `/v1/actions/${a.body.id}/decisions`, { decision: 'approve' });
      expect(ok.status).toBe(200);
      expect(ok.body.approval.approvals).toEqual([expect.objectContaining({ reviewer: 'rex', decision: 'approve' })]);
    });
  });

  describe('onBehalfOf needs a delegation', () => {
    it('when an agent names a human who has not delegated to it, then 422 not-delegated and nothing is recorded', async () => {
      // Events of this agent's proposals so far (other tests' actions keep recording meanwhile).
      const strangerEvents = () => countRows(`SELECT count(*) AS n FROM ledger_events WHERE type = 'proposed' AND actor_id = 'stranger-bot'`, []);
      const before = await strangerEvents();
      const r = await propose('stranger-bot', transfer(500, { onBehalfOf: 'rita' }), { 'idempotency-key': 'on-behalf-of-rita' });
      expect(r.status).toBe(422);
      expect(r.body).toMatchObject({ type: 'https://countersign.dev/problems/not-delegated', errors: [{ path: '/onBehalfOf', message: expect.stringContaining('rita') }] });
      // ivy delegates, but to rep-bot, not to this agent.
      expect((await propose('stranger-bot', transfer(500, { onBehalfOf: 'ivy' }))).body.type).toMatch(/\/not-delegated$/);
      expect(await countRows(`SELECT count(*) AS n FROM actions WHERE agent = 'stranger-bot' AND on_behalf_of IS NOT NULL`, [])).toBe(0);
      expect(await strangerEvents()).toBe(before);
      expect(await countRows(`SELECT count(*) AS n FROM ledger_events WHERE type = 'proposed' AND data->>'onBehalfOf' IN ('rita', 'ivy') AND actor_id <> 'rep-bot'`, [])).toBe(0);
    });

    it('when the named id does not exist, then the answer is the same as for a human who did not delegate (no existence probe)', async () => {
      const ghost = await propose('stranger-bot', transfer(500, { onBehalfOf: 'ghost' }));
      const rita = await propose('stranger-bot', transfer(500, { onBehalfOf: 'rita' }));
      expect(ghost.status).toBe(422);
      expect(ghost.body.type).toBe(rita.body.type);
      expect(ghost.body.detail.replace('ghost', 'X')).toBe(rita.body.detail.replace('rita', 'X'));
    });

    it('when a non-delegated agent names a reviewer as onBehalfOf, then the reviewer is not removed from the approvers of its actions', async () => {
      // The attack: name the only eligible reviewer as the human behind the action, so that
      // separation of duties stops them from approving. The proposal is refused instead…
      expect((await propose('stranger-bot', transfer(700, { onBehalfOf: 'rita' }))).status).toBe(422);
      // …and rita still decides what this agent proposes.
      const a = await propose('stranger-bot', transfer(700));
      expect(a.body).toMatchObject({ status: 'awaiting_approval', onBehalfOf: null });
      const inbox = await stack.call(token.rita, 'GET', '/v1/approvals');
      expect(inbox.body.items.map((i: { id: string }) => i.id)).toContain(a.body.id);
      expect((await stack.call(token.rita, 'POST', `/v1/actions/${a.body.id}/decisions`, { decision: 'approve' })).status).toBe(200);
    });

    it('when the human delegated to the agent, then the proposal is accepted and policy sees their stored attributes', async () => {
      const r = await propose('rep-bot', { action: 'notes.publish', params: { text: 'Q3 offer' }, onBehalfOf: 'ivy' });
      expect(r.status).toBe(201);
      expect(r.body).toMatchObject({ onBehalfOf: 'ivy', policy: { decision: 'allow', ruleIds: ['for-sales-reps'] } });
    });
  });

  describe('policy decides from facts, not claims', () => {
    it('when the stored attribute says gold, then the rule allows, whatever the agent claims in context', async () => {
      const r = await propose('gold-bot', { action: 'notes.publish', params: { text: 'hello' }, context: { tier: 'silver' } });
      expect(r.status).toBe(201);
      expect(r.body).toMatchObject({ status: 'approved', policy: { decision: 'allow', ruleIds: ['gold-agents-publish'] } });
    });

    it('when an agent without the attribute claims context.tier gold, then the claim is ignored and the default denies', async () => {
      const r = await propose('plain-bot', { action: 'notes.publish', params: { text: 'hello' }, context: { tier: 'gold' } });
      expect(r.status).toBe(201);
      expect(r.body).toMatchObject({ status: 'denied', policy: { decision: 'deny', ruleIds: [] } });
    });

    it('when the evidence is read, then policy_decided records the facts that decided', async () => {
      const r = await propose('gold-bot', { action: 'notes.publish', params: { text: 'evidence' } });
      const { rows } = await stack.pool.query<{ data: Record<string, unknown> }>(`SELECT data FROM ledger_events WHERE action_id = $1 AND type = 'policy_decided'`, [r.body.id]);
      expect(rows[0]?.data.facts).toEqual({ agent: { attributes: { tier: 'gold' } }, onBehalfOf: null });
    });

    it('when the worker decides, then it reads facts from the store, never from its input, and denies an onBehalfOf without delegation', async () => {
      // What a workflow started straight on Temporal would ask: the API's checks never ran.
      const deps = { policies: stack.services.policies, pool: stack.pool } as Parameters<typeof createPolicyActivities>[0];
      const { evaluatePolicy } = createPolicyActivities(deps);
      const forged = await evaluatePolicy({ action: 'notes.publish', params: { text: 'x' }, agent: 'plain-bot', facts: { agent: { attributes: { tier: 'gold' } }, onBehalfOf: null } } as never);
      expect(forged).toMatchObject({ decision: 'deny', ruleIds: [], facts: { agent: { attributes: {} }, onBehalfOf: null } });
      const notDelegated = await evaluatePolicy({ action: 'notes.publish', params: { text: 'x' }, agent: 'stranger-bot', onBehalfOf: 'ivy' });
      expect(notDelegated).toMatchObject({ decision: 'deny', ruleIds: [], reason: expect.stringContaining('has delegated to stranger-bot') });
      const delegated = await evaluatePolicy({ action: 'notes.publish', params: { text: 'x' }, agent: 'rep-bot', onBehalfOf: 'ivy' });
      expect(delegated).toMatchObject({ decision: 'allow', facts: { agent: { attributes: {} }, onBehalfOf: { attributes: { team: 'sales' } } } });
    });

    it('when an operator dry-runs, then the stored facts decide and are shown; a human who did not delegate is 422 as for a proposal', async () => {
      const gold = await stack.call(token.olga, 'POST', '/v1/policy/evaluate', { action: 'notes.publish', params: { text: 'x' }, agent: 'gold-bot', context: { tier: 'bronze' } });
      expect(gold.status).toBe(200);
      expect(gold.body).toMatchObject({ decision: 'allow', ruleIds: ['gold-agents-publish'], facts: { agent: { attributes: { tier: 'gold' } }, onBehalfOf: null } });
      const plain = await stack.call(token.olga, 'POST', '/v1/policy/evaluate', { action: 'notes.publish', params: { text: 'x' }, agent: 'plain-bot', context: { tier: 'gold' } });
      expect(plain.body).toMatchObject({ decision: 'deny', ruleIds: [] });
      const forIvy = await stack.call(token.olga, 'POST', '/v1/policy/evaluate', { action: 'notes.publish', params: { text: 'x' }, agent: 'rep-bot', onBehalfOf: 'ivy' });
      expect(forIvy.body).toMatchObject({ decision: 'allow', facts: { onBehalfOf: { attributes: { team: 'sales' } } } });
      const stranger = await stack.call(token.olga, 'POST', '/v1/policy/evaluate', { action: 'notes.publish', params: { text: 'x' }, agent: 'stranger-bot', onBehalfOf: 'ivy' });
      expect(stranger.status).toBe(422);
      expect(stranger.body.type).toMatch(/\/not-delegated$/);
    });

    it('when the active bundle is backtested, then recorded decisions replay with the stored facts and none changes', async () => {
      // Without the stored facts, the gold and the sales-rep decisions would flip to deny.
      const r = await stack.call(token.olga, 'POST', '/v1/policy/backtest', bundle(target.url), { 'content-type': 'application/yaml' });
      expect(r.status).toBe(200);
      expect(r.body.actions).toBeGreaterThan(0);
      expect(r.body).toMatchObject({ changed: 0 });
    });
  });
});
