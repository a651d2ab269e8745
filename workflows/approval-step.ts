/**
 * The approval step: reviewers decide (the decide Update), each step waits for its quorum,
 * reminds, escalates when its deadline passes, and ends in approval, denial, cancellation or
 * a timeout that the plan's `onTimeout` settles.
 */
import { ApplicationFailure, condition } from '@temporalio/workflow';
import { REFUSALS, type ActionProjection, type ApprovalView, type ApprovalVote, type DecisionInput } from '../domain/action-types';
import { decisionRefusal } from '../domain/access-rules';
import { approvalDigest, type ApprovalSubject } from '../domain/approval-digest';
import type { ApprovalPlan, ApprovalStepPlan } from '../domain/policy-types';
import { nowIso, SYSTEM, type ActionState } from './action-state';
import { approvedStatus, executorFor } from './executors';
import { local } from './local-activities';
import { notify } from './notifications';
import { leaner, oneWrite, trustModel } from './patches';
import { policyInput } from './policy-step';

/**
 * Reminders per step at most. Each costs a few history events; the cap keeps a step with a
 * tiny `remindEvery` and a long timeout from growing its history without bound.
 */
const MAX_REMINDERS_PER_STEP = 100;

/** How one approval step ended. */
export type StepOutcome = 'approved' | 'denied' | 'cancelled' | 'timeout' | 'replanned';

/**
 * The decide Update's validator: refuses (without touching history) what the access rules
 * refuse, the same rule the API checks first.
 */
export function validateDecision(run: ActionState, d: DecisionInput): void {
  const { view, input } = run;
  // An edit is being re-planned: what this decision would count toward is not known yet.
  if (run.replanning) throw ApplicationFailure.nonRetryable('an edit of this action is being evaluated', REFUSALS.notReady);
  // A cancel accepted before this decision wins (`cancelling`): the reviewer must not hear that
  // a vote counted on an action that is being cancelled.
  const refusal = decisionRefusal(
    { id: d.reviewer, groups: d.reviewerGroups },
    { status: view.status, agent: input.agent, onBehalfOf: input.onBehalfOf, eligibleGroups: view.eligibleGroups, voters: view.voters, cancelling: run.cancelRequest !== undefined },
    d.decision,
  );
  if (refusal) throw ApplicationFailure.nonRetryable(refusal.message, refusal.code);
  if (d.expectedDigest !== undefined && run.digest !== undefined && d.expectedDigest !== run.digest) {
    throw ApplicationFailure.nonRetryable(`the params changed since they were shown (now ${run.digest})`, REFUSALS.staleView);
  }
}

/** The decide Update: count the vote, settle the step if it is decisive, record it. */
export async function decide(run: ActionState, d: DecisionInput): Promise<ActionProjection> {
  if (trustModel()) return decideTrusted(run, d);
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
  countVote(run, d, vote);
  run.decisionsInFlight++;
  try {
    if (d.decision === 'approve') {
      // Bind the approval to exactly what was approved; the executor checks it again.
      const subject = { action: input.action, params: view.params, resource: input.resource ?? null, policyVersion: run.decision.version };
      // Computed here since the patch; histories from before it got it from a local activity.
      vote.digest = leaner() ? approvalDigest(subject) : await local.computeApprovalDigest(subject);
    }
    if (edits) run.record('edited', { id: d.reviewer, kind: 'human' }, { step: vote.step, edits, digest: vote.digest ?? null });
    await recordVote(run, d, vote, Boolean(edits));
  } finally {
    run.decisionsInFlight--;
  }
  return run.snapshot();
}

/**
 * Put a vote on the action and settle what it decides: a deny denies, the approval that meets
 * the last step approves. Called before the handler's first await, so the next validator
 * already sees the vote.
 */
function countVote(run: ActionState, d: DecisionInput, vote: ApprovalVote): void {
  const { view } = run;
  const approval = view.approval as ApprovalView;
  approval.approvals.push(vote);
  view.voters.push(d.reviewer);
  if (d.decision === 'deny') {
    view.outcome = { by: 'reviewer', actor: d.reviewer, reason: d.reason };
    run.clearWaiting();
    run.setStatus('denied');
  } else if (approval.step === approval.steps && stepSatisfied(run, approval.step - 1)) {
    run.clearWaiting();
    run.setStatus(approvedStatus(view.executor));
  }
}

