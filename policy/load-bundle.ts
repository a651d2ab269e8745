/**
 * Load a policy bundle from YAML or JSON text (JSON is YAML): parse, validate, compile.
 *
 * Validation collects *every* problem, each with a line and column, rather than stopping at
 * the first: an operator fixing a bundle should see the whole list in one `policy lint`.
 * Structure is checked with zod; cross-references, CEL and JSON Schemas are checked even
 * where the structure around them is broken, so one typo does not hide the next.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../domain/canonical-json';
import { DEFAULT_AGENT_RESULT_TIMEOUT_MS, type ApprovalPlan, type ExecutorSpec } from '../domain/policy-types';
import { actionPatternProblem, compileActionPattern, isActionName } from './action-pattern';
import { type PolicyBundleDocument, type RuleDocument, policyBundleDocumentSchema } from './bundle-schema';
import { CLAIM_VARIABLES, type CelEngine, type CelProgram, POLICY_CEL_VARIABLES, defaultCelEngine } from './cel-engine';
import type { CompiledAction, CompiledPolicyBundle, CompiledRule } from './compiled-bundle';
import { parseDuration } from './duration';
import { CelCompileError, type PolicyIssue, PolicyValidationError } from './errors';
import { DEFAULT_INPUT_LIMITS, type InputLimits } from './input-limits';
import { collectSensitivePaths, compileParamsSchema, createParamsAjv } from './params-schema';
import { IssueCollector, checkFiniteNumbers, closest, parseSource, reportZodIssue } from './source-document';
import { usagePathProblem } from './usage';
import { distinctUsageCalls } from '../domain/usage';
import type { DocPath } from './source-locator';
import type { ValidateFunction } from 'ajv';

/** Options of {@link loadPolicyBundle} and {@link validatePolicyBundle}. */
export interface LoadPolicyOptions {
  /** Shown in every error (`file:line:col`) and kept on the compiled bundle. */
  filename?: string;
  /**
   * CEL implementation to compile `when` expressions with.
   * @default the module's default engine (`@marcbachmann/cel-js`)
   */
  celEngine?: CelEngine;
  /**
   * The text is a version that was activated before (read back from storage): bounds added to
   * admission since then (the CEL loop-nesting bound) are not applied, so an upgrade never makes
   * a stored version, and the actions decided under it, unloadable. Activation, lint and
   * tests always apply them.
   * @default false
   */
  admitted?: boolean;
}

/**
 * Result of {@link validatePolicyBundle}. `warnings` never stop a bundle from loading: they point
 * at rules that load but probably do not mean what they say (see {@link claimOnlyAllowRules}).
 */
export type PolicyValidationResult =
  | { ok: true; bundle: CompiledPolicyBundle; warnings: PolicyIssue[] }
  | { ok: false; errors: PolicyIssue[]; warnings: PolicyIssue[] };

/**
 * Parse, validate and compile a policy bundle.
 *
 * @param text YAML or JSON source.
 * @throws PolicyValidationError listing every problem, each with line and column.
 */
export function loadPolicyBundle(text: string, options: LoadPolicyOptions = {}): CompiledPolicyBundle {
  const result = validatePolicyBundle(text, options);
  if (!result.ok) throw new PolicyValidationError(result.errors);
  return result.bundle;
}

/**
 * Like {@link loadPolicyBundle} but never throws for a bad bundle: returns the compiled
 * bundle or the complete list of problems.
 */
export function validatePolicyBundle(text: string, options: LoadPolicyOptions = {}): PolicyValidationResult {
  const engine = options.celEngine ?? defaultCelEngine();
  const { issues, data } = parseSource(text, options.filename, 'policy bundle');
  if (issues.count > 0) return { ok: false, errors: issues.sorted(), warnings: [] };

  checkFiniteNumbers(data, [], issues);
  const parsed = policyBundleDocumentSchema.safeParse(data);
  if (!parsed.success) for (const issue of parsed.error.issues) reportZodIssue(issue, data, issues, policyBundleDocumentSchema);

  const compiled = compileParts(data, engine, issues, options.admitted ?? false);
  checkTargets(data, issues, options.admitted ?? false);
  const warnings = new IssueCollector(options.filename);
  warnings.locator = issues.locator;
  claimOnlyAllowRules(data, compiled, warnings);
  if (!parsed.success || issues.count > 0) return { ok: false, errors: issues.sorted(), warnings: warnings.sorted() };

  let version: string;
  try {
    version = createHash('sha256').update(canonicalJson(data)).digest('hex');
  } catch (err) {
    issues.addAt({ line: 1, column: 1 }, '(root)', errorText(err), 'a policy bundle must be plain JSON data');
    return { ok: false, errors: issues.sorted(), warnings: warnings.sorted() };
  }
  return { ok: true, bundle: buildBundle(parsed.data, version, options.filename, engine, compiled), warnings: warnings.sorted() };
}

