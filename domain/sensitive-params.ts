/**
 * Sensitive params (`x-sensitive: true` in an action's params schema): where they are, how
 * they are hidden, and how an edit that kept a hidden value gets it back. One set of rules
 * for every place a value leaves Countersign (ActionViews, notifications, logs, the ledger),
 * so a field hidden in one place cannot show in another. Pure: no I/O, no crypto (callers
 * that hide a value behind a digest pass the function that computes it).
 *
 * A pattern is a JSON pointer into the params (RFC 6901 escaping: `~0` for `~`, `~1` for
 * `/`) in which the token `*` stands for every member (every item of an array, every property
 * of an object), and `/` alone for the params object itself. policy/params-schema.ts
 * (`collectSensitivePaths`) derives them from the schema. A value is sensitive when its path
 * is a pattern's or lies under one: `/card` hides the whole object, `/card/number` only the
 * number, and `/rows`, `*`, `/ssn` in one pattern the `ssn` of every row. docs/policy.md says
 * what the schema author writes; docs/security-model.md where the masking applies.
 */

/** What a sensitive value is shown as wherever it is masked. */
export const MASK = '***';

/** Patterns of sensitive params, as policy/params-schema.ts derives them from a schema. */
export type SensitivePatterns = readonly string[];

/** Every top-level value is sensitive: for an action whose sensitivity cannot be determined. */
export const ALL_PARAMS: SensitivePatterns = Object.freeze(['/']);

/** How a masked value is replaced: {@link MASK} by default; the ledger passes a keyed digest. */
export type MaskReplacer = (value: unknown) => unknown;

/** A pattern or an edit's path that is not a JSON pointer. */
export class InvalidPointerError extends Error {
  override readonly name = 'InvalidPointerError';
}

/** Param changes made with an approval: JSON pointer -> `{ from, to }`. */
export type ParamEdits = Record<string, { from: unknown; to: unknown }>;

/** A field of an edit that {@link unmaskEdit} refuses, relative to the params (`/card/number`). */
export interface UnmaskError {
  path: string;
  message: string;
}

/** What {@link unmaskEdit} makes of an edit. */
export type UnmaskResult = { ok: true; params: Record<string, unknown> } | { ok: false; errors: UnmaskError[] };

/** The member token that matches every array item and every object property. */
const ANY = '*';

