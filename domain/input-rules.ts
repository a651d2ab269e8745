/**
 * What the public API accepts as text and numbers, checked once at the edge so that nothing
 * it lets in can be refused later by Postgres or silently changed on the way (pure, no I/O).
 *
 * - Text: valid Unicode (no unpaired surrogate) without U+0000. Postgres cannot store U+0000 in
 *   `text` or `jsonb`, and rejects `\ud800` escapes in `jsonb`; a string the API accepted but
 *   Postgres refuses would otherwise reach the ledger after the workflow already acted on it.
 *   Object keys are text too.
 * - Numbers: finite (JSON `1e309` parses as Infinity, which has no JSON form) and exactly what
 *   was written: a number is refused when its value as a double differs from the decimal
 *   written (`100.0000000000000001` would silently become 100), and integers written without a
 *   fraction or exponent must be within ±(2^53 − 1) (larger ones lose digits in JavaScript).
 * - Nesting: at most {@link MAX_JSON_DEPTH} levels of arrays and objects in a whole body.
 */
import type { FieldError } from './errors';

/** How deep arrays and objects may nest in a request body. */
export const MAX_JSON_DEPTH = 64;

/** How many problems one request reports at most (a body can hold thousands of bad strings). */
const MAX_REPORTED = 20;

/** Why a string cannot be stored, or undefined when it can. */
export function textProblem(s: string): string | undefined {
  if (s.includes('\u0000')) return 'must not contain U+0000 (NUL)';
  if (!s.isWellFormed()) return 'must be valid Unicode (it holds an unpaired surrogate)';
  return undefined;
}

const escapePointer = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');

/** A JSON pointer for a key that may itself hold characters that cannot be shown. */
const safeKey = (key: string) => (textProblem(key) === undefined ? escapePointer(key) : escapePointer(key.toWellFormed().replace(/\u0000/g, '\\u0000')));

/**
 * Every problem with a parsed JSON value: unstorable strings and keys, non-finite numbers and
 * nesting deeper than {@link MAX_JSON_DEPTH}, each with its JSON pointer (`base` prefixes them).
 * Numbers whose value differs from what was written can only be seen in the source text: pass it
 * as `source` (see {@link inexactNumbers}). Iterative, so no input can overflow the stack.
 */
export function inputProblems(value: unknown, source?: string, base = ''): FieldError[] {
  const problems: FieldError[] = [];
  const inexact = source === undefined ? undefined : inexactNumbers(source);
  const stack: { v: unknown; path: string; depth: number; key?: string }[] = [{ v: value, path: base, depth: 0 }];
  while (stack.length > 0 && problems.length < MAX_REPORTED) {
    const { v, path, depth, key } = stack.pop() as { v: unknown; path: string; depth: number; key?: string };
    const keyProblem = key === undefined ? undefined : textProblem(key);
    if (keyProblem) problems.push({ path, message: `key ${keyProblem}` });
    if (typeof v === 'string') {
      const p = textProblem(v);
      if (p) problems.push({ path: path || '/', message: p });
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) problems.push({ path: path || '/', message: 'must be a finite number (this one is too large for a double)' });
      else if (inexact?.has(v)) problems.push({ path: path || '/', message: `${inexact.get(v)} cannot be represented exactly; send it as a string, or with at most 15 significant digits` });
    } else if (v !== null && typeof v === 'object') {
      if (depth >= MAX_JSON_DEPTH) {
        problems.push({ path: path || '/', message: `nests deeper than ${MAX_JSON_DEPTH} levels of arrays and objects` });
        continue;
      }
      // Pushed in reverse, so problems come out in document order.
      const entries = Array.isArray(v) ? v.map((item, i) => [String(i), item] as const) : Object.entries(v);
      for (let i = entries.length - 1; i >= 0; i--) {
        const [key, child] = entries[i];
        stack.push({ v: child, path: `${path}/${safeKey(key)}`, depth: depth + 1, ...(Array.isArray(v) ? {} : { key }) });
      }
    }
  }
  return problems;
}

// A JSON string (skipped whole, so digits inside strings are never read as numbers), or a number
// long enough to be inexact: 16 or more digits and dots, or with an exponent. Shorter plain
// numbers (at most 15 significant digits) always survive the trip through a double.
const CANDIDATES = /"(?:[^"\\]|\\.)*"|-?\d[\d.]{15,}(?:[eE][+-]?\d+)?|-?\d[\d.]*[eE][+-]?\d+/g;

/**
 * Numbers in JSON source text whose double value is not what was written, by value (as
 * JSON.parse reads them) -> the text written. Empty for nearly every body: only long numbers
 * and exponents are examined.
 */
export function inexactNumbers(source: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const m of source.matchAll(CANDIDATES)) {
    const token = m[0];
    if (token.charCodeAt(0) === 34 /* " */) continue;
    if (!numberIsExact(token)) out.set(Number(token), token.length > 40 ? `${token.slice(0, 37)}...` : token);
  }
  return out;
}

/** Whether a JSON number token means exactly the double it parses to (see the module note). */
export function numberIsExact(token: string): boolean {
  const n = Number(token);
  if (!Number.isFinite(n)) return false;
  if (/^-?\d+$/.test(token) && !Number.isSafeInteger(n)) return false;
  return sameDecimal(decimalOf(token), decimalOf(String(n)));
}

/** A decimal as significant digits (no leading or trailing zeros) and a power of ten. */
function decimalOf(text: string): { digits: string; exp: number } {
  const m = /^-?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m) return { digits: text, exp: 0 };
  const int = m[1] ?? '';
  const frac = m[2] ?? '';
  let digits = (int + frac).replace(/^0+/, '');
  let exp = Number(m[3] ?? 0) - frac.length;
  const trimmed = digits.replace(/0+$/, '');
  exp += digits.length - trimmed.length;
  digits = trimmed;
  return digits === '' ? { digits: '', exp: 0 } : { digits, exp };
}

function sameDecimal(a: { digits: string; exp: number }, b: { digits: string; exp: number }): boolean {
  return a.digits === b.digits && a.exp === b.exp;
}