// ---------------------------------------------------------------------------------------
// Cross-references, CEL and JSON Schemas (checked on the raw data, defensively)

interface CompiledParts {
  programs: Map<number, CelProgram>;
  validators: Map<string, ValidateFunction>;
}

/** Whether a URL's host is this machine (localhost, 127.0.0.0/8, ::1): plain http never leaves it. */
export function isLoopbackUrl(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return false;
  }
  return host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * Executor targets and webhooks (checked on the raw data, defensively): a signed request with the
 * action's params must not cross a network in clear, so `http://` is refused unless the URL is
 * loopback or the target says `insecure: true`; and one URL listed as several webhooks must name
 * one secret. The https rule is new: a stored (`admitted`) version is not held to it.
 */
function checkTargets(data: unknown, issues: IssueCollector, admitted: boolean): void {
  if (!isPlainObject(data)) return;
  const insecure = (target: Record<string, unknown>) =>
    typeof target.url === 'string' && target.url.toLowerCase().startsWith('http:') && !isLoopbackUrl(target.url) && target.insecure !== true;
  const httpHint = 'use https://, or, for a network you trust, add insecure: true to this target (the request carries the params and its signature in clear)';
  if (!admitted && isPlainObject(data.actions)) {
    for (const [name, spec] of Object.entries(data.actions)) {
      if (isPlainObject(spec) && isPlainObject(spec.executor) && spec.executor.type === 'http' && insecure(spec.executor)) {
        issues.add(['actions', name, 'executor', 'url'], `executor url ${String(spec.executor.url)} is plain http to another host`, httpHint);
      }
    }
  }
  const webhooks = isPlainObject(data.notifications) && isPlainObject(data.notifications.webhooks) ? data.notifications.webhooks : {};
  const secretOf = new Map<string, { secret: unknown; at: string }>();
  for (const [group, list] of Object.entries(webhooks)) {
    if (!Array.isArray(list)) continue;
    list.forEach((item: unknown, i) => {
      const target = typeof item === 'string' ? { url: item } : isPlainObject(item) ? item : undefined;
      if (!target || typeof target.url !== 'string') return;
      const path = typeof item === 'string' ? ['notifications', 'webhooks', group, i] : ['notifications', 'webhooks', group, i, 'url'];
      if (!admitted && insecure(target)) issues.add(path, `webhook ${target.url} is plain http to another host`, httpHint);
      const seen = secretOf.get(target.url);
      if (seen && seen.secret !== target.secret) {
        issues.add(path, `webhook ${target.url} is also listed at ${seen.at} with another secret`, 'a URL is one receiver: give every listing of it the same secret (or none)');
      } else if (!seen) secretOf.set(target.url, { secret: target.secret, at: `notifications.webhooks.${group}[${i}]` });
    });
  }
}

