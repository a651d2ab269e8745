/**
 * Failure types (`ApplicationFailure.type`) that cross a process boundary: an activity throws
 * them, and the workflow's retry policies, the workflow itself and the API recognise a failure
 * by them. Each name is written here once; everyone imports it. Workflow-safe: plain data.
 */

/** Failures of the `http` executor (activities/http-executor.ts). */
export const EXECUTOR_FAILURES = {
  /** The target answered 4xx: it refused the action. Final; the details carry its answer. */
  rejected: 'ExecutorRejected',
  /** The params about to be sent are not the ones approved (their digest differs). Final. */
  digestMismatch: 'ExecutionDigestMismatch',
  /** No answer in time, unreachable, or 5xx: retried with backoff. */
  unavailable: 'ExecutorUnavailable',
} as const;

/**
 * The executor failures no retry can change: the executor activity's retry policy stops on
 * them, and the workflow records them as the action's failure at once.
 */
export const FINAL_EXECUTOR_FAILURES: readonly string[] = [EXECUTOR_FAILURES.rejected, EXECUTOR_FAILURES.digestMismatch];

/**
 * Failure types the ledger writer ends with (activities/record-event.ts); the workflow and the
 * API recognise a failure by these names.
 */
export const WRITE_FAILURES = {
  /**
   * Postgres refused an action's ledger or read-model write in a way no retry can change (bad
   * data, a violated constraint, a row too big): the fault is recorded, the action is failed.
   */
  permanent: 'PermanentWriteFailure',
  /** A different event already holds that seq in the action's chain: its history diverged. */
  ledgerConflict: 'LedgerConflict',
} as const;

/** Failures of the notification webhook (activities/notify.ts): a 4xx answer is not retried. */
export const NOTIFY_FAILURES = {
  webhookRejected: 'WebhookRejected',
} as const;

/**
 * How an action with an `agent` executor ends when the agent never reported within the
 * executor's `resultTimeout`: `failed`, and its `error` starts with this code. Whether the
 * action was carried out is not known (the agent or gateway may have crashed before or after).
 */
export const OUTCOME_UNKNOWN = 'outcome-unknown';
