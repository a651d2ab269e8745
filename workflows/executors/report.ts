/**
 * The reportResult Update: whoever carries out an action outside the workflow (the `agent`
 * executor, or any executor that `waitsForReport`) reports what happened.
 */
import { ApplicationFailure, condition } from '@temporalio/workflow';
import { REFUSALS, type ActionProjection, type ResultInput } from '../../domain/action-types';
import type { ActionState } from '../action-state';
import { waitsForReport } from './index';

/**
 * The reportResult Update's validator: only an approved action whose executor waits for a
 * report, only once, and not once a cancel was accepted.
 */
export function validateReport(run: ActionState, _r: ResultInput): void {
  const { view } = run;
  if (view.status === 'evaluating') throw ApplicationFailure.nonRetryable('the action is still being evaluated', REFUSALS.notReady);
  if (view.status !== 'approved' || !waitsForReport(view.executor) || run.report || run.cancelRequest) {
    throw ApplicationFailure.nonRetryable(`action is ${view.status}, not waiting for the agent's result`, REFUSALS.notAwaitingResult);
  }
}

/** The reportResult Update: hand the report to the waiting executor; answer once it is recorded. */
export async function reportResult(run: ActionState, r: ResultInput): Promise<ActionProjection> {
  run.report = r;
  await condition(() => run.settled || run.writeFault !== undefined);
  if (run.writeFault) throw run.writeFault;
  return run.snapshot();
}