/** Tokens of a JSON pointer; `""` and `"/"` are both the whole value here (no empty keys in params paths). */
function pointerTokens(pointer: string): string[] {
  if (pointer === '' || pointer === '/') return [];
  if (!pointer.startsWith('/')) throw new InvalidPointerError(`not a JSON pointer (must start with "/"): ${JSON.stringify(pointer)}`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** `["a/b", "0"]` -> `/a~1b/0`. */
export function toPointer(tokens: readonly string[]): string {
  return tokens.length === 0 ? '/' : tokens.map((t) => '/' + t.replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}

/**
 * The token lists of `patterns`. The params object itself (`/`) becomes "every top-level
 * member": params stay an object wherever they are shown, so a root pattern hides each value
 * and leaves the property names visible.
 * @throws InvalidPointerError for a pattern not starting with "/"
 */
export function parseSensitivePatterns(patterns: SensitivePatterns): string[][] {
  return patterns.map((p) => {
    const tokens = pointerTokens(p);
    return tokens.length === 0 ? [ANY] : tokens;
  });
}

const tokenMatches = (patternToken: string, key: string) => patternToken === ANY || patternToken === key;

/** Whether the value at `path` (tokens into the params) is sensitive: at or under a pattern. */
function sensitiveAt(path: readonly string[], parsed: readonly (readonly string[])[]): boolean {
  return parsed.some((p) => p.length <= path.length && p.every((t, i) => tokenMatches(t, path[i]!)));
}

/**
 * Whether the value at `pointer` (a JSON pointer into the params, e.g. `/rows/2/ssn`) is
 * sensitive under `patterns`.
 */
export function isSensitivePath(pointer: string, patterns: SensitivePatterns): boolean {
  return sensitiveAt(pointerTokens(pointer), parseSensitivePatterns(patterns));
}

/** Whether an action with these patterns has any sensitive field (its digests must be keyed). */
export function hasSensitiveParams(patterns: SensitivePatterns): boolean {
  return patterns.length > 0;
}

const isContainer = (v: unknown): v is Record<string, unknown> | unknown[] => typeof v === 'object' && v !== null;

/** An own, enumerable data property, even for a key like `__proto__` (JSON.parse makes those). */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * `node` (found at some path) with every sensitive value replaced, where `rest` are the
 * remainders of the patterns that match that path so far (an empty remainder: `node` itself is
 * sensitive). Copies only what changes.
 */
function maskNode(node: unknown, rest: readonly (readonly string[])[], replace: MaskReplacer): unknown {
  if (node === undefined) return node;
  if (rest.some((r) => r.length === 0)) return replace(node);
  if (!isContainer(node)) return node;
  const childRest = (key: string) => rest.filter((r) => tokenMatches(r[0]!, key)).map((r) => r.slice(1));
  if (Array.isArray(node)) {
    let copy: unknown[] | undefined;
    node.forEach((item, i) => {
      const r = childRest(String(i));
      if (r.length === 0) return;
      const masked = maskNode(item, r, replace);
      if (masked !== item) (copy ??= node.slice())[i] = masked;
    });
    return copy ?? node;
  }
  let copy: Record<string, unknown> | undefined;
  for (const [key, value] of Object.entries(node)) {
    const r = childRest(key);
    if (r.length === 0) continue;
    const masked = maskNode(value, r, replace);
    if (masked !== value) {
      if (!copy) {
        copy = {};
        for (const [k, v] of Object.entries(node)) setOwn(copy, k, v);
      }
      setOwn(copy, key, masked);
    }
  }
  return copy ?? node;
}

/** The remainders of `parsed` for a value found at `base`, or `[[]]` when `base` is itself sensitive. */
function restAt(base: readonly string[], parsed: readonly (readonly string[])[]): string[][] {
  if (sensitiveAt(base, parsed)) return [[]];
  return parsed.filter((p) => p.length > base.length && base.every((t, i) => tokenMatches(p[i]!, t))).map((p) => p.slice(base.length));
}

/**
 * A copy of `params` with every sensitive value replaced by `replace(value)` ({@link MASK} by
 * default); `params` is not modified, and is returned as is when nothing in it is sensitive.
 * A value that is absent is left absent; a present `null` is masked like any value.
 * @throws InvalidPointerError for a malformed pattern
 */
export function maskSensitive<T>(params: T, patterns: SensitivePatterns, replace: MaskReplacer = () => MASK): T {
  if (patterns.length === 0) return params;
  return maskNode(params, parseSensitivePatterns(patterns), replace) as T;
}

/**
 * The edits of a vote (or of an `edited` event) with every sensitive value in `from` and `to`
 * replaced: an edit at a sensitive path is replaced whole, an edit of an object holding a
 * sensitive field (`/card` when `/card/number` is sensitive) keeps the rest of the object.
 * An edit whose path is not a JSON pointer is masked whole.
 * @throws InvalidPointerError for a malformed pattern
 */
export function maskEdits<E extends ParamEdits | undefined>(edits: E, patterns: SensitivePatterns, replace: MaskReplacer = () => MASK): E {
  if (!edits || patterns.length === 0) return edits;
  const parsed = parseSensitivePatterns(patterns);
  const out: ParamEdits = {};
  for (const [pointer, edit] of Object.entries(edits)) {
    let rest: string[][];
    try {
      rest = restAt(pointerTokens(pointer), parsed);
    } catch {
      rest = [[]]; // an edit at a path that is no pointer: hidden whole rather than guessed at
    }
    const masked = rest.length === 0 ? edit : { ...edit, from: maskNode(edit.from, rest, replace), to: maskNode(edit.to, rest, replace) };
    setOwn(out as Record<string, unknown>, pointer, masked);
  }
  return out as E;
}

/**
 * Edited params as a reviewer sends them back, with every masked value they did not replace
 * put back: wherever the edit holds `"***"` at a sensitive path, the current value at that
 * path takes its place. So a reviewer can change a sensitive value without ever seeing the old
 * one, and keep it by sending the view's `"***"` back.
 *
 * Positions decide: `"***"` at `/rows/1/ssn` keeps the current `/rows/1/ssn`, so a reviewer
 * who removes or reorders array items must send the real values of the items that moved.
 *
 * Refused, with the path:
 * - `"***"` at a sensitive path where the action has no value (an added array item, a field
 *   that was absent): there is nothing to keep;
 * - `"***"` at a path that is not sensitive, unless the current value there is the string
 *   `"***"` itself. Such a value was never shown masked, so it is a copy of a masked view taken
 *   under other patterns or a client's own placeholder, not the reviewer's intent; storing it
 *   would replace a real value with the mask. The cost: an edit cannot set a field that is not
 *   sensitive to the literal `"***"` (it can keep one that is).
 */
export function unmaskEdit(currentParams: Record<string, unknown>, editedParams: Record<string, unknown>, sensitivePatterns: SensitivePatterns): UnmaskResult {
  const parsed = parseSensitivePatterns(sensitivePatterns);
  const errors: UnmaskError[] = [];
  const walk = (edited: unknown, current: unknown, hasCurrent: boolean, path: string[]): unknown => {
    if (edited === MASK) {
      if (sensitiveAt(path, parsed)) {
        if (hasCurrent) return current;
        errors.push({ path: toPointer(path), message: `"${MASK}" stands for a hidden value, and this action has none here to keep: send the value itself` });
        return edited;
      }
      if (hasCurrent && current === MASK) return edited;
      errors.push({
        path: toPointer(path),
        message: `"${MASK}" is how sensitive values are shown, and this field is not sensitive: send its value (a field that is not sensitive keeps "${MASK}" only if it already holds it)`,
      });
      return edited;
    }
    if (!isContainer(edited)) return edited;
    if (Array.isArray(edited)) {
      const cur = Array.isArray(current) ? current : undefined;
      return edited.map((item, i) => walk(item, cur?.[i], cur !== undefined && i < cur.length, [...path, String(i)]));
    }
    const cur = isContainer(current) && !Array.isArray(current) ? current : undefined;
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(edited)) {
      const has = cur !== undefined && Object.prototype.hasOwnProperty.call(cur, key);
      setOwn(out, key, walk(value, has ? cur[key] : undefined, has, [...path, key]));
    }
    return out;
  };
  const params = walk(editedParams, currentParams, true, []) as Record<string, unknown>;
  return errors.length > 0 ? { ok: false, errors } : { ok: true, params };
}
