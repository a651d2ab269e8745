import { describe, expect, it } from 'vitest';
import { allowedRoles, decisionRefusal, delegationRefusal, holdsRole, mayReadAction, type AccessCaller, type AccessSubject } from '../../domain/access-rules';
import { REFUSALS } from '../../domain/action-types';

const pending: AccessSubject = { status: 'awaiting_approval', agent: 'agent-1', onBehalfOf: 'hugo', eligibleGroups: ['finance'], voters: [] };
const reviewer: AccessCaller = { id: 'rita', roles: ['reviewer'], groups: ['finance'] };
const outsider: AccessCaller = { id: 'rolf', roles: ['reviewer'], groups: ['comms'] };

describe('holdsRole', () => {
  it('when the caller has the role, then it holds it', () => {
    expect(holdsRole({ roles: ['reviewer'] }, 'reviewer')).toBe(true);
  });
  it('when the caller is an admin, then it holds every role but reviewer', () => {
    for (const role of ['agent', 'operator', 'admin'] as const) expect(holdsRole({ roles: ['admin'] }, role)).toBe(true);
    expect(holdsRole({ roles: ['admin'] }, 'reviewer')).toBe(false);
    expect(holdsRole({ roles: ['admin', 'operator'] }, 'reviewer')).toBe(false);
    expect(holdsRole({ roles: ['admin', 'reviewer'] }, 'reviewer')).toBe(true);
  });
  it('when the roles a kind may hold are asked, then an agent may hold only agent', () => {
    expect(allowedRoles('agent')).toEqual(['agent']);
    expect(allowedRoles('human')).toEqual(['agent', 'reviewer', 'operator', 'admin']);
  });
  it('when the caller has other roles only, then it does not hold the role', () => {
    expect(holdsRole({ roles: ['agent', 'reviewer'] }, 'operator')).toBe(false);
    expect(holdsRole({ roles: [] }, 'agent')).toBe(false);
  });
});

describe('delegationRefusal', () => {
  const hugo = { kind: 'human' as const, delegates: ['agent-1'] };
  it('when the human delegates to the agent, then the agent may act on their behalf', () => {
    expect(delegationRefusal('agent-1', 'hugo', hugo)).toBeUndefined();
  });
  it('when the human delegates to another agent, then not-delegated', () => {
    expect(delegationRefusal('agent-2', 'hugo', hugo)).toMatchObject({ code: 'not-delegated' });
  });
  it('when the id is unknown, or names an agent, then the same refusal as for a human who did not delegate', () => {
    const unknown = delegationRefusal('agent-1', 'nobody', undefined);
    const agent = delegationRefusal('agent-1', 'nobody', { kind: 'agent', delegates: ['agent-1'] });
    const human = delegationRefusal('agent-1', 'nobody', { kind: 'human', delegates: [] });
    expect(unknown).toMatchObject({ code: 'not-delegated' });
    expect(agent).toEqual(unknown);
    expect(human).toEqual(unknown);
  });
});

describe('mayReadAction', () => {
  it('when the caller is an operator or an admin, then it reads every action', () => {
    const denied = { ...pending, status: 'denied' as const, eligibleGroups: [] };
    expect(mayReadAction({ id: 'o', roles: ['operator'], groups: [] }, denied)).toBe(true);
    expect(mayReadAction({ id: 'a', roles: ['admin'], groups: [] }, denied)).toBe(true);
  });
  it('when an admin without the reviewer role is in an eligible group, then it reads as an operator would, not as a reviewer', () => {
    // Admin implies operator (reads everything) but not reviewer: visibility is unchanged, deciding is not.
    expect(holdsRole({ roles: ['admin'] }, 'operator')).toBe(true);
    expect(mayReadAction({ id: 'adam', roles: ['admin'], groups: ['finance'] }, pending)).toBe(true);
  });
  it('when the caller proposed the action, then it reads it, whatever its status', () => {
    expect(mayReadAction({ id: 'agent-1', roles: ['agent'], groups: [] }, { ...pending, status: 'succeeded', eligibleGroups: [] })).toBe(true);
  });
  it('when another agent asks, then it does not read it', () => {
    expect(mayReadAction({ id: 'agent-2', roles: ['agent'], groups: ['finance'] }, pending)).toBe(false);
  });
  it('when a reviewer voted on the action, then it reads it after it is decided', () => {
    expect(mayReadAction(outsider, { ...pending, status: 'denied', eligibleGroups: [], voters: ['rolf'] })).toBe(true);
  });
  it('when a reviewer is in a group eligible now and the action is pending, then it reads it', () => {
    expect(mayReadAction(reviewer, pending)).toBe(true);
  });
  it('when a reviewer is in an eligible group but the action is no longer pending, then it does not read it', () => {
    expect(mayReadAction(reviewer, { ...pending, status: 'approved' })).toBe(false);
  });
  it('when a reviewer is in none of the eligible groups and never voted, then it does not read it', () => {
    expect(mayReadAction(outsider, pending)).toBe(false);
  });
  it('when a caller is in an eligible group without the reviewer role, then it does not read it', () => {
    expect(mayReadAction({ id: 'x', roles: ['agent'], groups: ['finance'] }, pending)).toBe(false);
    expect(mayReadAction({ id: 'x', roles: ['agent'], groups: ['finance'] }, { ...pending, voters: ['x'] })).toBe(false);
  });
});

