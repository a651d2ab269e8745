/**
 * Bounds on what a proposal may hand to CEL: `params`, `context` and `resource` (the last two
 * are claimed by the agent, so they are no more trusted than params), and `facts` (admins set
 * them, bounded when set, but a bundle may lower its limits below those bounds).
 *
 * cel-js has no runtime budget: a comprehension runs over every item it is given, and `x in
 * list` scans the list. A rule's cost is therefore set by the size of its input, so the input
 * is measured before any rule runs, and a breach decides the action (deny) without running
 * CEL at all. The walk is iterative (a 50,000-deep array cannot overflow the stack) and stops
 * at the first breach, so measuring costs at most what the limits allow, not what was sent.
 */
import type { PolicyLimitBreach } from '../domain/policy-types';

/** The resolved bounds of one catalog action (bundle `defaults.limits`, then the action's `limits`). */
export interface InputLimits {
  /**
   * Largest `params`, as compact JSON in UTF-8 bytes (escape sequences count as the
   * character they stand for).
   * @default 65536
   */
  readonly paramsBytes: number;
  /**
   * Largest `context` and, separately, largest `resource`, measured like `paramsBytes`.
   * @default 16384
   */
  readonly contextBytes: number;
  /**
   * Most items in any one array, anywhere in params, context or resource.
   * @default 128
   */
  readonly listItems: number;
  /**
   * Most keys in any one object, anywhere in params, context or resource.
   * @default 128
   */
  readonly mapEntries: number;
  /**
   * Deepest nesting of arrays and objects; `params` itself is depth 1, `{ "a": [1] }` is depth 2.
   * @default 32
   */
  readonly depth: number;
}

/**
 * The limits every catalog action gets unless the bundle says otherwise. Chosen so the most
 * expensive rule a bundle may hold (two nested loops, see cel-engine.ts) over the largest input
 * they allow stays under 50 ms per evaluation on a 2 vCPU machine (bench:policy, adversarial
 * part; at 256 list items the worst case reached 43-88 ms, so lists and maps are capped at 128).
 */
export const DEFAULT_INPUT_LIMITS: InputLimits = Object.freeze({
  paramsBytes: 65_536,
  contextBytes: 16_384,
  listItems: 128,
  mapEntries: 128,
  depth: 32,
});

/** The name of each limit as written in a bundle, for messages. */
export type InputLimitName = keyof InputLimits;

/**
 * One exceeded limit, pointing at the value that exceeded it. `path` is a JSON pointer relative
 * to the value checked: `/columns` from {@link checkValueLimits} on params, `/params/columns`,
 * `/context/...` or `/resource/...` from {@link checkInputLimits}.
 */
export interface InputLimitBreach extends PolicyLimitBreach {
  limit: InputLimitName;
}

/** Which byte limit applies to the value being checked. */
type BytesLimit = 'paramsBytes' | 'contextBytes';

/** One open array or object on the walk's explicit stack. */
interface Frame {
  readonly value: unknown;
  /** The object's own keys; `undefined` for an array. */
  readonly keys: string[] | undefined;
  /** Next child to visit; the child being looked at is `index - 1`. */
  index: number;
  /** Members written so far (an object skips `undefined` ones), for the commas. */
  written: number;
  readonly depth: number;
}

/**
 * Measure one value against `limits`. Returns the first breach found, or `undefined`.
 *
 * Sizes are counted as `JSON.stringify` would write the value: `undefined` and functions are
 * skipped in objects and written as `null` in arrays; anything that is not an array or object
 * counts as a scalar.
 *
 * @param bytesLimit which byte limit applies: params have their own, context and resource share one.
 * @param prefix JSON pointer prepended to every reported path (`/params`); `''` for none.
 */
export function checkValueLimits(
  value: unknown,
  limits: InputLimits,
  bytesLimit: BytesLimit = 'paramsBytes',
  prefix = '',
): InputLimitBreach | undefined {
  // No closures in here: under tsx (how the services run) every nested function is wrapped by
  // a naming helper on each call, which alone cost more than walking a typical input.
  const maxBytes = limits[bytesLimit];
  if (value === null || typeof value !== 'object') {
    return scalarBytes(value, maxBytes) > maxBytes ? bytesBreach(prefix || '/', prefix, limits, bytesLimit) : undefined;
  }
  // Most inputs are far below the byte limit: a first walk counts every string as 3 bytes a
  // character and every number as 24 (upper bounds, no scanning) and answers when even that
  // fits. Only an input near or over the limit is walked again, exactly, to find the breach.
  // Structural limits (depth, listItems, mapEntries) are exact in both walks.
  if (flatWithinLimits(value, limits, maxBytes)) return undefined;
  const estimated = walk(value, limits, bytesLimit, prefix, true);
  if (estimated === undefined || estimated.limit !== bytesLimit) return estimated;
  return walk(value, limits, bytesLimit, prefix, false);
}

