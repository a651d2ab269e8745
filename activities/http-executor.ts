import { createHash, createHmac } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { ActivityDeps } from './index';
import { INLINE_EXECUTOR_BUDGET_MS } from '../domain/action-types';
import { EXECUTOR_FAILURES } from '../domain/failure-types';
import { APPROVAL_DIGEST_FORMS, approvalDigestMatches } from '../domain/approval-digest';
import { hasSensitiveParams } from '../domain/sensitive-params';
import { NoActivePolicyError } from '../ledger/policy-store';
import { sensitivePatternsFor } from '../ledger/sensitive-patterns';
import { signatureHeader, targetSecretOrRetry } from './request-signing';
import { DEFAULT_FETCH_MAX_BYTES, discardBody, isRedirect, NO_REDIRECTS, readBoundedBody, type BoundedBody } from './outbound-fetch';
import { traceHeaders } from '../runtime/tracing';

/** What the http executor posts. */
export interface HttpExecutionRequest {
  actionId: string;
  action: string;
  params: Record<string, unknown>;
  url: string;
  /**
   * When the action was approved: the approval digest it must still match (else nothing is
   * sent), in either form (`sha256:`, or `hmac-sha256:` under the digest key).
   */
  approved?: { digest: string; resource: unknown; policyVersion: string };
  /**
   * The policy version the action was decided under: which params are sensitive, so whether
   * `requestDigest` is keyed. Absent: `approved.policyVersion`, else the active bundle.
   */
  policyVersion?: string;
}

/** What a 2xx answer becomes in the action's `result` and the evidence. */
export interface HttpExecutionResult {
  status: number;
  body: unknown;
  /**
   * Digest of the exact request body sent (the evidence keeps this, not the body):
   * `sha256:<hex>`, or `hmac-sha256:<hex>` under the digest key when the action has sensitive
   * params (a plain hash of a body whose other fields are known would give a short secret away).
   */
  requestDigest: string;
  /**
   * Present when the answer's body was longer than what is kept (64 KiB, or the
   * `COUNTERSIGN_FETCH_MAX_BYTES` read cap, whichever is smaller): `body` is then its beginning,
   * as text, and whatever came after the read cap was never read.
   */
  bodyTruncated?: true;
}

/** Largest response body kept in the evidence; the rest is cut. */
const MAX_KEPT_BODY = 64 * 1024;
const DEFAULT_REQUEST_TIMEOUT_MS = 25_000;

/**
 * The legacy `X-Countersign-Signature` value, for a target without a `secret` of its own:
 * `sha256=<hex HMAC of the raw body>` under `COUNTERSIGN_EXECUTOR_SECRET`. A target with one gets
 * `t=<unix>,v1=<hex>` (activities/request-signing.ts).
 */
export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** What {@link createExecutorActivities}' `tryExecuteHttpInline` did. */
export type InlineExecution = { sent: true; response: HttpExecutionResult } | { sent: false; reason: string };

/** Options of {@link ExecutorHealth}. */
export interface ExecutorHealthOptions {
  /** An answer (below 500, body included) within this time counts as fast. @default 1000 */
  fastMs?: number;
  /** After a slow answer, a 5xx, a timeout or a network error: how long calls stay off the inline path. @default 30000 */
  coolDownMs?: number;
  /** How long a fast answer is evidence: after this long without one, the next call goes as an activity. @default 300000 */
  freshMs?: number;
  /** Monotonic clock in ms (tests). @default performance.now */
  now?: () => number;
}

/**
 * How this process's recent calls to each executor URL went, so that only a target that has
 * been answering fast is called inline (a local activity, which holds its workflow task open
 * while it runs). A target becomes "known fast" with a fast answer and stops being it at the
 * first slow or failed call, as soon as a call in flight has taken longer than `fastMs`, or
 * when its last fast answer is older than `freshMs`: a target that starts to hang holds the
 * inline calls under way or started within `fastMs` of the hang, each for the inline budget at
 * most, and the rest go through the task queue as regular activities.
 */
export class ExecutorHealth {
  private readonly fastMs: number;
  private readonly coolDownMs: number;
  private readonly freshMs: number;
  private readonly now: () => number;
  private readonly byUrl = new Map<string, { lastFastAt: number; lastTroubleAt: number; inFlight: Map<number, number> }>();
  private nextCall = 0;

  constructor(opts: ExecutorHealthOptions = {}) {
    this.fastMs = opts.fastMs ?? 1000;
    this.coolDownMs = opts.coolDownMs ?? 30_000;
    this.freshMs = opts.freshMs ?? 300_000;
    this.now = opts.now ?? (() => performance.now());
  }

