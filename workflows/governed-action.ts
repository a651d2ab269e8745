/**
 * The governedAction workflow: one per proposed action. It evaluates policy, waits durably
 * for reviewers where policy says so, executes (or not) exactly once, and records every
 * state change as a ledger event together with the action's read model.
 *
 * Deterministic code only: no I/O, no zod, time and randomness from the SDK. Activities are
 * imported as types; their implementations live in activities/.
 */
import {
  ApplicationFailure,
  ActivityFailure,
  allHandlersFinished,
  condition,
  defineQuery,
  defineUpdate,
  proxyActivities,
  proxyLocalActivities,
  patched,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ActivityOptions, SearchAttributeUpdatePair } from '@temporalio/common';
import type { Activities } from '../activities';
import {
  INLINE_EXECUTOR_BUDGET_MS,
  LEDGER_GENESIS_HASH,
  REFUSALS,
  WRITE_FAILURES,
  type ActionProjection,
  type ActionStatus,
  type Actor,
  type ApprovalView,
  type ApprovalVote,
  type CancelInput,
  type DecisionInput,
  type EvidenceEventType,
  type RecordEventInput,
  type GovernedActionInput,
  type OutcomeView,
  type ResultInput,
} from '../domain/action-types';
import type { ApprovalPlan, PolicyDecision, WorkflowPolicyDecision } from '../domain/policy-types';
import type { NotificationEvent, NotificationInput } from '../activities/notify';
import type { HttpExecutionRequest, HttpExecutionResult } from '../activities/http-executor';
import { approvalDigest } from '../domain/approval-digest';
import { searchAttributeKeys } from './search-attribute-keys';

/** A reviewer's approve/deny. Validated synchronously, so a refused decision never enters history. */
export const decideUpdate = defineUpdate<ActionProjection, [DecisionInput]>('decide');
/** Cancel before execution (the proposing agent or an operator). */
export const cancelUpdate = defineUpdate<ActionProjection, [CancelInput]>('cancel');
/** Executor `agent`: the proposing agent reports what happened. */
export const reportResultUpdate = defineUpdate<ActionProjection, [ResultInput]>('reportResult');
/** The current read model, straight from the workflow. */
export const projectionQuery = defineQuery<ActionProjection>('projection');

// Policy and ledger writes are short database calls: local activities keep them in the
// workflow task (no extra round trip through the task queue). They retry until Postgres
// is back, so an outage delays an action but never loses or reorders its events.
const local = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '5s' },
});

// The executor call is a regular activity: it may be slow, runs on any worker and is retried
// with backoff; a 4xx answer is final (`ExecutorRejected`).
export const EXECUTOR_ACTIVITY_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '30s',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '30s',
    maximumAttempts: 10,
    nonRetryableErrorTypes: ['ExecutorRejected', 'ExecutionDigestMismatch'],
  },
};
const executor = proxyActivities<Activities>(EXECUTOR_ACTIVITY_OPTIONS);

/**
 * The first executor call to a target this worker has seen answer fast runs inline, as a local
 * activity in the workflow task that decided to execute: no trip through the task queue to
 * start it, and its answer goes straight on to the `executed` ledger write instead of waiting
 * for another workflow task. Any other call, and every retry, is {@link executor}'s (a regular
 * activity: its attempts and last failure show in the Temporal UI, any worker can run it, and
 * a slow target ties up activity slots, not workflow tasks). One attempt; the activity cuts the
 * call off at its budget, and this timeout is only the backstop.
 */
const executorInline = proxyLocalActivities<Activities>({
  startToCloseTimeout: INLINE_EXECUTOR_BUDGET_MS + 2_000,
  retry: { maximumAttempts: 1 },
});

// Notifications must never hold up or fail an approval: bounded retries, errors swallowed.
const notifier = proxyActivities<Activities>({
  startToCloseTimeout: '15s',
  scheduleToCloseTimeout: '15m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 8, nonRetryableErrorTypes: ['WebhookRejected'] },
});

const SYSTEM: Actor = { id: 'countersign', kind: 'system' };

/**
 * Patch id (one for both changes: each patch costs a marker and a search-attribute upsert):
 * the approval digest is computed in the workflow task instead of a local activity, and a
 * status change that leaves the search attributes as they are upserts nothing.
 */
