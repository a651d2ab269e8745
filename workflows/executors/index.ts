/**
 * The executor registry: one entry per `executor.type` a policy bundle may name. The workflow
 * reaches executors only through it; a new kind is a new {@link Executor} and one line here.
 */
import type { ActionProjection, ActionStatus } from '../../domain/action-types';
import type { ExecutorSpec } from '../../domain/policy-types';
import type { ActionState } from '../action-state';
import { agentExecutor } from './agent';
import type { Executor } from './executor';
import { httpExecutor } from './http';

export type { Executor } from './executor';
export { EXECUTOR_ACTIVITY_OPTIONS } from './http';

/** Every executor kind, by `executor.type`: the compiler asks for an entry per kind. */
export const EXECUTORS: { readonly [K in ExecutorSpec['type']]: Executor<Extract<ExecutorSpec, { type: K }>> } = {
  http: httpExecutor,
  agent: agentExecutor,
};

/** The executor of `spec`'s kind. */
export function executorFor<S extends ExecutorSpec>(spec: S): Executor<S> {
  return EXECUTORS[spec.type] as unknown as Executor<S>;
}

/** Whether an action with this executor waits for a reported result (false before policy decided). */
export function waitsForReport(spec: ExecutorSpec | null): boolean {
  return spec !== null && executorFor(spec).waitsForReport;
}

/** The status of an approved action: `approved` while it waits for a report, else `executing`. */
export function approvedStatus(spec: ExecutorSpec | null): ActionStatus {
  return waitsForReport(spec) ? 'approved' : 'executing';
}

/**
 * Carry out the action with its executor. Not `async`: it hands back the executor's own
 * promise, so awaiting it resumes exactly as awaiting the executor would.
 */
export function execute(run: ActionState): Promise<ActionProjection> {
  const spec = run.decision.executor;
  return executorFor(spec).execute(run, spec);
}
