import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runPolicyCommand } from '../../cli/commands/policy';
import type { PolicyFacts } from '../../domain/policy-types';
import {
  PolicyValidationError,
  createCelJsEngine,
  evaluatePolicy,
  loadPolicyBundle,
  parsePolicyTestSuite,
  runPolicyTests,
  validatePolicyBundle,
} from '../../policy';

// The CEL variable `facts` (what Countersign knows about the principals) next to the claims an
// agent sends (context, resource, onBehalfOf): docs/policy.md, "Claims and facts".

const CATALOG = `actions:
  email.send:
    owner: comms
    category: external_communication
    params: { type: object, properties: { to: { type: string } } }
    executor: { type: agent }
`;

const GOLD = `${CATALOG}rules:
  - { id: gold-agents, action: email.send, when: 'facts.agent.attributes.tier == "gold"', decision: allow }
`;

const facts = (agent: Record<string, unknown>, onBehalfOf: Record<string, unknown> | null = null): PolicyFacts => ({
  agent: { attributes: agent },
  onBehalfOf: onBehalfOf && { attributes: onBehalfOf },
});

describe('facts in evaluation', () => {
  const bundle = loadPolicyBundle(GOLD);

  it('when the stored attribute says gold, then the rule allows, and the decision records the facts it saw', () => {
    const d = evaluatePolicy(bundle, { action: 'email.send', params: {}, agent: 'mailer', facts: facts({ tier: 'gold' }) });
    expect(d).toMatchObject({ decision: 'allow', ruleIds: ['gold-agents'], facts: facts({ tier: 'gold' }) });
  });

  it('when only the agent claims gold (context.tier), then the claim is ignored and the default decides', () => {
    const d = evaluatePolicy(bundle, { action: 'email.send', params: {}, agent: 'mailer', context: { tier: 'gold' }, facts: facts({ tier: 'silver' }) });
    expect(d).toMatchObject({ decision: 'deny', ruleIds: [] });
    // Without facts the agent has no attributes: the allow rule fails to evaluate and so does not match.
    const none = evaluatePolicy(bundle, { action: 'email.send', params: {}, agent: 'mailer', context: { tier: 'gold' } });
    expect(none).toMatchObject({ decision: 'deny', ruleIds: [], facts: facts({}) });
    expect(none.errors).toEqual([{ ruleId: 'gold-agents', message: expect.stringMatching(/tier/) }]);
  });

  it('when the action names no human, then facts.onBehalfOf is null; with one, it holds their attributes', () => {
    const b = loadPolicyBundle(`${CATALOG}rules:
  - { id: solo, action: email.send, when: facts.onBehalfOf == null, decision: require_approval }
  - { id: for-sales, action: email.send, when: 'facts.onBehalfOf != null && facts.onBehalfOf.attributes.team == "sales"', decision: allow }
`);
    expect(evaluatePolicy(b, { action: 'email.send', params: {}, agent: 'a' })).toMatchObject({ decision: 'require_approval', ruleIds: ['solo'] });
    expect(evaluatePolicy(b, { action: 'email.send', params: {}, agent: 'a', onBehalfOf: 'ivy', facts: facts({}, { team: 'sales' }) })).toMatchObject({
      decision: 'allow',
      ruleIds: ['for-sales'],
    });
  });

  it('when the fast path is off, then facts decide the same way', () => {
    const slow = loadPolicyBundle(GOLD, { celEngine: createCelJsEngine({ fastPath: false }) });
    for (const tier of ['gold', 'silver', 5, null]) {
      const input = { action: 'email.send', params: {}, agent: 'm', facts: facts({ tier }) };
      expect(evaluatePolicy(slow, input).decision).toBe(evaluatePolicy(bundle, input).decision);
    }
  });

  it('when the facts are larger than the action allows, then it is denied before any rule runs, naming the facts path', () => {
    const small = loadPolicyBundle(`defaults: { limits: { contextBytes: 64 } }\n${GOLD}`);
    const d = evaluatePolicy(small, { action: 'email.send', params: {}, agent: 'm', facts: facts({ tier: 'gold', note: 'x'.repeat(100) }) });
    expect(d).toMatchObject({ decision: 'deny', ruleIds: [], limitBreach: { limit: 'contextBytes', path: expect.stringMatching(/^\/facts/) } });
  });
});

