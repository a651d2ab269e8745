import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { PolicyValidationError, evaluatePolicy, loadPolicyBundle, validatePolicyBundle } from '../../policy';

/** A small but complete bundle: mutations of it reach every validation stage quickly. */
const VALID = {
  defaults: { decision: 'deny', approval: { timeout: '24h', onTimeout: 'deny' } },
  actions: {
    'payments.transfer': {
      owner: 'finance-ops',
      category: 'financial',
      params: {
        type: 'object',
        required: ['amount'],
        properties: { amount: { type: 'number' }, to: { type: 'string', 'x-sensitive': true } },
      },
      executor: { type: 'http', url: 'http://127.0.0.1:9000/transfers' },
    },
    'email.send': { owner: 'comms', category: 'external_communication', params: { type: 'object' }, executor: { type: 'agent' } },
  },
  rules: [
    { id: 'small', action: 'payments.transfer', when: 'params.amount <= 100', decision: 'allow' },
    {
      id: 'large',
      action: 'payments.*',
      when: 'params.amount > 10000',
      decision: 'require_approval',
      reason: 'big',
      approval: {
        steps: [{ group: 'finance', quorum: 2, timeout: '4h', remindEvery: '1h', escalateTo: [{ group: 'finance-leads', timeout: '4h' }] }],
        onTimeout: 'deny',
      },
    },
    { id: 'ext', action: '*', when: 'agent.matches("^ext-")', decision: 'deny' },
  ],
  notifications: { webhooks: { finance: ['http://127.0.0.1:9000/notify'] } },
};

/** Loading must either succeed or throw PolicyValidationError with located errors — nothing else. */
function expectOnlyValidationErrors(text: string): void {
  try {
    const bundle = loadPolicyBundle(text);
    // A bundle that loads must also evaluate without surprises.
    for (const action of bundle.actions.keys()) {
      evaluatePolicy(bundle, { action, params: { amount: 5 }, agent: 'ext-bot' });
    }
  } catch (err) {
    if (!(err instanceof PolicyValidationError)) throw err;
    expect(err.errors.length).toBeGreaterThan(0);
    for (const e of err.errors) {
      expect(e.line).toBeGreaterThanOrEqual(1);
      expect(e.column).toBeGreaterThanOrEqual(1);
      expect(typeof e.message).toBe('string');
      expect(typeof e.hint).toBe('string');
    }
  }
}

type Path = (string | number)[];

function pathsOf(value: unknown, prefix: Path = []): Path[] {
  const out: Path[] = [prefix];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...pathsOf(v, [...prefix, i])));
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) out.push(...pathsOf(v, [...prefix, k]));
  }
  return out;
}

type Mutation = { kind: 'delete' | 'replace' | 'rename'; pick: number; value: unknown; key: string };

function mutate(doc: unknown, m: Mutation): unknown {
  const copy = structuredClone(doc);
  const paths = pathsOf(copy).filter((p) => p.length > 0);
  const path = paths[m.pick % paths.length]!;
  let parent = copy as Record<string | number, unknown>;
  for (const seg of path.slice(0, -1)) parent = parent[seg] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (m.kind === 'delete') {
    if (Array.isArray(parent)) parent.splice(Number(last), 1);
    else delete parent[last];
  } else if (m.kind === 'replace') {
    parent[last] = m.value;
  } else if (!Array.isArray(parent)) {
    parent[m.key] = parent[last];
    delete parent[last];
  }
  return copy;
}

const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom('delete', 'replace', 'rename'),
  pick: fc.nat(),
  value: fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom('*', 'payments.*', 'x', '', '4h', '0s', 'params.amount >', 'foo.bar == 1', 'require_approval', -1, 1e308),
  ),
  key: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('when', 'approval', 'steps', 'escalateTo', 'x-sensitive')),
});

describe('fuzzing the loader', () => {
  it('when the valid fixture is loaded, then it really is valid (so mutations start from a good bundle)', () => {
    expect(validatePolicyBundle(YAML.stringify(VALID)).ok).toBe(true);
  });

  it('when given random JSON/YAML documents, then only PolicyValidationError is thrown', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), fc.boolean(), (value, asYaml) => {
        expectOnlyValidationErrors(asYaml ? YAML.stringify(value) : JSON.stringify(value));
      }),
      { numRuns: 1000 },
    );
  });

  it('when given random text, then only PolicyValidationError is thrown', () => {
    const yamlish = fc.stringMatching(/^[a-z:\-\[\]{}*&!|>'" \n\t#%@`,.0-9]{0,80}$/);
    fc.assert(fc.property(fc.oneof(fc.string({ maxLength: 200 }), yamlish), expectOnlyValidationErrors), { numRuns: 800 });
  });

  it('when a valid bundle is mutated structurally, then only PolicyValidationError is thrown', () => {
    fc.assert(
      fc.property(fc.array(mutationArb, { minLength: 1, maxLength: 3 }), fc.boolean(), (mutations, asYaml) => {
        const doc = mutations.reduce<unknown>((d, m) => mutate(d, m), VALID);
        expectOnlyValidationErrors(asYaml ? YAML.stringify(doc) : JSON.stringify(doc));
      }),
      { numRuns: 800 },
    );
  });

  it('when the text of a valid bundle is corrupted, then only PolicyValidationError is thrown', () => {
    const text = YAML.stringify(VALID);
    fc.assert(
      fc.property(fc.nat({ max: text.length }), fc.nat({ max: 20 }), fc.string({ maxLength: 10 }), (at, remove, insert) => {
        expectOnlyValidationErrors(text.slice(0, at) + insert + text.slice(at + remove));
      }),
      { numRuns: 500 },
    );
  });
});
