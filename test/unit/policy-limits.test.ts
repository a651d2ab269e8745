import { describe, expect, it } from 'vitest';
import type { PolicyInput } from '../../domain/policy-types';
import {
  DEFAULT_INPUT_LIMITS,
  type PolicyIssue,
  checkEvaluationLimits,
  checkValueLimits,
  evaluatePolicy,
  loadPolicyBundle,
  validateActionParams,
  validatePolicyBundle,
} from '../../policy';

const CATALOG = `actions:
  data.query:
    owner: data-platform
    category: data_access
    params:
      type: object
      properties:
        columns: { type: array, items: { type: string } }
        blocked: { type: array, items: { type: string } }
        sql: { type: string }
    executor: { type: agent }
  data.export:
    owner: data-platform
    category: data_access
    params: { type: object }
    executor: { type: agent }
`;

const RULES = `rules:
  - id: blocked-columns
    action: data.query
    when: params.columns.exists(c, c in params.blocked)
    decision: deny
    reason: blocked column
  - { id: rest, action: "data.*", decision: allow }
`;

const strings = (n: number, tag = 'c') => Array.from({ length: n }, (_, i) => `${tag}${i}`);

/** An array nested `depth` levels deep (`[[[…[1]…]]]`), built without recursion. */
function nestedArray(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

const query = (params: Record<string, unknown>, extra: Partial<PolicyInput> = {}): PolicyInput => ({
  action: 'data.query',
  params,
  agent: 'analyst-bot',
  ...extra,
});

function errorsOf(text: string): PolicyIssue[] {
  const result = validatePolicyBundle(text);
  if (result.ok) throw new Error('expected the bundle to be invalid');
  return result.errors;
}

/** 1-based line of the first occurrence of `needle`. */
const lineOf = (text: string, needle: string) => text.slice(0, text.indexOf(needle)).split('\n').length;

describe('limits in the bundle', () => {
  it('when a bundle sets no limits, then every action gets the built-in defaults', () => {
    const bundle = loadPolicyBundle(CATALOG);

    const limits = [...bundle.actions.values()].map((a) => a.limits);

    expect(limits).toEqual([DEFAULT_INPUT_LIMITS, DEFAULT_INPUT_LIMITS]);
    expect(bundle.defaults.limits).toEqual(DEFAULT_INPUT_LIMITS);
  });

  it('when defaults.limits and an action override both set keys, then the action gets the override, then the defaults, then the built-ins', () => {
    const text = `defaults:\n  limits: { listItems: 50, depth: 8 }\n${CATALOG.replace(
      '    executor: { type: agent }\n  data.export:',
      '    executor: { type: agent }\n    limits: { listItems: 2000, paramsBytes: 262144 }\n  data.export:',
    )}`;

    const bundle = loadPolicyBundle(text);

    expect(bundle.actions.get('data.query')!.limits).toEqual({ ...DEFAULT_INPUT_LIMITS, listItems: 2000, depth: 8, paramsBytes: 262_144 });
    expect(bundle.actions.get('data.export')!.limits).toEqual({ ...DEFAULT_INPUT_LIMITS, listItems: 50, depth: 8 });
  });

  it('when a limit is not a positive integer or its name is misspelt, then each error points at its line', () => {
    const text = `defaults:\n  limits: { listItems: 0 }\n${CATALOG.replace(
      '    executor: { type: agent }\n  data.export:',
      '    executor: { type: agent }\n    limits:\n      depth: 2.5\n      listItem: 10\n  data.export:',
    )}`;

    const errors = errorsOf(text);

    const at = (path: string) => errors.find((e) => e.path === path);
    expect(at('defaults.limits.listItems')?.line).toBe(lineOf(text, 'listItems: 0'));
    expect(at('actions["data.query"].limits.depth')?.line).toBe(lineOf(text, 'depth: 2.5'));
    const unknown = at('actions["data.query"].limits.listItem');
    expect(unknown?.line).toBe(lineOf(text, 'listItem: 10'));
    expect(unknown?.message).toContain('listItems');
  });
});

describe('validateActionParams', () => {
  const bundle = loadPolicyBundle(CATALOG + RULES);

  it('when a list is over listItems, then the error names its path and the limit, and the schema is not run', () => {
    // blocked holds numbers (a schema error) after the oversized list: only the limit is reported.
    const params = { columns: strings(40_000), blocked: [1, 2] };

    const result = validateActionParams(bundle, 'data.query', params);

    expect(result).toEqual({
      ok: false,
      errors: [{ path: '/columns', message: `has 40000 items; at most ${DEFAULT_INPUT_LIMITS.listItems} (limits.listItems)` }],
    });
  });

  it('when params are over paramsBytes, then the error points at the value where the total passed the limit', () => {
    const params = { sql: 'x'.repeat(DEFAULT_INPUT_LIMITS.paramsBytes) };

    const result = validateActionParams(bundle, 'data.query', params);

    expect(result.ok).toBe(false);
    expect(!result.ok && result.errors).toEqual([{ path: '/sql', message: expect.stringContaining('(limits.paramsBytes)') }]);
  });

  it('when params are within limits, then the schema still decides', () => {
    expect(validateActionParams(bundle, 'data.query', { columns: ['a'], blocked: [] })).toEqual({ ok: true });
    expect(validateActionParams(bundle, 'data.query', { columns: [1] }).ok).toBe(false);
  });

  it('when params nest 50,000 arrays deep, then the depth limit is reported without a stack overflow', () => {
    const result = validateActionParams(bundle, 'data.query', { sql: nestedArray(50_000) });

    expect(result.ok).toBe(false);
    const error = !result.ok ? result.errors[0]! : undefined;
    expect(error?.message).toBe(`is nested ${DEFAULT_INPUT_LIMITS.depth + 1} levels deep; at most ${DEFAULT_INPUT_LIMITS.depth} (limits.depth)`);
    expect(error?.path).toBe(`/sql${'/0'.repeat(DEFAULT_INPUT_LIMITS.depth - 1)}`);
  });

  it('when an object has more keys than mapEntries, then the object is named', () => {
    const wide = Object.fromEntries(strings(DEFAULT_INPUT_LIMITS.mapEntries + 1).map((k) => [k, 1]));

    const result = validateActionParams(bundle, 'data.export', { options: wide });

    expect(!result.ok && result.errors[0]!.path).toBe('/options');
  });
});

describe('evaluatePolicy fails closed on input over the limits', () => {
  const bundle = loadPolicyBundle(CATALOG + RULES);

  it('when params hold the 40,000-item lists of the issue, then the decision is deny by no rule, naming the limit and path, in well under a second', () => {
    const params = { columns: strings(40_000), blocked: strings(40_000, 'b') };

    const started = performance.now();
    const decision = evaluatePolicy(bundle, query(params));
    const elapsedMs = performance.now() - started;

    expect(decision.decision).toBe('deny');
    expect(decision.ruleIds).toEqual([]);
    expect(decision.decidedBy).toEqual([]);
    expect(decision.reason).toContain('/params/columns');
    expect(decision.reason).toContain('limits.listItems');
    expect(decision.limitBreach).toEqual({ path: '/params/columns', limit: 'listItems', message: expect.stringContaining('40000 items') });
    expect(decision.category).toBe('data_access');
    expect(elapsedMs).toBeLessThan(500);
  });

  it('when params nest 50,000 arrays deep, then evaluation returns a deny instead of throwing', () => {
    const decision = evaluatePolicy(bundle, query({ columns: [], blocked: nestedArray(50_000) as unknown[] }));

    expect(decision.decision).toBe('deny');
    expect(decision.limitBreach?.limit).toBe('depth');
  });

  it('when context or resource is over the limits, then it is denied with a /context or /resource path', () => {
    const ok = { columns: ['a'], blocked: [] };

    const byContext = evaluatePolicy(bundle, query(ok, { context: { notes: 'n'.repeat(DEFAULT_INPUT_LIMITS.contextBytes) } }));
    const byResource = evaluatePolicy(bundle, query(ok, { resource: { rows: [strings(DEFAULT_INPUT_LIMITS.listItems + 1)] } }));

    expect(byContext.decision).toBe('deny');
    expect(byContext.limitBreach).toMatchObject({ path: '/context/notes', limit: 'contextBytes' });
    expect(byResource.decision).toBe('deny');
    expect(byResource.limitBreach).toMatchObject({ path: '/resource/rows/0', limit: 'listItems' });
  });

  it('when the input is within the limits, then the rules decide as before and no breach is reported', () => {
    const allowed = evaluatePolicy(bundle, query({ columns: ['a'], blocked: ['b'] }));
    const denied = evaluatePolicy(bundle, query({ columns: ['a'], blocked: ['a'] }));

    expect(allowed).toMatchObject({ decision: 'allow', ruleIds: ['rest'] });
    expect(allowed.limitBreach).toBeUndefined();
    expect(denied).toMatchObject({ decision: 'deny', ruleIds: ['blocked-columns', 'rest'] });
  });

  it('when an action raises listItems, then a list the default would refuse is evaluated', () => {
    const raised = loadPolicyBundle(
      CATALOG.replace('    executor: { type: agent }\n  data.export:', '    executor: { type: agent }\n    limits: { listItems: 2000 }\n  data.export:') + RULES,
    );
    const params = { columns: strings(1000), blocked: ['c999'] };

    expect(evaluatePolicy(bundle, query(params)).limitBreach?.limit).toBe('listItems');
    expect(evaluatePolicy(raised, query(params))).toMatchObject({ decision: 'deny', ruleIds: ['blocked-columns', 'rest'] });
  });
});

describe('checkEvaluationLimits', () => {
  const bundle = loadPolicyBundle(CATALOG + RULES);

  it('when params, context and resource each break a limit, then each is reported with a path from the input root', () => {
    const result = checkEvaluationLimits(bundle, {
      action: 'data.query',
      params: { columns: strings(300) },
      context: { deep: nestedArray(50_000) as unknown[] },
      resource: 'r'.repeat(DEFAULT_INPUT_LIMITS.contextBytes),
    });

    expect(result.ok).toBe(false);
    expect(!result.ok && result.errors.map((e) => [e.path.split('/').slice(0, 3).join('/'), e.limit])).toEqual([
      ['/params/columns', 'listItems'],
      ['/context/deep', 'depth'],
      ['/resource', 'contextBytes'],
    ]);
  });

  it('when everything is within the limits, then ok', () => {
    expect(checkEvaluationLimits(bundle, { action: 'data.query', params: { columns: ['a'] }, context: {}, resource: null })).toEqual({ ok: true });
  });
});

describe('measuring', () => {
  it('when a value is within the limits, then its size is counted as JSON.stringify writes it, byte for byte', () => {
    const samples: unknown[] = [
      { a: 1, b: 'x', c: [1, 2, { d: null, e: true }], f: 'héllo 😀', g: -12.5e-7 },
      [undefined, 'ü', false],
      { skipped: undefined, kept: 9_007_199_254_740_991, 'clé': 'v' },
      {},
      [],
    ];
    for (const value of samples) {
      const exact = Buffer.byteLength(JSON.stringify(value));

      const at = checkValueLimits(value, { ...DEFAULT_INPUT_LIMITS, paramsBytes: exact });
      const below = checkValueLimits(value, { ...DEFAULT_INPUT_LIMITS, paramsBytes: exact - 1 });

      expect(at, JSON.stringify(value)).toBeUndefined();
      expect(below?.limit, JSON.stringify(value)).toBe('paramsBytes');
    }
  });

  it('when an object has more keys than mapEntries, then it breaks the limit whether or not its values are written', () => {
    const keys = strings(DEFAULT_INPUT_LIMITS.mapEntries + 1);
    const flat = Object.fromEntries(keys.map((k) => [k, undefined]));
    const nested = { inner: flat };

    expect(checkValueLimits(flat, DEFAULT_INPUT_LIMITS)?.limit).toBe('mapEntries');
    expect(checkValueLimits(nested, DEFAULT_INPUT_LIMITS)?.path).toBe('/inner');
  });

  it('when a key needs escaping in a JSON pointer, then the path escapes it', () => {
    const breach = checkValueLimits({ 'a/b~c': strings(DEFAULT_INPUT_LIMITS.listItems + 1) }, DEFAULT_INPUT_LIMITS);

    expect(breach?.path).toBe('/a~1b~0c');
  });
});

describe('rules that iterate too deeply', () => {
  it('when a rule nests three loops, then the bundle is refused at the rule with a hint', () => {
    const text = `${CATALOG}rules:
  - id: cubic
    action: data.query
    when: params.columns.exists(c, params.blocked.exists(b, b in params.columns))
    decision: deny
`;

    const issue = errorsOf(text).find((e) => e.path === 'rules[0].when');

    expect(issue?.message).toMatch(/iterates 3 levels deep/);
    expect(issue?.line).toBe(lineOf(text, 'params.columns.exists'));
    expect(issue?.hint).toContain('add up instead of multiplying');
  });

  it('when a rule reads the length of agent text inside two loops, then the text scan counts as a third level and the bundle is refused', () => {
    const text = `${CATALOG}rules:
  - id: size-in-two-loops
    action: data.query
    when: params.columns.all(x, params.blocked.all(y, params.sql.size() > 0))
    decision: deny
`;

    const issue = errorsOf(text).find((e) => e.path === 'rules[0].when');

    expect(issue?.message).toMatch(/iterates 3 levels deep/);
    // One loop around the same scan, or a scan of a literal, is fine.
    expect(validatePolicyBundle(text.replace('params.blocked.all(y, params.sql.size() > 0)', 'params.sql.size() > 0')).ok).toBe(true);
    expect(validatePolicyBundle(text.replace('params.sql.size()', '"abc".size()')).ok).toBe(true);
  });

  it('when a stored version that predates the nesting bound is loaded back, then it still loads and decides', () => {
    const text = `${CATALOG}rules:
  - id: cubic
    action: data.query
    when: params.columns.exists(c, params.blocked.exists(b, b in params.columns))
    decision: deny
`;

    expect(validatePolicyBundle(text).ok).toBe(false);
    const stored = loadPolicyBundle(text, { admitted: true });
    const decision = evaluatePolicy(stored, query({ columns: ['a'], blocked: ['a'] }));

    expect(decision).toMatchObject({ decision: 'deny', ruleIds: ['cubic'] });
  });

  it('when a rule nests two loops, or runs loops one after another, then it loads', () => {
    const text = `${CATALOG}rules:
  - id: quadratic
    action: data.query
    when: params.columns.exists(c, c in params.blocked) && params.blocked.all(b, params.columns.exists(c, c != b))
    decision: deny
`;

    expect(validatePolicyBundle(text).ok).toBe(true);
  });
});
