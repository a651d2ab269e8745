/**
 * Named errors of the policy module. Callers map them to HTTP (422 / problem+json) and to
 * CLI output in one place each; here they only carry precise, structured facts.
 */

/** One problem found in a policy bundle, pointing at the exact place in the source text. */
export interface PolicyIssue {
  /** Where in the document, e.g. `rules[2].when` or `actions["payments.transfer"].owner`. */
  path: string;
  /** 1-based line in the source text. */
  line: number;
  /** 1-based column in the source text. */
  column: number;
  /** What is wrong. */
  message: string;
  /** How to fix it. */
  hint: string;
  /** The bundle's file name, when the caller gave one. */
  file?: string;
}

/** A policy bundle failed to load: `errors` lists every problem found, not just the first. */
export class PolicyValidationError extends Error {
  override readonly name = 'PolicyValidationError';
  /** Every problem found, in source order. */
  readonly errors: PolicyIssue[];

  constructor(errors: PolicyIssue[]) {
    const first = errors[0];
    const where = first ? `${first.file ? `${first.file}:` : ''}${first.line}:${first.column}` : '';
    super(
      first
        ? `invalid policy bundle: ${errors.length} error${errors.length === 1 ? '' : 's'}, first at ${where}: ${first.message}`
        : 'invalid policy bundle',
    );
    this.errors = errors;
  }
}

/** The action is not in the bundle's catalog, so no decision can be made about it. */
export class UnknownActionError extends Error {
  override readonly name = 'UnknownActionError';
  /** The action name that was asked about. */
  readonly action: string;

  constructor(action: string) {
    super(`unknown action "${action}": it is not in the policy bundle's action catalog`);
    this.action = action;
  }
}

/** A CEL expression failed to parse or type-check (at bundle load time). */
export class CelCompileError extends Error {
  override readonly name = 'CelCompileError';
  /** Offset (0-based, in UTF-16 code units) into the expression, when the engine reports one. */
  readonly offset: number | undefined;

  constructor(message: string, offset?: number) {
    super(message);
    this.offset = offset;
  }
}