describe('decisionRefusal', () => {
  it('when a reviewer of an eligible group decides a pending action it has not voted on, then nothing refuses it', () => {
    expect(decisionRefusal(reviewer, pending, 'approve')).toBeUndefined();
    expect(decisionRefusal(reviewer, pending, 'deny')).toBeUndefined();
  });
  it('when the action is still being evaluated, then not-ready', () => {
    expect(decisionRefusal(reviewer, { ...pending, status: 'evaluating' }, 'approve')?.code).toBe(REFUSALS.notReady);
  });
  it('when the action is past approval, then not-pending with its status', () => {
    expect(decisionRefusal(reviewer, { ...pending, status: 'denied' }, 'approve')).toEqual({ code: REFUSALS.notPending, message: 'action is denied, not awaiting approval' });
  });
  it('when a cancel was accepted, then not-pending though the status still says pending', () => {
    expect(decisionRefusal(reviewer, { ...pending, cancelling: true }, 'approve')).toEqual({ code: REFUSALS.notPending, message: 'action is being cancelled, not awaiting approval' });
  });
  it('when the reviewer is in none of the groups eligible now, then not-eligible', () => {
    expect(decisionRefusal(outsider, pending, 'deny')?.code).toBe(REFUSALS.notEligible);
  });
  it('when the proposing agent or the human it acts for approves, then self-approval', () => {
    expect(decisionRefusal({ id: 'agent-1', groups: ['finance'] }, pending, 'approve')?.code).toBe(REFUSALS.selfApproval);
    expect(decisionRefusal({ id: 'hugo', groups: ['finance'] }, pending, 'approve')?.code).toBe(REFUSALS.selfApproval);
  });
  it('when the human it acts for denies, then nothing refuses it', () => {
    expect(decisionRefusal({ id: 'hugo', groups: ['finance'] }, pending, 'deny')).toBeUndefined();
  });
  it('when the reviewer has voted already, then already-voted', () => {
    expect(decisionRefusal(reviewer, { ...pending, voters: ['rita'] }, 'approve')?.code).toBe(REFUSALS.alreadyVoted);
  });

  describe('order of the checks', () => {
    it('when evaluating and everything else is wrong too, then not-ready first', () => {
      const all = { ...pending, status: 'evaluating' as const, eligibleGroups: [], voters: ['hugo'] };
      expect(decisionRefusal({ id: 'hugo', groups: [] }, all, 'approve')?.code).toBe(REFUSALS.notReady);
    });
    it('when not pending and not eligible, then not-pending before not-eligible', () => {
      expect(decisionRefusal(outsider, { ...pending, status: 'expired' }, 'approve')?.code).toBe(REFUSALS.notPending);
    });
    it('when not eligible, approving its own action and voted already, then not-eligible first', () => {
      expect(decisionRefusal({ id: 'hugo', groups: ['comms'] }, { ...pending, voters: ['hugo'] }, 'approve')?.code).toBe(REFUSALS.notEligible);
    });
    it('when approving its own action and voted already, then self-approval before already-voted', () => {
      expect(decisionRefusal({ id: 'hugo', groups: ['finance'] }, { ...pending, voters: ['hugo'] }, 'approve')?.code).toBe(REFUSALS.selfApproval);
    });
  });
});
