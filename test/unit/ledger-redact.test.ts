import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { InvalidPointerError, redactSensitive } from '../../ledger/redact';

const sha = (json: string) => `sha256:${createHash('sha256').update(json).digest('hex')}`;

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
