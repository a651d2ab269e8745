/**
 * The approval step: reviewers decide (the decide Update), each step waits for its quorum,
 * reminds, escalates when its deadline passes, and ends in approval, denial, cancellation or
 * a timeout that the plan's `onTimeout` settles.
 */
import { ApplicationFailure, condition } from '@temporalio/workflow';
import type { ActionProjection, Actor, ApprovalView, ApprovalVote, DecisionInput } from '../domain/action-types';
import { decisionRefusal } from '../domain/access-rules';
import { approvalDigest } from '../domain/approval-digest';
import type { ApprovalPlan } from '../domain/policy-types';
import { nowIso, SYSTEM, type ActionState } from './action-state';
import { approvedStatus, executorFor } from './executors';
import { local } from './local-activities';
import { notify } from './notifications';
import { leaner, oneWrite } from './patches';

/**
 * Reminders per step at most. Each costs a few history events; the cap keeps a step with a
 * tiny `remindEvery` and a long timeout from growing its history without bound.
 */
const MAX_REMINDERS_PER_STEP = 100;

/** How one approval step ended. */
export type StepOutcome = 'approved' | 'denied' | 'cancelled' | 'timeout';

/**
 * The decide Update's validator: refuses (without touching history) what the access rules
 * refuse, the same rule the API checks first.
 */
export function validateDecision(run: ActionState, d: DecisionInput): void {
  const { view, input } = run;
  // A cancel accepted before this decision wins (`cancelling`): the reviewer must not hear that
  // a vote counted on an action that is being cancelled.
  const refusal = decisionRefusal(
    { id: d.reviewer, groups: d.reviewerGroups },
    { status: view.status, agent: input.agent, onBehalfOf: input.onBehalfOf, eligibleGroups: view.eligibleGroups, voters: view.voters, cancelling: run.cancelRequest !== undefined },
    d.decision,
  );
  if (refusal) throw ApplicationFailure.nonRetryable(refusal.message, refusal.code);
}

/** The decide Update: count the vote, settle the step if it is decisive, record it. */
export async function decide(run: ActionState, d: DecisionInput): Promise<ActionProjection> {
  const { view, input } = run;
  const approval = view.approval as ApprovalView;
  let edits: Record<string, { from: unknown; to: unknown }> | undefined;
  if (d.decision === 'approve' && d.params) {
    edits = diffParams(view.params, d.params);
    if (Object.keys(edits).length > 0) view.params = d.params;
    else edits = undefined;
  }
  const vote: ApprovalVote = {
    reviewer: d.reviewer,
    decision: d.decision,
    reason: d.reason,
    at: nowIso(),
    step: approval.step,
    ...(d.requestId ? { requestId: d.requestId } : {}),
    ...(d.requestHash ? { requestHash: d.requestHash } : {}),
    ...(edits ? { edits } : {}),
  };
  // State changes happen before the first await, so the next validator already sees them.
  approval.approvals.push(vote);
  view.voters.push(d.reviewer);
  if (d.decision === 'deny') {
    view.outcome = { by: 'reviewer', actor: d.reviewer, reason: d.reason };
    run.clearWaiting();
    run.setStatus('denied');
  } else if (stepApprovals(view, approval.step) >= approval.quorum && approval.step === approval.steps) {
    run.clearWaiting();
    run.setStatus(approvedStatus(view.executor));
  }
  run.decisionsInFlight++;
  try {
    if (d.decision === 'approve') {
      // Bind the approval to exactly what was approved; the executor checks it again.
      const subject = { action: input.action, params: view.params, resource: input.resource ?? null, policyVersion: run.decision.version };
      // Computed here since the patch; histories from before it got it from a local activity.
      vote.digest = leaner() ? approvalDigest(subject) : await local.computeApprovalDigest(subject);
    }
    const reviewer: Actor = { id: d.reviewer, kind: 'human' };
    if (edits) run.record('edited', reviewer, { step: vote.step, edits, digest: vote.digest ?? null });
    const { requestHash: _requestHash, ...recorded } = vote;
    run.record('decision_recorded', reviewer, { ...recorded, edited: Boolean(edits) });
    // The decisive approval of an executor that announces itself (http): what it would write
    // first goes into the same ledger write. No cancel can come in now: 'executing' refuses it.
    const spec = run.decision.executor;
    const executor = executorFor(spec);
    if (view.status === 'executing' && !run.cancelRequest && executor.announce && oneWrite()) executor.announce(run, spec);
    await run.flush();
  } finally {
    run.decisionsInFlight--;
  }
  return run.snapshot();
}

/**
 * Wait out step `index` of the plan: request it, then wait for its quorum, a denial or a
 * cancel, reminding every `remindEvery` and escalating at each deadline until none is left.
 */
