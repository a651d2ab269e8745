import { describe, expect, it } from 'vitest';
import type { PolicyInput } from '../../domain/policy-types';
import {
  UnknownActionError,
  evaluatePolicy,
  loadPolicyBundle,
  sensitivePaths,
  validateActionParams,
} from '../../policy';

const CATALOG = `actions:
  payments.transfer:
    owner: finance-ops
    category: financial
    params:
      type: object
      required: [amount, currency, to]
      properties:
        amount: { type: number, exclusiveMinimum: 0 }
        currency: { type: string }
        to: { type: string, x-sensitive: true }
        card:
          type: object
          properties:
            number: { type: string, x-sensitive: true }
            holder: { type: string }
        beneficiaries:
          type: array
          items: { type: object, properties: { iban: { type: string, x-sensitive: true } } }
    executor: { type: http, url: "http://127.0.0.1:9000/transfers" }
  payments.refund:
    owner: finance-ops
    category: financial
    params: { type: object }
    executor: { type: http, url: "http://127.0.0.1:9000/refunds" }
  email.send:
    owner: comms
    category: external_communication
    params: { type: object }
    executor: { type: agent }
`;

const transfer = (amount: unknown, extra: Partial<PolicyInput> = {}): PolicyInput => ({
  action: 'payments.transfer',
  params: { amount, currency: 'USD', to: 'acme' },
  agent: 'ap-bot',
  ...extra,
});

describe('precedence', () => {
  const bundle = loadPolicyBundle(`${CATALOG}rules:
  - { id: allow-small, action: payments.transfer, when: params.amount <= 100, decision: allow, reason: small }
  - id: review-medium
    action: payments.transfer
    when: params.amount > 50
    decision: require_approval
    approval: { steps: [ { group: finance, timeout: 4h } ] }
  - id: review-large
    action: payments.transfer
    when: params.amount > 1000
    decision: require_approval
    approval: { steps: [ { group: finance, quorum: 2, timeout: 4h } ] }
  - { id: deny-huge, action: payments.transfer, when: params.amount > 100000, decision: deny, reason: too much }
  - { id: allow-usd, action: payments.transfer, when: params.currency == "USD", decision: allow }
`);

  it('when only allow rules match, then the decision is allow with every matching id in file order', () => {
    const d = evaluatePolicy(bundle, transfer(10));
    expect(d.decision).toBe('allow');
    expect(d.ruleIds).toEqual(['allow-small', 'allow-usd']);
    expect(d.reasons).toEqual(['small', 'allowed by rule allow-usd']);
    expect(d.plan).toBeUndefined();
  });

  it('when allow and require_approval both match, then approval wins', () => {
    const d = evaluatePolicy(bundle, transfer(80));
    expect(d.decision).toBe('require_approval');
    expect(d.ruleIds).toEqual(['allow-small', 'review-medium', 'allow-usd']);
    expect(d.plan!.steps[0]!.quorum).toBe(1);
  });

  it('when several require_approval rules match, then the first in file order gives the plan', () => {
    const d = evaluatePolicy(bundle, transfer(5000));
    expect(d.ruleIds).toEqual(['review-medium', 'review-large', 'allow-usd']);
    expect(d.plan).toEqual({ steps: [{ group: 'finance', quorum: 1, timeoutMs: 14_400_000, escalateTo: [] }], onTimeout: 'deny' });
  });

  it('when a deny matches, then it wins over everything and carries no plan', () => {
    const d = evaluatePolicy(bundle, transfer(200_000));
    expect(d.decision).toBe('deny');
    expect(d.ruleIds).toEqual(['review-medium', 'review-large', 'deny-huge', 'allow-usd']);
    expect(d.reasons).toContain('too much');
    expect(d.plan).toBeUndefined();
  });

  it('when no rule matches, then the default decides with a reason saying so', () => {
    const eur = evaluatePolicy(bundle, { ...transfer(20), params: { amount: 20, currency: 'EUR', to: 'x' } });
    expect(eur).toMatchObject({ decision: 'allow', ruleIds: ['allow-small'] });
    const email = evaluatePolicy(bundle, { action: 'email.send', params: {}, agent: 'a' });
    expect(email).toMatchObject({ decision: 'deny', ruleIds: [], reasons: ['no rule matched; default deny'] });
  });

  it('when a decision is made, then it carries version, executor, category and owner from the catalog', () => {
    const d = evaluatePolicy(bundle, transfer(10));
    expect(d).toMatchObject({
      version: bundle.version,
      executor: { type: 'http', url: 'http://127.0.0.1:9000/transfers' },
      category: 'financial',
      owner: 'finance-ops',
      errors: [],
    });
    expect(JSON.parse(JSON.stringify(d))).toEqual(d);
  });
});