  /**
   * Whether the last call to `url` that ended answered fast, recently (`freshMs`), none went
   * wrong within the cool-down, and none in flight is slow yet.
   */
  knownFast(url: string): boolean {
    const entry = this.byUrl.get(url);
    if (!entry) return false;
    const now = this.now();
    if (entry.lastTroubleAt >= entry.lastFastAt || now - entry.lastTroubleAt < this.coolDownMs || now - entry.lastFastAt > this.freshMs) return false;
    // Calls are kept in the order they started: the first one is the oldest.
    const oldest = entry.inFlight.values().next();
    return oldest.done || now - oldest.value <= this.fastMs;
  }

  /** A call to `url` starts; call the returned function with its outcome when it ends. */
  begin(url: string): (outcome: 'answered' | 'failed') => void {
    const e = this.byUrl.get(url) ?? { lastFastAt: -Infinity, lastTroubleAt: -Infinity, inFlight: new Map<number, number>() };
    this.byUrl.set(url, e);
    const id = this.nextCall++;
    const startedAt = this.now();
    e.inFlight.set(id, startedAt);
    return (outcome) => {
      e.inFlight.delete(id);
      const now = this.now();
      if (outcome === 'answered' && now - startedAt <= this.fastMs) e.lastFastAt = now;
      else e.lastTroubleAt = now;
    };
  }
}

/**
 * The `http` executor. `health` is shared by the process's calls: a worker builds one set of
 * activities, so one {@link ExecutorHealth} sees all of its calls.
 */
