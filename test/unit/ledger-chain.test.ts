import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../domain/canonical-json';
import {
  GENESIS_HASH,
  LEDGER_EVENT_TYPES,
  canonicalJsonFast,
  eventBodyJson,
  hashEvent,
  normalizeEventTime,
  sha256Hex,
  verifyChain,
  type LedgerEvent,
} from '../../ledger/chain';
import { makeChain } from './ledger-fixtures';

const clone = (events: LedgerEvent[]): LedgerEvent[] => structuredClone(events);

describe('event hashing', () => {
  it('when an event is hashed, then hash = sha256hex(prevHash + canonicalJson(body))', () => {
    const [first] = makeChain('act-1', 1);
    const { prevHash, hash, ...body } = first!;
    expect(prevHash).toBe(GENESIS_HASH);
    expect(hash).toBe(sha256Hex(GENESIS_HASH + canonicalJson(body)));
  });

  it('when the body is built by concatenation, then it equals canonicalJson of the body', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }),
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.constantFrom(...LEDGER_EVENT_TYPES),
        fc.string(),
        fc.constantFrom('agent' as const, 'human' as const, 'system' as const),
        fc.jsonValue(),
        (actionId, seq, type, actorId, kind, data) => {
          const body = { actionId, seq, type, at: '2025-01-01T00:00:00.000Z', actor: { id: actorId, kind }, data };
          expect(eventBodyJson(body)).toBe(canonicalJson(body));
        },
      ),
    );
  });

  it('when any JSON-like value is serialised by the fast path, then it equals canonicalJson', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.anything({ withNullPrototype: true, withObjectString: true })), (value) => {
        let expected: string | Error;
        try {
          expected = canonicalJson(value);
        } catch (err) {
          expected = err as Error;
        }
        if (expected instanceof Error) expect(() => canonicalJsonFast(value)).toThrow(expected.message);
        else expect(canonicalJsonFast(value)).toBe(expected);
      }),
      { numRuns: 2000 },
    );
    const special = { z: new Date(0), '10': 1, '9': [-0, 1e21, 5e-7, 'é\u2028"\\\ud800😀'], __proto__: null };
    expect(canonicalJsonFast(special)).toBe(canonicalJson(special));
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => canonicalJsonFast(cyclic)).toThrow(/cyclic/);
    expect(() => canonicalJsonFast([1, undefined])).toThrow(/undefined/);
  });

  it('when a time is given as a Date or another ISO form, then it is hashed as toISOString', () => {
    expect(normalizeEventTime(new Date(Date.UTC(2025, 4, 6, 7, 8, 9, 10)))).toBe('2025-05-06T07:08:09.010Z');
    expect(normalizeEventTime('2025-05-06T09:08:09.010+02:00')).toBe('2025-05-06T07:08:09.010Z');
    expect(() => normalizeEventTime('not a date')).toThrow(RangeError);
  });

  it('when data holds a non-finite number, then hashing refuses it', () => {
    expect(() => hashEvent(GENESIS_HASH, { actionId: 'a', seq: 1, type: 'proposed', at: '2025-01-01T00:00:00.000Z', actor: { id: 'x', kind: 'agent' }, data: { n: NaN } })).toThrow();
  });
});

describe('verifyChain', () => {
  it('when the chain is intact, then it verifies every event', () => {
    expect(verifyChain(makeChain('act-1', 6))).toEqual({ ok: true, events: 6 });
  });

  it('when the chain is empty, then it is trivially ok', () => {
    expect(verifyChain([])).toEqual({ ok: true, events: 0 });
  });

  const tampers: Array<[string, (e: LedgerEvent) => void]> = [
    ['type', (e) => void (e.type = 'cancelled')],
    ['at', (e) => void (e.at = '2025-01-01T12:00:04.000Z')],
    ['actor.id', (e) => void (e.actor.id = 'mallory')],
    ['actor.kind', (e) => void (e.actor.kind = 'system')],
    ['data', (e) => void ((e.data as { params: { amount: number } }).params.amount = 1)],
    ['data (added key)', (e) => void ((e.data as Record<string, unknown>).extra = true)],
    ['actionId', (e) => void (e.actionId = 'act-2')],
    ['prevHash', (e) => void (e.prevHash = 'f'.repeat(64))],
    ['hash', (e) => void (e.hash = '0'.repeat(63) + '1')],
    ['seq', (e) => void (e.seq = 30)],
  ];
  for (const [field, tamper] of tampers) {
    it(`when ${field} of event 3 is altered, then verification fails at seq 3`, () => {
      const events = clone(makeChain('act-1', 5));
      tamper(events[2]!);
      const result = verifyChain(events);
      expect(result.ok).toBe(false);
      expect(result.firstBadSeq).toBe(3);
      expect(result.events).toBe(2);
      expect(result.reason).toBeTruthy();
    });
  }

  it('when event 3 is deleted, then verification fails at seq 3 naming it missing', () => {
    const events = makeChain('act-1', 5);
    events.splice(2, 1);
    expect(verifyChain(events)).toMatchObject({ ok: false, firstBadSeq: 3, reason: expect.stringMatching(/missing/) });
  });

  it('when events 2 and 3 are swapped, then verification fails at seq 2', () => {
    const events = makeChain('act-1', 5);
    [events[1], events[2]] = [events[2]!, events[1]!];
    expect(verifyChain(events)).toMatchObject({ ok: false, firstBadSeq: 2 });
  });

  it('when swapped events are renumbered, then the broken links still fail at seq 2', () => {
    const events = clone(makeChain('act-1', 5));
    [events[1], events[2]] = [events[2]!, events[1]!];
    events[1]!.seq = 2;
    events[2]!.seq = 3;
    expect(verifyChain(events)).toMatchObject({ ok: false, firstBadSeq: 2 });
  });

  it('when the first event is deleted, then verification fails at seq 1', () => {
    expect(verifyChain(makeChain('act-1', 3).slice(1))).toMatchObject({ ok: false, firstBadSeq: 1 });
  });

  it('when an event of another action is appended, then verification fails there', () => {
    const events = [...makeChain('act-1', 2), makeChain('act-2', 3)[2]!];
    expect(verifyChain(events)).toMatchObject({ ok: false, firstBadSeq: 3, reason: expect.stringMatching(/belongs to action/) });
  });

  it('when the expected action is given and differs, then the first event fails', () => {
    expect(verifyChain(makeChain('act-1', 2), 'act-9')).toMatchObject({ ok: false, firstBadSeq: 1 });
  });
});
