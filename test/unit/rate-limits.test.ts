import { describe, expect, it } from 'vitest';
import { TokenBuckets } from '../../domain/rate-limits';

describe('token buckets', () => {
  it('when a key takes its burst, then the next take waits 1/rate seconds, and refills at the rate', () => {
    let now = 0;
    const b = new TokenBuckets(2, 4, () => now);
    expect([1, 2, 3, 4].map(() => b.take('a'))).toEqual([0, 0, 0, 0]);
    expect(b.take('a')).toBeCloseTo(0.5);
    expect(b.wait('a')).toBeCloseTo(0.5);
    now += 500;
    expect(b.wait('a')).toBe(0);
    expect(b.take('a')).toBe(0);
    expect(b.take('a')).toBeCloseTo(0.5);
    // Other keys have their own bucket.
    expect(b.take('b')).toBe(0);
    // A long idle refills only up to the burst.
    now += 60_000;
    expect([1, 2, 3, 4, 5].map(() => b.take('a'))).toEqual([0, 0, 0, 0, 0.5]);
  });

  it('when more keys arrive than it keeps, then idle (full) buckets are forgotten first and busy ones kept', () => {
    let now = 0;
    const b = new TokenBuckets(1, 1, () => now, 3);
    b.take('x');
    now += 5_000; // x is full again (idle)
    b.take('busy'); // busy is empty now
    b.take('y'); // three keys kept: x (full), busy and y (empty)
    b.take('z'); // a fourth: the full one (x) goes, the empty ones stay
    expect(b.take('busy')).toBeGreaterThan(0);
    expect(b.take('y')).toBeGreaterThan(0);
  });

  it('when a key was never seen, then wait says 0 without creating it', () => {
    const b = new TokenBuckets(1, 2, () => 0);
    expect(b.wait('nobody')).toBe(0);
  });
});
