import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import {
  DEFAULT_INPUT_LIMITS,
  type PolicyIssue,
  PolicyValidationError,
  loadPolicyBundle,
  parseDuration,
  validatePolicyBundle,
} from '../../policy';

/** 1-based line/column of the n-th occurrence of `needle` in `text`. */
function positionOf(text: string, needle: string, occurrence = 1): { line: number; column: number } {
  let at = -1;
  for (let i = 0; i < occurrence; i++) {
    at = text.indexOf(needle, at + 1);
    if (at < 0) throw new Error(`"${needle}" not found ${occurrence} times`);
  }
  const before = text.slice(0, at);
  const line = before.split('\n').length;
  return { line, column: at - before.lastIndexOf('\n') };
}

function errorsOf(text: string, filename?: string): PolicyIssue[] {
  const result = validatePolicyBundle(text, { filename });
  if (result.ok) throw new Error('expected the bundle to be invalid');
  return result.errors;
}

function expectIssueAt(errors: PolicyIssue[], text: string, needle: string, message: RegExp, occurrence = 1): PolicyIssue {
  const issue = errors.find((e) => message.test(e.message));
  expect(issue, `no issue matching ${message}; got ${JSON.stringify(errors, null, 1)}`).toBeDefined();
  expect({ line: issue!.line, column: issue!.column }).toEqual(positionOf(text, needle, occurrence));
  expect(issue!.hint.length).toBeGreaterThan(0);
  return issue!;
}

const CATALOG = `actions:
  payments.transfer:
    owner: finance-ops
    category: financial
    params:
      type: object
      required: [amount]
      properties:
        amount: { type: number }
        currency: { type: string }
    executor: { type: http, url: "http://127.0.0.1:9000/transfers" }
  email.send:
    owner: comms
    category: external_communication
    params: { type: object }
    executor: { type: agent }
`;

describe('loading a valid bundle', () => {
  it('when a bundle omits defaults, then decision deny, a 24h/deny approval default and the built-in limits apply', () => {
    const bundle = loadPolicyBundle(CATALOG);
    expect(bundle.defaults).toEqual({
      decision: 'deny',
      approval: { timeoutMs: 24 * 3_600_000, onTimeout: 'deny' },
      limits: DEFAULT_INPUT_LIMITS,
    });
    expect(bundle.version).toMatch(/^[0-9a-f]{64}$/);
  });

  it('when a step has escalations and reminders, then the plan carries them in milliseconds', () => {
    const bundle = loadPolicyBundle(`${CATALOG}rules:
  - id: large
    action: payments.transfer
    decision: require_approval
    approval:
      steps:
        - group: finance
          quorum: 2
          timeout: 4h
          remindEvery: 1h
          escalateTo: [ { group: finance-leads, timeout: 1h30m }, { group: cfo, timeout: 2d } ]
        - { group: treasury, timeout: 45m }
      onTimeout: allow
`);
    expect(bundle.rules[0]!.plan).toEqual({
      steps: [
        {
          group: 'finance',
          quorum: 2,
          timeoutMs: 4 * 3_600_000,
          remindEveryMs: 3_600_000,
          escalateTo: [
            { group: 'finance-leads', timeoutMs: 90 * 60_000 },
            { group: 'cfo', timeoutMs: 2 * 86_400_000 },
          ],
        },
        { group: 'treasury', quorum: 1, timeoutMs: 45 * 60_000, escalateTo: [] },
      ],
      onTimeout: 'allow',
    });
  });

  it('when notifications list webhooks per group, then the compiled bundle exposes them', () => {
    const bundle = loadPolicyBundle(`${CATALOG}notifications:
  webhooks:
    finance: ["https://hooks.example.com/finance", "http://127.0.0.1:9000/notify"]
`);
    expect(bundle.notifications.webhooks).toEqual({
      finance: ['https://hooks.example.com/finance', 'http://127.0.0.1:9000/notify'],
    });
  });

  it('when the bundle is JSON, then it loads like YAML', () => {
    const json = JSON.stringify({
      actions: { 'x.y': { owner: 'ops', category: 'data_access', params: { type: 'object' }, executor: { type: 'agent' } } },
      rules: [{ id: 'r', action: 'x.*', decision: 'allow' }],
    });
    expect(loadPolicyBundle(json).rules.map((r) => r.id)).toEqual(['r']);
  });

  it('when a rule has a glob, then it is indexed under every catalog action it matches', () => {
    const bundle = loadPolicyBundle(`${CATALOG}rules:
  - { id: all, action: "*", decision: allow }
  - { id: payments, action: "payments.*", decision: deny }
  - { id: exact, action: email.send, decision: deny }
`);
    expect(bundle.actions.get('payments.transfer')!.rules.map((r) => r.id)).toEqual(['all', 'payments']);
    expect(bundle.actions.get('email.send')!.rules.map((r) => r.id)).toEqual(['all', 'exact']);
  });
});

