/**
 * The tiny seam between the policy module and a CEL implementation. Rules are compiled
 * once at bundle load; evaluation calls `program.evaluate(activation)` per candidate rule.
 *
 * The default engine is `@marcbachmann/cel-js`: in bench/policy.ts it evaluates the same
 * rules ~5x faster than `@bufbuild/cel` (whose adapter lives in the benchmark), and it
 * type-checks expressions against declared variables at load time.
 *
 * Regular expressions: CEL's `matches` is RE2 (linear time, `(?i)` flags). cel-js runs
 * `matches` with JS RegExp (backtracking: a policy pattern plus an agent-chosen string could
 * stall the process), so this adapter rewrites `matches` calls to an RE2-backed function
 * from `@bufbuild/re2` and checks literal patterns at load time.
 *
 * Speed: simple conditions also get a pre-compiled fast path (see cel-fast-path.ts) that
 * answers the common cases without the interpreter and defers to cel-js for everything else.
 *
 * Cost: cel-js has no runtime budget (no cost limit, no iteration cap, no timeout): its
 * `limits` option bounds only the parser (expression size and nesting, literal sizes), set
 * explicitly below. A rule's running time is therefore set by its input, which the policy
 * module bounds before any rule runs (input-limits.ts: list length, key count, depth, bytes),
 * and by how deeply the rule iterates, bounded here at load time ({@link MAX_ITERATION_NESTING}):
 * with both, a rule costs at most about `listItems ^ 2` steps. The fast path (cel-fast-path.ts)
 * compiles no loops, so its cost is linear in the expression.
 *
 * Numbers: JSON numbers in `params`/`context` arrive as JS numbers, which both engines treat
 * as CEL `double`. Comparisons mix int and double freely (`params.amount <= 100` works for
 * 100 and 99.5), but CEL has no mixed arithmetic: write `params.amount * 2.0`, not `* 2`.
 */
import { type ASTNode, Environment } from '@marcbachmann/cel-js';
import { RE2JS } from '@bufbuild/re2';
import type { PolicyFacts } from '../domain/policy-types';
import type { UsageCall } from '../domain/usage';
import { FALLBACK, compileFastPath } from './cel-fast-path';
import { CelCompileError } from './errors';
import { AgentUsageView, UsageView, findUsageCalls } from './usage';

/** The variables a rule's `when` may reference; anything else is a load-time error. */
export const POLICY_CEL_VARIABLES = ['action', 'params', 'resource', 'context', 'agent', 'onBehalfOf', 'facts', 'usage'] as const;

/** A variable of {@link POLICY_CEL_VARIABLES}. */
export type PolicyCelVariable = (typeof POLICY_CEL_VARIABLES)[number];

/**
 * The variables whose values the proposing agent chooses and Countersign cannot check: what it
 * says about the world (`context`, `resource`) and whom it says it acts for (`onBehalfOf`: a
 * human who delegated to it, but which of them is the agent's pick). `params` are not in the
 * list: they are the action itself, what reviewers approve and the executor performs. `agent`,
 * `action` and `facts` are known to Countersign. `policy lint` warns on an `allow` rule that
 * reads nothing else (docs/policy.md, "Claims and facts").
 */
export const CLAIM_VARIABLES: readonly PolicyCelVariable[] = Object.freeze(['context', 'resource', 'onBehalfOf']);

/** The keys of `facts`, and of each principal in it (the CEL variable's shape, checked at load). */
const FACTS_PRINCIPALS = new Set(['agent', 'onBehalfOf']);
const FACTS_FIELDS = new Set(['attributes']);

/** The values bound to {@link POLICY_CEL_VARIABLES} for one evaluation. */
export interface PolicyActivation {
  action: string;
  params: Record<string, unknown>;
  resource: unknown;
  context: Record<string, unknown>;
  agent: string;
  onBehalfOf: string | null;
  /** Trusted facts from the principal store (domain/policy-types.ts PolicyFacts). */
  facts: PolicyFacts;
  /** The usage figures gathered for this evaluation (policy/usage.ts); absent: every usage call fails (closed). */
  usage?: UsageView;
}

