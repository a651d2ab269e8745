/**
 * The evidence hash chain: how a ledger event is hashed and how a chain is verified.
 * Pure (hashing only, no I/O), shared by the Postgres store, the evidence bundle and its
 * offline verifier.
 *
 * Definition (the one the whole ledger rests on):
 *
 *   body = { actionId, seq, type, at, actor: { id, kind }, data }
 *   hash = sha256hex( prevHash + canonicalJson(body) )        (UTF-8 bytes of the concatenation)
 *
 * `prevHash` is the previous event's `hash` in the same action's chain, or
 * {@link GENESIS_HASH} for seq 1; `at` is an ISO-8601 UTC string with milliseconds
 * (`Date#toISOString`). Each action has its own chain (seq 1, 2, 3, … without gaps), so
 * writers of different actions never wait for each other.
 */
import crypto, { createHash } from 'node:crypto';
import { ACTOR_KINDS, CONTROL_EVENT_TYPES, EVIDENCE_EVENT_TYPES, LEDGER_GENESIS_HASH, PRINCIPAL_EVENT_TYPES, type ControlEventType, type EvidenceEventType, type PrincipalEventType } from '../domain/action-types';
import { canonicalJson } from '../domain/canonical-json';

/** prevHash of the first event of every chain: 64 zeros. */
export const GENESIS_HASH = LEDGER_GENESIS_HASH;

/** Every kind of event the ledger records: the workflow's {@link EVIDENCE_EVENT_TYPES} and the {@link PRINCIPAL_EVENT_TYPES}. */
export const LEDGER_EVENT_TYPES = [...EVIDENCE_EVENT_TYPES, ...PRINCIPAL_EVENT_TYPES, ...CONTROL_EVENT_TYPES] as const;

/** One of {@link LEDGER_EVENT_TYPES}. */
export type LedgerEventType = EvidenceEventType | PrincipalEventType | ControlEventType;

/** Who can cause an event: the workflow's {@link ACTOR_KINDS}. */
export const LEDGER_ACTOR_KINDS = ACTOR_KINDS;

/** One of {@link LEDGER_ACTOR_KINDS}. */
export type LedgerActorKind = (typeof LEDGER_ACTOR_KINDS)[number];

/** The principal (or the system itself) that caused an event. */
export interface LedgerActor {
  id: string;
  kind: LedgerActorKind;
}

/** The hashed part of an event. */
export interface LedgerEventBody {
  actionId: string;
  /** 1-based position in the action's chain. */
  seq: number;
  type: LedgerEventType;
  /** ISO-8601 UTC with milliseconds, e.g. `2025-01-31T12:00:00.000Z`. */
  at: string;
  actor: LedgerActor;
  /** Any JSON value (objects, arrays, strings, finite numbers, booleans, null). */
  data: unknown;
}

/** A recorded event: its body plus the chain links. */
export interface LedgerEvent extends LedgerEventBody {
  prevHash: string;
  hash: string;
}

/** Outcome of verifying one chain. */
export interface ChainVerification {
  ok: boolean;
  /** Events that verified before the first failure (all of them when `ok`). */
  events: number;
  /** Position (expected seq) of the first event that does not verify. */
  firstBadSeq?: number;
  /** Why that event does not verify. */
  reason?: string;
}

const EVENT_TYPE_SET: ReadonlySet<string> = new Set(LEDGER_EVENT_TYPES);
const ACTOR_KIND_SET: ReadonlySet<string> = new Set(LEDGER_ACTOR_KINDS);

/** True when `value` is one of {@link LEDGER_EVENT_TYPES}. */
export function isLedgerEventType(value: unknown): value is LedgerEventType {
  return typeof value === 'string' && EVENT_TYPE_SET.has(value);
}

/** True when `value` is one of {@link LEDGER_ACTOR_KINDS}. */
export function isLedgerActorKind(value: unknown): value is LedgerActorKind {
  return typeof value === 'string' && ACTOR_KIND_SET.has(value);
}