function compileParts(data: unknown, engine: CelEngine, issues: IssueCollector, admitted: boolean): CompiledParts {
  const parts: CompiledParts = { programs: new Map(), validators: new Map() };
  if (!isPlainObject(data)) return parts;

  const catalog = isPlainObject(data.actions) ? Object.keys(data.actions).filter(isActionName) : undefined;

  if (isPlainObject(data.actions)) {
    const ajv = createParamsAjv();
    for (const [name, spec] of Object.entries(data.actions)) {
      if (!isPlainObject(spec) || !isPlainObject(spec.params)) continue;
      const result = compileParamsSchema(ajv, spec.params);
      if (result.ok) parts.validators.set(name, result.validate);
      else for (const p of result.problems) issues.add(['actions', name, 'params', ...p.path], p.message, p.hint, { key: p.key });
    }
  }

  if (!Array.isArray(data.rules)) return parts;
  const firstById = new Map<string, number>();
  data.rules.forEach((rule: unknown, i: number) => {
    if (!isPlainObject(rule)) return;
    if (typeof rule.id === 'string') {
      const first = firstById.get(rule.id);
      if (first === undefined) firstById.set(rule.id, i);
      else {
        const at = issues.locator?.locate(['rules', first, 'id']);
        issues.add(['rules', i, 'id'], `duplicate rule id "${rule.id}"`, `rule ids must be unique; "${rule.id}" is already used by rules[${first}]${at ? ` (line ${at.line})` : ''}`);
      }
    }
    if (typeof rule.action === 'string' && catalog && actionPatternProblem(rule.action) === undefined) {
      const matches = compileActionPattern(rule.action);
      if (!catalog.some(matches)) {
        const suggestion = rule.action.includes('*') ? undefined : closest(rule.action, catalog);
        issues.add(
          ['rules', i, 'action'],
          `action pattern "${rule.action}" matches no action in the catalog`,
          suggestion ? `did you mean "${suggestion}"?` : `add the action under "actions", or use one of: ${catalog.slice(0, 8).join(', ')}${catalog.length > 8 ? ', …' : ''}`,
        );
      }
    }
    if (rule.approval !== undefined && typeof rule.decision === 'string' && rule.decision !== 'require_approval') {
      issues.add(['rules', i, 'approval'], `approval is only used by require_approval rules (this rule's decision is ${rule.decision})`, 'remove "approval" or set decision: require_approval');
    }
    if (typeof rule.when === 'string' && rule.when.length > 0) {
      const program = compileWhen(rule.when, ['rules', i, 'when'], engine, issues, admitted);
      if (program) parts.programs.set(i, program);
      if (program?.usage?.length && isPlainObject(data.actions)) checkUsagePaths(program, rule.action, data.actions, ['rules', i, 'when'], issues);
    }
  });
  return parts;
}

/**
 * A `usage.sum` path must name a number in the params schema of at least one catalog action the
 * rule applies to (actions without it count 0, so a glob rule may cover some that lack it); a
 * path none of them has is a typo.
 */
function checkUsagePaths(program: CelProgram, pattern: unknown, actions: Record<string, unknown>, path: DocPath, issues: IssueCollector): void {
  if (typeof pattern !== 'string' || actionPatternProblem(pattern) !== undefined) return;
  const matches = compileActionPattern(pattern);
  const schemas = Object.entries(actions).filter(([name, spec]) => matches(name) && isPlainObject(spec) && isPlainObject(spec.params));
  if (schemas.length === 0) return;
  for (const call of program.usage ?? []) {
    if (call.kind !== 'sum') continue;
    const problems = schemas.map(([name, spec]) => ({ name, problem: usagePathProblem((spec as { params: Record<string, unknown> }).params, call.path) }));
    const first = problems.find((p) => p.problem !== undefined);
    if (problems.every((p) => p.problem !== undefined) && first) {
      issues.add(path, `CEL: usage.sum(${JSON.stringify(call.path)}, ${JSON.stringify(call.window)}): ${first.problem} in the params schema of ${first.name}`, 'name a numeric property of the action\'s params, e.g. usage.sum("amount", "24h")', {
        offset: celOffset(path, call.at, issues),
      });
    }
  }
}

/**
 * Warn on every `allow` rule whose `when` reads agent claims and nothing else (CLAIM_VARIABLES:
 * `context`, `resource`, `onBehalfOf`): the agent sends whatever makes such a rule match, so it
 * lets the agent allow itself. A warning, not an error: a bundle may mean it (a low-risk action
 * the agent may always do when it says why), and stored bundles must keep loading.
 */
function claimOnlyAllowRules(data: unknown, parts: CompiledParts, warnings: IssueCollector): void {
  if (!isPlainObject(data) || !Array.isArray(data.rules)) return;
  data.rules.forEach((rule: unknown, i: number) => {
    if (!isPlainObject(rule) || rule.decision !== 'allow') return;
    const reads = parts.programs.get(i)?.variables;
    if (reads === undefined || reads.length === 0 || !reads.every((v) => CLAIM_VARIABLES.includes(v))) return;
    warnings.add(
      ['rules', i, 'when'],
      `allow rule${typeof rule.id === 'string' ? ` "${rule.id}"` : ''} reads only what the agent claims (${reads.join(', ')}): an agent can send whatever makes it match`,
      'also test something Countersign knows: facts.agent.attributes or facts.onBehalfOf.attributes (set by admins), agent, or params; see docs/policy.md "Claims and facts"',
    );
  });
}