export async function runApprovalStep(run: ActionState, index: number, p: ApprovalPlan): Promise<StepOutcome> {
  const { view } = run;
  const step = p.steps[index];
  let deadlineMs = Date.now() + step.timeoutMs;
  view.eligibleGroups = [step.group];
  view.deadline = new Date(deadlineMs).toISOString();
  view.approval = {
    step: index + 1,
    steps: p.steps.length,
    group: step.group,
    quorum: step.quorum,
    approvals: view.approval?.approvals ?? [],
    deadline: view.deadline,
    escalations: view.approval?.escalations ?? [],
    eligibleGroups: view.eligibleGroups,
    plan: p,
  };
  run.setStatus('awaiting_approval');
  run.record('approval_requested', SYSTEM, { step: index + 1, group: step.group, quorum: step.quorum, deadline: view.deadline });
  await run.flush();
  notify(run, 'approval_requested', [step.group]);

  let escalation = 0;
  let reminders = 0;
  let nextReminderMs = step.remindEveryMs ? Date.now() + step.remindEveryMs : Infinity;
  for (;;) {
    const waitMs = Math.max(0, Math.min(deadlineMs, nextReminderMs) - Date.now());
    const decided = await condition(
      () =>
        run.decisionsInFlight === 0 &&
        (view.status !== 'awaiting_approval' || stepApprovals(view, index + 1) >= step.quorum || run.cancelRequest !== undefined || run.writeFault !== undefined),
      waitMs,
    );
    if (decided) {
      // A decision that could not be recorded stops the action: nothing runs on an unrecorded vote.
      if (run.writeFault) throw run.writeFault;
      if (run.cancelRequest && view.status === 'awaiting_approval') return 'cancelled';
      if (view.status === 'denied') return 'denied';
      return 'approved';
    }
    if (Date.now() >= deadlineMs) {
      const target = step.escalateTo[escalation++];
      if (!target) return 'timeout';
      deadlineMs = Date.now() + target.timeoutMs;
      if (!view.eligibleGroups.includes(target.group)) view.eligibleGroups = [...view.eligibleGroups, target.group];
      view.deadline = new Date(deadlineMs).toISOString();
      const approval = view.approval as ApprovalView;
      approval.deadline = view.deadline;
      approval.eligibleGroups = view.eligibleGroups;
      approval.escalations.push({ group: target.group, at: nowIso(), step: index + 1 });
      run.setStatus('awaiting_approval');
      run.record('escalated', SYSTEM, { step: index + 1, group: target.group, deadline: view.deadline });
      await run.flush();
      notify(run, 'escalated', view.eligibleGroups);
      if (step.remindEveryMs && reminders < MAX_REMINDERS_PER_STEP) nextReminderMs = Date.now() + step.remindEveryMs;
    } else {
      reminders++;
      nextReminderMs = reminders < MAX_REMINDERS_PER_STEP ? Date.now() + (step.remindEveryMs as number) : Infinity;
      run.record('reminded', SYSTEM, { step: index + 1, groups: view.eligibleGroups, deadline: view.deadline });
      await run.flush();
      notify(run, 'reminded', view.eligibleGroups);
    }
  }
}

/**
 * Step `index` timed out with no escalation left: the plan's `onTimeout` decides. Returns
 * whether the action goes on to execute (`allow`); with `deny` it has expired.
 */
export function settleTimeout(run: ActionState, index: number, p: ApprovalPlan): boolean {
  const { view } = run;
  notify(run, 'expired', view.eligibleGroups);
  if (p.onTimeout === 'allow') {
    run.clearWaiting();
    run.setStatus(approvedStatus(view.executor));
    run.record('expired', SYSTEM, { step: index + 1, onTimeout: 'allow' });
    return true;
  }
  view.outcome = { by: 'timeout', actor: null, reason: `no quorum for step ${index + 1} before the deadline` };
  run.clearWaiting();
  run.setStatus('expired');
  run.record('expired', SYSTEM, { step: index + 1, onTimeout: 'deny' });
  return false;
}

/** Every group the plan may notify (its steps and their escalations), once each. */
export function planGroups(p: ApprovalPlan): string[] {
  return [...new Set(p.steps.flatMap((s) => [s.group, ...s.escalateTo.map((e) => e.group)]))];
}

function stepApprovals(view: ActionProjection, step: number): number {
  return view.approval ? view.approval.approvals.filter((v) => v.step === step && v.decision === 'approve').length : 0;
}

/** Top-level param changes as JSON pointer -> { from, to } (deep values compared by JSON). */
function diffParams(before: Record<string, unknown>, after: Record<string, unknown>): Record<string, { from: unknown; to: unknown }> {
  const out: Record<string, { from: unknown; to: unknown }> = {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (JSON.stringify(before[key]) !== JSON.stringify(after[key])) {
      out[`/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`] = { from: before[key] ?? null, to: after[key] ?? null };
    }
  }
  return out;
}