// One-shot hashing (Node >= 20.12) is measurably faster than createHash for small inputs.
const oneShotHash = (crypto as { hash?: (alg: string, data: string, enc: 'hex') => string }).hash;

/** Lower-case hex SHA-256 of the UTF-8 bytes of `text`. */
export function sha256Hex(text: string | Uint8Array): string {
  if (typeof text === 'string' && oneShotHash) return oneShotHash('sha256', text, 'hex');
  return createHash('sha256').update(text).digest('hex');
}

const FALLBACK = Symbol('canonical-json-fallback');

/**
 * `canonicalJson(value)` (domain/canonical-json.ts), several times faster for the values the
 * ledger hashes: plain objects, arrays, strings, finite numbers, booleans, null. Anything
 * else (toJSON, undefined in arrays, non-finite numbers, cycles, odd prototypes) is handed to
 * `canonicalJson` itself, which serialises it or throws its precise error. The two are
 * property-tested to agree.
 */
export function canonicalJsonFast(value: unknown): string {
  // Most values (and every value read back from the ledger) already have sorted keys: then
  // the native JSON.stringify writes exactly the canonical form.
  if (isSortedPlainJson(value, 0)) return JSON.stringify(value);
  try {
    return fastSerialise(value, 0);
  } catch (err) {
    if (err === FALLBACK) return canonicalJson(value);
    throw err;
  }
}

/**
 * True when JSON.stringify(value) is already canonical: only plain objects (keys in UTF-16
 * order as enumerated, no toJSON), arrays without holes or undefined, strings, booleans,
 * null and finite numbers.
 */
function isSortedPlainJson(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object':
      break;
    default:
      return false;
  }
  if (value === null) return true;
  if (depth > 200) return false;
  if (Array.isArray(value)) {
    if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return false;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (item === undefined || !isSortedPlainJson(item, depth + 1)) return false;
    }
    return true;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if ((proto !== Object.prototype && proto !== null) || typeof (value as { toJSON?: unknown }).toJSON === 'function') return false;
  let prev: string | null = null;
  // for-in enumerates own keys in Object.keys order (then inherited ones, which only make
  // this check stricter); JSON.stringify writes own keys in that same order.
  for (const key in value) {
    if (prev !== null && prev > key) return false;
    prev = key;
    const item = (value as Record<string, unknown>)[key];
    if (item !== undefined && !isSortedPlainJson(item, depth + 1)) return false;
  }
  return true;
}

function fastSerialise(value: unknown, depth: number): string {
  switch (typeof value) {
    case 'string':
      return quote(value);
    case 'number':
      // String(n) is the ECMAScript Number-to-String JSON.stringify uses (and -0 -> "0").
      if (!Number.isFinite(value)) throw FALLBACK;
      return String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      break;
    default:
      throw FALLBACK;
  }
  if (value === null) return 'null';
  // Deep nesting is either a cycle or unusual: let the reference implementation decide.
  if (depth > 200) throw FALLBACK;
  if (Array.isArray(value)) {
    if (typeof (value as { toJSON?: unknown }).toJSON === 'function') throw FALLBACK;
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (item === undefined) throw FALLBACK;
      out += (i === 0 ? '' : ',') + fastSerialise(item, depth + 1);
    }
    return out + ']';
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if ((proto !== Object.prototype && proto !== null) || typeof (value as { toJSON?: unknown }).toJSON === 'function') throw FALLBACK;
  const keys = Object.keys(value);
  for (let i = 1; i < keys.length; i++) {
    if (keys[i - 1]! > keys[i]!) {
      keys.sort();
      break;
    }
  }
  let out = '{';
  let first = true;
  for (const key of keys) {
    const item = (value as Record<string, unknown>)[key];
    if (item === undefined) continue;
    out += (first ? '' : ',') + quote(key) + ':' + fastSerialise(item, depth + 1);
    first = false;
  }
  return out + '}';
}