function compileWhen(source: string, path: DocPath, engine: CelEngine, issues: IssueCollector, admitted: boolean): CelProgram | undefined {
  let program: CelProgram;
  try {
    program = engine.compile(source, { admitted });
  } catch (err) {
    const e = err instanceof CelCompileError ? err : new CelCompileError(errorText(err));
    issues.add(path, `CEL: ${e.message}`, celHint(e.message), { offset: celOffset(path, e.offset, issues) });
    return undefined;
  }
  if (program.resultType !== undefined && program.resultType !== 'bool' && program.resultType !== 'dyn') {
    issues.add(path, `CEL: "when" must be a boolean expression, this one is ${program.resultType}`, 'compare or test something, e.g. params.amount > 100');
    return undefined;
  }
  return program;
}

function celHint(message: string): string {
  if (/unknown variable|undeclared reference|unresolved/i.test(message)) {
    return `"when" may use only these variables: ${POLICY_CEL_VARIABLES.join(', ')}`;
  }
  if (/^usage\./.test(message)) {
    return 'usage calls take string literals: usage.count("1h"), usage.sum("amount", "24h"), usage.agent.count("1h"); windows are durations up to 90d (see docs/policy.md, "Usage: budgets and rate limits")';
  }
  if (/^facts(\.\w+)? has no field/.test(message)) {
    return 'facts holds what Countersign knows about the principals: facts.agent.attributes.<name>, facts.onBehalfOf.attributes.<name> (facts.onBehalfOf is null without onBehalfOf)';
  }
  if (/iterates \d+ levels deep/.test(message)) {
    return 'split the condition into rules, or into loops one after another (a.exists(..) && b.exists(..)), which add up instead of multiplying; see docs/policy-limits.md';
  }
  if (/overload/i.test(message)) {
    return 'check the operand types: JSON numbers are CEL doubles (compare freely, but write 2.0 in arithmetic); agent and action are strings';
  }
  return 'check the CEL syntax (https://github.com/google/cel-spec/blob/master/doc/langdef.md)';
}