const LEANER_APPROVAL = 'leaner-approval-v2';

/**
 * Patch id: the decisive approval of an action with an HTTP executor writes `decision_recorded`
 * and `execution_started` in one ledger write (one local activity, one transaction) instead of
 * two in a row. It includes {@link LEANER_APPROVAL}'s changes: new workflows record only this
 * marker, so an approval still costs one patch marker.
 */
const ONE_WRITE_DECISION = 'one-write-decision-v3';

/**
 * Patch id: the first HTTP executor call may run inline, as a local activity ({@link executorInline}).
 * It includes the changes of {@link ONE_WRITE_DECISION} and {@link LEANER_APPROVAL}: new
 * workflows record only this marker.
 */
const LOCAL_FIRST_EXECUTOR = 'local-first-executor-v4';

/** Whether this run calls the executor locally first ({@link LOCAL_FIRST_EXECUTOR}). */
const localFirst = () => patched(LOCAL_FIRST_EXECUTOR);
/** Whether this run has {@link ONE_WRITE_DECISION}'s changes (directly or through a later patch). */
const oneWrite = () => localFirst() || patched(ONE_WRITE_DECISION);
/** Whether this run has {@link LEANER_APPROVAL}'s changes (directly or through a later patch). */
const leaner = () => oneWrite() || patched(LEANER_APPROVAL);

/**
 * Reminders per step at most. Each costs a few history events; the cap keeps a step with a
 * tiny `remindEvery` and a long timeout from growing its history without bound.
 */
const MAX_REMINDERS_PER_STEP = 100;

