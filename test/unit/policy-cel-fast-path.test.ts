import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Environment } from '@marcbachmann/cel-js';
import { type PolicyActivation, createCelJsEngine } from '../../policy';
import { FALLBACK, compileFastPath } from '../../policy/cel-fast-path';

/**
 * The fast path must never change an answer: on any expression and any activation, the
 * engine with it returns exactly what plain cel-js returns (same value, or an error).
 */
const fast = createCelJsEngine();
const plain = createCelJsEngine({ fastPath: false });

const fieldRef = fc.constantFrom(
  'params.a',
  'params.b',
  'params.s',
  'params.n',
  'params.o.k',
  'params["s"]',
  'context.x',
  'resource.r',
  'agent',
  'action',
  'onBehalfOf',
  'facts.agent.attributes.t',
  'facts.onBehalfOf.attributes.t',
);
const literal = fc.constantFrom('0', '1', '-3', '5', '100', '9007199254740993', '1.5', '-0.0', '100.0', '"a"', '"USD"', '"\u{1F600}"', 'true', 'false', 'null');
const operand = fc.oneof(fieldRef, literal);

const expr: fc.Arbitrary<string> = fc.letrec<{ e: string }>((tie) => ({
  e: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.tuple(operand, fc.constantFrom('==', '!=', '<', '<=', '>', '>='), operand).map(([a, op, b]) => `${a} ${op} ${b}`),
    fc.tuple(operand, fc.array(literal, { minLength: 0, maxLength: 3 })).map(([a, xs]) => `${a} in [${xs.join(', ')}]`),
    fc.constantFrom('has(params.a)', 'has(params.o.k)', 'has(context.x)', 'has(resource.r)'),
    fc.tuple(operand, fc.constantFrom('startsWith', 'endsWith', 'contains', 'matches'), fc.constantFrom('"a"', '"U"', '"(?i)usd"', 'params.s', '"["'))
      .map(([a, m, b]) => `${a}.${m}(${b})`),
    fc.tuple(tie('e'), fc.constantFrom('&&', '||'), tie('e')).map(([a, op, b]) => `(${a}) ${op} (${b})`),
    tie('e').map((a) => `!(${a})`),
    fc.tuple(tie('e'), tie('e'), tie('e')).map(([c, a, b]) => `(${c}) ? (${a}) : (${b})`),
    operand,
  ),
})).e;

const value = fc.oneof(
  fc.integer({ min: -5, max: 200 }),
  fc.double({ min: -200, max: 200, noNaN: true }),
  fc.constantFrom(0, -0, 100, 100.5, 9007199254740992, 'a', 'USD', 'usd', '\u{1F600}', '', true, false, null),
  fc.constant({ k: 1 }),
  fc.constant([1, 'a']),
);

const activationArb: fc.Arbitrary<PolicyActivation> = fc.record({
  action: fc.constantFrom('payments.transfer', 'a'),
  params: fc.record({ a: value, b: value, s: value, n: value, o: fc.oneof(fc.constant({ k: 'a' }), fc.constant({ k: 5 }), value) }, { requiredKeys: [] }),
  resource: fc.oneof(fc.constant(null), fc.record({ r: value }, { requiredKeys: [] })),
  context: fc.record({ x: value }, { requiredKeys: [] }),
  agent: fc.constantFrom('a', 'bot'),
  onBehalfOf: fc.constantFrom(null, 'a', 'alice'),
  facts: fc.record({
    agent: fc.record({ attributes: fc.record({ t: value }, { requiredKeys: [] }) }),
    onBehalfOf: fc.oneof(fc.constant(null), fc.record({ attributes: fc.record({ t: value }, { requiredKeys: [] }) })),
  }),
});

function outcome(run: () => unknown): unknown {
  try {
    const v = run();
    return { value: typeof v === 'bigint' ? `${v}n` : v };
  } catch {
    return { error: true };
  }
}

describe('CEL fast path', () => {
  it('when any generated expression is evaluated on any activation, then the fast path agrees with cel-js', () => {
    let compiled = 0;
    let fastCompiled = 0;
    const env = new Environment({ unlistedVariablesAreDyn: false, homogeneousAggregateLiterals: false })
      .registerVariable('action', 'string')
      .registerVariable('params', 'map')
      .registerVariable('resource', 'dyn')
      .registerVariable('context', 'map')
      .registerVariable('agent', 'string')
      .registerVariable('onBehalfOf', 'dyn')
      .registerVariable('facts', 'map');
    fc.assert(
      fc.property(expr, fc.array(activationArb, { minLength: 1, maxLength: 5 }), (source, activations) => {
        let a: ReturnType<typeof fast.compile>;
        let b: ReturnType<typeof plain.compile>;
        try {
          a = fast.compile(source);
        } catch {
          expect(() => plain.compile(source)).toThrow();
          return;
        }
        b = plain.compile(source);
        compiled++;
        const parsed = env.parse(source.replace(/\.matches\(/g, '.contains('));
        if (parsed.check().valid && compileFastPath(parsed.ast, () => false) !== undefined) fastCompiled++;
        for (const act of activations) expect(outcome(() => a.evaluate(act))).toEqual(outcome(() => b.evaluate(act)));
      }),
      { numRuns: 2000 },
    );
    // The comparison is only meaningful if the fast path actually handled most expressions.
    expect(fastCompiled / compiled).toBeGreaterThan(0.5);
  });

  it('when an expression uses something outside the subset, then it is not compiled (cel-js runs it)', () => {
    const env = new Environment({ unlistedVariablesAreDyn: true });
    for (const source of ['params.t.exists(x, x == 1)', 'size(params.s) > 1', 'params.a + 1.0 > 2.0', 'params.n > 9007199254740993']) {
      const parsed = env.parse(source);
      expect(compileFastPath(parsed.ast, () => false), source).toBeUndefined();
    }
  });

  it('when a field is missing, then the fast path defers instead of answering', () => {
    const env = new Environment({ unlistedVariablesAreDyn: true });
    const program = compileFastPath(env.parse('params.amount > 5').ast, () => false)!;
    const act = { action: 'a', params: {}, resource: null, context: {}, agent: 'x', onBehalfOf: null, facts: { agent: { attributes: {} }, onBehalfOf: null } };
    expect(program(act)).toBe(FALLBACK);
    expect(program({ ...act, params: { amount: 6 } })).toBe(true);
  });
});
