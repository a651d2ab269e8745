import { createHash, createHmac } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/activity';
import type { ActivityDeps } from './index';
import { approvalDigest } from './approval-digest';

/** What the http executor posts. */
export interface HttpExecutionRequest {
  actionId: string;
  action: string;
  params: Record<string, unknown>;
  url: string;
  /** When the action was approved: the approval digest it must still match (else nothing is sent). */
  approved?: { digest: string; resource: unknown; policyVersion: string };
}

/** What a 2xx answer becomes in the action's `result` and the evidence. */
export interface HttpExecutionResult {
  status: number;
  body: unknown;
  /** sha256 of the exact request body sent (the evidence keeps this, not the body). */
  requestDigest: string;
}

/** Largest response body kept in the evidence; the rest is cut. */
const MAX_KEPT_BODY = 64 * 1024;
const DEFAULT_REQUEST_TIMEOUT_MS = 25_000;

/** `X-Countersign-Signature` value (executor calls and webhooks): `sha256=<hex HMAC of the raw body>`. */
export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** The `http` executor. */
export function createExecutorActivities({ executorSecret, executorTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS }: Pick<ActivityDeps, 'executorSecret' | 'executorTimeoutMs'>) {
  return {
    /**
     * POST `{ actionId, action, params }` with `Idempotency-Key: <actionId>` so the target can
     * make our at-least-once delivery exactly-once. 2xx succeeds; 4xx is final
     * (`ExecutorRejected`, with the target's answer); 5xx and network errors are retried.
     */
    async executeHttp(req: HttpExecutionRequest): Promise<HttpExecutionResult> {
      if (req.approved) {
        const actual = approvalDigest({ action: req.action, params: req.params, resource: req.approved.resource, policyVersion: req.approved.policyVersion });
        if (actual !== req.approved.digest) {
          throw ApplicationFailure.nonRetryable(
            `refusing to execute: params digest ${actual} differs from the approved ${req.approved.digest}`,
            'ExecutionDigestMismatch',
          );
        }
      }
      const body = JSON.stringify({ actionId: req.actionId, action: req.action, params: req.params });
      let res: Response;
      try {
        res = await fetch(req.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'idempotency-key': req.actionId,
            'x-countersign-signature': signBody(executorSecret, body),
          },
          body,
          signal: AbortSignal.timeout(executorTimeoutMs),
        });
      } catch (err) {
        if ((err as Error).name === 'TimeoutError') {
          throw ApplicationFailure.retryable(`executor ${req.url} did not answer within ${executorTimeoutMs} ms`, 'ExecutorUnavailable');
        }
        const cause = (err as Error & { cause?: Error }).cause;
        throw ApplicationFailure.retryable(`executor ${req.url} unreachable: ${cause?.message ?? (err as Error).message}`, 'ExecutorUnavailable');
      }
      const answer = { status: res.status, body: await readBody(res), requestDigest: `sha256:${createHash('sha256').update(body).digest('hex')}` };
      if (res.ok) return answer;
      if (res.status >= 400 && res.status < 500) {
        throw ApplicationFailure.nonRetryable(`executor rejected the action: HTTP ${res.status}`, 'ExecutorRejected', answer);
      }
      throw ApplicationFailure.retryable(`executor answered HTTP ${res.status}`, 'ExecutorUnavailable', answer);
    },
  };
}

async function readBody(res: Response): Promise<unknown> {
  const text = (await res.text()).slice(0, MAX_KEPT_BODY);
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
