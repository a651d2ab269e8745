/**
 * Policy test suites: example actions with the decision a bundle must give them, kept next
 * to the bundle as `<name>.test.yaml` and run by `countersign policy test`.
 *
 * ```yaml
 * cases:
 *   - name: small transfers go through
 *     input: { action: payments.transfer, params: { amount: 50, currency: USD, to: acme }, agent: bot }
 *     expect: { decision: allow, ruleIds: [small-transfers] }
 *   - name: gold agents send without approval
 *     input:
 *       action: email.send
 *       params: { to: a@example.com }
 *       agent: mailer
 *       facts: { agent: { attributes: { tier: gold } } }   # what admins stored on the principal
 *     expect: { decision: allow }
 * ```
 *
 * `input.facts` stands for the stored principals (CEL `facts`): `agent.attributes` (default `{}`)
 * and, only with `onBehalfOf`, `onBehalfOf.attributes` (default `{}`: a human who delegated to
 * the agent and has no attributes).
 *
 * Each case's params must satisfy the action's schema: a case that could never reach policy
 * evaluation (the API would refuse it with 422) fails, so suites double as schema examples.
 */
import { z } from 'zod';
import type { PolicyDecision, PolicyFacts } from '../domain/policy-types';
import { policyOutcomeSchema } from './bundle-schema';
import type { CompiledPolicyBundle } from './compiled-bundle';
import type { PolicyIssue } from './errors';
import { evaluatePolicy, validateActionParams } from './evaluate-policy';
import { checkFiniteNumbers, parseSource, reportZodIssue } from './source-document';
import { usageKey, type UsageFigures } from '../domain/usage';

/** A usage call as a test case names it (the text after `usage.`). */
const USAGE_CALL_TEXT = /^(?:(agent\.count|count)\(\s*"([^"]+)"\s*\)|sum\(\s*"([^"]+)"\s*,\s*"([^"]+)"\s*\))$/;

const principalFactsSchema = z.strictObject({ attributes: z.record(z.string(), z.unknown()).default({}) });

const testInputSchema = z
  .strictObject({
    action: z.string().min(1),
    params: z.record(z.string(), z.unknown()),
    resource: z.unknown().optional(),
    context: z.record(z.string(), z.unknown()).optional(),
    agent: z.string().min(1),
    onBehalfOf: z.string().nullable().optional(),
    /** The stored facts about the agent and the onBehalfOf human (CEL `facts`). */
    facts: z.strictObject({ agent: principalFactsSchema.optional(), onBehalfOf: principalFactsSchema.optional() }).optional(),
    /**
     * Usage figures (budgets), keyed by the call as a rule writes it after `usage.`:
     * `count("1h")`, `sum("amount", "24h")`, `agent.count("1h")`. Calls not given are 0.
     */
    usage: z
      .record(z.string().regex(USAGE_CALL_TEXT, 'a usage call as written after "usage.": count("1h"), sum("amount", "24h") or agent.count("1h")'), z.number().min(0))
      .optional(),
  })
  .superRefine((input, ctx) => {
    if (input.facts?.onBehalfOf !== undefined && !input.onBehalfOf) {
      ctx.addIssue({ code: 'custom', path: ['facts', 'onBehalfOf'], message: 'facts.onBehalfOf needs input.onBehalfOf: without a human there are no facts about one' });
    }
  });

/** The usage figures a test case stands for: every call the action's rules make, 0 unless given. */
function caseUsage(bundle: CompiledPolicyBundle, input: z.output<typeof testInputSchema>): UsageFigures {
  const figures: Record<string, number> = {};
  for (const call of bundle.actions.get(input.action)?.usage ?? []) figures[usageKey(call)] = 0;
  for (const [text, value] of Object.entries(input.usage ?? {})) {
    const m = USAGE_CALL_TEXT.exec(text);
    if (!m) continue;
    const key = m[1] ? usageKey({ kind: m[1] as 'count' | 'agent.count', window: m[2]! }) : usageKey({ kind: 'sum', path: m[3]!, window: m[4]! });
    figures[key] = value;
  }
  return figures;
}

