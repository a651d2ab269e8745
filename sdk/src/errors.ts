import type { ActionView, Problem } from './types.js';

/** Base class of every error the SDK throws, so one `instanceof` check catches them all. */
export class CountersignError extends Error {
  override name = 'CountersignError';
}

/** The last segment of a problem `type` URI (`https://countersign.dev/problems/not-pending` -> `not-pending`). */
function codeOf(type: string | undefined, status: number): string {
  if (!type) return `http-${status}`;
  const last = type.replace(/\/+$/, '').split('/').pop();
  return last && last !== 'about:blank' ? last : `http-${status}`;
}

/**
 * An error answer of the API (RFC 9457 problem+json). `code` is the stable machine-readable
 * part (`not-pending`, `invalid-params`, `idempotency-conflict`, ...); `detail` says what went
 * wrong in words; `errors` lists field errors of a validation problem.
 */
export class CountersignProblem extends CountersignError {
  override name = 'CountersignProblem';
  /** Stable error code: the last segment of the problem's `type` (or `http-<status>` when the answer was not problem+json). */
  readonly code: string;
  /** HTTP status of the answer. */
  readonly status: number;
  /** Short summary of the problem type. */
  readonly title: string;
  /** What went wrong, in words. */
  readonly detail: string | undefined;
  /** The full problem document as the API sent it (for fields this SDK does not name). */
  readonly problem: Problem;
  /** Field errors of a validation problem: path, message and (policy bundles) line, column, hint. */
  readonly errors: NonNullable<Problem['errors']>;
  /** Seconds the API asked to wait before retrying (from `Retry-After`), if it said. */
  readonly retryAfterSeconds: number | undefined;

  constructor(problem: Problem, retryAfterSeconds?: number) {
    super(`${problem.status} ${codeOf(problem.type, problem.status)}: ${problem.detail ?? problem.title}`);
    this.problem = problem;
    this.code = codeOf(problem.type, problem.status);
    this.status = problem.status;
    this.title = problem.title;
    this.detail = problem.detail;
    this.errors = problem.errors ?? [];
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** The API could not be reached (connection refused, reset, DNS, ...) even after retrying. */
export class CountersignNetworkError extends CountersignError {
  override name = 'CountersignNetworkError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** {@link Countersign.waitFor} reached its `timeoutMs` before the action got where it was asked to. */
export class WaitTimeout extends CountersignError {
  override name = 'WaitTimeout';
  /** The action as it was last seen (still pending). */
  readonly action: ActionView;
  constructor(action: ActionView, timeoutMs: number) {
    super(`action ${action.id} is still ${action.status} after ${timeoutMs} ms`);
    this.action = action;
  }
}

/** Base of the errors `governed()` throws when an action ended without being performed by the agent. */
export class ActionNotPerformed extends CountersignError {
  override name = 'ActionNotPerformed';
  /** The action's final view. */
  readonly action: ActionView;
  /** Why, as recorded: the policy rule's reason, the reviewer's reason, the timeout, the cancel reason; null when none was given. */
  readonly reason: string | null;
  /** Who ended it: `policy`, `reviewer`, `timeout`, `agent`, `operator`, or `control` (a pause). */
  readonly by: string | undefined;
  constructor(action: ActionView, what: string) {
    const outcome = action.outcome as { by?: string; reason?: string | null } | undefined;
    const reason = outcome?.reason ?? action.error ?? action.policy?.reasons?.[0] ?? null;
    super(`action ${action.id} (${action.action}) was ${what}${outcome?.by ? ` by ${outcome.by}` : ''}${reason ? `: ${reason}` : ''}`);
    this.action = action;
    this.reason = reason;
    this.by = outcome?.by;
  }
}

/** The action was denied, by policy or by a reviewer; `reason` says why, so the agent can adapt. */
export class ActionDenied extends ActionNotPerformed {
  override name = 'ActionDenied';
  constructor(action: ActionView) {
    super(action, 'denied');
  }
}

/** The approval deadline passed without a decision (`onTimeout: deny`). This is not a human denial. */
export class ActionExpired extends ActionNotPerformed {
  override name = 'ActionExpired';
  constructor(action: ActionView) {
    super(action, 'expired');
  }
}

/** The action was cancelled (by the proposing agent or an operator) before it ran. */
export class ActionCancelled extends ActionNotPerformed {
  override name = 'ActionCancelled';
  constructor(action: ActionView) {
    super(action, 'cancelled');
  }
}

/**
 * The action failed: Countersign's executor failed, or it ended `failed` without the agent's
 * report (`outcome-unknown` after the executor's `resultTimeout`). An error thrown by the
 * function `governed()` wraps is rethrown as it is, not as this.
 */
export class ActionFailed extends ActionNotPerformed {
  override name = 'ActionFailed';
  constructor(action: ActionView) {
    super(action, 'failed');
  }
}
