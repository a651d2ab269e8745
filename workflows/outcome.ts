/**
 * How an action ends from outside: the cancel Update (before execution, by the proposing agent
 * or an operator) and the cancelled outcome it leads to.
 */
import { ApplicationFailure, condition } from '@temporalio/workflow';
import { REFUSALS, type ActionProjection, type CancelInput, type OutcomeView } from '../domain/action-types';
import type { ActionState } from './action-state';

/** The cancel Update's validator: only before execution, and only once. */
export function validateCancel(run: ActionState, _c: CancelInput): void {
  const { view } = run;
  if (!['evaluating', 'awaiting_approval', 'approved'].includes(view.status) || run.cancelRequest) {
    throw ApplicationFailure.nonRetryable(`action is ${view.status} and can no longer be cancelled`, REFUSALS.notCancellable);
  }
}

/**
 * The cancel Update: the step that waits sees the request and ends the action; the caller hears
 * back once the final status is in Postgres (or the failure that stopped the action).
 */
export async function cancel(run: ActionState, c: CancelInput): Promise<ActionProjection> {
  run.cancelRequest = c;
  await condition(() => run.settled || run.writeFault !== undefined);
  if (run.writeFault) throw run.writeFault;
  return run.snapshot();
}

/** End the action as cancelled by the accepted cancel request. */
export async function finishCancelled(run: ActionState): Promise<ActionProjection> {
  const { view } = run;
  const c = run.cancelRequest as CancelInput;
  view.outcome = { by: c.role, actor: c.by, reason: c.reason } satisfies OutcomeView;
  run.clearWaiting();
  run.setStatus('cancelled');
  run.record('cancelled', { id: c.by, kind: c.role === 'agent' ? 'agent' : 'human' }, {
    reason: c.reason,
    role: c.role,
    ...(c.identity ? { identity: c.identity } : {}),
    ...(c.via ? { via: c.via } : {}),
  });
  return run.snapshot();
}