/** The CEL `facts` a test case stands for. */
function caseFacts(input: z.output<typeof testInputSchema>): PolicyFacts {
  return {
    agent: { attributes: input.facts?.agent?.attributes ?? {} },
    onBehalfOf: input.onBehalfOf ? { attributes: input.facts?.onBehalfOf?.attributes ?? {} } : null,
  };
}

const testCaseSchema = z.strictObject({
  name: z.string().min(1),
  input: testInputSchema,
  expect: z.strictObject({
    decision: policyOutcomeSchema,
    ruleIds: z.array(z.string()).optional(),
  }),
});

/** The structure of a `<bundle>.test.yaml` file. */
export const policyTestSuiteSchema = z.strictObject({
  cases: z.array(testCaseSchema).min(1),
});

/** One test case, with the line it starts on. */
export type PolicyTestCase = z.output<typeof testCaseSchema> & { line: number };

/** Result of parsing a test suite file. */
export type PolicyTestSuiteParseResult = { ok: true; cases: PolicyTestCase[] } | { ok: false; errors: PolicyIssue[] };

/** Parse and validate a test suite; errors carry line and column like bundle errors. */
export function parsePolicyTestSuite(text: string, options: { filename?: string } = {}): PolicyTestSuiteParseResult {
  const { issues, data } = parseSource(text, options.filename, 'policy test suite');
  if (issues.count > 0) return { ok: false, errors: issues.sorted() };
  checkFiniteNumbers(data, [], issues);
  const parsed = policyTestSuiteSchema.safeParse(data);
  if (!parsed.success) for (const issue of parsed.error.issues) reportZodIssue(issue, data, issues, policyTestSuiteSchema);
  if (!parsed.success || issues.count > 0) return { ok: false, errors: issues.sorted() };

  const names = new Map<string, number>();
  parsed.data.cases.forEach((c, i) => {
    const first = names.get(c.name);
    if (first === undefined) names.set(c.name, i);
    else issues.add(['cases', i, 'name'], `duplicate case name "${c.name}"`, `cases[${first}] has the same name; names identify cases in the output`);
  });
  if (issues.count > 0) return { ok: false, errors: issues.sorted() };

  const cases = parsed.data.cases.map((c, i) => ({ ...c, line: issues.locator?.locate(['cases', i]).line ?? 1 }));
  return { ok: true, cases };
}

/** Outcome of one test case. */
export interface PolicyTestResult {
  name: string;
  /** Line of the case in its file. */
  line: number;
  passed: boolean;
  /** Human-readable differences (`decision: expected allow, got deny`); empty when passed. */
  failures: string[];
  /** The decision, when evaluation got that far. */
  actual?: PolicyDecision;
}

/** Run test cases against a compiled bundle. Never throws for a failing case. */
export function runPolicyTests(bundle: CompiledPolicyBundle, cases: readonly PolicyTestCase[]): PolicyTestResult[] {
  return cases.map((c) => {
    const base = { name: c.name, line: c.line };
    if (!bundle.actions.has(c.input.action)) {
      return { ...base, passed: false, failures: [`action "${c.input.action}" is not in the bundle's catalog`] };
    }
    const params = validateActionParams(bundle, c.input.action, c.input.params);
    if (!params.ok) {
      return {
        ...base,
        passed: false,
        failures: params.errors.map((e) => `params${e.path === '/' ? '' : e.path} ${e.message} (the API would refuse this action with 422)`),
      };
    }
    const { facts: _stored, usage: _usage, ...input } = c.input;
    const actual = evaluatePolicy(bundle, { ...input, facts: caseFacts(c.input), usage: caseUsage(bundle, c.input) });
    const failures: string[] = [];
    if (actual.decision !== c.expect.decision) {
      failures.push(`decision: expected ${c.expect.decision}, got ${actual.decision}`);
    }
    if (c.expect.ruleIds !== undefined && !sameList(c.expect.ruleIds, actual.ruleIds)) {
      failures.push(`ruleIds: expected ${JSON.stringify(c.expect.ruleIds)}, got ${JSON.stringify(actual.ruleIds)}`);
    }
    if (failures.length > 0) {
      failures.push(`reasons: ${JSON.stringify(actual.reasons)}`);
      for (const e of actual.errors) failures.push(`rule ${e.ruleId} failed to evaluate: ${e.message}`);
    }
    return { ...base, passed: failures.length === 0, failures, actual };
  });
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
