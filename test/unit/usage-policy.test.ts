import { describe, expect, it } from 'vitest';
import { evaluatePolicy, parsePolicyTestSuite, runPolicyTests, validatePolicyBundle } from '../../policy';

// Budgets in policy CEL (docs/policy.md "Usage"): the static scan, lint errors with line and
// column, and pure evaluation over figures passed in.
const bundle = (when: string, extra = '') => `
defaults: { decision: deny }
actions:
  payments.transfer:
    owner: finance
    category: financial
    params:
      type: object
      additionalProperties: false
      properties: { amount: { type: number }, to: { type: string }, meta: { type: object, properties: { fee: { type: number } } } }
    executor: { type: agent }
  payments.note:
    owner: finance
    category: financial
    params: { type: object, properties: { text: { type: string } } }
    executor: { type: agent }
rules:
  - id: budget
    action: payments.transfer
    when: ${when}
    decision: require_approval
  - id: ok
    action: payments.*
    decision: allow
${extra}`;

const errorsOf = (text: string) => {
  const r = validatePolicyBundle(text, { filename: 'b.yaml' });
  if (r.ok) throw new Error('expected errors');
  return r.errors;
};

describe('usage in policy CEL', () => {
  it('when a rule calls usage, then the bundle knows which figures each action needs', () => {
    const r = validatePolicyBundle(bundle('usage.sum("amount", "24h") + params.amount > 500 || usage.count("1h") >= 3 || usage.agent.count("90d") > 1000 || usage.sum("meta.fee", "1h") > 5.0'));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const calls = r.bundle.actions.get('payments.transfer')!.usage.map((c) => ({ kind: c.kind, window: c.window, windowMs: c.windowMs, path: 'path' in c ? c.path : undefined }));
    expect(calls).toEqual([
      { kind: 'sum', window: '24h', windowMs: 86_400_000, path: 'amount' },
      { kind: 'count', window: '1h', windowMs: 3_600_000, path: undefined },
      { kind: 'agent.count', window: '90d', windowMs: 90 * 86_400_000, path: undefined },
      { kind: 'sum', window: '1h', windowMs: 3_600_000, path: 'meta.fee' },
    ]);
    // Rules of other actions make no usage calls: nothing to gather for them.
    expect(r.bundle.actions.get('payments.note')!.usage).toEqual([]);
  });

  it('when a window is "1 fortnight", then lint reports it with line and column, on the window', () => {
    const [e] = errorsOf(bundle('usage.sum("amount", "1 fortnight") > 5.0'));
    expect(e).toMatchObject({ path: 'rules[0].when', line: 20, column: 31 });
    expect(e!.message).toContain('window "1 fortnight" is not a duration');
  });

  it('when a window is longer than 90 days, then lint refuses it', () => {
    expect(errorsOf(bundle('usage.count("91d") > 1'))[0]!.message).toContain('longer than 90d');
    expect(errorsOf(bundle('usage.agent.count("2160h1s") > 1'))[0]!.message).toContain('longer than 90d');
  });

  it('when a sum names a params path the schema does not have, or one that is not a number, then lint says which, with the column of the path', () => {
    const [missing] = errorsOf(bundle('usage.sum("amont", "24h") > 5.0'));
    expect(missing).toMatchObject({ line: 20, column: 21 });
    expect(missing!.message).toContain('params has no amont (it has amount, to, meta) in the params schema of payments.transfer');
    expect(errorsOf(bundle('usage.sum("to", "24h") > 5.0'))[0]!.message).toContain('params.to is string, not a number');
    expect(errorsOf(bundle('usage.sum("meta.tax", "24h") > 5.0'))[0]!.message).toContain('params has no meta.tax');
  });

  it('when arguments are not literals, or the call does not exist, then lint refuses the rule', () => {
    expect(errorsOf(bundle('usage.count(params.to) > 1'))[0]!.message).toContain('the window must be a string literal');
    expect(errorsOf(bundle('usage.sum(params.to, "1h") > 1.0'))[0]!.message).toContain('params path as a string literal');
    expect(errorsOf(bundle('usage.count(1) > 1'))[0]!.message).toMatch(/overload/);
    expect(errorsOf(bundle('usage.max("amount", "1h") > 1'))[0]!.message).toMatch(/overload/);
  });

  it('when a glob rule sums a path that only some matched actions have, then it loads (the others count 0)', () => {
    const r = validatePolicyBundle(bundle('params.amount > 1.0', `  - id: glob-budget
    action: payments.*
    when: usage.sum("amount", "24h") > 100.0
    decision: deny
`));
    expect(r.ok ? [] : r.errors).toEqual([]);
  });

  it('when figures are passed in, then evaluation reads them: a budget that fits allows, one that does not asks for approval', () => {
    const r = validatePolicyBundle(bundle('usage.sum("amount", "24h") + params.amount > 500 || usage.count("1h") >= 3'));
    if (!r.ok) throw new Error('bundle');
    const input = { action: 'payments.transfer', params: { amount: 100 }, agent: 'a' };
    expect(evaluatePolicy(r.bundle, { ...input, usage: { 'sum:amount:24h': 400, 'count:1h': 2 } }).decision).toBe('allow');
    const over = evaluatePolicy(r.bundle, { ...input, usage: { 'sum:amount:24h': 401, 'count:1h': 2 } });
    expect(over.decision).toBe('require_approval');
    expect(over.usage).toEqual({ 'sum:amount:24h': 401, 'count:1h': 2 });
    expect(evaluatePolicy(r.bundle, { ...input, usage: { 'sum:amount:24h': 0, 'count:1h': 3 } }).decision).toBe('require_approval');
  });

  it('when figures were not gathered, then a budget rule fails closed: it matches (never allows) and says why', () => {
    const r = validatePolicyBundle(bundle('usage.count("1h") >= 3'));
    if (!r.ok) throw new Error('bundle');
    const d = evaluatePolicy(r.bundle, { action: 'payments.transfer', params: { amount: 1 }, agent: 'a' });
    expect(d.decision).toBe('require_approval');
    expect(d.errors[0]!.message).toContain('usage.count("1h"): no usage figure was gathered');
  });

  it('when a policy test case gives usage figures by call, then they are used, and calls it leaves out are 0', () => {
    const r = validatePolicyBundle(bundle('usage.sum("amount", "24h") + params.amount > 500 || usage.count("1h") >= 3'));
    if (!r.ok) throw new Error('bundle');
    const suite = parsePolicyTestSuite(`
cases:
  - name: over
    input: { action: payments.transfer, params: { amount: 100 }, agent: a, usage: { 'sum("amount", "24h")': 450 } }
    expect: { decision: require_approval }
  - name: nothing recorded
    input: { action: payments.transfer, params: { amount: 100 }, agent: a }
    expect: { decision: allow }
  - name: rate
    input: { action: payments.transfer, params: { amount: 1 }, agent: a, usage: { 'count("1h")': 3 } }
    expect: { decision: require_approval }
`);
    if (!suite.ok) throw new Error(JSON.stringify(suite.errors));
    expect(runPolicyTests(r.bundle, suite.cases).map((x) => x.passed)).toEqual([true, true, true]);
    const bad = parsePolicyTestSuite(`
cases:
  - name: typo
    input: { action: payments.transfer, params: { amount: 1 }, agent: a, usage: { 'summ("amount", "1h")': 3 } }
    expect: { decision: allow }
`);
    expect(bad.ok).toBe(false);
  });
});
