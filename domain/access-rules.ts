/**
 * Who may read an action and who may decide it: each rule written once, as a pure function over
 * plain data, so the API's pre-checks and the workflow's Update validator cannot disagree.
 * Workflow-safe: no I/O, no Node modules.
 */
import { REFUSALS, type ActionStatus } from './action-types';

/** The roles a principal can hold (see domain/api-schemas.ts `roleSchema`). */
export type AccessRole = 'agent' | 'reviewer' | 'operator' | 'admin';

/** The caller, as far as access rules care. */
export interface AccessCaller {
  id: string;
  roles: readonly string[];
  groups: readonly string[];
}

/** An action, as far as access rules care (the read model and the workflow both have these). */
export interface AccessSubject {
  status: ActionStatus;
  agent: string;
  onBehalfOf: string | null;
  eligibleGroups: readonly string[];
  voters: readonly string[];
}

/**
 * Whether the caller holds `role`. `admin` implies `agent` and `operator`, never `reviewer`: an
 * approval is a human decision by someone given the reviewer role for it, and whoever manages
 * principals must not be able to approve by default (docs/security-model.md, "Roles").
 */
export function holdsRole(caller: Pick<AccessCaller, 'roles'>, role: AccessRole): boolean {
  return caller.roles.includes(role) || (role !== 'reviewer' && caller.roles.includes('admin'));
}

/** The roles a principal of `kind` may hold: an agent only `agent` (docs/api.md, "Roles"). */
export function allowedRoles(kind: 'agent' | 'human'): readonly AccessRole[] {
  return kind === 'agent' ? AGENT_ROLES : HUMAN_ROLES;
}
const AGENT_ROLES: readonly AccessRole[] = Object.freeze(['agent']);
const HUMAN_ROLES: readonly AccessRole[] = Object.freeze(['agent', 'reviewer', 'operator', 'admin']);

/** A principal as the delegation rule sees it. */
export interface DelegatingPrincipal {
  kind: 'agent' | 'human';
  /** Agent ids this principal lets act on its behalf. */
  delegates: readonly string[];
}

/** Why an action may not name `onBehalfOf`: the problem code `not-delegated` and its message. */
export interface DelegationRefusal {
  code: 'not-delegated';
  message: string;
}

/**
 * Why agent `agentId` may not propose on behalf of `onBehalfOf` (the stored principal `human`,
 * undefined when there is none), or undefined when it may: only a human whose `delegates` name
 * the agent. An unknown id, an agent and a human who did not delegate all get the same answer,
 * so an agent cannot learn which principal ids exist.
 */
export function delegationRefusal(agentId: string, onBehalfOf: string, human: DelegatingPrincipal | undefined): DelegationRefusal | undefined {
  if (human !== undefined && human.kind === 'human' && human.delegates.includes(agentId)) return undefined;
  return { code: 'not-delegated', message: `${onBehalfOf} is not a human principal who has delegated to ${agentId} (their "delegates" must name it)` };
}

/**
 * Read visibility: operators and admins see every action; an agent its own; a reviewer those it
 * may decide now or has decided. Everything else answers 404, as if it did not exist.
 */
export function mayReadAction(caller: AccessCaller, action: AccessSubject): boolean {
  if (holdsRole(caller, 'operator')) return true;
  if (action.agent === caller.id) return true;
  if (holdsRole(caller, 'reviewer')) {
    if (action.voters.includes(caller.id)) return true;
    if (action.status === 'awaiting_approval' && caller.groups.some((g) => action.eligibleGroups.includes(g))) return true;
  }
  return false;
}

/** A refusal code of {@link REFUSALS} with its message. */
export interface Refusal {
  code: (typeof REFUSALS)[keyof typeof REFUSALS];
  message: string;
}

/**
 * Why `caller` may not cast `decision` on `action` now, or undefined when it may. Checked in the
 * contract's order: the action must be pending (`not-ready` while it is still being evaluated,
 * `not-pending` otherwise, also once a cancel was accepted), then the caller must be in a group
 * eligible now (`not-eligible`), must not approve its own action or one on its behalf
 * (`self-approval`), and must not have voted already (`already-voted`). Holding the reviewer
 * role is checked before, where the caller's roles are known (the API).
 */
export function decisionRefusal(
  caller: Pick<AccessCaller, 'id' | 'groups'>,
  action: AccessSubject & { cancelling?: boolean },
  decision: 'approve' | 'deny',
): Refusal | undefined {
  if (action.status === 'evaluating') return { code: REFUSALS.notReady, message: 'the action is still being evaluated' };
  if (action.status !== 'awaiting_approval' || action.cancelling) {
    return { code: REFUSALS.notPending, message: `action is ${action.cancelling ? 'being cancelled' : action.status}, not awaiting approval` };
  }
  if (!caller.groups.some((g) => action.eligibleGroups.includes(g))) {
    return { code: REFUSALS.notEligible, message: `${caller.id} is in none of the groups eligible now (${action.eligibleGroups.join(', ')})` };
  }
  if (decision === 'approve' && (caller.id === action.agent || caller.id === action.onBehalfOf)) {
    return { code: REFUSALS.selfApproval, message: `${caller.id} proposed this action (or it acts on their behalf) and cannot approve it` };
  }
  if (action.voters.includes(caller.id)) return { code: REFUSALS.alreadyVoted, message: `${caller.id} has already voted on this action` };
  return undefined;
}
