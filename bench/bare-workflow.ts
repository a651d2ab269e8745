/**
 * The baseline for bench/e2e.ts: a Temporal workflow that does nothing but the side effect,
 * through the same `executeHttp` activity with the same options as governedAction's executor.
 * What the governed path costs on top of it (API, policy, ledger, read model) is the overhead
 * the benchmark reports.
 */
import { proxyActivities } from '@temporalio/workflow';
import { EXECUTOR_ACTIVITY_OPTIONS } from '../workflows/governed-action';
import type { Activities } from '../activities';
import type { HttpExecutionRequest, HttpExecutionResult } from '../activities/http-executor';

// The same options as the governed workflow's executor, so both paths retry alike.
const executor = proxyActivities<Pick<Activities, 'executeHttp'>>(EXECUTOR_ACTIVITY_OPTIONS);

/** Execute one http action, ungoverned: no policy, no approval, no evidence. */
export async function bareHttpAction(req: HttpExecutionRequest): Promise<HttpExecutionResult> {
  return executor.executeHttp(req);
}