/** The walk over nested arrays and objects, with an explicit stack; `estimate` counts bytes as upper bounds. */
function walk(value: object, limits: InputLimits, bytesLimit: BytesLimit, prefix: string, estimate: boolean): InputLimitBreach | undefined {
  const maxBytes = limits[bytesLimit];
  const stack: Frame[] = [];
  const opened = open(stack, value, 1, limits);
  if (typeof opened !== 'number') return withPath(opened, stack, 0, prefix);
  let bytes = opened;
  if (bytes > maxBytes) return bytesBreach(prefix || '/', prefix, limits, bytesLimit);

  while (stack.length > 0) {
    const frames = stack.length;
    const frame = stack[frames - 1]!;
    let child: unknown;
    if (frame.keys === undefined) {
      const list = frame.value as unknown[];
      if (frame.index >= list.length) {
        stack.pop();
        continue;
      }
      child = list[frame.index++];
    } else {
      const keys = frame.keys;
      if (frame.index >= keys.length) {
        stack.pop();
        continue;
      }
      const key = keys[frame.index++]!;
      child = (frame.value as Record<string, unknown>)[key];
      if (child === undefined || typeof child === 'function') continue;
      // "key": and, when the object already has a member written, a comma.
      bytes += (estimate ? 3 * key.length : utf8Length(key, maxBytes)) + (frame.written++ > 0 ? 4 : 3);
    }
    if (child !== null && typeof child === 'object') {
      const size = open(stack, child, frame.depth + 1, limits);
      if (typeof size !== 'number') return withPath(size, stack, frames, prefix);
      bytes += size;
    } else {
      bytes += estimate ? scalarBytesAtMost(child) : scalarBytes(child, maxBytes);
    }
    if (bytes > maxBytes) return bytesBreach(pointerOf(stack, frames, prefix), prefix, limits, bytesLimit);
  }
  return undefined;
}

/**
 * True when `v` holds only scalars and is within every limit, counting bytes as upper bounds.
 * False means "walk it": it holds an array or object, is not a plain object, breaks a limit or
 * might. Allocates nothing (for-in over a plain object uses V8's enum cache).
 */
function flatWithinLimits(v: object, limits: InputLimits, maxBytes: number): boolean {
  let bytes = 2;
  if (Array.isArray(v)) {
    const n = v.length;
    if (n > limits.listItems) return false;
    if (n > 1) bytes += n - 1;
    for (let i = 0; i < n; i++) {
      const item: unknown = v[i];
      if (item !== null && typeof item === 'object') return false;
      bytes += scalarBytesAtMost(item);
    }
    return bytes <= maxBytes;
  }
  // for-in also lists inherited enumerable keys; a plain object's prototype has none, and
  // checking that once is far cheaper than Object.hasOwn per key. Other objects take the walk.
  const proto: unknown = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return false;
  let keys = 0;
  let written = 0;
  for (const key in v) {
    // Every own key counts towards mapEntries, written or not, as in the walk (Object.keys).
    if (++keys > limits.mapEntries) return false;
    const item: unknown = (v as Record<string, unknown>)[key];
    if (item === undefined || typeof item === 'function') continue;
    if (item !== null && typeof item === 'object') return false;
    bytes += 3 * key.length + (++written > 1 ? 4 : 3) + scalarBytesAtMost(item);
  }
  return bytes <= maxBytes;
}

/**
 * Open an array or object at `depth`: check its depth and its own size, push its frame, and
 * return the bytes of its brackets and commas; or the breach (its path filled in by the caller).
 * Object keys are listed natively (Object.keys) even for a huge object: the parser that built
 * it already paid more than that.
 */
function open(stack: Frame[], v: object, depth: number, limits: InputLimits): number | InputLimitBreach {
  if (depth > limits.depth) {
    return { path: '', limit: 'depth', message: `is nested ${depth} levels deep; at most ${limits.depth} (limits.depth)` };
  }
  if (Array.isArray(v)) {
    if (v.length > limits.listItems) {
      return { path: '', limit: 'listItems', message: `has ${v.length} items; at most ${limits.listItems} (limits.listItems)` };
    }
    stack.push({ value: v, keys: undefined, index: 0, written: 0, depth });
    return v.length > 0 ? v.length + 1 : 2;
  }
  const keys = Object.keys(v);
  if (keys.length > limits.mapEntries) {
    return { path: '', limit: 'mapEntries', message: `has ${keys.length} keys; at most ${limits.mapEntries} (limits.mapEntries)` };
  }
  stack.push({ value: v, keys, index: 0, written: 0, depth });
  return 2; // braces; commas are counted per written member
}