/**
 * Record `decision_recorded` and write it. The decisive approval of an executor that announces
 * itself (http) puts what it would write first into the same ledger write; no cancel can come in
 * then ('executing' refuses it). Not `async`: it hands back the write's own promise.
 */
function recordVote(run: ActionState, d: DecisionInput, vote: ApprovalVote, edited: boolean): Promise<unknown> {
  const { requestHash: _requestHash, ...recorded } = vote;
  run.record('decision_recorded', { id: d.reviewer, kind: 'human' }, { ...recorded, edited });
  const spec = run.decision.executor;
  const executor = executorFor(spec);
  if (run.view.status === 'executing' && !run.cancelRequest && executor.announce && oneWrite()) executor.announce(run, spec);
  return run.flush();
}

/**
 * The decide Update under the trust model: an approval counts toward the requirements of the
 * current step whose groups hold the reviewer, for the params as they stand (its digest); an
 * approval with edits re-plans ({@link editAndReplan}).
 */
async function decideTrusted(run: ActionState, d: DecisionInput): Promise<ActionProjection> {
  const { view } = run;
  const approval = view.approval as ApprovalView;
  const edits = d.decision === 'approve' && d.params ? diffParams(view.params, d.params) : {};
  if (Object.keys(edits).length > 0) return editAndReplan(run, d, edits);
  const vote = castVote(run, d, approval.step);
  countVote(run, d, vote);
  run.decisionsInFlight++;
  try {
    await recordVote(run, d, vote, false);
  } finally {
    run.decisionsInFlight--;
  }
  return run.snapshot();
}

/**
 * An approval with edits, under the trust model. Policy evaluates the edited params as if they
 * had been proposed: a denial refuses the edit (`edit-denied`) and changes nothing. Otherwise
 * the action needs both its current plan and the edited params' plan, merged step by step
 * ({@link mergePlans}), from step 1 with fresh deadlines, counting only approvals cast from
 * now on (for these params): the editor's own counts, earlier ones no longer do. Other
 * decisions wait (`not-ready`) until this one is settled.
 */
async function editAndReplan(run: ActionState, d: DecisionInput, edits: Record<string, { from: unknown; to: unknown }>): Promise<ActionProjection> {
  const { view } = run;
  const approval = view.approval as ApprovalView;
  const params = d.params as Record<string, unknown>;
  run.replanning = true;
  run.decisionsInFlight++;
  try {
    const edited = await local.evaluatePolicy({ ...policyInput(run), params });
    if (edited.decision === 'deny') {
      throw ApplicationFailure.nonRetryable(`policy would deny the edited action: ${edited.reasons.join('; ')}`, REFUSALS.editDenied);
    }
    const digest = await paramsDigest(run, params);
    if (run.cancelRequest || view.status !== 'awaiting_approval') {
      // A cancel (or a timeout) won while policy looked at the edit: nothing to count it toward.
      throw ApplicationFailure.nonRetryable(`action is ${run.cancelRequest ? 'being cancelled' : view.status}, not awaiting approval`, REFUSALS.notPending);
    }
    const plan = mergePlans(run.plan as ApprovalPlan, edited.plan);
    const fromStep = approval.step;
    view.params = params;
    run.digest = digest;
    run.plan = plan;
    run.replan = plan;
    run.countFrom = approval.approvals.length;
    run.requirementGroups = requirementsOf(plan.steps[0]).map((r) => [r.group]);
    const vote: ApprovalVote = { ...castVote(run, d, 1), edits };
    // Counted toward the new plan's step 1 by the approval loop when it starts it again.
    approval.approvals.push(vote);
    view.voters.push(d.reviewer);
    run.record('edited', { id: d.reviewer, kind: 'human' }, {
      step: fromStep,
      edits,
      digest,
      policy: { decision: edited.decision, ruleIds: edited.ruleIds, reasons: edited.reasons, version: edited.version },
      plan,
    });
    await recordVote(run, d, vote, true);
  } finally {
    run.replanning = false;
    run.decisionsInFlight--;
  }
  return run.snapshot();
}

