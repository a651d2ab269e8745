/**
 * The JSON Schemas of action params: compiled with ajv (draft-07, strict, allErrors) at
 * bundle load, used to validate proposals before a workflow starts and to find the fields
 * marked `x-sensitive: true` (masked wherever params leave Countersign: domain/sensitive-params.ts).
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { canonicalJson } from '../domain/canonical-json';
import type { DocPath } from './source-locator';

/** A problem with a params schema, relative to the schema's own root. */
export interface SchemaProblem {
  /** Path inside the schema object, e.g. `["properties", "amount", "type"]`. */
  path: DocPath;
  /** True when the problem is the key at `path` itself (an unknown keyword), not its value. */
  key?: boolean;
  message: string;
  hint: string;
}

/** Vendor keyword marking a property whose value must not be shown to reviewers/logs. */
export const SENSITIVE_KEYWORD = 'x-sensitive';

/**
 * A fresh ajv instance for one bundle. Strict mode turns unknown keywords and other
 * likely mistakes in schemas into load errors instead of silently-ignored constraints.
 */
export function createParamsAjv(): Ajv {
  // Schemas are meta-validated by the shared instance first; skipping it here saves
  // compiling the draft-07 meta-schema again for every bundle (most of ajv's load cost).
  return newAjv(false);
}

function newAjv(validateSchema: boolean): Ajv {
  const ajv = new Ajv({ strict: true, allErrors: true, coerceTypes: false, useDefaults: false, validateSchema });
  addFormats(ajv);
  ajv.addKeyword({ keyword: SENSITIVE_KEYWORD, schemaType: 'boolean' });
  return ajv;
}

const COMPILED_CACHE_SIZE = 500;
const compiledCache = new Map<string, ValidateFunction>();

/** Used only for meta-schema validation, never to compile user schemas, so it holds no bundle state. */
let metaAjv: Ajv | undefined;

/** Compile one params schema, or explain precisely why it cannot be compiled. */
export function compileParamsSchema(
  ajv: Ajv,
  schema: Record<string, unknown>,
): { ok: true; validate: ValidateFunction } | { ok: false; problems: SchemaProblem[] } {
  const problems: SchemaProblem[] = [];
  if (schema.type !== 'object') {
    problems.push({
      path: schema.type === undefined ? [] : ['type'],
      message: 'params schema must describe an object (type: object)',
      hint: 'params are always a JSON object; start the schema with `type: object` and list `properties`',
    });
  }
  // validateSchema reports every meta-schema violation with a path; compile() below only
  // throws the first strict-mode problem, so ask for the structured report first.
  let metaValid: boolean;
  try {
    metaAjv ??= newAjv(true);
    metaValid = metaAjv.validateSchema(schema) as boolean;
  } catch (err) {
    problems.push({ path: [], message: `invalid JSON Schema: ${errorText(err)}`, hint: JSON_SCHEMA_HINT });
    return { ok: false, problems };
  }
  if (!metaValid) {
    // One problem per schema location: a bad `type` otherwise also reports every anyOf branch.
    const byPath = new Map<string, ErrorObject>();
    for (const e of metaAjv.errors ?? []) {
      const seen = byPath.get(e.instancePath);
      if (!seen || (!('allowedValues' in seen.params) && 'allowedValues' in e.params)) byPath.set(e.instancePath, e);
    }
    for (const e of byPath.values()) problems.push(metaProblem(e));
    return { ok: false, problems };
  }
  // Reloading a bundle (PUT /v1/policy, tests) mostly meets schemas compiled before; ajv's
  // code generation is the slowest part of a load. Self-contained schemas are cached by their
  // canonical text; ones with $id/$ref may depend on sibling schemas and are compiled fresh.
  let key: string | undefined;
  try {
    const text = canonicalJson(schema);
    if (!text.includes('"$ref"') && !text.includes('"$id"')) key = text;
  } catch {
    key = undefined;
  }
  const cached = key === undefined ? undefined : compiledCache.get(key);
  if (cached !== undefined) return problems.length > 0 ? { ok: false, problems } : { ok: true, validate: cached };
  try {
    const validate = ajv.compile(schema);
    if (key !== undefined) {
      if (compiledCache.size >= COMPILED_CACHE_SIZE) compiledCache.clear();
      compiledCache.set(key, validate);
    }
    if (problems.length > 0) return { ok: false, problems };
    return { ok: true, validate };
  } catch (err) {
    const message = errorText(err);
    const at = strictProblemPath(schema, message);
    problems.push({ ...at, message: `invalid JSON Schema: ${message}`, hint: strictHint(message) });
    return { ok: false, problems };
  }
}

