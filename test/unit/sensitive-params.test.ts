import { describe, expect, it } from 'vitest';
import { InvalidPointerError, isSensitivePath, MASK, maskEdits, maskSensitive, unmaskEdit } from '../../domain/sensitive-params';
import { collectSensitivePaths } from '../../policy/params-schema';

const params = {
  amount: 10,
  card: { number: '4111-1111', exp: '12/30' },
  rows: [
    { name: 'Ann', ssn: '111-11-1111' },
    { name: 'Bob', ssn: '222-22-2222' },
  ],
  tags: ['a', 'b'],
};

describe('sensitive patterns from a params schema', () => {
  it('when fields are marked at any depth, in array items, on a whole object or on the root, then each has its pattern', () => {
    // Arrange
    const schema = {
      type: 'object',
      'x-sensitive': true,
      properties: {
        card: { type: 'object', properties: { number: { type: 'string', 'x-sensitive': true } } },
        rows: { type: 'array', items: { type: 'object', properties: { ssn: { type: 'string', 'x-sensitive': true } } } },
        vault: { type: 'object', 'x-sensitive': true },
        'a/b~c': { type: 'string', 'x-sensitive': true },
      },
    };

    // Act
    const patterns = collectSensitivePaths(schema);

    // Assert
    expect(patterns.sort()).toEqual(['/', '/a~1b~0c', '/card/number', '/rows/*/ssn', '/vault']);
  });

  it('when a field is marked behind a local $ref, in additionalProperties or in a then branch, then it is found too', () => {
    const schema = {
      type: 'object',
      definitions: { secret: { type: 'string', 'x-sensitive': true } },
      properties: {
        pin: { $ref: '#/definitions/secret' },
        labels: { type: 'object', additionalProperties: { type: 'string', 'x-sensitive': true } },
        mode: { type: 'string' },
      },
      if: { properties: { mode: { const: 'x' } } },
      then: { properties: { token: { type: 'string', 'x-sensitive': true } } },
    };
    expect(collectSensitivePaths(schema).sort()).toEqual(['/labels/*', '/pin', '/token']);
  });

  it('when a recursive schema holds a sensitive field below its cycle, then the value where the cycle re-enters is hidden whole', () => {
    const tree = { type: 'object', properties: { secret: { type: 'string', 'x-sensitive': true }, child: { $ref: '#' } } };
    expect(collectSensitivePaths(tree).sort()).toEqual(['/child', '/secret']);
    const plain = { type: 'object', properties: { name: { type: 'string' }, child: { $ref: '#' } } };
    expect(collectSensitivePaths(plain)).toEqual([]);
  });
});

describe('maskSensitive', () => {
  it('when a nested field is sensitive, then only it is masked and the input is unchanged', () => {
    const out = maskSensitive(params, ['/card/number']);
    expect(out.card).toEqual({ number: MASK, exp: '12/30' });
    expect(out.rows).toBe(params.rows);
    expect(params.card.number).toBe('4111-1111');
  });

  it('when a field of array items is sensitive, then it is masked in every item', () => {
    const out = maskSensitive(params, ['/rows/*/ssn']);
    expect(out.rows).toEqual([
      { name: 'Ann', ssn: MASK },
      { name: 'Bob', ssn: MASK },
    ]);
  });

  it('when a whole object or a whole array is sensitive, then it is one mask', () => {
    expect(maskSensitive(params, ['/card', '/tags'])).toMatchObject({ card: MASK, tags: MASK, amount: 10 });
    expect(maskSensitive(params, ['/tags/*']).tags).toEqual([MASK, MASK]);
    expect(maskSensitive(params, ['/rows/1']).rows).toEqual([params.rows[0], MASK]);
  });

  it('when the root is sensitive, then every top-level value is masked and params stay an object', () => {
    expect(maskSensitive(params, ['/'])).toEqual({ amount: MASK, card: MASK, rows: MASK, tags: MASK });
  });

  it('when a sensitive field is absent, then it stays absent; when it is null, then it is masked', () => {
    expect(maskSensitive({ a: 1 }, ['/b', '/c/d'])).toEqual({ a: 1 });
    expect(maskSensitive({ b: null }, ['/b'])).toEqual({ b: MASK });
  });

  it('when a replacer is given, then it gets each sensitive value', () => {
    const seen: unknown[] = [];
    maskSensitive(params, ['/rows/*/ssn', '/card'], (v) => (seen.push(v), 'x'));
    expect(seen).toEqual([params.card, '111-11-1111', '222-22-2222']);
  });

  it('when a key is __proto__, then it is masked as an own property and no prototype changes', () => {
    const input = JSON.parse('{"__proto__": {"x": "secret"}, "y": 1}') as Record<string, unknown>;
    const out = maskSensitive(input, ['/__proto__/x']) as Record<string, unknown>;
    expect(Object.getOwnPropertyDescriptor(out, '__proto__')?.value).toEqual({ x: MASK });
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
  });

  it('when a pattern is not a JSON pointer, then it is refused', () => {
    expect(() => maskSensitive(params, ['card/number'])).toThrow(InvalidPointerError);
  });

  it('when paths are asked about, then at or under a pattern is sensitive', () => {
    expect(isSensitivePath('/rows/3/ssn', ['/rows/*/ssn'])).toBe(true);
    expect(isSensitivePath('/rows/3/name', ['/rows/*/ssn'])).toBe(false);
    expect(isSensitivePath('/card/number/x', ['/card'])).toBe(true);
    expect(isSensitivePath('/anything', ['/'])).toBe(true);
  });
});