/** A reviewer's vote as recorded; an approval says which requirements of `step` it counts toward. */
function castVote(run: ActionState, d: DecisionInput, step: number): ApprovalVote {
  return {
    reviewer: d.reviewer,
    decision: d.decision,
    reason: d.reason,
    at: nowIso(),
    step,
    ...(d.requestId ? { requestId: d.requestId } : {}),
    ...(d.requestHash ? { requestHash: d.requestHash } : {}),
    ...(d.decision === 'approve'
      ? { digest: run.digest, counts: run.requirementGroups.flatMap((groups, i) => (groups.some((g) => d.reviewerGroups.includes(g)) ? [i] : [])) }
      : {}),
    ...(d.identity ? { identity: d.identity } : {}),
    ...(d.via ? { via: d.via } : {}),
  };
}

/**
 * The digest of `params` as an approval binds them: computed here (sha256, pure) unless the
 * action has sensitive params, whose keyed digest an activity computes (the key never enters a
 * history). Returns the string itself when there is nothing to wait for.
 */
export function paramsDigest(run: ActionState, params: Record<string, unknown>): string | Promise<string> {
  const subject: ApprovalSubject = { action: run.input.action, params, resource: run.input.resource ?? null, policyVersion: run.decision.version };
  return run.decision.sensitive ? local.computeKeyedApprovalDigest(subject) : approvalDigest(subject);
}

/** The requirements of one step: the step itself, then the ones an edit merged into it. */
export function requirementsOf(step: ApprovalStepPlan): ApprovalStepPlan[] {
  return step.also?.length ? [step, ...step.also] : [step];
}

/**
 * Two plans as one: step k of the result needs step k of each (requirements with the same group
 * become one, with the larger quorum). Times out to `deny` unless both say `allow`.
 */
export function mergePlans(current: ApprovalPlan, edited: ApprovalPlan | undefined): ApprovalPlan {
  if (!edited) return current;
  const steps: ApprovalStepPlan[] = [];
  for (let k = 0; k < Math.max(current.steps.length, edited.steps.length); k++) {
    const reqs: ApprovalStepPlan[] = [];
    for (const r of [current.steps[k], edited.steps[k]].filter((s) => s !== undefined).flatMap(requirementsOf)) {
      const { also: _also, ...req } = r;
      const same = reqs.findIndex((x) => x.group === req.group);
      if (same < 0) reqs.push(req);
      else if (req.quorum > reqs[same].quorum) reqs[same] = { ...reqs[same], quorum: req.quorum };
    }
    const [first, ...also] = reqs;
    steps.push(also.length ? { ...first, also } : first);
  }
  return { steps, onTimeout: current.onTimeout === 'allow' && edited.onTimeout === 'allow' ? 'allow' : 'deny' };
}

/** Whether step `index` of the plan in force has the approvals it needs. */
function stepSatisfied(run: ActionState, index: number): boolean {
  const { view } = run;
  const step = (run.plan as ApprovalPlan).steps[index];
  if (!trustModel()) return stepApprovals(view, index + 1) >= step.quorum;
  return requirementsOf(step).every((r, i) => countedApprovals(run, index, i) >= r.quorum);
}

/**
 * Approvals that count toward requirement `req` of step `index` (trust model): cast since the
 * last edit, for the params as they stand, by a reviewer the requirement's groups held.
 */
function countedApprovals(run: ActionState, index: number, req: number): number {
  const votes = (run.view.approval?.approvals ?? []).slice(run.countFrom);
  return votes.filter((v) => v.step === index + 1 && v.decision === 'approve' && v.digest === run.digest && v.counts?.includes(req)).length;
}

/**
 * Wait out step `index` of the plan: request it, then wait for its quorum, a denial or a
 * cancel, reminding every `remindEvery` and escalating at each deadline until none is left.
 */