/**
 * The `at` of an event as it is hashed: ISO-8601 UTC with milliseconds.
 * Years outside 1000–9999 are refused so the string form is always the same 24 characters
 * Postgres gives back.
 * @throws RangeError on an invalid date
 */
export function normalizeEventTime(at: Date | string): string {
  const date = at instanceof Date ? at : new Date(at);
  const ms = date.getTime();
  if (!Number.isFinite(ms)) throw new RangeError(`invalid event time: ${String(at)}`);
  const year = date.getUTCFullYear();
  if (year < 1000 || year > 9999) throw new RangeError(`event time out of range: ${date.toISOString()}`);
  return date.toISOString();
}

/**
 * Canonical JSON of an event body, i.e. exactly `canonicalJson(body)`, built by
 * concatenation. `dataJson`, when given, must be `canonicalJson(body.data)` (the store keeps
 * it as text, so verifying rows read back from Postgres skips re-serialising `data`).
 */
export function eventBodyJson(body: LedgerEventBody, dataJson?: string): string {
  // Keys in UTF-16 order: actionId < actor < at < data < seq < type; actor: id < kind.
  const seq = Number.isSafeInteger(body.seq) ? String(body.seq) : canonicalJsonFast(body.seq);
  const data = dataJson ?? canonicalJsonFast(body.data);
  return `{"actionId":${quote(body.actionId)},"actor":{"id":${quote(body.actor.id)},"kind":${quote(body.actor.kind)}},"at":${quote(body.at)},"data":${data},"seq":${seq},"type":${quote(body.type)}}`;
}

