/**
 * Keep sensitive values out of the evidence while keeping them checkable: a sensitive value
 * becomes `{ "$digest": "hmac-sha256:<hex>" }`, the HMAC-SHA256 of its canonical JSON under
 * the digest key (ledger/digest-key.ts), so an auditor holding the value and the key an
 * operator exported can prove what was approved, while the ledger (which can never be edited)
 * never holds the value, and a short one (a PIN, an SSN) cannot be recovered from it by trying
 * candidates. Which values are sensitive is domain/sensitive-params.ts's rule, the same as
 * everywhere else. Pure.
 */
import { createHash, createHmac } from 'node:crypto';
import { canonicalJson } from '../domain/canonical-json';
import { InvalidPointerError, maskEdits, maskSensitive, type ParamEdits, type SensitivePatterns } from '../domain/sensitive-params';

export { InvalidPointerError };

/** What a redacted value is replaced by. */
export interface RedactedValue {
  $digest: string;
}

/** Options of {@link redactSensitive}. */
export interface RedactOptions {
  /**
   * Secret for a keyed digest (`hmac-sha256:<hex>`). Low-entropy values (an SSN, a phone
   * number) can be recovered from a plain sha256 by trying every candidate; a key kept
   * outside the ledger prevents that. The recorder always passes the digest key.
   * @default none: plain `sha256:<hex>` (what events recorded before keyed digests hold)
   */
  key?: string | Uint8Array;
}

/** The digest a value gets: of its canonical JSON, so `"123"` and `123` differ. */
export function digestValue(value: unknown, opts: RedactOptions = {}): RedactedValue {
  const json = canonicalJson(value);
  const hex = opts.key ? createHmac('sha256', opts.key).update(json).digest('hex') : createHash('sha256').update(json).digest('hex');
  return { $digest: `${opts.key ? 'hmac-sha256' : 'sha256'}:${hex}` };
}

/**
 * A copy of `params` with every sensitive value (domain/sensitive-params.ts patterns: `*` for
 * every member, `/` for every top-level value) replaced by its digest; values absent stay
 * absent. `params` is not modified.
 * @throws InvalidPointerError for a pattern not starting with "/"
 */
export function redactSensitive<T>(params: T, patterns: SensitivePatterns, opts: RedactOptions = {}): T {
  return maskSensitive(params, patterns, (v) => digestValue(v, opts));
}

/**
 * An event's data as the ledger keeps it: sensitive values in its `params` (the proposal) and
 * in the `from`/`to` of its `edits` (`edited`, `decision_recorded`) replaced by digests.
 * Nothing else of an event holds params.
 */
export function redactEventData(data: Record<string, unknown>, patterns: SensitivePatterns, opts: RedactOptions = {}): Record<string, unknown> {
  if (patterns.length === 0) return data;
  const out: Record<string, unknown> = { ...data };
  if (out.params && typeof out.params === 'object') out.params = redactSensitive(out.params, patterns, opts);
  if (out.edits && typeof out.edits === 'object') out.edits = maskEdits(out.edits as ParamEdits, patterns, (v) => digestValue(v, opts));
  return out;
}
