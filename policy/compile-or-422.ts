/**
 * Compile a bundle's source for activation, refusing it as the domain's `invalid-policy` error
 * (which api/problem.ts answers as 422) with line-precise field errors. Shared by the policy
 * routes and the start-up bootstrap, so a bad bundle reads the same from either.
 */
import { CountersignError } from '../domain/errors';
import { inputProblems, textProblem } from '../domain/input-rules';
import type { CompiledPolicyBundle } from './compiled-bundle';
import { PolicyValidationError } from './errors';
import { loadPolicyBundle } from './load-bundle';

/** Parse a bundle or throw `invalid-policy` with line-precise errors; nothing is activated on error. */
export function compileOr422(source: string, filename?: string): CompiledPolicyBundle {
  const text = textProblem(source);
  if (text) {
    const at = source.indexOf('\u0000');
    const line = at < 0 ? undefined : source.slice(0, at).split('\n').length;
    throw new CountersignError('invalid-policy', `the policy bundle text ${text}; the active policy is unchanged`, [
      { path: '/', message: `the bundle text ${text}`, ...(line ? { line } : {}) },
    ]);
  }
  let bundle: CompiledPolicyBundle;
  try {
    bundle = loadPolicyBundle(source, { filename });
  } catch (err) {
    if (!(err instanceof PolicyValidationError)) throw err;
    throw new CountersignError(
      'invalid-policy',
      `the policy bundle has ${err.errors.length} error(s); the active policy is unchanged`,
      err.errors.map((e) => ({ path: e.path, message: e.message, line: e.line, column: e.column, ...(e.hint ? { hint: e.hint } : {}) })),
    );
  }
  // Escapes (YAML "\0", JSON "\ud800") can put text into the parsed bundle that the source
  // check cannot see. Rule reasons and ids reach the ledger: such a bundle would stop every
  // action it decides, so it is refused here.
  const parsed = inputProblems(bundle.document);
  if (parsed.length > 0) {
    throw new CountersignError(
      'invalid-policy',
      `the policy bundle holds text that cannot be stored (${parsed.map((p) => `${p.path} ${p.message}`).join('; ')}); the active policy is unchanged`,
      parsed,
    );
  }
  return bundle;
}