const JSON_SCHEMA_HINT = 'params must be a JSON Schema (draft-07) object; see https://json-schema.org/understanding-json-schema';

function metaProblem(e: ErrorObject): SchemaProblem {
  const path = pointerToPath(e.instancePath);
  const allowed = (e.params as { allowedValues?: unknown[] }).allowedValues;
  return {
    path,
    message: `invalid JSON Schema: ${e.instancePath || '(schema root)'} ${e.message ?? 'is invalid'}`,
    hint: allowed ? `allowed values: ${allowed.map((v) => JSON.stringify(v)).join(', ')}` : JSON_SCHEMA_HINT,
  };
}

function strictHint(message: string): string {
  if (message.includes('unknown keyword')) {
    return `ajv runs in strict mode: use standard JSON Schema keywords (or "${SENSITIVE_KEYWORD}: true" to mark sensitive fields)`;
  }
  if (message.includes('strictTypes') || message.includes('strictRequired')) {
    return 'ajv runs in strict mode: give every sub-schema an explicit type and declare required properties under properties';
  }
  return JSON_SCHEMA_HINT;
}

/** Best effort: find where in the schema a strict-mode error (thrown as text) points. */
function strictProblemPath(schema: Record<string, unknown>, message: string): { path: DocPath; key?: boolean } {
  const at = /at "#([^"]*)"/.exec(message);
  if (at) return { path: pointerToPath(at[1]!) };
  const unknown = /unknown keyword: "([^"]+)"/.exec(message);
  if (unknown) {
    const path = findKey(schema, unknown[1]!);
    return path ? { path, key: true } : { path: [] };
  }
  const badValue = /^([\w$-]+) value must be/.exec(message);
  if (badValue) return { path: findKey(schema, badValue[1]!) ?? [] };
  return { path: [] };
}

function findKey(root: unknown, key: string): DocPath | undefined {
  const queue: { node: unknown; path: (string | number)[] }[] = [{ node: root, path: [] }];
  while (queue.length > 0) {
    const { node, path } = queue.shift()!;
    if (node === null || typeof node !== 'object') continue;
    if (!Array.isArray(node) && Object.hasOwn(node, key)) return [...path, key];
    for (const [k, v] of Object.entries(node)) queue.push({ node: v, path: [...path, Array.isArray(node) ? Number(k) : k] });
  }
  return undefined;
}

