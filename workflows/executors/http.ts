/**
 * The `http` executor: the workflow POSTs the approved action to the target URL, first inline
 * (a local activity) when the target is known to answer fast, else (and on every retry) as a
 * regular activity.
 */
import { proxyActivities, proxyLocalActivities, sleep } from '@temporalio/workflow';
import type { ActivityOptions } from '@temporalio/common';
import type { Activities } from '../../activities';
import type { HttpExecutionRequest, HttpExecutionResult } from '../../activities/http-executor';
import { INLINE_EXECUTOR_BUDGET_MS } from '../../domain/action-types';
import { EXECUTOR_FAILURES, FINAL_EXECUTOR_FAILURES } from '../../domain/failure-types';
import { SYSTEM, type ActionState } from '../action-state';
import { failureOf } from '../failures';
import { finishCancelled } from '../outcome';
import { localFirst } from '../patches';
import type { Executor } from './executor';

/**
 * The executor call is a regular activity: it may be slow, runs on any worker and is retried
 * with backoff; a 4xx answer is final ({@link EXECUTOR_FAILURES.rejected}), and so is a digest
 * mismatch ({@link FINAL_EXECUTOR_FAILURES}).
 */
export const EXECUTOR_ACTIVITY_OPTIONS: ActivityOptions = {
  startToCloseTimeout: '30s',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '30s',
    maximumAttempts: 10,
    nonRetryableErrorTypes: [...FINAL_EXECUTOR_FAILURES],
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

/** Record `execution_started` for the HTTP executor, once. */
function announce(run: ActionState, spec: { url: string }): void {
  run.executionAnnounced = true;
  run.record('execution_started', SYSTEM, { executor: 'http', url: spec.url });
}

/** Calls the target and records its answer (or why there is none) as the outcome. */
export const httpExecutor: Executor<{ type: 'http'; url: string }> = {
  waitsForReport: false,
  announce,

  async execute(run, spec) {
    const { view, input } = run;
    if (!run.executionAnnounced) {
      if (run.cancelRequest) return finishCancelled(run);
      run.setStatus('executing');
      announce(run, spec);
    }
    // Written while the executor runs (not before): 'executing' becomes visible without adding
    // a round trip to the call. The final flush waits for it.
    run.flush().catch(() => undefined);
    // What the counted approvals approved (the trust model keeps it as the params change),
    // else what the last approval did: the executor recomputes it from the params it sends.
    const approvedDigest = run.digest ?? view.approval?.approvals.filter((v) => v.decision === 'approve').at(-1)?.digest;
    const request: HttpExecutionRequest = {
      actionId: input.actionId,
      action: input.action,
      params: view.params,
      url: spec.url,
      policyVersion: run.decision.version,
      ...(approvedDigest ? { approved: { digest: approvedDigest, resource: input.resource ?? null, policyVersion: run.decision.version } } : {}),
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
        if (run.writeFault) throw run.writeFault;
        response = await executor.executeHttp(request);
      }
      view.result = response;
      run.setStatus('succeeded');
      run.record('executed', SYSTEM, { executor: 'http', ...response });
    } catch (err) {
      if (run.writeFault !== undefined && err === run.writeFault) throw err;
      const failure = failureOf(err);
      view.error = failure?.message ?? (err as Error).message;
      view.result = failure?.details?.[0] ?? null;
      run.setStatus('failed');
      run.record('execution_failed', SYSTEM, { executor: 'http', error: view.error, response: view.result });
    }
    return run.snapshot();
  },
};
