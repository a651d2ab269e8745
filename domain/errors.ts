/**
 * Domain errors are values with a stable code; api/problem.ts is the one place that maps
 * them to HTTP status codes and problem+json.
 */

/** A problem with one field of the input (a JSON pointer into the body, or a query name). */
export interface FieldError {
  path: string;
  message: string;
  line?: number;
  column?: number;
  hint?: string;
}

/** Every error code the API can answer with; each is also the last segment of the problem `type`. */
export const ERROR_CODES = {
  'malformed-request': 'Malformed request',
  unauthorized: 'Missing or invalid credentials',
  forbidden: 'Not allowed for this principal',
  csrf: 'Missing or wrong CSRF token',
  'not-found': 'Not found',
  validation: 'Invalid input',
  'unknown-action': 'Unknown action',
  'invalid-params': 'Params do not match the action schema',
  'idempotency-conflict': 'Idempotency key reused with a different request',
  conflict: 'Conflict',
  'not-pending': 'Action is not pending approval',
  'not-eligible': 'Reviewer is not eligible for this approval now',
  'self-approval': 'Separation of duties: cannot approve own action',
  'already-voted': 'Reviewer has already voted',
  'not-cancellable': 'Action can no longer be cancelled',
  'not-awaiting-result': 'Action is not waiting for a result',
  'action-stopped': 'Action stopped by a write Countersign could not record',
  'edit-denied': 'Policy denies the edited action',
  'not-delegated': 'The onBehalfOf human has not delegated to this agent',
  'stale-view': 'The params changed since the reviewer saw them',
  paused: 'A pause matches this action: decisions wait until it is lifted',
  'invalid-policy': 'Invalid policy bundle',
  'payload-too-large': 'Request body too large',
  'unsupported-media-type': 'Unsupported media type',
  'method-not-allowed': 'Method not allowed',
  'rate-limited': 'Too many requests',
  unavailable: 'Service temporarily unavailable',
  internal: 'Internal error',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** An expected failure of a use case, carried to the edge and answered as problem+json. */
export class CountersignError extends Error {
  override name = 'CountersignError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly fieldErrors?: FieldError[],
  ) {
    super(message);
  }
}
