/**
 * The baseline for bench/e2e.ts: a Temporal workflow that does nothing but the side effect,
 * through the same `executeHttp` activity with the same options as governedAction's executor.
 * What the governed path costs on top of it (API, policy, ledger, read model) is the overhead
 * the benchmark reports.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { HttpExecutionRequest, HttpExecutionResult } from '../activities/http-executor';

// Keep in step with `executor` in workflows/governed-action.ts, so both paths retry alike.
const executor = proxyActivities<Pick<Activities, 'executeHttp'>>({
  startToCloseTimeout: '30s',
  retry: {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '30s',
    maximumAttempts: 10,
    nonRetryableErrorTypes: ['ExecutorRejected', 'ExecutionDigestMismatch'],
  },
});

/** Execute one http action, ungoverned: no policy, no approval, no evidence. */
export async function bareHttpAction(req: HttpExecutionRequest): Promise<HttpExecutionResult> {
  return executor.executeHttp(req);
}
