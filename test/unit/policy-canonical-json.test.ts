import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CanonicalJsonError, canonicalJson } from '../../domain/canonical-json';

describe('canonicalJson', () => {
  it('when keys are in any order, then they are sorted by UTF-16 code units without whitespace', () => {
    expect(canonicalJson({ b: 1, a: [true, null, 'x'], A: { d: 1, c: 2 } })).toBe('{"A":{"c":2,"d":1},"a":[true,null,"x"],"b":1}');
    // "\u00e9" (é) sorts after "z"; an astral character's surrogates sort before "\uffff".
    expect(canonicalJson({ 'é': 1, z: 2, '\u{1F600}': 3, '\uffff': 4 })).toBe('{"z":2,"é":1,"\u{1F600}":3,"\uffff":4}');
  });

  it('when numbers are written, then ECMAScript shortest form is used (RFC 8785 test values)', () => {
    expect(canonicalJson([1e21, 1e-7, 0.1, -0, 333333333.3333333, 1e23, 5e-324])).toBe(
      '[1e+21,1e-7,0.1,0,333333333.3333333,1e+23,5e-324]',
    );
  });

  it('when a value has no JSON form, then CanonicalJsonError says where', () => {
    expect(() => canonicalJson({ a: [1, Number.NaN] })).toThrow(CanonicalJsonError);
    expect(() => canonicalJson({ a: [1, Number.POSITIVE_INFINITY] })).toThrow(/at \/a\/1/);
    expect(() => canonicalJson({ n: 10n })).toThrow(/bigint/);
    expect(() => canonicalJson(new Map())).toThrow(/not a plain object/);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => canonicalJson(cyclic)).toThrow(/cyclic/);
    expect(() => canonicalJson([undefined])).toThrow(CanonicalJsonError);
  });

  it('when an object has undefined fields or a toJSON, then they behave like JSON.stringify', () => {
    expect(canonicalJson({ a: undefined, b: 1 })).toBe('{"b":1}');
    expect(canonicalJson({ at: new Date(0) })).toBe('{"at":"1970-01-01T00:00:00.000Z"}');
  });

  it('when any JSON value round-trips, then the canonical form is stable and parses back to the same value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalJson(value);
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
        expect(canonicalJson(JSON.parse(text))).toBe(text);
      }),
      { numRuns: 500 },
    );
  });
});