describe('maskEdits', () => {
  it('when an edit changes an object that holds a sensitive field, then only that field is masked in from and to', () => {
    const edits = {
      '/rows': { from: params.rows, to: [{ name: 'Ann', ssn: '999-99-9999' }] },
      '/amount': { from: 10, to: 12 },
      '/card': { from: params.card, to: { number: '5500', exp: '01/31' } },
    };
    const out = maskEdits(edits, ['/rows/*/ssn', '/card/number']);
    expect(out).toEqual({
      '/rows': { from: [{ name: 'Ann', ssn: MASK }, { name: 'Bob', ssn: MASK }], to: [{ name: 'Ann', ssn: MASK }] },
      '/amount': { from: 10, to: 12 },
      '/card': { from: { number: MASK, exp: '12/30' }, to: { number: MASK, exp: '01/31' } },
    });
  });

  it('when the edit is at or under a sensitive path, then from and to are masked whole', () => {
    expect(maskEdits({ '/vault': { from: { k: 1 }, to: null } }, ['/vault'])).toEqual({ '/vault': { from: MASK, to: MASK } });
    expect(maskEdits({ '/a': { from: 1, to: 2 } }, ['/'])).toEqual({ '/a': { from: MASK, to: MASK } });
  });

  it('when an edit path is not a JSON pointer, then that edit is masked whole instead of failing the view', () => {
    expect(maskEdits({ card: { from: { number: '1' }, to: null } }, ['/card/number'])).toEqual({ card: { from: MASK, to: MASK } });
  });
});

describe('unmaskEdit', () => {
  it('when the edit sends back masks at sensitive paths, then the current values are put back and replaced ones kept', () => {
    const edited = {
      amount: 12,
      card: { number: MASK, exp: '01/31' },
      rows: [
        { name: 'Ann', ssn: MASK },
        { name: 'Bob', ssn: '333-33-3333' },
      ],
      tags: ['a', 'b'],
    };
    const r = unmaskEdit(params, edited, ['/card/number', '/rows/*/ssn']);
    expect(r).toEqual({
      ok: true,
      params: {
        amount: 12,
        card: { number: '4111-1111', exp: '01/31' },
        rows: [
          { name: 'Ann', ssn: '111-11-1111' },
          { name: 'Bob', ssn: '333-33-3333' },
        ],
        tags: ['a', 'b'],
      },
    });
  });

  it('when a whole sensitive object comes back masked, then it is put back whole', () => {
    const r = unmaskEdit(params, { ...params, card: MASK }, ['/card']);
    expect(r).toEqual({ ok: true, params });
  });

  it('when a mask stands where the action has no value, then the edit is refused with the path', () => {
    const r = unmaskEdit(params, { ...params, rows: [...params.rows, { name: 'Cy', ssn: MASK }] }, ['/rows/*/ssn']);
    expect(r).toEqual({ ok: false, errors: [{ path: '/rows/2/ssn', message: expect.stringContaining('none here to keep') }] });
  });

  it('when a mask stands at a path that is not sensitive, then it is refused unless that was already the value', () => {
    const refused = unmaskEdit(params, { ...params, amount: MASK }, ['/card/number']);
    expect(refused).toEqual({ ok: false, errors: [{ path: '/amount', message: expect.stringContaining('not sensitive') }] });
    const kept = unmaskEdit({ ...params, tags: [MASK] }, { ...params, tags: [MASK] }, ['/card/number']);
    expect(kept).toEqual({ ok: true, params: { ...params, tags: [MASK] } });
  });
});
