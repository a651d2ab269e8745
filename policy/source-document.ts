/**
 * Shared by every YAML/JSON file the policy module reads (bundles, test suites): parse with
 * positions, and word zod issues for humans, each located at a line and column.
 */
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import type { PolicyIssue } from './errors';
import { type DocPath, SourceLocator, formatDocPath } from './source-locator';

/** Upper bound on YAML alias expansion (a "billion laughs" document fails instead of exploding). */
const MAX_ALIAS_COUNT = 100;

/**
 * Parse YAML/JSON text into plain data, collecting syntax errors. `data` is present only
 * when the text parsed cleanly; the returned collector is set up to locate later issues.
 */
export function parseSource(
  text: string,
  filename: string | undefined,
  what: string,
): { issues: IssueCollector; data?: unknown } {
  const issues = new IssueCollector(filename);
  if (typeof text !== 'string') {
    issues.addAt({ line: 1, column: 1 }, '(root)', `${what} source must be text`, 'pass the YAML or JSON file contents as a string');
    return { issues };
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, strict: true, merge: false });
  issues.locator = new SourceLocator(doc, lineCounter, text);

  for (const err of [...doc.errors, ...doc.warnings]) {
    const message = err.code === 'MULTIPLE_DOCS' ? `more than one YAML document in the ${what}` : firstLine(err.message);
    issues.addAt(issues.locator.positionOf(err.pos[0]), '(syntax)', `YAML: ${message}`, yamlHint(err.code));
  }
  if (issues.count === 0 && doc.contents === null) {
    issues.addAt({ line: 1, column: 1 }, '(root)', `empty ${what}`, 'the file has no content; see the examples in policies/');
  }
  if (issues.count > 0) return { issues };

  try {
    return { issues, data: doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) };
  } catch (err) {
    issues.addAt({ line: 1, column: 1 }, '(root)', `YAML: ${firstLine(errorText(err))}`, 'avoid deeply nested or excessive aliases (*anchor)');
    return { issues };
  }
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Collects issues for one source text and resolves their positions. */
export class IssueCollector {
  /** Set once the text has been parsed; until then issues are placed at 1:1. */
  locator: SourceLocator | undefined;
  private readonly issues: PolicyIssue[] = [];

  constructor(private readonly file: string | undefined) {}

  /** Number of issues collected so far. */
  get count(): number {
    return this.issues.length;
  }

  /**
   * Record an issue at a document path (`key: true` locates the key, not the value) or at
   * an absolute source offset (`offset`, used for positions inside CEL expressions).
   */
  add(path: DocPath, message: string, hint: string, opts: { key?: boolean; offset?: number } = {}): void {
    const pos =
      opts.offset !== undefined
        ? this.locator!.positionOf(opts.offset)
        : (this.locator?.locate(path, { key: opts.key }) ?? { line: 1, column: 1 });
    this.addAt(pos, formatDocPath(path), message, hint);
  }

  /** Record an issue at an explicit position. */
  addAt(pos: { line: number; column: number }, path: string, message: string, hint: string): void {
    const issue: PolicyIssue = { path, line: pos.line, column: pos.column, message, hint };
    if (this.file !== undefined) issue.file = this.file;
    this.issues.push(issue);
  }

  /** All issues in source order. */
  sorted(): PolicyIssue[] {
    return [...this.issues].sort((a, b) => a.line - b.line || a.column - b.column);
  }
}

/**
 * Turn one zod issue into a located, human-worded issue (several for unknown keys).
 * `root` is the schema `data` was parsed with; it tells which keys are allowed where.
 */
