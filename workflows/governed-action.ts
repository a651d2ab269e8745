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
import { ActionState } from './action-state';
import { decide, planGroups, runApprovalStep, settleTimeout, validateDecision } from './approval-step';
import { execute, waitsForReport } from './executors';
import { reportResult, validateReport } from './executors/report';
import { notify } from './notifications';
import { cancel, finishCancelled, validateCancel } from './outcome';
import { applyDecision, evaluatePolicy, recordDecision } from './policy-step';

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

  setHandler(decideUpdate, (d) => decide(run, d), { validator: (d) => validateDecision(run, d) });
  setHandler(cancelUpdate, (c) => cancel(run, c), { validator: (c) => validateCancel(run, c) });
  setHandler(reportResultUpdate, (r) => reportResult(run, r), { validator: (r) => validateReport(run, r) });
  setHandler(projectionQuery, () => run.view);

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
    run.view.outcome = { by: 'policy', actor: null, reason: decision.reason || null };
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
  const plan = run.plan as ApprovalPlan;
  for (let i = 0; i < plan.steps.length; i++) {
    const outcome = await runApprovalStep(run, i, plan);
    if (outcome === 'approved') continue;
    if (outcome === 'denied') return run.snapshot();
    if (outcome === 'cancelled') return finishCancelled(run);
    // Timed out with no escalation left: onTimeout decides.
    if (settleTimeout(run, i, plan)) break;
    return run.snapshot();
  }
  return execute(run);
}