function withPath(breach: InputLimitBreach, stack: Frame[], frames: number, prefix: string): InputLimitBreach {
  breach.path = pointerOf(stack, frames, prefix);
  return breach;
}

/** Pointer of the child being looked at through the first `frames` frames (each frame's `index - 1`). */
function pointerOf(stack: Frame[], frames: number, prefix: string): string {
  let out = prefix;
  for (let i = 0; i < frames; i++) {
    const f = stack[i]!;
    out += `/${escapePointer(f.keys === undefined ? String(f.index - 1) : f.keys[f.index - 1]!)}`;
  }
  return out || '/';
}

/** The parts of a proposal that reach CEL and can be large. */
export interface LimitedInput {
  params: unknown;
  context?: unknown;
  resource?: unknown;
  /** The trusted facts (measured like context: `contextBytes` for the whole `facts`). */
  facts?: unknown;
}

/**
 * Check params, context, resource and facts, in that order; the first breach, with a path rooted
 * at the input (`/params/columns`, `/context/...`, `/resource/...`, `/facts/agent/attributes/...`),
 * or `undefined`.
 */
export function checkInputLimits(input: LimitedInput, limits: InputLimits): InputLimitBreach | undefined {
  return (
    checkValueLimits(input.params, limits, 'paramsBytes', '/params') ??
    (input.context === undefined ? undefined : checkValueLimits(input.context, limits, 'contextBytes', '/context')) ??
    (input.resource === undefined ? undefined : checkValueLimits(input.resource, limits, 'contextBytes', '/resource')) ??
    (input.facts === undefined ? undefined : checkValueLimits(input.facts, limits, 'contextBytes', '/facts'))
  );
}

function bytesBreach(pointer: string, prefix: string, limits: InputLimits, which: BytesLimit): InputLimitBreach {
  // The walk stops where the running total crosses the limit: the path is where that happened.
  const label = prefix === '' ? 'params' : prefix.slice(1);
  return {
    path: pointer,
    limit: which,
    message: `${label} pass ${limits[which]} bytes as JSON at this value (limits.${which})`,
  };
}

/** JSON size of a scalar; strings stop being measured once past `cap`. */
function scalarBytes(value: unknown, cap = Number.POSITIVE_INFINITY): number {
  switch (typeof value) {
    case 'string':
      return utf8Length(value, cap) + 2;
    case 'number':
      return numberBytes(value);
    case 'boolean':
      return value ? 4 : 5;
    case 'bigint':
      return String(value).length;
    default:
      return 4; // null (and anything JSON would not write, counted as null)
  }
}

/**
 * An upper bound of a scalar's JSON size without reading it: a UTF-16 code unit is at most 3
 * UTF-8 bytes, and no number is written with more than 24 characters (`-2.2250738585072014e-308`).
 */
function scalarBytesAtMost(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return 3 * value.length + 2;
    case 'number':
      return 24;
    case 'boolean':
      return 5;
    case 'bigint':
      return String(value).length;
    default:
      return 4;
  }
}

const POWERS_OF_TEN = Array.from({ length: 16 }, (_, i) => 10 ** (i + 1));

/** Length of the number as JSON; integers without converting them to text (the common case, and hot). */
function numberBytes(n: number): number {
  if (!Number.isFinite(n)) return 4; // NaN and Infinity are written as null
  if (!Number.isSafeInteger(n)) return String(n).length;
  let digits = 1;
  const a = n < 0 ? -n : n;
  while (digits <= 15 && a >= POWERS_OF_TEN[digits - 1]!) digits++;
  return n < 0 ? digits + 1 : digits;
}

/**
 * UTF-8 length of `s`, or a number above `cap` as soon as it is known to be. A UTF-16 code
 * unit is at least one UTF-8 byte, so a string longer than `cap` is rejected without a scan.
 */
function utf8Length(s: string, cap: number): number {
  const n = s.length;
  if (n > cap) return n;
  let bytes = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        bytes += 2; // 4 bytes for 2 code units
        i++;
      } else bytes += 2;
    } else bytes += 2;
  }
  return bytes;
}

function escapePointer(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}
