/**
 * The governedAction workflow: one per proposed action. It evaluates policy, waits durably
 * for reviewers where policy says so, executes (or not) exactly once, and records every
 * state change as a ledger event together with the action's read model.
 *
 * This file is the entry: the messages clients send, their handlers (registered before the
 * first await), and the lifecycle. The state lives in action-state.ts; each step in its own
 * file (policy-step, approval-step, executors/, outcome); every patch id in patches.ts.
 *
 * Deterministic code only: no I/O, no zod, time and randomness from the SDK. Activities are
 * imported as types; their implementations live in activities/.
 *
 * Replay: the order of awaits here and in the steps is part of every recorded history (it
 * decides the order of commands). Steps called with `await` stay `async` functions; helpers
 * that hand back an activity's promise are plain functions, so no await is added or removed.
 */
import { allHandlersFinished, condition, defineQuery, defineUpdate, setHandler } from '@temporalio/workflow';
import type { ActionProjection, CancelInput, DecisionInput, GovernedActionInput, ResultInput } from '../domain/action-types';
import type { ApprovalPlan } from '../domain/policy-types';
import { ActionState, SYSTEM } from './action-state';
import { decide, paramsDigest, planGroups, runApprovalStep, settleTimeout, validateDecision } from './approval-step';
import { approvedStatus, execute, waitsForReport } from './executors';
import { reportResult, validateReport } from './executors/report';
import { notify } from './notifications';
import { cancel, finishCancelled, validateCancel } from './outcome';
import { announceApprovalAfterEdit, operatorControls, trustModel } from './patches';
import { holdWhilePaused, onPausesChanged, pausesChangedSignal } from './pause-hold';
import { applyDecision, evaluatePolicy, recordDecision } from './policy-step';
import { checkStart, checkUpdate } from './trust';

export { EXECUTOR_ACTIVITY_OPTIONS } from './executors';

/** A reviewer's approve/deny. Validated synchronously, so a refused decision never enters history. */
export const decideUpdate = defineUpdate<ActionProjection, [DecisionInput]>('decide');
/** Cancel before execution (the proposing agent or an operator). */
export const cancelUpdate = defineUpdate<ActionProjection, [CancelInput]>('cancel');
/** Executor `agent`: the proposing agent reports what happened. */
export const reportResultUpdate = defineUpdate<ActionProjection, [ResultInput]>('reportResult');
/** The current read model, straight from the workflow. */
export const projectionQuery = defineQuery<ActionProjection>('projection');

/** Governs one proposed action from policy check to final outcome. */
export async function governedAction(input: GovernedActionInput): Promise<ActionProjection> {
  const run = new ActionState(input);

  const guarded = <A extends object>(validate: (run: ActionState, a: A) => void) => (a: A) => {
    checkUpdate(run, a);
    validate(run, a);
  };
  setHandler(decideUpdate, (d) => decide(run, d), { validator: guarded(validateDecision) });
  setHandler(cancelUpdate, (c) => cancel(run, c), { validator: guarded(validateCancel) });
  setHandler(reportResultUpdate, (r) => reportResult(run, r), { validator: guarded(validateReport) });
  setHandler(projectionQuery, () => run.view);
  setHandler(pausesChangedSignal, onPausesChanged);
  // Which rules this run lives by is decided here, at its first task (see patches.ts).
  if (trustModel()) checkStart(run);

  try {
    await lifecycle(run);
    if (run.plan && !run.writeFault) notify(run, 'outcome', planGroups(run.plan));
    // The final status lands first; then update handlers reply and notifications go out.
    await run.flush();
  } catch (err) {
    if (!run.writeFault) throw err;
  }
  if (run.writeFault) {
    // Stopped by a write that failed for good: the handlers still waiting answer with the
    // failure (they wake on writeFault), then the workflow fails with it.
    await condition(allHandlersFinished);
    throw run.writeFault;
  }
  run.settled = true;
  await condition(allHandlersFinished);
  await run.flush();
  await Promise.all(run.notifications);
  return run.snapshot();
}

/** Policy, then the approval steps the plan asks for, then execution, or an earlier end. */
async function lifecycle(run: ActionState): Promise<unknown> {
  const decision = await evaluatePolicy(run);
  applyDecision(run, decision);

  if (run.cancelRequest) return finishCancelled(run);
  if (decision.decision === 'deny') {
    // A pause denied it (operator controls): the outcome names the control, not a rule.
    const control = decision.control && operatorControls() ? decision.control : undefined;
    run.view.outcome = control ? { by: 'control', actor: control.by, reason: control.reason } : { by: 'policy', actor: null, reason: decision.reason || null };
    run.setStatus('denied');
    recordDecision(run);
    return run.snapshot();
  }
  if (decision.decision === 'allow') {
    if (waitsForReport(decision.executor)) run.setStatus('approved');
    recordDecision(run);
    return execute(run);
  }

  recordDecision(run);
  if (trustModel()) {
    // What approvals approve: the params' digest (keyed, from an activity, for sensitive params).
    const digest = paramsDigest(run, run.view.params);
    run.digest = typeof digest === 'string' ? digest : await digest;
  }
  for (let i = 0; i < (run.plan as ApprovalPlan).steps.length; i++) {
    const plan = run.plan as ApprovalPlan;
    const outcome = await runApprovalStep(run, i, plan);
    if (outcome === 'approved') continue;
    if (outcome === 'denied') return run.snapshot();
    if (outcome === 'cancelled') return finishCancelled(run);
    if (outcome === 'replanned') {
      // An edit: the merged plan, from its first step.
      run.replan = undefined;
      i = -1;
      continue;
    }
    // Timed out with no escalation left: onTimeout decides.
    if (settleTimeout(run, i, plan)) break;
    return run.snapshot();
  }
  if (trustModel() && run.view.status === 'awaiting_approval') {
    // The last step was met when the approval loop looked (after an edit), not by a decision
    // that settled it: approve here.
    run.clearWaiting();
    run.setStatus(approvedStatus(run.view.executor));
    // No decision recorded this state: an http executor's execution_started will, but an agent
    // executor writes nothing before the agent reports, so say here that it is the agent's turn.
    if (run.view.executor?.type === 'agent' && announceApprovalAfterEdit()) run.record('execution_started', SYSTEM, { executor: 'agent', approvedBy: 'edited plan' });
  }
  // Approved after a wait: a pause that came meanwhile holds it here (the allow path above needs
  // no check, its policy activity just looked).
  if (operatorControls() && (await holdWhilePaused(run)) === 'cancelled') return finishCancelled(run);
  return execute(run);
}
