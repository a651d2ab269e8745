import { describe, expect, it } from 'vitest';
import { decisionProblem, type DecisionSubject } from '../../api/decision-refusal';
import { lineageTree, type LineageNode } from '../../api/lineage';
import type { ApprovalView } from '../../domain/action-types';
import { accessSubjectOf, toActionView, type ActionRow, type LineageRow } from '../../ledger/action-repository';

const plan: ApprovalView['plan'] = { steps: [{ group: 'finance', quorum: 1, timeoutMs: 1000, escalateTo: [{ group: 'finance-leads', timeoutMs: 1000 }] }], onTimeout: 'deny' };
const approval: ApprovalView = { step: 1, steps: 1, group: 'finance', quorum: 1, approvals: [], deadline: null, escalations: [], eligibleGroups: ['finance'], plan };
const pending: DecisionSubject = { id: 'act_1', status: 'awaiting_approval', agent: 'agent-1', on_behalf_of: null, eligible_groups: ['finance'], voters: [], approval };
const denied: DecisionSubject = { ...pending, status: 'denied', eligible_groups: [], voters: ['rita'], approval: { ...approval, eligibleGroups: [] } };
const reviewer = (id: string, groups: string[]) => ({ id, roles: ['reviewer'], groups });

describe('decisionProblem', () => {
  it('when the decision may go to the workflow, then no problem', () => {
    expect(decisionProblem(reviewer('fred', ['finance']), pending, 'approve')).toBeUndefined();
  });
  it('when a reviewer outside the groups decides a pending action, then 403 not-eligible (the contract), though it cannot read it', () => {
    expect(decisionProblem(reviewer('carl', ['comms']), pending, 'approve')?.code).toBe('not-eligible');
  });
  it('when a reviewer outside the plan decides a finished action it never voted on, then not-found', () => {
    expect(decisionProblem(reviewer('carl', ['comms']), denied, 'approve')).toMatchObject({ code: 'not-found', message: 'no action act_1' });
  });
  it('when a reviewer of the plan (a step or an escalation) decides a finished action, then not-pending', () => {
    expect(decisionProblem(reviewer('fred', ['finance']), denied, 'approve')?.code).toBe('not-pending');
    expect(decisionProblem(reviewer('lena', ['finance-leads']), denied, 'approve')?.code).toBe('not-pending');
  });
  it('when a voter, the agent or an operator decides a finished action, then not-pending', () => {
    expect(decisionProblem(reviewer('rita', []), denied, 'deny')?.code).toBe('not-pending');
    expect(decisionProblem({ id: 'agent-1', roles: ['reviewer'], groups: [] }, denied, 'deny')?.code).toBe('not-pending');
    expect(decisionProblem({ id: 'otto', roles: ['reviewer', 'operator'], groups: [] }, denied, 'deny')?.code).toBe('not-pending');
  });
  it('when the read model still says evaluating, then not-pending to a reader and not-found to anyone else', () => {
    const evaluating: DecisionSubject = { ...pending, status: 'evaluating', eligible_groups: [], approval: null };
    expect(decisionProblem({ id: 'agent-1', roles: ['reviewer'], groups: [] }, evaluating, 'deny')?.code).toBe('not-pending');
    expect(decisionProblem(reviewer('fred', ['finance']), evaluating, 'deny')?.code).toBe('not-found');
  });
  it('when the agent approves its own pending action, then self-approval', () => {
    expect(decisionProblem({ id: 'agent-1', roles: ['reviewer'], groups: ['finance'] }, pending, 'approve')?.code).toBe('self-approval');
  });
});