/** A compiled CEL expression. */
export interface CelProgram {
  /** Static result type when the engine knows it (`bool`, `dyn`, `int`, …). */
  readonly resultType: string | undefined;
  /**
   * The variables of {@link POLICY_CEL_VARIABLES} the expression reads (macro variables that
   * shadow one are not counted), when the engine reports them: `policy lint` uses them.
   */
  readonly variables?: readonly PolicyCelVariable[];
  /**
   * The `usage` calls the expression makes (budgets and rate limits), found statically: the
   * policy activity gathers exactly these figures before it evaluates. Empty when none.
   */
  readonly usage?: readonly UsageCall[];
  /**
   * Evaluate against one activation.
   * @throws Error on a CEL runtime error (missing key, no such overload, …).
   */
  evaluate(activation: PolicyActivation): unknown;
}

/** Options of {@link CelEngine.compile}. */
export interface CompileOptions {
  /**
   * The expression belongs to a bundle version that was activated before: bounds added to
   * admission since then (the loop-nesting bound) are not applied, so an upgrade can never make
   * a stored version unloadable (its actions would be stuck). New bundles always meet them.
   * @default false
   */
  admitted?: boolean;
}

/** A CEL implementation behind the policy module. */
export interface CelEngine {
  /** Library name, for benchmarks and diagnostics. */
  readonly name: string;
  /**
   * Parse and check an expression over {@link POLICY_CEL_VARIABLES}.
   * @throws CelCompileError on syntax errors, unknown variables or static type errors, and, unless
   * `options.admitted`, on rules that break an admission bound ({@link MAX_ITERATION_NESTING}).
   */
  compile(source: string, options?: CompileOptions): CelProgram;
}

/**
 * Parser bounds for `when` expressions (cel-js `limits`), written out rather than inherited so
 * a library upgrade cannot loosen them. They bound the rule text only, never the data a rule
 * runs over: no policy condition comes near them (the largest bundled rule has about 40 nodes).
 */
export const CEL_PARSE_LIMITS = Object.freeze({
  /** Nodes in one expression. cel-js default: 100,000. */
  maxAstNodes: 10_000,
  /** Nesting of calls, selections, indexes and literals. cel-js default: 250. */
  maxDepth: 64,
  /** Items in one list literal (`x in ["a", "b"]`). cel-js default: 1,000. */
  maxListElements: 1_000,
  /** Entries in one map literal. cel-js default: 1,000. */
  maxMapEntries: 1_000,
  /** Arguments of one call. cel-js default: 32. */
  maxCallArguments: 32,
});

/**
 * How deeply a `when` may iterate: a macro (`all`, `exists`, `exists_one`, `map`, `filter`)
 * inside another's body, `x in list` over a list that is not a literal (a linear scan), or
 * `matches` (RE2 in JS is slow enough per call to count as one).
 * `params.columns.exists(c, c in resource.piiColumns)` is 2; a third level would make a rule's
 * cost `listItems ^ 3` (2.1 million steps at the default 128), which no input limit can keep
 * within a request's time. Sequential loops (`a.all(..) && b.all(..)`) add, not multiply.
 */
export const MAX_ITERATION_NESTING = 2;

/** Local copy: a module-level import is read through a getter on every use once transpiled. */
const FALLBACK_VALUE = FALLBACK;

/** Internal name the `matches` calls are rewritten to (same length, so offsets stay valid). */
const RE2_MATCHES = 'matchRE';

/** Options of {@link createCelJsEngine}. */
export interface CelJsEngineOptions {
  /**
   * Compile simple conditions (field lookups, comparisons, `&&`/`||`, `in` literal lists,
   * string tests) to a JS function each; whatever it cannot answer exactly is re-run in cel-js.
   * @default true
   */
  fastPath?: boolean;
}

