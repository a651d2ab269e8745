import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inexactNumbers, inputProblems, MAX_JSON_DEPTH, numberIsExact, textProblem } from '../../domain/input-rules';

describe('text the API can store', () => {
  it('when a string holds NUL or an unpaired surrogate, then it has a problem; paired surrogates are fine', () => {
    expect(textProblem('ok\u0000evil')).toMatch(/U\+0000/);
    expect(textProblem('\ud800')).toMatch(/unpaired surrogate/);
    expect(textProblem('x\udc00')).toMatch(/unpaired surrogate/);
    expect(textProblem('\ud83d\ude00 emoji')).toBeUndefined();
    expect(textProblem('')).toBeUndefined();
  });

  it('when any value holds bad text at any depth, in keys or in arrays, then each problem comes with its JSON pointer in document order', () => {
    const problems = inputProblems({ a: 'fine', b: [{ 'c/d': '\u0000' }], 'k~\u0000': 1, e: '\ud800' });
    expect(problems.map((p) => p.path)).toEqual(['/b/0/c~1d', '/k~0\\u0000', '/e']);
    expect(problems[1].message).toMatch(/^key /);
  });

  it('when a value nests deeper than the limit, then one problem at the cut and no stack overflow', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const problems = inputProblems({ deep });
    expect(problems).toHaveLength(1);
    expect(problems[0].path.split('/').length - 1).toBe(MAX_JSON_DEPTH);
    let ok: unknown = 1;
    for (let i = 0; i < MAX_JSON_DEPTH - 1; i++) ok = [ok];
    expect(inputProblems({ ok }).length).toBe(0);
  });

  it('when a body holds thousands of bad strings, then the report is capped', () => {
    expect(inputProblems(Array.from({ length: 5000 }, () => '\u0000')).length).toBe(20);
  });
});

describe('numbers the API can store exactly', () => {
  it.each([
    ['5', true],
    ['0.1', true],
    ['1.50', true],
    ['5.000000000000000000', true],
    ['0.30000000000000004', true],
    ['1.5e3', true],
    ['-0', true],
    ['9007199254740991', true],
    ['-9007199254740991', true],
    ['1e300', true],
    ['100.0000000000000001', false],
    ['9007199254740992', false],
    ['9007199254740993', false],
    ['123456789012345678901234567890', false],
    ['1e309', false],
    ['-1e309', false],
    ['1e-400', false],
    ['0.3000000000000000444', false],
  ])('when %s is written, then exact is %s', (token, exact) => {
    expect(numberIsExact(token)).toBe(exact);
  });

  it('when any double is written the way JSON.stringify writes it, then it is exact, except integers past 2^53 written out in full', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (n) => {
        const written = JSON.stringify(n);
        // 2^53 <= |n| < 1e21 is written as a plain integer whose digits the double does not hold.
        const unsafeInteger = /^-?\d+$/.test(written) && !Number.isSafeInteger(n);
        expect(numberIsExact(written)).toBe(!unsafeInteger);
      }),
      { numRuns: 2000 },
    );
  });

  it('when numbers appear inside strings, then they are not read as numbers', () => {
    expect(inexactNumbers('{"a":"100.0000000000000001 \\" 1e999","b":1}').size).toBe(0);
    expect([...inexactNumbers('{"a":"x","b":[1,100.0000000000000001]}').values()]).toEqual(['100.0000000000000001']);
  });

  it('when a parsed body holds an inexact number, then its path is reported with what was written', () => {
    const text = '{"params":{"amount":100.0000000000000001,"n":9007199254740993}}';
    const problems = inputProblems(JSON.parse(text), text);
    expect(problems.map((p) => p.path)).toEqual(['/params/amount', '/params/n']);
    expect(problems[0].message).toContain('100.0000000000000001');
    expect(inputProblems(JSON.parse('{"x":1e309}'), '{"x":1e309}')[0]).toMatchObject({ path: '/x', message: expect.stringMatching(/finite/) });
  });
});