export function createExecutorActivities({
  executorSecret,
  executorTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS,
  executorInline = true,
  health = new ExecutorHealth(),
  digestKey,
  policies,
  fetchMaxBytes = DEFAULT_FETCH_MAX_BYTES,
  secretEnv = process.env,
}: Pick<ActivityDeps, 'executorSecret' | 'executorTimeoutMs' | 'executorInline' | 'digestKey' | 'fetchMaxBytes' | 'secretEnv'> & Partial<Pick<ActivityDeps, 'policies'>> & { health?: ExecutorHealth }) {
  /**
   * The target's own secret (`secret: env:NAME` on the action's executor, in the version it was
   * decided under), or undefined for the legacy signature. Without a policy store (a bare
   * executor worker), legacy.
   */
  async function targetSecret(req: HttpExecutionRequest): Promise<string | undefined> {
    if (!policies) return undefined;
    const version = req.policyVersion ?? req.approved?.policyVersion;
    let ref: string | undefined;
    try {
      const bundle = version ? await policies.byVersion(version) : (await policies.active()).bundle;
      const spec = bundle.actions.get(req.action);
      ref = spec?.executor.type === 'http' && spec.executor.url === req.url ? spec.executorSecret : undefined;
    } catch (err) {
      if (!(err instanceof NoActivePolicyError)) throw err;
    }
    return ref ? targetSecretOrRetry(ref, secretEnv, req.url, EXECUTOR_FAILURES.unavailable) : undefined;
  }

  /**
   * The digest of the body sent: keyed when the action has sensitive params. Without a policy
   * store (a bare executor worker) an approval under a keyed digest says so.
   */
  async function requestDigest(req: HttpExecutionRequest, body: string): Promise<string> {
    const version = req.policyVersion ?? req.approved?.policyVersion;
    const sensitive = policies
      ? hasSensitiveParams(await sensitivePatternsFor(policies, req.action, version))
      : (req.approved?.digest.startsWith(APPROVAL_DIGEST_FORMS.keyed) ?? false);
    if (sensitive && digestKey) return `${APPROVAL_DIGEST_FORMS.keyed}${createHmac('sha256', digestKey).update(body).digest('hex')}`;
    return `${APPROVAL_DIGEST_FORMS.plain}${createHash('sha256').update(body).digest('hex')}`;
  }

  /**
   * POST `{ actionId, action, params }` with `Idempotency-Key: <actionId>` so the target can
   * make our at-least-once delivery exactly-once. 2xx succeeds; 4xx is final
   * (`ExecutorRejected`, with the target's answer), and so is a redirect (3xx), which is never
   * followed: the signed request goes only to the URL the bundle names. 5xx and network errors
   * are retryable. At most `fetchMaxBytes` of the answer are read.
   */
  async function send(req: HttpExecutionRequest, timeoutMs: number): Promise<HttpExecutionResult> {
    if (req.approved) {
      // Either digest form: a keyed one is recomputed with this worker's digest key.
      const subject = { action: req.action, params: req.params, resource: req.approved.resource, policyVersion: req.approved.policyVersion };
      if (!approvalDigestMatches(subject, req.approved.digest, digestKey)) {
        const keyed = req.approved.digest.startsWith(APPROVAL_DIGEST_FORMS.keyed);
        throw ApplicationFailure.nonRetryable(
          keyed && !digestKey
            ? `refusing to execute: the approved digest ${req.approved.digest} is keyed and this worker holds no digest key`
            : `refusing to execute: the params do not have the approved digest ${req.approved.digest}${keyed ? ' (keyed: every worker must hold the same digest key)' : ''}`,
          EXECUTOR_FAILURES.digestMismatch,
        );
      }
    }
    const body = JSON.stringify({ actionId: req.actionId, action: req.action, params: req.params });
    // Before sending: a failure to tell its form (Postgres unreachable) must not follow a call that went out.
    const sentDigest = await requestDigest(req, body);
    const secret = await targetSecret(req);
    const done = health.begin(req.url);
    let status: number;
    let answered: BoundedBody | undefined;
    let location: string | null = null;
    const timeout = AbortSignal.timeout(timeoutMs);
    try {
      // The timeout covers the answer's body too; a cancelled activity (e.g. a local activity
      // past its timeout) stops its request instead of leaving it to overlap the retry.
      const res = await fetch(req.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'idempotency-key': req.actionId,
          // The activity's span (runtime/tracing.ts), so the target's spans join the action's trace.
          ...traceHeaders(),
          // Signed as it leaves: a retry gets a fresh timestamp.
          'x-countersign-signature': secret ? signatureHeader(secret, { url: req.url, idempotencyKey: req.actionId, body }) : signBody(executorSecret, body),
        },
        body,
        signal: AbortSignal.any([timeout, Context.current().cancellationSignal]),
        ...NO_REDIRECTS,
      });
      status = res.status;
      if (isRedirect(status)) {
        location = res.headers.get('location');
        await discardBody(res);
      } else {
        answered = await readBoundedBody(res, fetchMaxBytes);
      }
    } catch (err) {
      done('failed');
      // The timeout, also when it struck while the body was being read.
      if ((err as Error).name === 'TimeoutError' || timeout.aborted) {
        throw ApplicationFailure.retryable(`executor ${req.url} did not answer within ${timeoutMs} ms`, EXECUTOR_FAILURES.unavailable);
      }
      const cause = (err as Error & { cause?: Error }).cause;
      throw ApplicationFailure.retryable(`executor ${req.url} unreachable: ${cause?.message ?? (err as Error).message}`, EXECUTOR_FAILURES.unavailable);
    }
    done(status < 500 ? 'answered' : 'failed');
    const answer: HttpExecutionResult = { status, ...keptBody(answered), requestDigest: sentDigest };
    if (status >= 200 && status < 300) return answer;
    if (isRedirect(status)) {
      throw ApplicationFailure.nonRetryable(
        `executor ${req.url} answered HTTP ${status} (a redirect${location ? ` to ${location.slice(0, 200)}` : ''}): redirects are not followed; set the executor url in the policy bundle to the address that answers`,
        EXECUTOR_FAILURES.rejected,
        answer,
      );
    }
    if (status >= 400 && status < 500) {
      throw ApplicationFailure.nonRetryable(`executor rejected the action: HTTP ${status}`, EXECUTOR_FAILURES.rejected, answer);
    }
    throw ApplicationFailure.retryable(`executor answered HTTP ${status}`, EXECUTOR_FAILURES.unavailable, answer);
  }

  return {
    /** The executor call as a regular activity: retried by Temporal with backoff; 4xx is final. */
    async executeHttp(req: HttpExecutionRequest): Promise<HttpExecutionResult> {
      return send(req, executorTimeoutMs);
    },

    /**
     * The first executor call, as a local activity: sent only when this worker has seen the
     * target answer fast ({@link ExecutorHealth}), and given at most {@link INLINE_EXECUTOR_BUDGET_MS}
     * (or the executor timeout, if shorter). Otherwise nothing is sent, and the workflow calls
     * {@link executeHttp} as a regular activity. A failure is the same as `executeHttp`'s.
     */
    async tryExecuteHttpInline(req: HttpExecutionRequest): Promise<InlineExecution> {
      if (!executorInline) return { sent: false, reason: 'inline calls are off (COUNTERSIGN_EXECUTOR_INLINE=false)' };
      if (!health.knownFast(req.url)) return { sent: false, reason: 'the target has not been answering fast' };
      return { sent: true, response: await send(req, Math.min(executorTimeoutMs, INLINE_EXECUTOR_BUDGET_MS)) };
    },
  };
}

/** What the evidence keeps of an answer's body: its JSON, or its text cut to {@link MAX_KEPT_BODY}. */
function keptBody(read: BoundedBody | undefined): { body: unknown; bodyTruncated?: true } {
  const whole = read?.bytes.toString('utf8') ?? '';
  const text = whole.slice(0, MAX_KEPT_BODY);
  const truncated = read?.truncated || text.length < whole.length;
  if (!text) return { body: null, ...(truncated ? { bodyTruncated: true } : {}) };
  if (truncated) return { body: text, bodyTruncated: true };
  try {
    return { body: JSON.parse(text) };
  } catch {
    return { body: text };
  }
}
