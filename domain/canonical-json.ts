/**
 * Canonical JSON (RFC 8785 / JCS style): the one byte-exact serialisation used wherever a
 * value is hashed or signed (policy bundle versions, ledger event hashes). Pure, no I/O.
 */

/** Thrown when a value has no canonical JSON form (non-finite number, bigint, cycle, …). */
export class CanonicalJsonError extends Error {
  override readonly name = 'CanonicalJsonError';
  /** JSON pointer of the offending value inside the input ("" for the root). */
  readonly path: string;

  constructor(message: string, path: string) {
    super(path === '' ? message : `${message} at ${path}`);
    this.path = path;
  }
}

/**
 * Serialise `value` as canonical JSON: object keys sorted by UTF-16 code units, no
 * whitespace, numbers in ECMAScript shortest round-trip form (what `JSON.stringify` emits,
 * which is what RFC 8785 prescribes), strings escaped as `JSON.stringify` does.
 *
 * Differences from `JSON.stringify`, chosen so two parties can never hash different
 * bytes for "the same" value without noticing:
 * - `NaN`, `Infinity`, `bigint`, functions, symbols and cycles throw {@link CanonicalJsonError}
 *   instead of being silently turned into `null` or dropped;
 * - `undefined` is dropped from objects (an absent optional field) but throws inside arrays;
 * - objects other than plain objects and arrays must provide `toJSON` (e.g. `Date`),
 *   otherwise they throw (a `Map` would otherwise serialise as `{}`).
 *
 * @throws CanonicalJsonError when the value has no JSON representation.
 */
export function canonicalJson(value: unknown): string {
  return serialise(value, '', new Set<object>());
}

function serialise(value: unknown, path: string, ancestors: Set<object>): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalJsonError(`non-finite number ${value} has no JSON form`, path);
      // JSON.stringify implements the ECMAScript Number-to-String algorithm RFC 8785 requires
      // (and writes -0 as 0).
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      throw new CanonicalJsonError(`${typeof value} has no JSON form`, path);
  }
  if (value === null) return 'null';

  if (ancestors.has(value)) throw new CanonicalJsonError('cyclic structure has no JSON form', path);
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') {
    return serialise((toJSON as () => unknown).call(value), path, ancestors);
  }

  ancestors.add(value);
  try {
    if (Array.isArray(value)) {
      const parts: string[] = [];
      for (let i = 0; i < value.length; i++) {
        const item: unknown = value[i];
        if (item === undefined) throw new CanonicalJsonError('undefined has no JSON form', `${path}/${i}`);
        parts.push(serialise(item, `${path}/${i}`, ancestors));
      }
      return `[${parts.join(',')}]`;
    }
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      const kind = (value as object).constructor?.name ?? 'object';
      throw new CanonicalJsonError(`${kind} is not a plain object and has no toJSON`, path);
    }
    // Default sort compares UTF-16 code units, exactly the order RFC 8785 specifies.
    const keys = Object.keys(value).sort();
    const parts: string[] = [];
    for (const key of keys) {
      const item = (value as Record<string, unknown>)[key];
      if (item === undefined) continue;
      const childPath = `${path}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
      parts.push(`${JSON.stringify(key)}:${serialise(item, childPath, ancestors)}`);
    }
    return `{${parts.join(',')}}`;
  } finally {
    ancestors.delete(value);
  }
}
