/**
 * Every patch id of governedAction, in one place. A patch keeps histories recorded before a
 * change replaying as they were: `patched(id)` is true in a run that started after the change
 * (it records a marker) and false when replaying a run that started before it.
 *
 * Each patch includes the ones before it, so a new workflow records only the newest marker
 * (one marker and one search-attribute upsert per run, not three); the helpers below ask the
 * newest first and stop there. Keep that order: the `patched` calls a run makes are part of
 * its history.
 *
 * When a patch can be deprecated (`deprecatePatch(id)`, then removed with the old branch a
 * deploy later): once no workflow started before its deploy can still be running or be
 * replayed, i.e. the deploy is older than the longest approval timeout any policy allows
 * (with its escalations) plus the namespace's retention period. Until then, also keep its
 * generation in test/replay/fixtures.
 */
import { patched } from '@temporalio/workflow';

/** Patch ids, oldest first. */
export const PATCHES = {
  /**
   * v2: the approval digest is computed in the workflow task instead of a local activity, and
   * a status change that leaves the search attributes as they are upserts nothing.
   */
  leanerApproval: 'leaner-approval-v2',
  /**
   * v3: the decisive approval of an action with an HTTP executor writes `decision_recorded`
   * and `execution_started` in one ledger write (one local activity, one transaction).
   * Includes {@link PATCHES.leanerApproval}.
   */
  oneWriteDecision: 'one-write-decision-v3',
  /**
   * v4: the first HTTP executor call may run inline, as a local activity. Includes
   * {@link PATCHES.oneWriteDecision} and {@link PATCHES.leanerApproval}.
   */
  localFirstExecutor: 'local-first-executor-v4',
  /**
   * v5: the trust model. The start and every Update must carry the API's signature (checked
   * against the root key in the start input, which the policy activity confirms the worker
   * trusts); an approval with edits re-plans (policy evaluates the edited params, and the action
   * needs both plans from step 1, counting only votes for the edited params); approvals carry
   * the current params' digest (keyed for sensitive params, from an activity). Includes
   * {@link PATCHES.localFirstExecutor} and everything before it.
   */
  trustModel: 'trust-model-v5',
  /**
   * v6: an approved action with an `agent` executor waits for the report at most its
   * `resultTimeout` (default 24h), then ends `failed` with outcome-unknown. Independent of the
   * others: asked once, when the agent executor starts waiting, so a run already waiting keeps
   * waiting as it did.
   */
  agentResultTimeout: 'agent-result-timeout-v6',
  /**
   * v6: operator controls (docs/controls.md). A proposal a pause covers ends `denied` with
   * `outcome.by: "control"`; an approved action that would execute while a pause covers it waits
   * in `approved` with `paused: true` (ledger `execution_held` / `execution_resumed`, search
   * attribute CountersignPaused) until the pause is lifted or the action is cancelled.
   * Independent of the others: asked only where a run meets a pause (a control denial) or is
   * about to execute after waiting for approval, so the allow path records no marker.
   */
  operatorControls: 'operator-controls-v6',
  /**
   * v6: an approval with edits that already meets the re-planned plan, on an action whose `agent`
   * executor carries it out, records `execution_started` (handed to the agent) so that `approved`
   * reaches the read model; before, nothing was written, the agent never saw `approved` and the
   * action waited until its deadline. Asked only there.
   */
  approvedAfterEdit: 'approved-after-edit-v6',
} as const;

/**
 * Whether this run has the trust model ({@link PATCHES.trustModel}). Decided once, at the
 * workflow's first task (see governedAction), and remembered: a run that started before the
 * patch keeps the old rules for its whole life, even on the tasks it runs after a deploy.
 * Module state is per workflow (this module is not one the worker shares between workflows).
 */
let trustModelRun: boolean | undefined;
export const trustModel = (): boolean => (trustModelRun ??= patched(PATCHES.trustModel));

/** Whether this run calls the executor locally first ({@link PATCHES.localFirstExecutor}). */
export const localFirst = (): boolean => trustModel() || patched(PATCHES.localFirstExecutor);
/** Whether this run has {@link PATCHES.oneWriteDecision}'s changes (directly or through a later patch). */
export const oneWrite = (): boolean => localFirst() || patched(PATCHES.oneWriteDecision);
/** Whether this run has {@link PATCHES.leanerApproval}'s changes (directly or through a later patch). */
export const leaner = (): boolean => oneWrite() || patched(PATCHES.leanerApproval);

/** Whether the agent's report has a deadline in this run ({@link PATCHES.agentResultTimeout}). */
export const agentResultDeadline = (): boolean => patched(PATCHES.agentResultTimeout);

/** Whether an agent action approved by the re-planned plan announces it ({@link PATCHES.approvedAfterEdit}). */
export const announceApprovalAfterEdit = (): boolean => patched(PATCHES.approvedAfterEdit);

/**
 * Whether this run honours pauses ({@link PATCHES.operatorControls}): asked the first time it
 * matters, then remembered for the run (module state is per workflow).
 */
let operatorControlsRun: boolean | undefined;
export const operatorControls = (): boolean => (operatorControlsRun ??= patched(PATCHES.operatorControls));