// Characters JSON.stringify escapes: controls, '"', '\\', and surrogates (lone ones are escaped).
const NEEDS_ESCAPE = /[\u0000-\u001f"\\\ud800-\udfff]/;

/** JSON string literal of `s` (exactly `JSON.stringify(s)`), skipping the call when nothing needs escaping. */
function quote(s: string): string {
  if (typeof s !== 'string' || NEEDS_ESCAPE.test(s)) return JSON.stringify(s);
  return '"' + s + '"';
}

/** `sha256hex(prevHash + bodyJson)`: the hash of an event given its canonical body. */
export function chainHash(prevHash: string, bodyJson: string): string {
  return sha256Hex(prevHash + bodyJson);
}

/** The hash an event must carry, given the previous hash and its body. */
export function hashEvent(prevHash: string, body: LedgerEventBody, dataJson?: string): string {
  return chainHash(prevHash, eventBodyJson(body, dataJson));
}

/**
 * Verifies one action's chain one event at a time, so long chains can be streamed
 * (the Postgres verifier feeds it batch by batch). Stops at the first failure.
 */
export class ChainVerifier {
  private expectedSeq = 1;
  private prevHash = GENESIS_HASH;
  private failure: { seq: number; reason: string } | null = null;
  private count = 0;
  /** The event that ended the action, once seen: nothing may follow it. */
  private ended: { seq: number; type: LedgerEventType } | null = null;

  /** @param actionId every event must belong to this action (default: the first event's). */
  constructor(private actionId?: string) {}

  /**
   * Check the next event. `dataJson` is the canonical text of `event.data` when the caller
   * already has it. Returns false once the chain is broken.
   */
  push(event: LedgerEvent, dataJson?: string): boolean {
    if (this.failure) return false;
    const seq = this.expectedSeq;
    const reason = this.check(event, dataJson);
    if (reason) {
      this.failure = { seq, reason };
      return false;
    }
    this.prevHash = event.hash;
    if (endsAction(event, dataJson)) this.ended = { seq, type: event.type };
    this.expectedSeq++;
    this.count++;
    return true;
  }

  /** Hash of the last event accepted ({@link GENESIS_HASH} before any). */
  get head(): { seq: number; hash: string } {
    return { seq: this.expectedSeq - 1, hash: this.prevHash };
  }

  /** The verdict so far. */
  result(): ChainVerification {
    if (this.failure) return { ok: false, events: this.count, firstBadSeq: this.failure.seq, reason: this.failure.reason };
    return { ok: true, events: this.count };
  }

  private check(event: LedgerEvent, dataJson: string | undefined): string | null {
    const seq = this.expectedSeq;
    if (event === null || typeof event !== 'object') return `event ${seq} is not an object`;
    if (this.actionId === undefined) this.actionId = event.actionId;
    if (event.actionId !== this.actionId) return `event ${seq} belongs to action ${JSON.stringify(event.actionId)}, not ${JSON.stringify(this.actionId)}`;
    if (event.seq !== seq) {
      if (typeof event.seq === 'number' && Number.isInteger(event.seq) && event.seq > seq) {
        return `event ${seq} is missing (next is seq ${event.seq})`;
      }
      return `expected seq ${seq}, found ${JSON.stringify(event.seq)} (reordered or altered)`;
    }
    if (!isLedgerEventType(event.type)) return `event ${seq} has unknown type ${JSON.stringify(event.type)}`;
    if (!event.actor || typeof event.actor.id !== 'string' || !isLedgerActorKind(event.actor.kind)) {
      return `event ${seq} has a malformed actor`;
    }
    if (typeof event.at !== 'string') return `event ${seq} has a malformed time`;
    if (typeof event.hash !== 'string') return `event ${seq} has a malformed hash`;
    if (event.prevHash !== this.prevHash) return `event ${seq} prevHash does not link to the previous event's hash`;
    let expected: string;
    try {
      expected = hashEvent(this.prevHash, event, dataJson);
    } catch (err) {
      return `event ${seq} cannot be serialised: ${(err as Error).message}`;
    }
    if (expected !== event.hash) return `event ${seq} hash does not match its content (altered)`;
    // A well-linked event after the end is an append to a finished action: the workflow writes
    // nothing after these, so someone else did.
    if (this.ended) return `event ${seq} (${event.type}) follows ${this.ended.type} at seq ${this.ended.seq}, which ended the action (appended afterwards)`;
    return null;
  }
}

/** Events after which an action's workflow records nothing more, whatever their data. */
const FINAL_EVENT_TYPES: ReadonlySet<LedgerEventType> = new Set(['executed', 'execution_failed', 'cancelled']);

/**
 * Whether the workflow records nothing after `event`: the final types, and the denials: a
 * `policy_decided` or `decision_recorded` deciding `deny`, and `expired` with `onTimeout: deny`
 * (with `allow` the action goes on to execute).
 */
function endsAction(event: LedgerEvent, dataJson: string | undefined): boolean {
  if (FINAL_EVENT_TYPES.has(event.type)) return true;
  if (event.type !== 'policy_decided' && event.type !== 'decision_recorded' && event.type !== 'expired') return false;
  let data = event.data as { decision?: unknown; onTimeout?: unknown } | undefined;
  if (data === undefined && dataJson !== undefined) data = JSON.parse(dataJson);
  return event.type === 'expired' ? data?.onTimeout === 'deny' : data?.decision === 'deny';
}

/**
 * Verify one action's chain: seq 1..n without gaps, each `prevHash` linking to the
 * previous `hash` (genesis for seq 1), each `hash` matching the event's content, and
 * every event belonging to the same action. Detects altered fields, deleted or reordered
 * events and broken links; a chain whose tail was cut off is only detectable against a
 * signed head (evidence bundle signature or ledger checkpoint).
 */
export function verifyChain(events: readonly LedgerEvent[], actionId?: string): ChainVerification {
  const verifier = new ChainVerifier(actionId);
  for (const event of events) {
    if (!verifier.push(event)) break;
  }
  return verifier.result();
}