describe('bundle version', () => {
  const yaml = `${CATALOG}rules:
  - id: small
    action: payments.transfer
    when: params.amount <= 100   # cheap ones
    decision: allow
`;

  it('when the same document is reformatted (comments, key order, flow style, JSON), then the version is the same', () => {
    const reordered = `rules:
  - { decision: allow, when: "params.amount <= 100", action: payments.transfer, id: small }
actions:
  email.send: { executor: { type: agent }, params: { type: object }, category: external_communication, owner: comms }
  payments.transfer:
    executor: { url: "http://127.0.0.1:9000/transfers", type: http }
    params: { properties: { currency: { type: string }, amount: { type: number } }, required: [amount], type: object }
    category: financial
    owner: finance-ops
`;
    const a = loadPolicyBundle(yaml).version;
    expect(loadPolicyBundle(reordered).version).toBe(a);
    expect(loadPolicyBundle(JSON.stringify(YAML.parse(yaml), null, 2)).version).toBe(a);
  });

  it('when anything in the document changes, then the version changes', () => {
    const a = loadPolicyBundle(yaml).version;
    expect(loadPolicyBundle(yaml.replace('<= 100', '<= 101')).version).not.toBe(a);
    expect(loadPolicyBundle(yaml.replace('owner: comms', 'owner: comms2')).version).not.toBe(a);
  });
});