/** Absolute source offset of a position inside a `when` expression, when it can be mapped exactly. */
function celOffset(path: DocPath, offset: number | undefined, issues: IssueCollector): number | undefined {
  const locator = issues.locator;
  if (offset === undefined || !locator) return undefined;
  const scalar = locator.scalarAt(path);
  if (!scalar) return undefined;
  const raw = locator.slice(scalar.start, scalar.end);
  if (raw.includes('\n')) return undefined;
  switch (scalar.type) {
    case 'PLAIN':
      return scalar.start + offset;
    case 'QUOTE_SINGLE':
      return raw.includes("''") ? undefined : scalar.start + 1 + offset;
    case 'QUOTE_DOUBLE':
      return raw.includes('\\') ? undefined : scalar.start + 1 + offset;
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------
// Building the compiled bundle (only reached when there are no issues)

function buildBundle(
  doc: PolicyBundleDocument,
  version: string,
  filename: string | undefined,
  engine: CelEngine,
  parts: CompiledParts,
): CompiledPolicyBundle {
  const defaultTimeoutMs = parseDuration(doc.defaults.approval.timeout)!;
  const defaultOnTimeout = doc.defaults.approval.onTimeout;
  const defaultLimits = resolveLimits(DEFAULT_INPUT_LIMITS, doc.defaults.limits);

  const rules: CompiledRule[] = doc.rules.map((rule, index) =>
    Object.freeze({
      id: rule.id,
      index,
      actionPattern: rule.action,
      whenSource: rule.when,
      when: parts.programs.get(index),
      decision: rule.decision,
      usage: Object.freeze([...(parts.programs.get(index)?.usage ?? [])]),
      reason: rule.reason ?? generatedReason(rule),
      plan: rule.approval ? approvalPlanOf(rule.approval) : undefined,
    }),
  );

  // Index: every catalog action gets the rules that can ever match it, in file order, so
  // evaluation cost depends on the rules for that action, not on the bundle's size.
  const candidates = new Map<string, CompiledRule[]>(Object.keys(doc.actions).map((name) => [name, []]));
  for (const rule of rules) {
    if (!rule.actionPattern.includes('*')) {
      candidates.get(rule.actionPattern)?.push(rule);
      continue;
    }
    const matches = compileActionPattern(rule.actionPattern);
    for (const [name, list] of candidates) if (matches(name)) list.push(rule);
  }

  const actions = new Map<string, CompiledAction>();
  for (const [name, spec] of Object.entries(doc.actions)) {
    const executor: ExecutorSpec =
      spec.executor.type === 'http'
        ? { type: 'http', url: spec.executor.url }
        : { type: 'agent', resultTimeoutMs: spec.executor.resultTimeout ? parseDuration(spec.executor.resultTimeout)! : DEFAULT_AGENT_RESULT_TIMEOUT_MS };
    const defaultPlan: ApprovalPlan = deepFreeze({
      steps: [{ group: spec.owner, quorum: 1, timeoutMs: defaultTimeoutMs, escalateTo: [] }],
      onTimeout: defaultOnTimeout,
    });
    actions.set(
      name,
      Object.freeze({
        name,
        owner: spec.owner,
        category: spec.category,
        executor: Object.freeze(executor),
        ...(spec.executor.type === 'http' && spec.executor.secret ? { executorSecret: spec.executor.secret } : {}),
        paramsSchema: spec.params,
        validateParams: parts.validators.get(name)!,
        sensitivePaths: Object.freeze(collectSensitivePaths(spec.params)),
        rules: Object.freeze(candidates.get(name)!),
        usage: Object.freeze(distinctUsageCalls(candidates.get(name)!.flatMap((r) => r.usage))),
        defaultPlan,
        limits: resolveLimits(defaultLimits, spec.limits),
      }),
    );
  }

  const webhooks: Record<string, readonly string[]> = {};
  const webhookSecrets: Record<string, string> = {};
  for (const [group, targets] of Object.entries(doc.notifications?.webhooks ?? {})) {
    webhooks[group] = Object.freeze(targets.map((t) => (typeof t === 'string' ? t : t.url)));
    for (const t of targets) if (typeof t !== 'string' && t.secret) webhookSecrets[t.url] = t.secret;
  }

  return Object.freeze({
    version,
    filename,
    document: doc,
    defaults: Object.freeze({
      decision: doc.defaults.decision,
      approval: Object.freeze({ timeoutMs: defaultTimeoutMs, onTimeout: defaultOnTimeout }),
      limits: defaultLimits,
    }),
    actions,
    rules: Object.freeze(rules),
    notifications: Object.freeze({
      webhooks: Object.freeze(webhooks),
      webhookSecrets: Object.freeze(webhookSecrets),
      slack: Object.freeze(Object.fromEntries(Object.entries(doc.notifications?.slack ?? {}).map(([g, s]) => [g, Object.freeze({ channel: s.channel })]))),
    }),
    celEngine: engine.name,
  });
}

/** `base` with the keys `override` sets replaced; the same object when it sets none. */
function resolveLimits(base: InputLimits, override: Partial<InputLimits> | undefined): InputLimits {
  if (override === undefined) return base;
  const merged: InputLimits = { ...base };
  for (const key of Object.keys(merged) as (keyof InputLimits)[]) {
    const value = override[key];
    if (value !== undefined) (merged as { -readonly [K in keyof InputLimits]: number })[key] = value;
  }
  return Object.freeze(merged);
}

function generatedReason(rule: RuleDocument): string {
  const verb = rule.decision === 'allow' ? 'allowed' : rule.decision === 'deny' ? 'denied' : 'approval required';
  return `${verb} by rule ${rule.id}`;
}

function approvalPlanOf(approval: NonNullable<RuleDocument['approval']>): ApprovalPlan {
  return deepFreeze({
    steps: approval.steps.map((step) => {
      const out: ApprovalPlan['steps'][number] = {
        group: step.group,
        quorum: step.quorum,
        timeoutMs: parseDuration(step.timeout)!,
        escalateTo: (step.escalateTo ?? []).map((e) => ({ group: e.group, timeoutMs: parseDuration(e.timeout)! })),
      };
      if (step.remindEvery !== undefined) out.remindEveryMs = parseDuration(step.remindEvery)!;
      return out;
    }),
    onTimeout: approval.onTimeout,
  });
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
