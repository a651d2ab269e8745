/**
 * What a reviewer hears when the API refuses a decision before asking the workflow: the
 * contract's refusals (domain/access-rules.ts `decisionRefusal`), except that an action the
 * caller may neither read nor could ever have decided answers 404, so its status is not told.
 */
import { decisionRefusal, mayReadAction, type AccessCaller } from '../domain/access-rules';
import { REFUSALS } from '../domain/action-types';
import { CountersignError, type ErrorCode } from '../domain/errors';
import { accessSubjectOf, type ActionRow } from '../ledger/action-repository';

/** The action as the pre-check needs it. */
export type DecisionSubject = Pick<ActionRow, 'id' | 'status' | 'agent' | 'on_behalf_of' | 'eligible_groups' | 'voters' | 'approval'>;

/**
 * The problem a decision by `caller` on `row` is refused with now, or undefined when the
 * workflow should be asked. In the contract's order (the reviewer role is checked by the
 * route): pending (409 `not-pending`, also while the read model says evaluating), eligible
 * (403 `not-eligible`), not self-approval, not voted. An action that is not pending and that
 * the caller may not read (never voted, not its agent, not an operator) and whose approval
 * plan names none of the caller's groups is 404 `not-found` instead.
 */
export function decisionProblem(caller: AccessCaller, row: DecisionSubject, decision: 'approve' | 'deny'): CountersignError | undefined {
  const subject = accessSubjectOf(row);
  const refused = decisionRefusal(caller, subject, decision);
  if (!refused) return undefined;
  const notPending = refused.code === REFUSALS.notReady || refused.code === REFUSALS.notPending;
  if (notPending && !mayReadAction(caller, subject) && !couldDecide(caller, row)) return new CountersignError('not-found', `no action ${row.id}`);
  // Not ready means the workflow is still evaluating: to the caller, not pending (yet).
  if (refused.code === REFUSALS.notReady) return new CountersignError('not-pending', refused.message);
  // Every refusal the access rules give is an API problem code (tested in test/unit/registries).
  return new CountersignError(refused.code as ErrorCode, refused.message);
}

/** Whether the action's approval plan names one of the caller's groups, at a step or an escalation. */
export function couldDecide(caller: Pick<AccessCaller, 'groups'>, row: Pick<DecisionSubject, 'approval'>): boolean {
  // Each step, and the requirements an edit merged into it.
  const steps = (row.approval?.plan.steps ?? []).flatMap((s) => [s, ...(s.also ?? [])]);
  return steps.some((s) => caller.groups.includes(s.group) || s.escalateTo.some((e) => caller.groups.includes(e.group)));
}