describe('facts at load time', () => {
  it.each([
    ['facts.agnt.attributes.tier == "gold"', /facts has no field "agnt"/],
    ['facts["owner"] == null', /facts has no field "owner"/],
    ['facts.agent.tier == "gold"', /facts.agent has no field "tier"; read facts.agent.attributes/],
    ['has(facts.onBehalfOf.groups)', /facts.onBehalfOf has no field "groups"/],
  ])('when a rule reads %s, then the bundle does not load, with line, column and a hint', (when, message) => {
    const r = validatePolicyBundle(`${CATALOG}rules:\n  - id: r\n    action: email.send\n    when: '${when}'\n    decision: allow\n`);
    expect(r.ok).toBe(false);
    const issue = (r as { errors: { message: string; line: number; column: number; hint: string }[] }).errors[0]!;
    expect(issue.message).toMatch(message);
    expect(issue.line).toBe(10);
    expect(issue.column).toBeGreaterThan(10);
    expect(issue.hint).toMatch(/facts\.agent\.attributes/);
  });

  it('when a macro variable is named facts, then its fields are not checked as the facts variable', () => {
    expect(() => loadPolicyBundle(`${CATALOG}rules:\n  - { id: r, action: email.send, when: 'params.list.exists(facts, facts.x == 1)', decision: deny }\n`)).not.toThrow();
  });

  it('when a rule reads facts as shaped, then it loads', () => {
    expect(() =>
      loadPolicyBundle(`${CATALOG}rules:
  - id: r
    action: email.send
    when: has(facts.agent.attributes.tier) && facts.agent.attributes["tier"] == "gold" && (facts.onBehalfOf == null || "eu" in facts.onBehalfOf.attributes.regions)
    decision: allow
`),
    ).not.toThrow();
  });
});

describe('policy lint on rules that read only claims', () => {
  const lint = (rules: string) => validatePolicyBundle(`${CATALOG}rules:\n${rules}`);

  it('when an allow rule reads only context, resource or onBehalfOf, then a warning points at its when', () => {
    const r = lint(`  - id: trusts-the-agent
    action: email.send
    when: has(context.owner) && onBehalfOf != null && context.owner == onBehalfOf
    decision: allow
`);
    expect(r.ok).toBe(true);
    expect(r.warnings).toEqual([
      expect.objectContaining({ path: 'rules[0].when', line: 10, column: 11, message: expect.stringContaining('allow rule "trusts-the-agent" reads only what the agent claims (context, onBehalfOf)') }),
    ]);
  });

  it('when an allow rule also reads facts, params, agent or action, or the rule is not an allow, then there is no warning', () => {
    for (const rule of [
      `{ id: a, action: email.send, when: 'has(context.t) && facts.agent.attributes.tier == "gold"', decision: allow }`,
      `{ id: b, action: email.send, when: 'has(context.t) && params.to.endsWith("@example.com")', decision: allow }`,
      `{ id: c, action: email.send, when: 'has(resource.x) && agent == "mailer"', decision: allow }`,
      `{ id: d, action: email.send, when: 'has(context.risk)', decision: deny }`,
      `{ id: e, action: email.send, when: 'has(context.risk)', decision: require_approval }`,
      `{ id: f, action: email.send, decision: allow }`,
    ]) {
      expect(lint(`  - ${rule}\n`).warnings, rule).toEqual([]);
    }
  });

  it('when a macro variable shadows params, then the rule still counts as reading only claims', () => {
    const r = lint(`  - { id: g, action: email.send, when: 'context.list.exists(params, params == "x")', decision: allow }\n`);
    expect(r.warnings).toHaveLength(1);
  });

  it('when countersign policy lint runs on such a bundle, then it prints file:line:col: warning: and still exits 0', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-facts-'));
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, 'claims.yaml');
    fs.writeFileSync(file, `${CATALOG}rules:\n  - id: r\n    action: email.send\n    when: has(context.ticket)\n    decision: allow\n`);
    let stdout = '';
    let stderr = '';
    const code = await runPolicyCommand(['lint', file], { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } });
    expect(code).toBe(0);
    expect(stdout).toMatch(/^ok: version /);
    expect(stderr).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:10:11: warning: allow rule "r" reads only what the agent claims \\(context\\)`));
  });
});

describe('facts in policy test suites', () => {
  const bundle = loadPolicyBundle(GOLD);

  it('when a case gives the agent facts, then they decide; without them the agent has none', () => {
    const suite = parsePolicyTestSuite(`cases:
  - name: gold
    input: { action: email.send, params: {}, agent: m, facts: { agent: { attributes: { tier: gold } } } }
    expect: { decision: allow, ruleIds: [gold-agents] }
  - name: claimed gold
    input: { action: email.send, params: {}, agent: m, context: { tier: gold } }
    expect: { decision: deny }
`);
    if (!suite.ok) throw new PolicyValidationError(suite.errors);
    expect(runPolicyTests(bundle, suite.cases).map((r) => [r.name, r.passed])).toEqual([
      ['gold', true],
      ['claimed gold', true],
    ]);
  });

  it('when a case gives onBehalfOf facts without onBehalfOf, then the suite is malformed, with a line', () => {
    const suite = parsePolicyTestSuite(`cases:
  - name: x
    input: { action: email.send, params: {}, agent: m, facts: { onBehalfOf: { attributes: {} } } }
    expect: { decision: deny }
`);
    expect(suite.ok).toBe(false);
    expect((suite as { errors: { message: string; line: number }[] }).errors[0]).toMatchObject({ line: 3, message: expect.stringContaining('needs input.onBehalfOf') });
  });
});
