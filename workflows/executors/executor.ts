import type { ActionProjection } from '../../domain/action-types';
import type { ExecutorSpec } from '../../domain/policy-types';
import type { ActionState } from '../action-state';

/**
 * One kind of executor (the `executor.type` of an action in the policy bundle). The workflow
 * asks only these questions of it, so a new kind is one new entry in the registry
 * (executors/index.ts), not a new branch in each step.
 */
export interface Executor<S extends ExecutorSpec = ExecutorSpec> {
  /**
   * Whether someone outside the workflow carries the action out and reports back (the
   * reportResult Update): the approved action then shows `approved` while it waits for the
   * report. Otherwise the workflow runs it and shows `executing`.
   */
  readonly waitsForReport: boolean;
  /**
   * Record that execution starts (`execution_started`), when the executor records that. The
   * decisive approval calls it so both go into one ledger write (patch one-write-decision-v3).
   */
  announce?(run: ActionState, spec: S): void;
  /**
   * Carry out the approved (or allowed) action and record how it went. Called once, as the
   * lifecycle's last step.
   */
  execute(run: ActionState, spec: S): Promise<ActionProjection>;
}
