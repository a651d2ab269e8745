import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { InvalidPointerError, redactEventData, redactSensitive } from '../../ledger/redact';

const sha = (json: string) => `sha256:${createHash('sha256').update(json).digest('hex')}`;
const key = Buffer.alloc(32, 7);
const hmac = (json: string) => `hmac-sha256:${createHmac('sha256', key).update(json).digest('hex')}`;

describe('redactSensitive', () => {
  const params = { amount: 10, customer: { ssn: '123-45-6789', name: 'Ann' }, cards: ['4111', '5500'], 'a/b': 1 };

  it('when a pointer names a value, then it is replaced by the sha256 of its canonical JSON', () => {
    const out = redactSensitive(params, ['/customer/ssn']);
    expect(out.customer).toEqual({ ssn: { $digest: sha('"123-45-6789"') }, name: 'Ann' });
    expect(params.customer.ssn).toBe('123-45-6789');
  });

  it('when pointers address array elements, escaped keys or whole objects, then those are digested', () => {
    const out = redactSensitive(params, ['/cards/1', '/a~1b', '/customer']) as Record<string, unknown>;
    expect(out.cards).toEqual(['4111', { $digest: sha('"5500"') }]);
    expect(out['a/b']).toEqual({ $digest: sha('1') });
    expect(out.customer).toEqual({ $digest: sha('{"name":"Ann","ssn":"123-45-6789"}') });
  });

  it('when a pattern names every item or the root, then each value is digested on its own', () => {
    expect(redactSensitive(params, ['/cards/*']).cards).toEqual([{ $digest: sha('"4111"') }, { $digest: sha('"5500"') }]);
    expect(redactSensitive({ a: 1, b: 'x' }, ['/'])).toEqual({ a: { $digest: sha('1') }, b: { $digest: sha('"x"') } });
  });

  it('when a pointer leads nowhere, then the data is unchanged', () => {
    expect(redactSensitive(params, ['/missing/x', '/cards/7', '/amount/x'])).toEqual(params);
  });

  it('when a key is given, then an HMAC digest is used', () => {
    const out = redactSensitive({ ssn: '1' }, ['/ssn'], { key: 'k' });
    expect(out.ssn).toEqual({ $digest: `hmac-sha256:${createHmac('sha256', 'k').update('"1"').digest('hex')}` });
  });

  it('when a path is not a JSON pointer, then it is refused', () => {
    expect(() => redactSensitive(params, ['customer/ssn'])).toThrow(InvalidPointerError);
  });
});

describe('redactEventData', () => {
  it('when an event holds params and edits, then every sensitive value in them becomes a keyed digest and nothing else changes', () => {
    // Arrange: a proposal-like and a vote-like event of an action with an array-item secret.
    const patterns = ['/rows/*/ssn', '/vault'];
    const proposed = { action: 'a', params: { rows: [{ ssn: 'SSN-one', n: 1 }], vault: { pin: 'PIN-zz' } }, justification: 'j' };
    const vote = { step: 1, edits: { '/rows': { from: [{ ssn: 'SSN-one', n: 1 }], to: [{ ssn: 'SSN-two', n: 1 }] }, '/vault': { from: { pin: 'PIN-zz' }, to: null } } };

    // Act
    const p = redactEventData(proposed, patterns, { key });
    const v = redactEventData(vote, patterns, { key });

    // Assert
    expect(p).toEqual({ action: 'a', params: { rows: [{ ssn: { $digest: hmac('"SSN-one"') }, n: 1 }], vault: { $digest: hmac('{"pin":"PIN-zz"}') } }, justification: 'j' });
    expect(v.edits).toEqual({
      '/rows': { from: [{ ssn: { $digest: hmac('"SSN-one"') }, n: 1 }], to: [{ ssn: { $digest: hmac('"SSN-two"') }, n: 1 }] },
      '/vault': { from: { $digest: hmac('{"pin":"PIN-zz"}') }, to: { $digest: hmac('null') } },
    });
    expect(JSON.stringify([p, v])).not.toMatch(/SSN-|PIN-/);
  });

  it('when the action has no sensitive field, then the data is returned as is', () => {
    const data = { params: { a: 1 } };
    expect(redactEventData(data, [], { key })).toBe(data);
  });
});
