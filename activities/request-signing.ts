/**
 * How executor requests and webhooks are signed for a target that has its own secret
 * (`secret: env:NAME` in the bundle): `X-Countersign-Signature: t=<unix seconds>,v1=<hex>`, the
 * HMAC-SHA256 under that secret of the timestamp, the URL, the idempotency key and the body, one
 * per line. A receiver that checks the URL is its own, the key and body are what it received, and
 * the timestamp is within five minutes cannot be sent a captured request for another target,
 * another action, or later on (docs/security-model.md has the recipe).
 */
import { ApplicationFailure } from '@temporalio/activity';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { SECRET_REF_RE } from '../policy/bundle-schema';

/** How far a signature's timestamp may be from the receiver's clock. @default 300 s */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

/** A target secret shorter than this is refused (as `COUNTERSIGN_EXECUTOR_SECRET` is). */
export const MIN_TARGET_SECRET_LENGTH = 16;

/** What one signature covers. */
export interface SignedRequest {
  url: string;
  idempotencyKey: string;
  body: string;
}

/** The exact bytes the v1 signature is the HMAC of. */
export function signedPayload(timestamp: number, req: SignedRequest): string {
  return `${timestamp}\n${req.url}\n${req.idempotencyKey}\n${req.body}`;
}

/** `t=<unix>,v1=<hex>` for `req`, signed with `secret` at `now` (ms). */
export function signatureHeader(secret: string, req: SignedRequest, now: number = Date.now()): string {
  const t = Math.floor(now / 1000);
  return `t=${t},v1=${createHmac('sha256', secret).update(signedPayload(t, req)).digest('hex')}`;
}

/** Why {@link verifySignature} refused a request, or `ok`. */
export type SignatureCheck = 'ok' | 'malformed' | 'expired' | 'mismatch';

/**
 * The receiver's check, as the documented recipe does it: parse the header, refuse a timestamp
 * more than `toleranceSeconds` from `now`, recompute the HMAC over what was received (the URL the
 * receiver serves, not one the request names) with each accepted secret (several while rotating),
 * compare in constant time.
 */
export function verifySignature(
  header: string | undefined,
  secrets: readonly string[],
  req: SignedRequest,
  now: number = Date.now(),
  toleranceSeconds = SIGNATURE_TOLERANCE_SECONDS,
): SignatureCheck {
  const parts = new Map((header ?? '').split(',').map((p) => p.trim().split('=', 2) as [string, string]));
  const t = Number(parts.get('t'));
  const given = parts.get('v1');
  if (!Number.isInteger(t) || !given || !/^[0-9a-f]{64}$/.test(given)) return 'malformed';
  if (Math.abs(now / 1000 - t) > toleranceSeconds) return 'expired';
  const expected = Buffer.from(given, 'hex');
  for (const secret of secrets) {
    const mac = createHmac('sha256', secret).update(signedPayload(t, req)).digest();
    if (timingSafeEqual(mac, expected)) return 'ok';
  }
  return 'mismatch';
}

/** A target's `secret: env:NAME` could not be read in this worker. */
export class TargetSecretUnavailable extends Error {
  override name = 'TargetSecretUnavailable';
}

/**
 * The value of a bundle's secret reference (`env:NAME`) in `env` (the worker's environment).
 * @throws TargetSecretUnavailable when it is not set or too short: nothing is then sent unsigned.
 */
export function resolveTargetSecret(ref: string, env: NodeJS.ProcessEnv): string {
  if (!SECRET_REF_RE.test(ref)) throw new TargetSecretUnavailable(`secret ${ref} is not of the form env:NAME`);
  const name = ref.slice('env:'.length);
  const value = env[name];
  if (!value) throw new TargetSecretUnavailable(`secret ${ref}: ${name} is not set in this worker's environment`);
  if (value.length < MIN_TARGET_SECRET_LENGTH) throw new TargetSecretUnavailable(`secret ${ref}: ${name} is shorter than ${MIN_TARGET_SECRET_LENGTH} characters`);
  return value;
}

/**
 * The secret `ref` names, for a request to `url`; when this worker does not hold it, a retryable
 * failure of `failureType` (another worker may hold it). A request is never sent unsigned.
 */
export function targetSecretOrRetry(ref: string, env: NodeJS.ProcessEnv, url: string, failureType: string): string {
  try {
    return resolveTargetSecret(ref, env);
  } catch (err) {
    if (!(err instanceof TargetSecretUnavailable)) throw err;
    throw ApplicationFailure.retryable(`refusing to send to ${url} unsigned: ${err.message}`, failureType);
  }
}
