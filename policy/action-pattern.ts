/**
 * Action names and the patterns rules use to select them.
 *
 * An action name is dot-separated segments of letters, digits, `_` and `-`
 * (`payments.transfer`). A rule's `action` is either such a name or a glob where `*`
 * matches any run of characters, dots included: `payments.*` matches `payments.transfer`
 * and `payments.refund.create`; `*` matches everything; `db.prod-*` matches `db.prod-eu`.
 */

const SEGMENT = '[A-Za-z0-9_-]+';
const ACTION_NAME_RE = new RegExp(`^${SEGMENT}(?:\\.${SEGMENT})*$`);
const PATTERN_SEGMENT = '[A-Za-z0-9_*-]+';
const ACTION_PATTERN_RE = new RegExp(`^${PATTERN_SEGMENT}(?:\\.${PATTERN_SEGMENT})*$`);

/** Hint shown when an action name is malformed. */
export const ACTION_NAME_HINT =
  'action names are dot-separated segments of letters, digits, "_" and "-", e.g. payments.transfer';
/** Hint shown when a rule's action pattern is malformed. */
export const ACTION_PATTERN_HINT =
  'use an exact action name (payments.transfer) or a glob with "*" (payments.*, *); "*" matches any characters';

/** True when `name` is a well-formed catalog action name. */
export function isActionName(name: string): boolean {
  return name.length <= 200 && ACTION_NAME_RE.test(name);
}

/**
 * Why `pattern` is not a valid rule action pattern, or `undefined` when it is.
 */
export function actionPatternProblem(pattern: string): string | undefined {
  if (pattern.length === 0) return 'empty action pattern';
  if (pattern.length > 200) return 'action pattern is longer than 200 characters';
  if (pattern.includes('**')) return `"**" in action pattern "${pattern}": a single "*" already matches across dots`;
  if (!ACTION_PATTERN_RE.test(pattern)) {
    const bad = /[^A-Za-z0-9_*.-]/.exec(pattern);
    return bad
      ? `invalid character "${bad[0]}" in action pattern "${pattern}"`
      : `malformed action pattern "${pattern}" (empty segment around ".")`;
  }
  return undefined;
}

/** True when the pattern contains a wildcard. */
export function isGlob(pattern: string): boolean {
  return pattern.includes('*');
}

/**
 * Compile a (valid) action pattern into a predicate over action names.
 * Called at bundle load time only; evaluation uses the pre-resolved index.
 */
export function compileActionPattern(pattern: string): (action: string) => boolean {
  if (!isGlob(pattern)) return (action) => action === pattern;
  if (pattern === '*') return () => true;
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.\\^$+?()[\]{}|]/g, '\\$&'))
    .join('.*');
  const re = new RegExp(`^${source}$`);
  return (action) => re.test(action);
}