function pointerToPath(pointer: string): (string | number)[] {
  if (pointer === '' || pointer === '/') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Patterns of the values marked `x-sensitive: true` (domain/sensitive-params.ts): JSON
 * pointers into the params where `*` stands for every member and `/` for the params object
 * itself. Follows `properties`; `items`, `additionalItems` and `contains` (every item: `*`);
 * `additionalProperties` and `patternProperties` (every property: `*`, so the named properties
 * beside them are hidden too); the subschemas that describe the same value (`allOf`, `anyOf`,
 * `oneOf`, `not`, `if`/`then`/`else`, schema `dependencies`); and `$ref`s into the same
 * schema (`#/definitions/...`). A `$ref` to another document is not followed
 * (docs/policy.md says so). Where the walk must stop (a `$ref` back into its own ancestry, as
 * in a tree, or 32 levels down) and a sensitive field is still reachable below, the value
 * there is hidden whole.
 */
export function collectSensitivePaths(schema: unknown): string[] {
  const found = new Set<string>();
  // A subschema reached again at the same path (through $refs or combinators) adds nothing:
  // skipping it keeps fanned-out schemas linear.
  const seen = new Map<object, Set<string>>();
  const ancestry = new Set<object>();
  let budget = 100_000;
  const visit = (node: unknown, path: string, depth: number): void => {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return;
    if (ancestry.has(node) || depth > 32 || --budget < 0) {
      if (reachesSensitive(schema, node)) found.add(path === '' ? '/' : path);
      return;
    }
    const at = seen.get(node) ?? new Set<string>();
    if (at.has(path)) return;
    seen.set(node, at.add(path));
    ancestry.add(node);
    const s = node as Record<string, unknown>;
    if (s[SENSITIVE_KEYWORD] === true) found.add(path === '' ? '/' : path);
    const sub = (value: unknown, to: string) => visit(value, to, depth + 1);
    const each = (value: unknown, to: string) => {
      if (Array.isArray(value)) for (const v of value) sub(v, to);
      else sub(value, to);
    };
    if (typeof s.$ref === 'string') sub(localRef(schema, s.$ref), path);
    if (isRecord(s.properties)) {
      for (const [name, value] of Object.entries(s.properties)) sub(value, `${path}/${escapePointer(name)}`);
    }
    if (isRecord(s.patternProperties)) for (const value of Object.values(s.patternProperties)) sub(value, `${path}/*`);
    for (const key of ['additionalProperties', 'items', 'additionalItems', 'contains'] as const) each(s[key], `${path}/*`);
    for (const key of ['allOf', 'anyOf', 'oneOf', 'not', 'if', 'then', 'else'] as const) each(s[key], path);
    if (isRecord(s.dependencies)) for (const value of Object.values(s.dependencies)) sub(value, path);
    ancestry.delete(node);
  };
  visit(schema, '', 0);
  return [...found];
}

/** Whether `x-sensitive: true` is anywhere in `node` or in what its local `$ref`s lead to. */
function reachesSensitive(root: unknown, node: unknown): boolean {
  const visited = new Set<object>();
  const stack: unknown[] = [node];
  while (stack.length > 0) {
    const n = stack.pop();
    if (n === null || typeof n !== 'object' || visited.has(n)) continue;
    visited.add(n);
    if (!Array.isArray(n)) {
      const r = n as Record<string, unknown>;
      if (r[SENSITIVE_KEYWORD] === true) return true;
      if (typeof r.$ref === 'string') stack.push(localRef(root, r.$ref));
    }
    stack.push(...Object.values(n));
  }
  return false;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The subschema a `#/...` reference names inside `root`, or undefined (another document, or nothing there). */
function localRef(root: unknown, ref: string): unknown {
  if (ref !== '#' && !ref.startsWith('#/')) return undefined;
  let node: unknown = root;
  for (const raw of ref === '#' ? [] : ref.slice(2).split('/')) {
    let token: string;
    try {
      token = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    } catch {
      return undefined;
    }
    if (!isRecord(node) && !Array.isArray(node)) return undefined;
    if (!Object.prototype.hasOwnProperty.call(node, token)) return undefined;
    node = (node as Record<string, unknown>)[token];
  }
  return node;
}

/** A params validation failure, per offending field. */
export interface ParamsError {
  /** JSON-pointer-ish path of the field (`/amount`, `/to/0`); `/` is the params object itself. */
  path: string;
  message: string;
}

/** Turn ajv's errors into one entry per field, pointing at the field itself. */
export function toParamsErrors(errors: readonly ErrorObject[] | null | undefined): ParamsError[] {
  const out: ParamsError[] = [];
  for (const e of errors ?? []) {
    let path = e.instancePath;
    const params = e.params as { missingProperty?: string; additionalProperty?: string };
    let message = e.message ?? 'is invalid';
    if (e.keyword === 'required' && params.missingProperty !== undefined) {
      path = `${path}/${escapePointer(params.missingProperty)}`;
      message = 'is required';
    } else if (e.keyword === 'additionalProperties' && params.additionalProperty !== undefined) {
      path = `${path}/${escapePointer(params.additionalProperty)}`;
      message = 'is not an allowed property';
    }
    out.push({ path: path === '' ? '/' : path, message });
  }
  return out;
}

function escapePointer(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}