describe('validation errors carry line and column', () => {
  it('when a key is unknown, then the error points at the key and suggests the right one', () => {
    const text = `${CATALOG}rules:
  - id: r
    action: payments.transfer
    decision: require_approval
    approval:
      steps: [ { group: finance, timeout: 4h, reamindEvery: 1h } ]
`;
    const issue = expectIssueAt(errorsOf(text), text, 'reamindEvery', /unknown key "reamindEvery"/);
    expect(issue.message).toContain('did you mean "remindEvery"');
    expect(issue.path).toBe('rules[0].approval.steps[0].reamindEvery');
  });

  it('when a group name is malformed, then the error points at the value', () => {
    const text = CATALOG.replace('owner: comms', 'owner: Comms Team');
    expectIssueAt(errorsOf(text), text, 'Comms Team', /invalid group name "Comms Team"/);
  });

  it('when a webhook group name is malformed, then the error points at the key', () => {
    const text = `${CATALOG}notifications:\n  webhooks:\n    Finance!: ["http://x.example.com"]\n`;
    expectIssueAt(errorsOf(text), text, 'Finance!', /invalid group name "Finance!"/);
  });

  it('when an action glob is malformed, then the error points at the pattern', () => {
    const text = `${CATALOG}rules:\n  - { id: r, action: "payments.[a-z]", decision: deny }\n`;
    expectIssueAt(errorsOf(text), text, '"payments.[a-z]"', /invalid character "\[" in action pattern/);
  });

  it('when a rule names an action missing from the catalog, then the error points at it with a suggestion', () => {
    const text = `${CATALOG}rules:\n  - { id: r, action: payments.transfers, decision: deny }\n  - { id: g, action: "refunds.*", decision: deny }\n`;
    const errors = errorsOf(text);
    const exact = expectIssueAt(errors, text, 'payments.transfers', /"payments.transfers" matches no action/);
    expect(exact.hint).toContain('payments.transfer');
    expectIssueAt(errors, text, '"refunds.*"', /"refunds\.\*" matches no action/);
  });

  it('when CEL has a syntax error, then the column points inside the expression', () => {
    const text = `${CATALOG}rules:\n  - id: r\n    action: payments.transfer\n    when: params.amount > && true\n    decision: deny\n`;
    const issue = errorsOf(text).find((e) => e.path === 'rules[0].when')!;
    expect(issue.message).toMatch(/^CEL: /);
    const exprStart = positionOf(text, 'params.amount >');
    expect(issue.line).toBe(exprStart.line);
    expect(issue.column).toBeGreaterThan(exprStart.column);
  });

  it('when CEL references an unknown variable, then the error names it and lists the allowed ones', () => {
    const text = `${CATALOG}rules:\n  - id: r\n    action: payments.transfer\n    when: "user.amount > 5"\n    decision: deny\n`;
    const issue = expectIssueAt(errorsOf(text), text, 'user.amount', /Unknown variable: user/);
    expect(issue.hint).toContain('action, params, resource, context, agent, onBehalfOf');
  });

  it('when CEL is not boolean, then the rule is refused', () => {
    const text = `${CATALOG}rules:\n  - id: r\n    action: payments.transfer\n    when: agent + "x"\n    decision: deny\n`;
    expectIssueAt(errorsOf(text), text, 'agent + "x"', /must be a boolean expression/);
  });

  it('when a matches() pattern is not valid RE2, then the rule is refused at load', () => {
    const text = `${CATALOG}rules:\n  - id: r\n    action: email.send\n    when: agent.matches("a(?=b)")\n    decision: deny\n`;
    expectIssueAt(errorsOf(text), text, '"a(?=b)"', /invalid RE2 regular expression/);
  });

  it('when a duration is malformed, then the error points at it', () => {
    const text = `${CATALOG}rules:
  - id: r
    action: payments.transfer
    decision: require_approval
    approval: { steps: [ { group: finance, timeout: 4 hours } ] }
`;
    const issue = expectIssueAt(errorsOf(text), text, '4 hours', /invalid duration "4 hours"/);
    expect(issue.hint).toContain('30s, 15m, 4h, 2d');
  });

  it('when a params schema is invalid JSON Schema, then the error points into the schema', () => {
    const text = CATALOG.replace('amount: { type: number }', 'amount: { type: numbr }');
    expectIssueAt(errorsOf(text), text, 'numbr', /invalid JSON Schema: \/properties\/amount\/type/);
  });

  it('when a params schema uses an unknown keyword, then strict mode refuses it at the keyword', () => {
    const text = CATALOG.replace('currency: { type: string }', 'currency: { type: string, sensitive: true }');
    expectIssueAt(errorsOf(text), text, 'sensitive', /unknown keyword: "sensitive"/);
  });

  it('when a rule id is used twice, then the second one is reported', () => {
    const text = `${CATALOG}rules:\n  - { id: same, action: email.send, decision: deny }\n  - { id: same, action: email.send, decision: allow }\n`;
    expectIssueAt(errorsOf(text), text, 'same', /duplicate rule id "same"/, 2);
  });

  it('when the YAML itself is broken, then the syntax error has a position', () => {
    const text = `${CATALOG}rules:\n  - { id: r, action: email.send, decision: deny\n`;
    const [issue] = errorsOf(text);
    expect(issue!.message).toMatch(/^YAML: /);
    expect(issue!.line).toBeGreaterThan(1);
  });

  it('when a key is duplicated, then the duplicate is reported', () => {
    const text = `${CATALOG}rules: []\nrules: []\n`;
    expectIssueAt(errorsOf(text), text, 'rules', /YAML: Map keys must be unique/, 2);
  });

  it('when a required key is missing, then the error names it at the enclosing mapping', () => {
    const text = CATALOG.replace('    category: external_communication\n', '');
    const issue = errorsOf(text).find((e) => /missing required key "category"/.test(e.message))!;
    expect(issue.path).toBe('actions["email.send"]');
    expect(issue.line).toBe(positionOf(text, 'owner: comms').line);
  });

  it('when there are many problems, then all are reported in source order with the file name', () => {
    const text = `defaults: { decision: maybe }
${CATALOG.replace('owner: comms', 'owner: COMMS')}rules:
  - { id: r, action: nope, decision: deny, when: "x > 1" }
`;
    const errors = errorsOf(text, 'bad.yaml');
    expect(errors.length).toBeGreaterThanOrEqual(4);
    expect(errors.every((e) => e.file === 'bad.yaml')).toBe(true);
    const order = errors.map((e) => e.line * 10_000 + e.column);
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });

  it('when loadPolicyBundle meets a bad bundle, then it throws PolicyValidationError with every error', () => {
    const text = CATALOG.replace('owner: comms', 'owner: COMMS').replace('category: financial', 'category: money');
    try {
      loadPolicyBundle(text, { filename: 'x.yaml' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(PolicyValidationError);
      expect((err as PolicyValidationError).name).toBe('PolicyValidationError');
      expect((err as PolicyValidationError).errors).toHaveLength(2);
      expect((err as Error).message).toContain('x.yaml:');
    }
  });

  it('when approval is given on an allow rule, then it is refused', () => {
    const text = `${CATALOG}rules:\n  - id: r\n    action: email.send\n    decision: allow\n    approval: { steps: [ { group: comms, timeout: 1h } ] }\n`;
    expectIssueAt(errorsOf(text), text, '{ steps', /approval is only used by require_approval rules/);
  });

  it('when a number is not finite, then it is refused (no canonical form)', () => {
    const text = CATALOG.replace('amount: { type: number }', 'amount: { type: number, maximum: .inf }');
    expectIssueAt(errorsOf(text), text, '.inf', /number Infinity is not allowed/);
  });
});

describe('parseDuration', () => {
  it('when given units and combinations, then it returns milliseconds', () => {
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('15m')).toBe(900_000);
    expect(parseDuration('4h')).toBe(14_400_000);
    expect(parseDuration('2d')).toBe(172_800_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
  });

  it('when given zero, junk, or the wrong order, then it returns undefined', () => {
    for (const bad of ['', '0s', '4', 'h', '1.5h', '30m1h', '-1h', '1 h', '4hours']) expect(parseDuration(bad)).toBeUndefined();
  });
});
