import { describe, expect, it } from 'vitest';
import { createBufbuildCelEngine } from '../../bench/policy';
import { type CelEngine, CelCompileError, type PolicyActivation, createCelJsEngine, defaultCelEngine, evaluatePolicy, loadPolicyBundle } from '../../policy';

/**
 * Both CEL libraries behind the engine seam must agree on the semantics policies rely on;
 * the default is the faster one (see bench/policy.ts).
 */
const engines: [string, CelEngine][] = [
  ['@marcbachmann/cel-js', createCelJsEngine()],
  ['@bufbuild/cel', createBufbuildCelEngine()],
];

const activation = (params: Record<string, unknown>, extra: Partial<PolicyActivation> = {}): PolicyActivation => ({
  action: 'payments.transfer',
  params,
  resource: null,
  context: {},
  agent: 'bot',
  onBehalfOf: null,
  facts: { agent: { attributes: {} }, onBehalfOf: null },
  ...extra,
});

describe.each(engines)('CEL engine %s', (_name, engine) => {
  const run = (source: string, a: PolicyActivation) => engine.compile(source).evaluate(a);

  it('when params hold integer or fractional JS numbers, then comparisons with int and double literals work', () => {
    for (const [amount, small, large] of [
      [100, true, false],
      [99.5, true, false],
      [100.5, false, false],
      [10000, false, false],
      [10000.01, false, true],
      [25000, false, true],
    ] as const) {
      expect(run('params.amount <= 100', activation({ amount }))).toBe(small);
      expect(run('params.amount > 10000', activation({ amount }))).toBe(large);
      expect(run('params.amount > 10000.0', activation({ amount }))).toBe(large);
    }
    expect(run('params.amount == 42', activation({ amount: 42 }))).toBe(true);
    expect(run('params.amount * 2.0 > 100.0', activation({ amount: 60 }))).toBe(true);
  });

  it('when an expression uses strings, lists, maps and macros, then results match CEL semantics', () => {
    const a = activation({ to: 'a@example.com', tags: ['x', 'y'], nested: { n: 3 } }, { context: { hour: 9 }, onBehalfOf: 'alice' });
    expect(run('params.to.endsWith("@example.com") && "x" in params.tags', a)).toBe(true);
    expect(run('params.tags.exists(t, t == "y") && params.tags.all(t, size(t) == 1)', a)).toBe(true);
    expect(run('params.nested.n >= 3 && context.hour < 10 && onBehalfOf == "alice"', a)).toBe(true);
    expect(run('has(params.missing) || !has(params.nested.zz)', a)).toBe(true);
    expect(run('params.to.matches("(?i)^A@EXAMPLE")', a)).toBe(true);
  });

  it('when a field is missing or a type is wrong at runtime, then evaluation throws (the caller fails closed)', () => {
    expect(() => run('params.missing > 1', activation({}))).toThrow();
    expect(() => run('params.to.endsWith("x")', activation({ to: 5 }))).toThrow();
  });

  it('when an expression references an unknown variable or does not parse, then compile throws CelCompileError', () => {
    expect(() => engine.compile('user.id == "x"')).toThrow(CelCompileError);
    expect(() => engine.compile('params.amount >')).toThrow(CelCompileError);
    expect(() => engine.compile('[1].exists(x, x > y)')).toThrow(/y/);
    expect(engine.compile('[1, 2].exists(x, x > 1)').evaluate(activation({}))).toBe(true);
  });

  it('when a bundle is compiled with this engine, then decisions are the same as with the default engine', () => {
    const text = `actions:
  payments.transfer:
    owner: finance-ops
    category: financial
    params: { type: object }
    executor: { type: agent }
rules:
  - { id: small, action: payments.transfer, when: params.amount <= 100, decision: allow }
  - { id: large, action: "payments.*", when: params.amount > 10000, decision: require_approval }
  - { id: fx, action: "*", when: '!(params.currency in ["USD", "EUR"])', decision: deny }
`;
    const mine = loadPolicyBundle(text, { celEngine: engine });
    const reference = loadPolicyBundle(text);
    for (const params of [{ amount: 50, currency: 'USD' }, { amount: 50000.5, currency: 'EUR' }, { amount: 7, currency: 'JPY' }, { currency: 'USD' }]) {
      const input = { action: 'payments.transfer', params, agent: 'bot' };
      const a = evaluatePolicy(mine, input);
      const b = evaluatePolicy(reference, input);
      expect({ decision: a.decision, ruleIds: a.ruleIds, errors: a.errors.map((e) => e.ruleId) }).toEqual({
        decision: b.decision,
        ruleIds: b.ruleIds,
        errors: b.errors.map((e) => e.ruleId),
      });
    }
  });
});

describe('default engine', () => {
  it('when no engine is given, then bundles use @marcbachmann/cel-js (the faster one in bench/policy.ts)', () => {
    expect(defaultCelEngine().name).toBe('@marcbachmann/cel-js');
  });
});