/** Create the `@marcbachmann/cel-js` engine (the default). */
export function createCelJsEngine(options: CelJsEngineOptions = {}): CelEngine {
  const useFastPath = options.fastPath ?? true;
  const regexCache = new Map<string, RE2JS>();
  const re2Test = (text: string, pattern: string): boolean => {
    let re = regexCache.get(pattern);
    if (re === undefined) {
      try {
        re = RE2JS.compile(pattern);
      } catch (err) {
        throw new Error(`invalid regular expression ${JSON.stringify(pattern)}: ${err instanceof Error ? err.message : String(err)}`);
      }
      // Patterns are nearly always literals; the bound only matters for dynamic ones.
      if (regexCache.size >= 1000) regexCache.clear();
      regexCache.set(pattern, re);
    }
    return re.test(text);
  };

  // Undeclared identifiers are errors at check time, so a typo like `parms.amount` fails the
  // bundle load instead of failing (closed) on every evaluation.
  const env = new Environment({ unlistedVariablesAreDyn: false, homogeneousAggregateLiterals: false, limits: { ...CEL_PARSE_LIMITS } })
    .registerVariable('action', 'string')
    .registerVariable('params', 'map')
    .registerVariable('resource', 'dyn')
    .registerVariable('context', 'map')
    .registerVariable('agent', 'string')
    .registerVariable('onBehalfOf', 'dyn')
    .registerVariable('facts', 'map')
    // Budgets: `usage.count("1h")`, `usage.sum("amount", "24h")`, `usage.agent.count("1h")`,
    // answered from figures gathered before evaluation (policy/usage.ts).
    .registerType('AgentUsage', { ctor: AgentUsageView, fields: {} })
    .registerType('Usage', { ctor: UsageView, fields: { agent: 'AgentUsage' } })
    .registerVariable('usage', 'Usage')
    .registerFunction('Usage.count(string): int', (u: UsageView, window: string) => u.count(window))
    .registerFunction('Usage.sum(string, string): double', (u: UsageView, path: string, window: string) => u.sum(path, window))
    .registerFunction('AgentUsage.count(string): int', (u: AgentUsageView, window: string) => u.count(window))
    .registerFunction(`string.${RE2_MATCHES}(string): bool`, re2Test)
    .registerFunction(`${RE2_MATCHES}(string, string): bool`, re2Test);

  const parseChecked = (source: string, admitted = false) => {
    let parsed: ReturnType<Environment['parse']>;
    try {
      parsed = env.parse(source);
    } catch (err) {
      throw toCompileError(err);
    }
    // check() also marks the AST as checked, so evaluation skips the per-call type check.
    const checked = parsed.check();
    if (!checked.valid) throw toCompileError(checked.error);
    const factsProblem = factsShapeProblem(parsed.ast);
    if (factsProblem) throw new CelCompileError(factsProblem.message, factsProblem.offset);
    const usage = findUsageCalls(parsed.ast);
    if (usage.problem) throw new CelCompileError(usage.problem.message, usage.problem.offset);
    const nesting = admitted ? { depth: 0, offset: undefined } : iterationNesting(parsed.ast);
    if (nesting.depth > MAX_ITERATION_NESTING) {
      throw new CelCompileError(
        `iterates ${nesting.depth} levels deep (loops inside loops: all/exists/exists_one/map/filter, "in" over a list, matches); at most ${MAX_ITERATION_NESTING}, so a rule's cost stays within limits.listItems^${MAX_ITERATION_NESTING}`,
        nesting.offset,
      );
    }
    return { parsed, type: checked.type };
  };

  return {
    name: useFastPath ? '@marcbachmann/cel-js' : '@marcbachmann/cel-js (no fast path)',
    compile(source, options) {
      // Check the expression as written (errors point at the user's text), then swap in RE2.
      const admitted = options?.admitted ?? false;
      let { parsed, type } = parseChecked(source, admitted);
      const calls = findMatchesCalls(parsed.ast, source);
      if (calls.length > 0) {
        let rewritten = source;
        for (const call of calls) {
          if (call.literalPattern !== undefined) {
            try {
              RE2JS.compile(call.literalPattern);
            } catch (err) {
              throw new CelCompileError(`invalid RE2 regular expression ${JSON.stringify(call.literalPattern)}: ${err instanceof Error ? err.message : String(err)}`, call.patternOffset);
            }
          }
          rewritten = rewritten.slice(0, call.nameOffset) + RE2_MATCHES + rewritten.slice(call.nameOffset + 'matches'.length);
        }
        ({ parsed, type } = parseChecked(rewritten, admitted));
        if (findMatchesCalls(parsed.ast, rewritten).length > 0) {
          throw new CelCompileError('could not route matches() to the RE2 engine; write it as text.matches("pattern")');
        }
      }
      // The parsed function is already bound to its environment: hand it out as is (no wrapper
      // call on the hot path).
      const slow = parsed as unknown as CelProgram['evaluate'];
      const fast = useFastPath ? compileFastPath(parsed.ast, re2Test) : undefined;
      const variables = referencedVariables(parsed.ast);
      const usage = findUsageCalls(parsed.ast).calls;
      if (fast === undefined) return { resultType: type, variables, usage, evaluate: slow };
      return {
        resultType: type,
        variables,
        usage,
        evaluate: (activation) => {
          const value = fast(activation);
          return value === FALLBACK_VALUE ? slow(activation) : value;
        },
      };
    },
  };
}