export function reportZodIssue(issue: z.core.$ZodIssue, data: unknown, issues: IssueCollector, root: z.ZodType): void {
  const path = issue.path.filter((s): s is string | number => typeof s !== 'symbol');
  const field = String(path[path.length - 1] ?? 'document');
  const value = valueAt(data, path);
  if (value === undefined && path.length > 0 && (issue.code === 'invalid_type' || issue.code === 'invalid_value')) {
    const expected =
      issue.code === 'invalid_value' ? `one of: ${issue.values.map(String).join(', ')}` : describeExpected(issue.expected);
    issues.add(path.slice(0, -1), `missing required key "${field}"`, `add "${field}" (${expected})`);
    return;
  }
  switch (issue.code) {
    case 'unrecognized_keys': {
      const allowed = allowedKeysAt(root, path, data);
      for (const key of issue.keys) {
        const suggestion = closest(key, allowed);
        issues.add(
          [...path, key],
          `unknown key "${key}"${suggestion ? ` (did you mean "${suggestion}"?)` : ''}`,
          allowed.length > 0 ? `allowed keys here: ${allowed.join(', ')}` : 'remove this key',
          { key: true },
        );
      }
      return;
    }
    case 'invalid_type': {
      issues.add(
        path,
        `${field} must be ${describeExpected(issue.expected)}, got ${describeValue(value)}`,
        issue.expected === 'int' ? 'write a whole number' : `change the value to ${describeExpected(issue.expected)}`,
      );
      return;
    }
    case 'invalid_value': {
      const values = issue.values.map((v) => String(v));
      issues.add(
        path,
        `invalid ${field} ${describeValue(value)}`,
        `${closest(String(value), values) ? `did you mean "${closest(String(value), values)}"? ` : ''}expected one of: ${values.join(', ')}`,
      );
      return;
    }
    case 'invalid_union': {
      const disc = (issue as { discriminator?: string; options?: unknown[] }).discriminator;
      const options = ((issue as { options?: unknown[] }).options ?? []).map(String);
      if (disc !== undefined) {
        if (value === undefined) {
          issues.add(path.slice(0, -1), `missing required key "${disc}"`, `add ${disc}: one of ${options.join(', ')}`);
        } else {
          issues.add(path, `unknown ${disc} ${describeValue(value)}`, `expected one of: ${options.join(', ')}`);
        }
      } else {
        issues.add(path, issue.message, 'see docs/policy.md for the expected shape');
      }
      return;
    }
    case 'invalid_format': {
      if (issue.format === 'url') {
        issues.add(path, `invalid URL ${describeValue(value)}`, 'write an absolute http(s) URL, e.g. http://127.0.0.1:9000/transfers');
      } else if (issue.format === 'regex' && path[path.length - 1] === 'id') {
        issues.add(path, `invalid rule id ${describeValue(value)}`, 'rule ids use letters, digits, ".", "_" and "-", e.g. large-transfers');
      } else {
        issues.add(path, `invalid ${field}: ${issue.message}`, `expected format ${issue.format}`);
      }
      return;
    }
    case 'too_small':
    case 'too_big': {
      const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
      const cmp = issue.code === 'too_small' ? 'at least' : 'at most';
      const message =
        issue.origin === 'array' || issue.origin === 'string'
          ? `${field} must have ${cmp} ${String(bound)} ${issue.origin === 'array' ? 'items' : 'characters'}`
          : `${field} must be ${cmp} ${String(bound)}, got ${describeValue(value)}`;
      issues.add(path, message, `use a value ${cmp} ${String(bound)}`);
      return;
    }
    case 'invalid_key': {
      const inner = issue.issues[0] as { message?: string; params?: { hint?: string } } | undefined;
      issues.add(path, inner?.message ?? `invalid key "${field}"`, inner?.params?.hint ?? 'rename this key', { key: true });
      return;
    }
    case 'custom': {
      const hint = (issue.params as { hint?: string } | undefined)?.hint ?? 'see docs/policy.md';
      issues.add(path, issue.message, hint);
      return;
    }
    default:
      issues.add(path, issue.message, 'see docs/policy.md for the expected shape');
  }
}

function yamlHint(code: string): string {
  switch (code) {
    case 'DUPLICATE_KEY':
      return 'each key may appear once per mapping; merge the two entries';
    case 'TAG_RESOLVE_FAILED':
    case 'BAD_TAG':
      return 'custom YAML tags are not supported in policy bundles; remove the tag';
    case 'MULTIPLE_DOCS':
      return 'a bundle is a single YAML document; remove the extra "---"';
    default:
      return 'fix the YAML/JSON syntax at this position';
  }
}

function describeExpected(expected: string): string {
  switch (expected) {
    case 'object':
    case 'record':
      return 'a mapping (object)';
    case 'array':
      return 'a list';
    case 'int':
      return 'an integer';
    default:
      return `a ${expected}`;
  }
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  return `${typeof value} ${String(value)}`;
}

function valueAt(data: unknown, path: DocPath): unknown {
  let node = data;
  for (const seg of path) {
    if (node === null || typeof node !== 'object') return undefined;
    if (!Object.hasOwn(node, seg)) return undefined;
    node = (node as Record<string | number, unknown>)[seg];
  }
  return node;
}

/** The keys the strict object at `path` accepts, found by walking the zod schema. */
function allowedKeysAt(root: z.ZodType, path: DocPath, data: unknown): string[] {
  type Def = { type: string; shape?: Record<string, { _zod: { def: Def } }>; innerType?: { _zod: { def: Def } }; valueType?: { _zod: { def: Def } }; element?: { _zod: { def: Def } }; options?: { _zod: { def: Def } }[]; values?: unknown[] };
  const unwrap = (def: Def, at: DocPath): Def => {
    for (;;) {
      if ((def.type === 'optional' || def.type === 'default' || def.type === 'nullable') && def.innerType) {
        def = def.innerType._zod.def;
      } else if (def.type === 'union' && def.options) {
        // Pick the union member whose literal `type` matches the data (executor kinds).
        const actual = (valueAt(data, at) as { type?: unknown } | undefined)?.type;
        const match = def.options.find((o) => o._zod.def.shape?.type?._zod.def.values?.includes(actual as never));
        def = (match ?? def.options[0]!)._zod.def;
      } else {
        return def;
      }
    }
  };
  let def = unwrap((root as unknown as { _zod: { def: Def } })._zod.def, []);
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!;
    let next: { _zod: { def: Def } } | undefined;
    if (def.type === 'object') next = def.shape?.[String(seg)];
    else if (def.type === 'record') next = def.valueType;
    else if (def.type === 'array') next = def.element;
    if (!next) return [];
    def = unwrap(next._zod.def, path.slice(0, i + 1));
  }
  return def.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}

/** The candidate within edit distance 2 of `word`, if any. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance && d > 0) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2 || a.length > 64 || b.length > 64) return 99;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** Report NaN/Infinity anywhere in the data (YAML allows `.inf`; JSON and hashing do not). */
export function checkFiniteNumbers(node: unknown, path: (string | number)[], issues: IssueCollector): void {
  if (typeof node === 'number') {
    if (!Number.isFinite(node)) {
      issues.add(path, `number ${String(node)} is not allowed`, 'bundles must be plain JSON data: use a finite number');
    }
    return;
  }
  if (node === null || typeof node !== 'object' || path.length > 64) return;
  if (Array.isArray(node)) node.forEach((v, i) => checkFiniteNumbers(v, [...path, i], issues));
  else for (const [k, v] of Object.entries(node)) checkFiniteNumbers(v, [...path, k], issues);
}
