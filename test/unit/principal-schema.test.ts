import { describe, expect, it } from 'vitest';
import { PRINCIPAL_ATTRIBUTE_LIMITS, createPrincipalSchema } from '../../domain/api-schemas';

// The body of POST /v1/principals: what a principal may be created with (docs/api.md, "Principals").
const issues = (body: unknown) => {
  const r = createPrincipalSchema.safeParse(body);
  return r.success ? [] : r.error.issues.map((i) => ({ path: i.path.join('/'), message: i.message }));
};

describe('createPrincipalSchema', () => {
  it('when attributes and delegates are left out, then they default to {} and []', () => {
    expect(createPrincipalSchema.parse({ id: 'h', kind: 'human', roles: ['reviewer'] })).toMatchObject({ attributes: {}, delegates: [], groups: [] });
  });

  it('when a human names attributes and delegates, then they are kept', () => {
    const p = createPrincipalSchema.parse({ id: 'h', kind: 'human', roles: ['reviewer'], attributes: { tier: 'gold', regions: ['eu'] }, delegates: ['bot-1'] });
    expect(p).toMatchObject({ attributes: { tier: 'gold', regions: ['eu'] }, delegates: ['bot-1'] });
  });

  it('when an agent is given any role but agent, then each such role is refused at its index', () => {
    expect(issues({ id: 'a', kind: 'agent', roles: ['agent', 'reviewer', 'admin'] })).toEqual([
      { path: 'roles/1', message: 'an agent principal holds only the role "agent", not "reviewer"' },
      { path: 'roles/2', message: 'an agent principal holds only the role "agent", not "admin"' },
    ]);
    expect(issues({ id: 'a', kind: 'agent', roles: ['operator'] })).toHaveLength(1);
    expect(issues({ id: 'a', kind: 'agent', roles: ['agent'] })).toEqual([]);
  });

  it('when an agent names delegates, then they are refused: only humans delegate', () => {
    expect(issues({ id: 'a', kind: 'agent', roles: ['agent'], delegates: ['b'] })).toEqual([{ path: 'delegates', message: 'only a human principal delegates to agents' }]);
  });

  it('when delegates repeat or are not ids, then they are refused', () => {
    expect(issues({ id: 'h', kind: 'human', roles: ['reviewer'], delegates: ['b', 'b'] })[0]?.path).toBe('delegates');
    expect(issues({ id: 'h', kind: 'human', roles: ['reviewer'], delegates: ['has space'] })[0]?.path).toBe('delegates/0');
  });

  it('when attributes are not an object, then they are refused', () => {
    for (const attributes of [[], 'gold', 1, null]) expect(issues({ id: 'h', kind: 'human', roles: ['reviewer'], attributes })[0]?.path).toBe('attributes');
  });

  it('when attributes pass a size bound, then the offending value is named', () => {
    const L = PRINCIPAL_ATTRIBUTE_LIMITS;
    const base = { id: 'h', kind: 'human', roles: ['reviewer'] };
    expect(issues({ ...base, attributes: { a: { b: { c: { d: { e: 1 } } } } } })).toEqual([{ path: 'attributes/a/b/c/d', message: expect.stringContaining(`deeper than ${L.depth}`) }]);
    expect(issues({ ...base, attributes: { list: Array.from({ length: L.items + 1 }, (_, i) => i) } })[0]?.path).toBe('attributes/list');
    expect(issues({ ...base, attributes: Object.fromEntries(Array.from({ length: L.keys + 1 }, (_, i) => [`k${i}`, i])) })[0]?.path).toBe('attributes');
    expect(issues({ ...base, attributes: { note: 'x'.repeat(L.bytes) } })).toEqual([{ path: 'attributes', message: expect.stringContaining(`at most ${L.bytes}`) }]);
    expect(issues({ ...base, attributes: { a: { b: { c: 1 } }, note: 'x'.repeat(L.bytes - 100) } })).toEqual([]);
  });
});
