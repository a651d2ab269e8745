/**
 * Keep sensitive values out of the evidence while keeping them checkable: a redacted value
 * becomes `{ "$digest": "sha256:<hex>" }`, so an auditor holding the original can still prove
 * what was approved, and the ledger (which can never be edited) never holds the value itself.
 * Pure.
 */
import { createHash, createHmac } from 'node:crypto';
import { canonicalJson } from '../domain/canonical-json';

/** What a redacted value is replaced by. */
export interface RedactedValue {
  $digest: string;
}

/** Options of {@link redactSensitive}. */
export interface RedactOptions {
  /**
   * Secret for a keyed digest (`hmac-sha256:<hex>`). Low-entropy values (an SSN, a phone
   * number) can be recovered from a plain sha256 by trying every candidate; a key kept
   * outside the ledger prevents that. @default none: plain `sha256:<hex>`
   */
  key?: string | Uint8Array;
}

/** Raised for a path that is not an RFC 6901 JSON pointer. */
export class InvalidPointerError extends Error {
  override readonly name = 'InvalidPointerError';
}

/** The digest a value gets: of its canonical JSON, so `"123"` and `123` differ. */
export function digestValue(value: unknown, opts: RedactOptions = {}): RedactedValue {
  const json = canonicalJson(value);
  const hex = opts.key ? createHmac('sha256', opts.key).update(json).digest('hex') : createHash('sha256').update(json).digest('hex');
  return { $digest: `${opts.key ? 'hmac-sha256' : 'sha256'}:${hex}` };
}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new InvalidPointerError(`not a JSON pointer (must start with "/"): ${JSON.stringify(pointer)}`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/**
 * A copy of `data` with the value at each path replaced by its digest. Paths are RFC 6901
 * JSON pointers evaluated against `data` itself: to redact `params.ssn` of an action, call it
 * with the params and `"/ssn"`, or with the whole event data and `"/params/ssn"`. Array
 * elements are addressed by index (`"/recipients/0"`); `""` redacts the whole value. Paths
 * that lead nowhere are ignored (an optional field that was not sent). `data` is not modified.
 * @throws InvalidPointerError for a path not starting with "/"
 */
export function redactSensitive<T>(data: T, paths: readonly string[], opts: RedactOptions = {}): T {
  let result: unknown = data;
  for (const pointer of paths) {
    result = redactAt(result, parsePointer(pointer), 0, opts);
  }
  return result as T;
}

function redactAt(node: unknown, tokens: readonly string[], i: number, opts: RedactOptions): unknown {
  if (i === tokens.length) return node === undefined ? node : digestValue(node, opts);
  if (node === null || typeof node !== 'object') return node;
  const token = tokens[i]!;
  if (Array.isArray(node)) {
    if (!/^(0|[1-9][0-9]*)$/.test(token)) return node;
    const index = Number(token);
    if (index >= node.length) return node;
    const copy = node.slice();
    copy[index] = redactAt(node[index], tokens, i + 1, opts);
    return copy;
  }
  if (!Object.prototype.hasOwnProperty.call(node, token)) return node;
  const record = node as Record<string, unknown>;
  return { ...record, [token]: redactAt(record[token], tokens, i + 1, opts) };
}
