/**
 * The approval digest: what an approval is bound to. Pure (no I/O, no node:crypto), so the
 * workflow computes the plain form in its own task and the executor and the API recompute
 * either form with the same code.
 *
 * Two forms, over the same canonical JSON of (action, params, resource, policy version):
 * - `sha256:<hex>` for actions without sensitive params;
 * - `hmac-sha256:<hex>` under the digest key (ledger/digest-key.ts) for actions whose schema
 *   marks a field `x-sensitive`: the params are shown masked, and a plain hash of them next to
 *   the visible ones would let anyone recover a short secret by trying candidates.
 * The keyed form needs the key, which never enters a Temporal history: workflow code gets it
 * from an activity (activities/approval-digest.ts `computeKeyedApprovalDigest`), never by
 * calling {@link keyedApprovalDigest} itself.
 */
import { hmac } from '@noble/hashes/hmac';
import { sha256 } from '@noble/hashes/sha2';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils';
import { canonicalJson } from './canonical-json';

/** What an approval is bound to. */
export interface ApprovalSubject {
  action: string;
  params: unknown;
  resource: unknown;
  policyVersion: string;
}

/** The prefix of each digest form. */
export const APPROVAL_DIGEST_FORMS = { plain: 'sha256:', keyed: 'hmac-sha256:' } as const;

/** What the API, an activity or the executor knows when it computes a digest. */
export interface ApprovalDigestOptions {
  /**
   * Whether the action's params schema marks any field sensitive (`true`, or its non-empty
   * patterns from `sensitivePaths(bundle, action)`): the digest is then keyed.
   */
  sensitive: boolean | readonly string[];
  /** The digest key; required when `sensitive`. */
  key?: Uint8Array;
}

/** An approval digest's form was asked for without the key it needs. */
export class DigestKeyMissingError extends Error {
  override readonly name = 'DigestKeyMissingError';
}

function subjectBytes(s: ApprovalSubject): Uint8Array {
  return utf8ToBytes(canonicalJson({ action: s.action, params: s.params, resource: s.resource ?? null, policyVersion: s.policyVersion }));
}

/**
 * `sha256:<hex>` of the canonical JSON of (action, params, resource, policy version). Each
 * approval records it; the executor recomputes it and refuses to run anything else.
 */
export function approvalDigest(s: ApprovalSubject): string {
  return APPROVAL_DIGEST_FORMS.plain + bytesToHex(sha256(subjectBytes(s)));
}

/** `hmac-sha256:<hex>`: the same document, under the digest key. Never called in workflow code. */
export function keyedApprovalDigest(s: ApprovalSubject, key: Uint8Array): string {
  if (key.length === 0) throw new DigestKeyMissingError('a keyed approval digest needs the digest key');
  return APPROVAL_DIGEST_FORMS.keyed + bytesToHex(hmac(sha256, key, subjectBytes(s)));
}

/** Whether the action these options describe gets a keyed digest. */
export function isSensitive(opts: Pick<ApprovalDigestOptions, 'sensitive'>): boolean {
  return Array.isArray(opts.sensitive) ? opts.sensitive.length > 0 : opts.sensitive === true;
}

/**
 * The approval digest of `s` in the form its action takes: keyed when it has sensitive params,
 * plain otherwise. What the API shows as `approval.digest` and checks `expectedDigest` against.
 * @throws DigestKeyMissingError when the action is sensitive and no key is given
 */
export function approvalDigestFor(s: ApprovalSubject, opts: ApprovalDigestOptions): string {
  if (!isSensitive(opts)) return approvalDigest(s);
  if (!opts.key) throw new DigestKeyMissingError(`action ${s.action} has sensitive params: its approval digest needs the digest key`);
  return keyedApprovalDigest(s, opts.key);
}

/**
 * Whether `digest` (either form) is the approval digest of `s`: what the executor checks before
 * it sends. A keyed digest is recomputed with `key` (false without one); the comparison does not
 * stop at the first differing character.
 */
export function approvalDigestMatches(s: ApprovalSubject, digest: string, key?: Uint8Array): boolean {
  let actual: string;
  if (digest.startsWith(APPROVAL_DIGEST_FORMS.keyed)) {
    if (!key || key.length === 0) return false;
    actual = keyedApprovalDigest(s, key);
  } else if (digest.startsWith(APPROVAL_DIGEST_FORMS.plain)) {
    actual = approvalDigest(s);
  } else {
    return false;
  }
  if (actual.length !== digest.length) return false;
  let diff = 0;
  for (let i = 0; i < actual.length; i++) diff |= actual.charCodeAt(i) ^ digest.charCodeAt(i);
  return diff === 0;
}