describe('globs', () => {
  const bundle = loadPolicyBundle(`${CATALOG}rules:
  - { id: all-payments, action: "payments.*", decision: require_approval }
  - { id: everything, action: "*", when: agent == "rogue", decision: deny }
  - { id: refunds-and-transfers, action: "payments.*r*", decision: allow }
`);

  it('when a glob covers several actions, then it matches each of them and nothing else', () => {
    expect(evaluatePolicy(bundle, { action: 'payments.refund', params: {}, agent: 'a' }).ruleIds).toEqual([
      'all-payments',
      'refunds-and-transfers',
    ]);
    expect(evaluatePolicy(bundle, { action: 'email.send', params: {}, agent: 'a' }).ruleIds).toEqual([]);
  });

  it('when "*" matches, then it applies to every action', () => {
    expect(evaluatePolicy(bundle, { action: 'email.send', params: {}, agent: 'rogue' })).toMatchObject({
      decision: 'deny',
      ruleIds: ['everything'],
    });
  });
});

describe('default approval plan', () => {
  it('when a require_approval rule has no approval, then one step for the owner with the default timeout', () => {
    const bundle = loadPolicyBundle(`defaults: { decision: deny, approval: { timeout: 6h, onTimeout: allow } }
${CATALOG}rules:
  - { id: review, action: email.send, decision: require_approval }
`);
    expect(evaluatePolicy(bundle, { action: 'email.send', params: {}, agent: 'a' }).plan).toEqual({
      steps: [{ group: 'comms', quorum: 1, timeoutMs: 6 * 3_600_000, escalateTo: [] }],
      onTimeout: 'allow',
    });
  });

  it('when the default decision is require_approval, then the owner plan applies with 24h/deny defaults', () => {
    const bundle = loadPolicyBundle(`defaults: { decision: require_approval }\n${CATALOG}`);
    const d = evaluatePolicy(bundle, transfer(1));
    expect(d).toMatchObject({ decision: 'require_approval', ruleIds: [], reasons: ['no rule matched; default require_approval'] });
    expect(d.plan).toEqual({
      steps: [{ group: 'finance-ops', quorum: 1, timeoutMs: 86_400_000, escalateTo: [] }],
      onTimeout: 'deny',
    });
  });
});

describe('fail closed on CEL runtime errors', () => {
  const bundle = loadPolicyBundle(`defaults: { decision: allow }
${CATALOG}rules:
  - { id: allow-if-trusted, action: email.send, when: context.trusted == true, decision: allow }
  - { id: deny-if-flagged, action: email.send, when: params.flagged, decision: deny }
  - { id: review-if-external, action: email.send, when: params.to.endsWith("@other.org"), decision: require_approval }
`);

  it('when an allow rule reads a missing field, then it does not match and the error is reported', () => {
    const d = evaluatePolicy(bundle, { action: 'email.send', params: { flagged: false, to: 'a@example.com' }, agent: 'a' });
    expect(d.decision).toBe('allow'); // the default, not the rule
    expect(d.ruleIds).toEqual([]);
    expect(d.errors).toEqual([{ ruleId: 'allow-if-trusted', message: expect.stringContaining('trusted') }]);
  });

  it('when a deny rule reads a missing field, then it counts as matching', () => {
    const d = evaluatePolicy(bundle, { action: 'email.send', params: { to: 'a@example.com' }, context: { trusted: true }, agent: 'a' });
    expect(d.decision).toBe('deny');
    expect(d.ruleIds).toEqual(['allow-if-trusted', 'deny-if-flagged']);
    expect(d.errors.map((e) => e.ruleId)).toEqual(['deny-if-flagged']);
    expect(d.reasons[1]).toContain('treated as matching');
  });

  it('when a require_approval rule hits a type error, then it counts as matching and gives its plan', () => {
    const d = evaluatePolicy(bundle, { action: 'email.send', params: { flagged: false, to: 42 }, context: { trusted: true }, agent: 'a' });
    expect(d.decision).toBe('require_approval');
    expect(d.errors.map((e) => e.ruleId)).toEqual(['review-if-external']);
    expect(d.plan!.steps[0]!.group).toBe('comms');
  });

  it('when "when" yields a non-boolean, then it is an error and fails closed', () => {
    const d = evaluatePolicy(bundle, { action: 'email.send', params: { flagged: 'yes', to: 'a@example.com' }, context: { trusted: true }, agent: 'a' });
    expect(d.decision).toBe('deny');
    expect(d.errors).toEqual([{ ruleId: 'deny-if-flagged', message: expect.stringContaining('not a boolean') }]);
  });
});