describe('lineageTree', () => {
  const at = (n: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, n));
  const row = (id: string, parent: string | null, n: number, agent = 'a'): LineageRow => ({
    id, parent_action_id: parent, action: 'x.y', status: 'succeeded', agent, on_behalf_of: null, created_at: at(n), eligible_groups: [], voters: [],
  });
  // root -> mid -> (leaf, other); root -> side
  const rows = [row('root', null, 0), row('mid', 'root', 1, 'b'), row('side', 'root', 2), row('leaf', 'mid', 3), row('other', 'mid', 4, 'b')];
  const ids = (n: LineageNode): unknown => ({ [n.id]: n.children.map(ids) });

  it('when the caller may read every action, then the whole tree from its root', () => {
    expect(ids(lineageTree(rows, 'root', 'leaf', () => true).root)).toEqual({ root: [{ mid: [{ leaf: [] }, { other: [] }] }, { side: [] }] });
  });
  it('when an action in the middle is hidden, then its visible children hang from the nearest visible ancestor', () => {
    const tree = lineageTree(rows, 'root', 'leaf', (r) => r.agent === 'a');
    expect(ids(tree.root)).toEqual({ root: [{ side: [] }, { leaf: [] }] }); // oldest first
    expect(tree.actionId).toBe('leaf');
  });
  it('when the root is hidden, then the answer starts at the highest visible action above the one asked for', () => {
    expect(ids(lineageTree(rows, 'root', 'leaf', (r) => r.agent === 'b').root)).toEqual({ mid: [{ leaf: [] }, { other: [] }] });
  });
  it('when the asked action is the only one visible, then it alone, shown even if the rule now hides it', () => {
    const tree = lineageTree(rows, 'root', 'side', () => false);
    expect(tree.root).toEqual({ id: 'side', action: 'x.y', status: 'succeeded', agent: 'a', onBehalfOf: null, createdAt: at(2).toISOString(), children: [] });
  });
});

describe('actions row mapping', () => {
  const created = new Date('2026-01-01T00:00:00.000Z');
  const row: ActionRow = {
    id: 'act_1', agent: 'agent-1', idempotency_key: 'k', request_hash: 'h', action: 'payments.transfer', status: 'denied', params: { amount: 1 },
    resource: null, on_behalf_of: 'hugo', parent_action_id: null, justification: null, policy: { decision: 'require_approval', ruleIds: ['r'], reasons: ['why'], version: 'v1', errors: [] },
    approval: { ...approval, approvals: [{ reviewer: 'rita', decision: 'deny', reason: 'no', at: 't', step: 1, requestId: 'q', requestHash: 'secret' }] },
    outcome: { by: 'reviewer', actor: 'rita', reason: 'no' }, result: null, error: null, workflow_id: 'action-act_1', run_id: 'r', eligible_groups: ['finance'], voters: ['rita'],
    deadline: null, created_at: created, updated_at: created, last_seq: 4,
  };

  it('when a row is viewed, then the plan and request hashes stay inside and the links name the workflow', () => {
    const view = toActionView(row, { temporalUiUrl: 'http://ui', namespace: 'ns 1' });
    expect(view.links).toEqual({ self: '/v1/actions/act_1', evidence: '/v1/actions/act_1/evidence', temporalUi: 'http://ui/namespaces/ns%201/workflows/action-act_1' });
    expect(view.approval).not.toHaveProperty('plan');
    expect(view.approval?.approvals[0]).toEqual({ reviewer: 'rita', decision: 'deny', reason: 'no', at: 't', step: 1, requestId: 'q' });
    expect(view.policy).toEqual({ decision: 'require_approval', ruleIds: ['r'], reasons: ['why'], version: 'v1' });
    expect(view).not.toHaveProperty('result');
    expect(view).not.toHaveProperty('error');
    expect(view.outcome).toEqual({ by: 'reviewer', actor: 'rita', reason: 'no' });
  });
  it('when access rules look at a row, then they see its status, agent, principal, groups and voters', () => {
    expect(accessSubjectOf(row)).toEqual({ status: 'denied', agent: 'agent-1', onBehalfOf: 'hugo', eligibleGroups: ['finance'], voters: ['rita'] });
  });
});