/** Governs one proposed action from policy check to final outcome. */
export async function governedAction(input: GovernedActionInput): Promise<ActionProjection> {
  const { workflowId, runId } = workflowInfo();
  const view: ActionProjection = {
    status: 'evaluating',
    params: input.params,
    policy: null,
    approval: null,
    outcome: null,
    result: null,
    error: null,
    executor: null,
    eligibleGroups: [],
    voters: [],
    deadline: null,
  };
  let plan: ApprovalPlan | undefined;
  let cancelRequest: CancelInput | undefined;
  let report: ResultInput | undefined;
  let decision: WorkflowPolicyDecision;
  let seq = 0;
  let decisionsInFlight = 0;
  const notifications: Promise<unknown>[] = [];
  let writes: Promise<unknown> = Promise.resolve();
  let pending: RecordEventInput[] = [];
  /** Hash of the last event written: the next batch links to it in one statement. */
  let head = LEDGER_GENESIS_HASH;
  /** Set once the final status is in Postgres: cancel/result handlers answer only then. */
  let settled = false;
  /** `execution_started` is recorded (by the decisive approval since the v3 patch, else by execute()). */
  let executionAnnounced = false;
  /**
   * Set once a ledger write failed for good (a non-retryable recordEvents failure): nothing more
   * is written (a later batch could not link to the missing one), nothing more is done, and the
   * workflow fails with it. Never set on a normal path, so it adds no command there.
   */
  let writeFault: unknown;

  const nowIso = () => new Date().toISOString();

  /**
   * Queue a ledger event with the projection as it is now. Events reach Postgres in batches
   * (one local activity, one transaction) at {@link flush}: before every wait and at the end.
   */
  function record(type: EvidenceEventType, actor: Actor, data: Record<string, unknown>): void {
    pending.push({ actionId: input.actionId, action: input.action, seq: ++seq, type, actor, at: nowIso(), data, view: snapshot(), workflowId, runId });
  }

  /**
   * Write the queued events. Flushes are chained, so the ledger gets them in seq order. After a
   * write failed for good ({@link writeFault}) every flush fails with that failure, unwritten.
   */
  function flush(): Promise<unknown> {
    if (writeFault) return Promise.reject(writeFault);
    if (pending.length === 0) return writes;
    const batch = pending;
    pending = [];
    const write = writes
      .then(() => {
        if (writeFault) throw writeFault;
        return local.recordEvents(batch, head);
      })
      .then(
        (written) => {
          head = written.hashes[written.hashes.length - 1] ?? head;
        },
        (err) => {
          throw writeFailed(err);
        },
      );
    writes = write.catch(() => undefined);
    return write;
  }

  /**
   * A failed write: one the recorder gave up on (non-retryable) becomes {@link writeFault}. A
   * permanent refusal by Postgres is rethrown as the workflow's own non-retryable
   * {@link WRITE_FAILURES.permanent} (the recorder has already failed the read model and
   * recorded the fault); anything else (LedgerConflict) stays as it is.
   */
  function writeFailed(err: unknown): unknown {
    if (writeFault) return writeFault;
    const failure = failureOf(err);
    if (failure?.type === WRITE_FAILURES.permanent) {
      writeFault = ApplicationFailure.create({ type: WRITE_FAILURES.permanent, message: failure.message, nonRetryable: true, details: failure.details ?? undefined });
    } else if (failure?.nonRetryable) {
      writeFault = err;
    } else {
      return err;
    }
    return writeFault;
  }

  function snapshot(): ActionProjection {
    // Activities serialize their input when scheduled, but copy anyway: later mutations
    // must never leak into an event that is still queued behind another write.
    return JSON.parse(JSON.stringify(view)) as ActionProjection;
  }

  let upserted = '';
  function setStatus(status: ActionStatus): void {
    view.status = status;
    const waiting = status === 'awaiting_approval';
    const pairs: SearchAttributeUpdatePair[] = [
      { key: searchAttributeKeys.status, value: status },
      { key: searchAttributeKeys.waitingGroups, value: waiting ? [...view.eligibleGroups] : [] },
      { key: searchAttributeKeys.deadline, value: waiting && view.deadline ? new Date(view.deadline) : null },
    ];
    // The same values again (e.g. 'executing' set by the last approval, then by execute()) cost
    // a command and a visibility write for nothing; histories from before the patch have them.
    const key = JSON.stringify(pairs.map((p) => p.value));
    if (key === upserted && leaner()) return;
    upserted = key;
    upsertSearchAttributes(pairs);
  }

  function stepApprovals(step: number): number {
    return view.approval ? view.approval.approvals.filter((v) => v.step === step && v.decision === 'approve').length : 0;
  }

  // ---- message handlers, registered before the first await ----

  setHandler(
    decideUpdate,
    async (d) => {
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
        clearWaiting();
        setStatus('denied');
      } else if (stepApprovals(approval.step) >= approval.quorum && approval.step === approval.steps) {
        clearWaiting();
        setStatus(view.executor?.type === 'agent' ? 'approved' : 'executing');
      }
      decisionsInFlight++;
      try {
        if (d.decision === 'approve') {
          // Bind the approval to exactly what was approved; the executor checks it again.
          const subject = { action: input.action, params: view.params, resource: input.resource ?? null, policyVersion: decision.version };
          // Computed here since the patch; histories from before it got it from a local activity.
          vote.digest = leaner() ? approvalDigest(subject) : await local.computeApprovalDigest(subject);
        }
        const reviewer: Actor = { id: d.reviewer, kind: 'human' };
        if (edits) record('edited', reviewer, { step: vote.step, edits, digest: vote.digest ?? null });
        const { requestHash: _requestHash, ...recorded } = vote;
        record('decision_recorded', reviewer, { ...recorded, edited: Boolean(edits) });
        // The decisive approval of an HTTP executor: what execute() would write next goes into
        // the same ledger write. No cancel can come in now: 'executing' refuses it.
        const spec = decision.executor;
        if (view.status === 'executing' && !cancelRequest && spec.type === 'http' && oneWrite()) announceExecution(spec.url);
        await flush();
      } finally {
        decisionsInFlight--;
      }
      return snapshot();
    },
    {
      validator: (d) => {
        if (view.status === 'evaluating') throw ApplicationFailure.nonRetryable('the action is still being evaluated', REFUSALS.notReady);
        // A cancel accepted before this decision wins: the reviewer must not hear that a vote
        // counted on an action that is being cancelled.
        if (view.status !== 'awaiting_approval' || !view.approval || cancelRequest) {
          const status = cancelRequest ? 'being cancelled' : view.status;
          throw ApplicationFailure.nonRetryable(`action is ${status}, not awaiting approval`, REFUSALS.notPending);
        }
        if (!d.reviewerGroups.some((g: string) => view.eligibleGroups.includes(g))) {
          throw ApplicationFailure.nonRetryable(
            `reviewer ${d.reviewer} is in none of the groups eligible now (${view.eligibleGroups.join(', ')})`,
            REFUSALS.notEligible,
          );
        }
        if (d.decision === 'approve' && (d.reviewer === input.agent || d.reviewer === input.onBehalfOf)) {
          throw ApplicationFailure.nonRetryable(
            `${d.reviewer} proposed this action (or it acts on their behalf) and cannot approve it`,
            REFUSALS.selfApproval,
          );
        }
        if (view.voters.includes(d.reviewer)) {
          throw ApplicationFailure.nonRetryable(`${d.reviewer} has already voted on this action`, REFUSALS.alreadyVoted);
        }
      },
    },
  );

  setHandler(
    cancelUpdate,
    async (c) => {
      cancelRequest = c;
      await condition(() => settled || writeFault !== undefined);
      if (writeFault) throw writeFault;
      return snapshot();
    },
    {
      validator: (_c) => {
        if (!['evaluating', 'awaiting_approval', 'approved'].includes(view.status) || cancelRequest) {
          throw ApplicationFailure.nonRetryable(`action is ${view.status} and can no longer be cancelled`, REFUSALS.notCancellable);
        }
      },
    },
  );

  setHandler(
    reportResultUpdate,
    async (r) => {
      report = r;
      await condition(() => settled || writeFault !== undefined);
      if (writeFault) throw writeFault;
      return snapshot();
    },
    {
      validator: (_r) => {
        if (view.status === 'evaluating') throw ApplicationFailure.nonRetryable('the action is still being evaluated', REFUSALS.notReady);
        if (view.status !== 'approved' || view.executor?.type !== 'agent' || report || cancelRequest) {
          throw ApplicationFailure.nonRetryable(`action is ${view.status}, not waiting for the agent's result`, REFUSALS.notAwaitingResult);
        }
      },
    },
  );

  setHandler(projectionQuery, () => view);

  try {
    await lifecycle();
    if (plan && !writeFault) notify('outcome', [...new Set(plan.steps.flatMap((s) => [s.group, ...s.escalateTo.map((e) => e.group)]))]);
    // The final status lands first; then update handlers reply and notifications go out.
    await flush();
  } catch (err) {
    if (!writeFault) throw err;
  }
  if (writeFault) {
    // Stopped by a write that failed for good: the handlers still waiting answer with the
    // failure (they wake on writeFault), then the workflow fails with it.
    await condition(allHandlersFinished);
    throw writeFault;
  }
  settled = true;
  await condition(allHandlersFinished);
  await flush();
  await Promise.all(notifications);
  return snapshot();

  /** Tell the groups' webhooks (from the bundle) without waiting: a dead webhook never blocks a decision. */
  function notify(event: NotificationEvent, groups: string[]): void {
    const known = decision.webhookGroups;
    const withWebhooks = known ? groups.filter((g) => known.includes(g)) : groups;
    if (withWebhooks.length === 0) return;
    const notification: NotificationInput = {
      event,
      actionId: input.actionId,
      action: input.action,
      agent: input.agent,
      status: view.status,
      groups,
      policyVersion: decision.version,
      deadline: view.deadline,
      justification: input.justification,
      params: view.params,
      link: `/v1/actions/${input.actionId}`,
    };
    const sent = local
      .notificationTargets({ policyVersion: decision.version, groups: withWebhooks })
      .then((urls) => Promise.all(urls.map((url) => notifier.notifyWebhook({ url, notification }).catch(() => undefined))))
      .catch(() => undefined);
    notifications.push(sent);
  }

  // ---- the governed lifecycle ----

  async function lifecycle(): Promise<unknown> {

    const agentActor: Actor = { id: input.agent, kind: 'agent' };
    record('proposed', agentActor, {
      action: input.action,
      params: input.params,
      resource: input.resource ?? null,
      context: input.context,
      onBehalfOf: input.onBehalfOf,
      parentActionId: input.parentActionId,
      justification: input.justification,
      model: input.model,
      idempotencyKey: input.idempotencyKey,
    });

    decision = await local.evaluatePolicy({
      action: input.action,
      params: input.params,
      resource: input.resource,
      context: input.context ?? {},
      agent: input.agent,
      onBehalfOf: input.onBehalfOf,
      version: input.policyVersion ?? null,
    });
    view.policy = { decision: decision.decision, ruleIds: decision.ruleIds, reasons: decision.reasons, version: decision.version };
    if (decision.errors.length > 0) view.policy.errors = decision.errors;
    view.executor = decision.executor;
    plan = decision.plan;

    if (cancelRequest) return finishCancelled();
    if (decision.decision === 'deny') {
      view.outcome = { by: 'policy', actor: null, reason: decision.reason || null };
      setStatus('denied');
      record('policy_decided', { id: 'policy', kind: 'system' }, { ...decisionData(decision) });
      return snapshot();
    }
    if (decision.decision === 'allow') {
      if (decision.executor.type === 'agent') setStatus('approved');
      record('policy_decided', { id: 'policy', kind: 'system' }, decisionData(decision));
      return execute();
    }

    record('policy_decided', { id: 'policy', kind: 'system' }, decisionData(decision));
    const approvalPlan = plan as ApprovalPlan;
    for (let i = 0; i < approvalPlan.steps.length; i++) {
      const outcome = await runApprovalStep(i, approvalPlan);
      if (outcome === 'approved') continue;
      if (outcome === 'denied') return snapshot();
      if (outcome === 'cancelled') return finishCancelled();
      // Timed out with no escalation left: onTimeout decides.
      notify('expired', view.eligibleGroups);
      if (approvalPlan.onTimeout === 'allow') {
        clearWaiting();
        setStatus(view.executor?.type === 'agent' ? 'approved' : 'executing');
        record('expired', SYSTEM, { step: i + 1, onTimeout: 'allow' });
        break;
      }
      view.outcome = { by: 'timeout', actor: null, reason: `no quorum for step ${i + 1} before the deadline` };
      clearWaiting();
      setStatus('expired');
      record('expired', SYSTEM, { step: i + 1, onTimeout: 'deny' });
      return snapshot();
    }
    return execute();
  }

  // ---- helpers that need the workflow's state ----

  async function runApprovalStep(index: number, p: ApprovalPlan): Promise<'approved' | 'denied' | 'cancelled' | 'timeout'> {
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
    setStatus('awaiting_approval');
    record('approval_requested', SYSTEM, { step: index + 1, group: step.group, quorum: step.quorum, deadline: view.deadline });
    await flush();
    notify('approval_requested', [step.group]);

    let escalation = 0;
    let reminders = 0;
    let nextReminderMs = step.remindEveryMs ? Date.now() + step.remindEveryMs : Infinity;
    for (;;) {
      const waitMs = Math.max(0, Math.min(deadlineMs, nextReminderMs) - Date.now());
      const decided = await condition(
        () =>
          decisionsInFlight === 0 &&
          (view.status !== 'awaiting_approval' || stepApprovals(index + 1) >= step.quorum || cancelRequest !== undefined || writeFault !== undefined),
        waitMs,
      );
      if (decided) {
        // A decision that could not be recorded stops the action: nothing runs on an unrecorded vote.
        if (writeFault) throw writeFault;
        if (cancelRequest && view.status === 'awaiting_approval') return 'cancelled';
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
        setStatus('awaiting_approval');
        record('escalated', SYSTEM, { step: index + 1, group: target.group, deadline: view.deadline });
        await flush();
        notify('escalated', view.eligibleGroups);
        if (step.remindEveryMs && reminders < MAX_REMINDERS_PER_STEP) nextReminderMs = Date.now() + step.remindEveryMs;
      } else {
        reminders++;
        nextReminderMs = reminders < MAX_REMINDERS_PER_STEP ? Date.now() + (step.remindEveryMs as number) : Infinity;
        record('reminded', SYSTEM, { step: index + 1, groups: view.eligibleGroups, deadline: view.deadline });
        await flush();
        notify('reminded', view.eligibleGroups);
      }
    }
  }

  async function execute(): Promise<ActionProjection> {
    const spec = decision.executor;
    if (spec.type === 'agent') {
      // The agent may report only once 'approved' is in Postgres (the API checks the read model).
      await flush();
      await condition(() => report !== undefined || cancelRequest !== undefined);
      if (!report) return finishCancelled();
      const r = report;
      view.result = r.output ?? null;
      view.error = r.ok ? null : (r.error ?? 'the agent reported a failure');
      setStatus(r.ok ? 'succeeded' : 'failed');
      record(r.ok ? 'executed' : 'execution_failed', { id: r.by, kind: 'agent' }, {
        executor: 'agent',
        ok: r.ok,
        output: r.output ?? null,
        error: view.error,
      });
      return snapshot();
    }
    if (!executionAnnounced) {
      if (cancelRequest) return finishCancelled();
      setStatus('executing');
      announceExecution(spec.url);
    }
    // Written while the executor runs (not before): 'executing' becomes visible without adding
    // a round trip to the call. The final flush waits for it.
    flush().catch(() => undefined);
    const lastApproval = view.approval?.approvals.filter((v) => v.decision === 'approve').at(-1);
    const request: HttpExecutionRequest = {
      actionId: input.actionId,
      action: input.action,
      params: view.params,
      url: spec.url,
      ...(lastApproval?.digest ? { approved: { digest: lastApproval.digest, resource: input.resource ?? null, policyVersion: decision.version } } : {}),
    };
    try {
      let response: HttpExecutionResult | undefined;
      if (localFirst()) {
        try {
          const inline = await executorInline.tryExecuteHttpInline(request);
          if (inline.sent) response = inline.response;
        } catch (err) {
          // A refusal (4xx) or a digest mismatch is final; anything else is retried by the
          // regular activity, after the same pause its own retries start with.
          if (failureOf(err)?.nonRetryable) throw err;
          await sleep(EXECUTOR_ACTIVITY_OPTIONS.retry?.initialInterval ?? '1s');
        }
      }
      if (!response) {
        // `execution_started` (written while the inline call ran) failed for good: no more attempts.
        if (writeFault) throw writeFault;
        response = await executor.executeHttp(request);
      }
      view.result = response;
      setStatus('succeeded');
      record('executed', SYSTEM, { executor: 'http', ...response });
    } catch (err) {
      if (writeFault !== undefined && err === writeFault) throw err;
      const failure = failureOf(err);
      view.error = failure?.message ?? (err as Error).message;
      view.result = failure?.details?.[0] ?? null;
      setStatus('failed');
      record('execution_failed', SYSTEM, { executor: 'http', error: view.error, response: view.result });
    }
    return snapshot();
  }

  /** Record `execution_started` for the HTTP executor, once. */
  function announceExecution(url: string): void {
    executionAnnounced = true;
    record('execution_started', SYSTEM, { executor: 'http', url });
  }

  async function finishCancelled(): Promise<ActionProjection> {
    const c = cancelRequest as CancelInput;
    view.outcome = { by: c.role, actor: c.by, reason: c.reason } satisfies OutcomeView;
    clearWaiting();
    setStatus('cancelled');
    record('cancelled', { id: c.by, kind: c.role === 'agent' ? 'agent' : 'human' }, { reason: c.reason, role: c.role });
    return snapshot();
  }

  function clearWaiting(): void {
    view.eligibleGroups = [];
    view.deadline = null;
    if (view.approval) view.approval.eligibleGroups = [];
  }
}

/**
 * The application failure an activity ended with (the executor's refusal and its details): the
 * cause of an ActivityFailure for a regular activity; a local activity's failure comes as is.
 */
function failureOf(err: unknown): ApplicationFailure | undefined {
  if (err instanceof ActivityFailure) return err.cause instanceof ApplicationFailure ? err.cause : undefined;
  return err instanceof ApplicationFailure ? err : undefined;
}

function decisionData(d: PolicyDecision): Record<string, unknown> {
  return {
    decision: d.decision,
    ruleIds: d.ruleIds,
    reasons: d.reasons,
    decidedBy: d.decidedBy,
    reason: d.reason,
    version: d.version,
    plan: d.plan ?? null,
    errors: d.errors,
    category: d.category,
    owner: d.owner,
  };
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