const ITERATING_MACROS = new Set(['all', 'exists', 'exists_one', 'map', 'filter']);

/**
 * Functions that read their whole text argument (CEL's standard string functions and `size`,
 * which counts code points of a string): inside two loops, one over a long string would cost
 * listItems² times its length.
 */
const TEXT_SCANS = new Set(['size', 'contains', 'startsWith', 'endsWith', 'lowerAscii', 'upperAscii', 'trim', 'replace', 'split', 'join', 'indexOf', 'lastIndexOf', 'substring', 'charAt', 'string', 'bytes']);

/**
 * The deepest nesting of iteration in an expression (see {@link MAX_ITERATION_NESTING}) and
 * where the innermost loop of that nesting starts. Recursion is fine here: the parser's
 * `maxDepth` bounds the AST's depth.
 */
function iterationNesting(node: ASTNode): { depth: number; offset: number | undefined } {
  let best = { depth: 0, offset: undefined as number | undefined };
  const deeper = (candidate: { depth: number; offset: number | undefined }) => {
    if (candidate.depth > best.depth) best = candidate;
  };
  if (node.op === 'rcall' && ITERATING_MACROS.has(node.args[0]) && node.args[2].length >= 2) {
    deeper(iterationNesting(node.args[1]));
    // The body runs once per item: one level more than whatever it contains.
    let body = { depth: 0, offset: undefined as number | undefined };
    for (const arg of node.args[2].slice(1)) {
      const inner = iterationNesting(arg);
      if (inner.depth > body.depth) body = inner;
    }
    deeper({ depth: body.depth + 1, offset: body.offset ?? node.range?.start });
    return best;
  }
  // A scan: `in` over a list that is not a literal; `matches` (RE2 in JS costs microseconds
  // per call, enough to count as a loop over the text).
  if (node.op === 'in' && node.args[1].op !== 'list') deeper({ depth: 1, offset: node.range?.start });
  if ((node.op === 'rcall' || node.op === 'call') && node.args[0] === 'matches') deeper({ depth: 1, offset: node.range?.start });
  // Also a scan: a function whose cost grows with the text it reads (`size` counts code points),
  // called on a value that is not written in the rule.
  if (node.op === 'rcall' && TEXT_SCANS.has(node.args[0]) && node.args[1].op !== 'value') deeper({ depth: 1, offset: node.range?.start });
  if (node.op === 'call' && TEXT_SCANS.has(node.args[0]) && node.args[1].some((a: ASTNode) => a.op !== 'value')) deeper({ depth: 1, offset: node.range?.start });
  if (node.op === 'value' || node.op === 'id') return best;
  const visit = (child: unknown): void => {
    if (Array.isArray(child)) for (const c of child) visit(c);
    else if (child !== null && typeof child === 'object' && 'op' in child) deeper(iterationNesting(child as ASTNode));
  };
  visit(node.args);
  return best;
}

const DECLARED = new Set<string>(POLICY_CEL_VARIABLES);

/**
 * The declared variables an expression reads, in {@link POLICY_CEL_VARIABLES} order. A macro's
 * iteration variable (`c` in `list.exists(c, …)`) is not a read, even when it shadows a declared
 * name inside the macro's body.
 */
function referencedVariables(root: ASTNode): PolicyCelVariable[] {
  const found = new Set<string>();
  const visit = (node: unknown, bound: ReadonlySet<string>): void => {
    if (Array.isArray(node)) {
      for (const child of node) visit(child, bound);
      return;
    }
    if (node === null || typeof node !== 'object' || !('op' in node)) return;
    const n = node as ASTNode;
    if (n.op === 'value') return;
    if (n.op === 'id') {
      if (DECLARED.has(n.args) && !bound.has(n.args)) found.add(n.args);
      return;
    }
    if (n.op === 'rcall' && ITERATING_MACROS.has(n.args[0]) && n.args[2].length >= 2 && n.args[2][0]?.op === 'id') {
      visit(n.args[1], bound);
      const inner = new Set(bound).add(n.args[2][0].args as string);
      visit(n.args[2].slice(1), inner);
      return;
    }
    visit(n.args, bound);
  };
  visit(root, new Set());
  return POLICY_CEL_VARIABLES.filter((v) => found.has(v));
}

/**
 * Whether the expression reads `facts` as it is shaped: `facts.agent` or `facts.onBehalfOf`,
 * then `.attributes`. `facts` is a CEL map (its attributes are free-form), so without this a
 * typo such as `facts.agnt` would load and then fail every evaluation.
 */