export async function runApprovalStep(run: ActionState, index: number, p: ApprovalPlan): Promise<StepOutcome> {
  const { view } = run;
  const step = p.steps[index];
  // One requirement (the step itself) unless an edit merged two plans; then each has its own
  // group, quorum and escalations, and the step waits for the longest of their clocks.
  const reqs = requirementsOf(step);
  let deadlineMs = Date.now() + Math.max(...reqs.map((r) => r.timeoutMs));
  run.requirementGroups = reqs.map((r) => [r.group]);
  view.eligibleGroups = [...new Set(reqs.map((r) => r.group))];
  view.deadline = new Date(deadlineMs).toISOString();
  const also = reqs.slice(1).map((r) => ({ group: r.group, quorum: r.quorum }));
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
    ...(also.length ? { also } : {}),
    ...(run.digest !== undefined ? { digest: run.digest } : {}),
  };
  run.setStatus('awaiting_approval');
  run.record('approval_requested', SYSTEM, { step: index + 1, group: step.group, quorum: step.quorum, deadline: view.deadline, ...(also.length ? { also } : {}) });
  await run.flush();
  notify(run, 'approval_requested', [...view.eligibleGroups]);

  const escalations = reqs.map(() => 0);
  let reminders = 0;
  let nextReminderMs = step.remindEveryMs ? Date.now() + step.remindEveryMs : Infinity;
  for (;;) {
    const waitMs = Math.max(0, Math.min(deadlineMs, nextReminderMs) - Date.now());
    const decided = await condition(
      () =>
        run.decisionsInFlight === 0 &&
        (view.status !== 'awaiting_approval' || stepSatisfied(run, index) || run.cancelRequest !== undefined || run.writeFault !== undefined || run.replan !== undefined),
      waitMs,
    );
    if (!decided && run.decisionsInFlight > 0 && trustModel()) {
      // A decision (an edit being re-planned, say) is still being recorded: settle it first,
      // then look at the clocks again.
      await condition(() => run.decisionsInFlight === 0);
      continue;
    }
    if (decided) {
      // A decision that could not be recorded stops the action: nothing runs on an unrecorded vote.
      if (run.writeFault) throw run.writeFault;
      if (run.cancelRequest && view.status === 'awaiting_approval') return 'cancelled';
      if (view.status === 'denied') return 'denied';
      if (run.replan) return 'replanned';
      return 'approved';
    }
    if (Date.now() >= deadlineMs) {
      // Every requirement still short of its quorum escalates to its next group, if it has one.
      const targets = reqs.flatMap((r, i) => {
        const target = stepShortOf(run, index, i) ? r.escalateTo[escalations[i]] : undefined;
        if (!target) return [];
        escalations[i]++;
        if (!run.requirementGroups[i].includes(target.group)) run.requirementGroups[i].push(target.group);
        return [target];
      });
      if (targets.length === 0) return 'timeout';
      deadlineMs = Date.now() + Math.max(...targets.map((t) => t.timeoutMs));
      for (const target of targets) {
        if (!view.eligibleGroups.includes(target.group)) view.eligibleGroups = [...view.eligibleGroups, target.group];
      }
      view.deadline = new Date(deadlineMs).toISOString();
      const approval = view.approval as ApprovalView;
      approval.deadline = view.deadline;
      approval.eligibleGroups = view.eligibleGroups;
      const at = nowIso();
      for (const target of targets) approval.escalations.push({ group: target.group, at, step: index + 1 });
      run.setStatus('awaiting_approval');
      const more = targets.slice(1).map((t) => t.group);
      run.record('escalated', SYSTEM, { step: index + 1, group: targets[0].group, deadline: view.deadline, ...(more.length ? { alsoGroups: more } : {}) });
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

/** Whether requirement `req` of step `index` is still short of its quorum (always, before the trust model). */
function stepShortOf(run: ActionState, index: number, req: number): boolean {
  if (!trustModel()) return true;
  const r = requirementsOf((run.plan as ApprovalPlan).steps[index])[req];
  return countedApprovals(run, index, req) < r.quorum;
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
  return [...new Set(p.steps.flatMap(requirementsOf).flatMap((s) => [s.group, ...s.escalateTo.map((e) => e.group)]))];
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