describe('numbers in params', () => {
  const bundle = loadPolicyBundle(`${CATALOG}rules:
  - { id: small, action: payments.transfer, when: params.amount <= 100, decision: allow }
  - { id: large, action: payments.transfer, when: params.amount > 10000, decision: require_approval }
  - { id: exact, action: payments.transfer, when: params.amount == 42, decision: deny }
  - { id: scaled, action: payments.transfer, when: params.amount * 2.0 > 30000.5, decision: deny }
`);
  const ids = (amount: number) => evaluatePolicy(bundle, transfer(amount)).ruleIds;

  it('when amounts are integers or fractions around the thresholds, then int-literal comparisons are exact', () => {
    expect(ids(100)).toEqual(['small']);
    expect(ids(99.99)).toEqual(['small']);
    expect(ids(100.01)).toEqual([]);
    expect(ids(10000)).toEqual([]);
    expect(ids(10000.5)).toEqual(['large']);
    expect(ids(10001)).toEqual(['large']);
    expect(ids(42)).toEqual(['small', 'exact']);
    expect(ids(42.5)).toEqual(['small']);
    expect(ids(15001)).toEqual(['large', 'scaled']);
  });
});

describe('unknown actions', () => {
  const bundle = loadPolicyBundle(CATALOG);
  it('when the action is not in the catalog, then evaluatePolicy throws UnknownActionError', () => {
    expect(() => evaluatePolicy(bundle, { action: 'rockets.launch', params: {}, agent: 'a' })).toThrow(UnknownActionError);
    expect(() => validateActionParams(bundle, 'rockets.launch', {})).toThrow(UnknownActionError);
    expect(() => sensitivePaths(bundle, 'rockets.launch')).toThrow(/unknown action "rockets.launch"/);
  });
});

describe('params validation', () => {
  const bundle = loadPolicyBundle(CATALOG);

  it('when params match the schema, then ok', () => {
    expect(validateActionParams(bundle, 'payments.transfer', { amount: 5, currency: 'USD', to: 'x' })).toEqual({ ok: true });
  });

  it('when params break the schema, then every field error is reported with its path', () => {
    const result = validateActionParams(bundle, 'payments.transfer', { amount: -5, currency: 7, card: { number: 1 } });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toEqual(
      expect.arrayContaining([
        { path: '/to', message: 'is required' },
        { path: '/amount', message: 'must be > 0' },
        { path: '/currency', message: 'must be string' },
        { path: '/card/number', message: 'must be string' },
      ]),
    );
  });

  it('when params are not an object, then the error is at the root', () => {
    expect(validateActionParams(bundle, 'payments.transfer', [1, 2])).toEqual({
      ok: false,
      errors: [{ path: '/', message: 'must be object' }],
    });
  });

  it('when properties are marked x-sensitive, then sensitivePaths lists them', () => {
    expect(sensitivePaths(bundle, 'payments.transfer')).toEqual(['/to', '/card/number', '/beneficiaries/*/iban']);
    expect(sensitivePaths(bundle, 'email.send')).toEqual([]);
  });
});

describe('inputs', () => {
  const bundle = loadPolicyBundle(`${CATALOG}rules:
  - { id: solo, action: email.send, when: onBehalfOf == null, decision: require_approval }
  - { id: resource, action: email.send, when: resource != null && resource.kind == "thread", decision: allow }
`);

  it('when onBehalfOf and resource are absent, then they are null in CEL', () => {
    expect(evaluatePolicy(bundle, { action: 'email.send', params: {}, agent: 'a' }).ruleIds).toEqual(['solo']);
    expect(evaluatePolicy(bundle, { action: 'email.send', params: {}, agent: 'a', onBehalfOf: null }).ruleIds).toEqual(['solo']);
    expect(
      evaluatePolicy(bundle, { action: 'email.send', params: {}, agent: 'a', onBehalfOf: 'h', resource: { kind: 'thread' } }).ruleIds,
    ).toEqual(['resource']);
  });

  it('when evaluating, then the input is not modified', () => {
    const input: PolicyInput = { action: 'email.send', params: { nested: { a: [1] } }, agent: 'a', context: { x: 1 } };
    const copy = structuredClone(input);
    evaluatePolicy(bundle, input);
    expect(input).toEqual(copy);
  });
});