function factsShapeProblem(root: ASTNode): { message: string; offset: number | undefined } | undefined {
  /** The key of a `.key` or `["key"]` step, and the node it selects from. */
  const step = (n: ASTNode): { from: ASTNode; key: string } | undefined => {
    if (n.op === '.') return { from: n.args[0], key: n.args[1] };
    if (n.op === '[]' && n.args[1]?.op === 'value' && typeof n.args[1].args === 'string') return { from: n.args[0], key: n.args[1].args };
    return undefined;
  };
  const isFacts = (n: ASTNode, bound: ReadonlySet<string>) => n.op === 'id' && n.args === 'facts' && !bound.has('facts');
  let problem: { message: string; offset: number | undefined } | undefined;
  const visit = (node: unknown, bound: ReadonlySet<string>): void => {
    if (problem) return;
    if (Array.isArray(node)) {
      for (const child of node) visit(child, bound);
      return;
    }
    if (node === null || typeof node !== 'object' || !('op' in node)) return;
    const n = node as ASTNode;
    if (n.op === 'value' || n.op === 'id') return;
    const s = step(n);
    if (s && isFacts(s.from, bound) && !FACTS_PRINCIPALS.has(s.key)) {
      problem = { message: `facts has no field "${s.key}"; it has agent and onBehalfOf (each with attributes)`, offset: n.range?.start };
      return;
    }
    const outer = s && step(s.from);
    if (s && outer && isFacts(outer.from, bound) && FACTS_PRINCIPALS.has(outer.key) && !FACTS_FIELDS.has(s.key)) {
      problem = { message: `facts.${outer.key} has no field "${s.key}"; read facts.${outer.key}.attributes`, offset: n.range?.start };
      return;
    }
    if (n.op === 'rcall' && ITERATING_MACROS.has(n.args[0]) && n.args[2].length >= 2 && n.args[2][0]?.op === 'id') {
      visit(n.args[1], bound);
      visit(n.args[2].slice(1), new Set(bound).add(n.args[2][0].args as string));
      return;
    }
    visit(n.args, bound);
  };
  visit(root, new Set());
  return problem;
}

interface MatchesCall {
  /** Offset of the `matches` identifier in the source. */
  nameOffset: number;
  literalPattern: string | undefined;
  patternOffset: number | undefined;
}

/** Every `x.matches(p)` / `matches(x, p)` call in the AST, with where its name is in the source. */
function findMatchesCalls(root: ASTNode, source: string): MatchesCall[] {
  const calls: MatchesCall[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const child of node) visit(child);
      return;
    }
    if (node === null || typeof node !== 'object' || !('op' in node)) return;
    const n = node as ASTNode;
    let patternNode: ASTNode | undefined;
    let searchFrom: number | undefined;
    if (n.op === 'rcall' && n.args[0] === 'matches' && n.args[2].length === 1) {
      searchFrom = n.args[1].range.end;
      patternNode = n.args[2][0];
    } else if (n.op === 'call' && n.args[0] === 'matches' && n.args[1].length === 2) {
      searchFrom = n.range.start;
      patternNode = n.args[1][1];
    }
    if (searchFrom !== undefined && patternNode !== undefined) {
      const at = source.indexOf('matches', searchFrom);
      if (at >= 0 && at < patternNode.range.start) {
        const literal = patternNode.op === 'value' && typeof patternNode.args === 'string' ? patternNode.args : undefined;
        calls.push({ nameOffset: at, literalPattern: literal, patternOffset: patternNode.range.start });
      }
    }
    if (n.op !== 'value' && n.op !== 'id') visit(n.args);
  };
  visit(root);
  return calls;
}

function toCompileError(err: unknown): CelCompileError {
  if (err instanceof Error) {
    const e = err as Error & { summary?: string; range?: { start: number } };
    return new CelCompileError(e.summary ?? e.message, e.range?.start);
  }
  return new CelCompileError(String(err));
}

/** Message of a CEL runtime error without the engine's multi-line source highlight. */
export function celErrorMessage(err: unknown): string {
  if (err instanceof Error) return (err as Error & { summary?: string }).summary ?? err.message.split('\n')[0]!;
  return String(err);
}

let defaultEngine: CelEngine | undefined;

/** The engine bundles are compiled with unless the caller passes another one. */
export function defaultCelEngine(): CelEngine {
  defaultEngine ??= createCelJsEngine();
  return defaultEngine;
}
