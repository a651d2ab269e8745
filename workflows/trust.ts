/**
 * Only what the API sent counts: the start and every Update must carry the API's signature
 * (domain/message-signature.ts), checked against the root key in the start input. The policy
 * activity then confirms that the worker trusts that root, so a start sent straight to Temporal
 * (with no root, or a root of its own) ends before anything is recorded.
 */
import { ApplicationFailure, currentUpdateInfo, workflowInfo } from '@temporalio/workflow';
import { REFUSALS } from '../domain/action-types';
import { verifyMessage } from '../domain/message-signature';
import type { ActionState } from './action-state';

function refuse(problem: string): never {
  throw ApplicationFailure.nonRetryable(`refused: ${problem}`, REFUSALS.unsigned);
}

/**
 * The start must be signed by a key the input's root certified, for this workflow id and these
 * arguments, close to when Temporal accepted it (its start time, not the first task's: workers
 * may be down for a while without refusing a genuine start).
 */
export function checkStart(run: ActionState): void {
  const { input } = run;
  if (!input.trust) refuse('the start carries no trust root');
  const info = workflowInfo();
  const problem = verifyMessage(input.trust, info.workflowId, 'start', input as unknown as Record<string, unknown>, info.startTime.getTime());
  if (problem) refuse(problem);
}

/**
 * In an Update's validator: refuse it unless the API signed it for this workflow, this Update
 * (name and id) and these arguments, within the last few minutes. A workflow started before
 * messages were signed has no root and accepts what it always did.
 */
export function checkUpdate(run: ActionState, args: object): void {
  const root = run.input.trust;
  if (!root) return;
  const update = currentUpdateInfo();
  if (!update) refuse('not an Update');
  const problem = verifyMessage(root, workflowInfo().workflowId, { update: update.name, id: update.id }, args as Record<string, unknown>, Date.now());
  if (problem) refuse(problem);
}
