import type { ErrorRequestHandler, Response } from 'express';
import { CountersignError, ERROR_CODES, type ErrorCode, type FieldError } from '../domain/errors';
import type { Logger } from '../runtime/logger';

/** Base of every problem `type` URI; the last segment is the error code. */
export const PROBLEM_BASE = 'https://countersign.dev/problems/';

const STATUS: Record<ErrorCode, number> = {
  'malformed-request': 400,
  unauthorized: 401,
  forbidden: 403,
  csrf: 403,
  'not-eligible': 403,
  'self-approval': 403,
  'already-voted': 403,
  'not-found': 404,
  'method-not-allowed': 405,
  conflict: 409,
  'idempotency-conflict': 409,
  'not-pending': 409,
  'not-cancellable': 409,
  'not-awaiting-result': 409,
  'action-stopped': 409,
  'payload-too-large': 413,
  'unsupported-media-type': 415,
  validation: 422,
  'unknown-action': 422,
  'invalid-params': 422,
  'edit-denied': 422,
  'not-delegated': 422,
  'stale-view': 409,
  paused: 409,
  'invalid-policy': 422,
  'rate-limited': 429,
  unavailable: 503,
  internal: 500,
};

/** HTTP status of an error code. */
export function statusOf(code: ErrorCode): number {
  return STATUS[code];
}

/** Send an RFC 9457 problem. */
export function sendProblem(res: Response, code: ErrorCode, detail: string, errors?: FieldError[], instance?: string): void {
  const status = STATUS[code];
  if (status === 401) res.setHeader('WWW-Authenticate', 'Bearer realm="countersign"');
  if (status === 503) res.setHeader('Retry-After', '5');
  res
    .status(status)
    .type('application/problem+json')
    .send(
      JSON.stringify({
        type: PROBLEM_BASE + code,
        title: ERROR_CODES[code],
        status,
        detail,
        ...(instance ? { instance } : {}),
        ...(errors && errors.length ? { errors } : {}),
      }),
    );
}

/** Errors from infrastructure that mean "try again shortly", not "we broke". */
function isUnavailable(err: unknown): boolean {
  const e = err as { code?: string; name?: string; message?: string };
  const pgDown = ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', '57P01', '57P03', '08006', '08001', '08003'].includes(e.code ?? '');
  const temporalDown = e.name === 'ServiceError' || e.name === 'WorkflowUpdateRPCTimeoutOrCancelledError' || e.name === 'TransportError' || /UNAVAILABLE|DEADLINE_EXCEEDED|Deadline exceeded|Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(e.message ?? '');
  return pgDown || temporalDown;
}

/** A Postgres data exception (SQLSTATE class 22), as node-postgres reports it. */
function isDataException(err: unknown): boolean {
  const e = err as { code?: unknown; severity?: unknown };
  return typeof e.code === 'string' && /^22[0-9A-Z]{3}$/.test(e.code) && typeof e.severity === 'string';
}

/** The one place errors become HTTP answers. */
export function problemHandler(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    if (res.headersSent) return;
    if (err instanceof CountersignError) return sendProblem(res, err.code, err.message, err.fieldErrors, req.originalUrl);
    // body-parser errors carry a `type`.
    const type = (err as { type?: string }).type;
    if (type === 'entity.parse.failed') return sendProblem(res, 'malformed-request', `request body is not valid JSON: ${(err as Error).message}`);
    if (type === 'entity.too.large') return sendProblem(res, 'payload-too-large', `request body exceeds the limit of ${(err as { limit?: number }).limit} bytes`);
    if (type === 'encoding.unsupported' || type === 'charset.unsupported') return sendProblem(res, 'unsupported-media-type', (err as Error).message);
    if (type === 'request.aborted' || type === 'request.size.invalid') return sendProblem(res, 'malformed-request', (err as Error).message);
    // The backstop behind the edge checks (api/input-guard.ts): a value Postgres refuses as data
    // (SQLSTATE class 22: bad text, out-of-range date or number) is the request's fault, not ours.
    if (isDataException(err)) {
      log.warn({ err: (err as Error).message, code: (err as { code?: string }).code, path: req.path }, 'request value refused by Postgres');
      return sendProblem(res, 'validation', `a value in the request cannot be stored: ${(err as Error).message}`);
    }
    if (isUnavailable(err)) {
      log.warn({ err: (err as Error).message, path: req.path }, 'dependency unavailable');
      return sendProblem(res, 'unavailable', 'a dependency (Postgres or Temporal) is unavailable; retry shortly');
    }
    log.error({ err, path: req.path }, 'unhandled error');
    sendProblem(res, 'internal', 'an internal error occurred; it has been logged');
  };
}
