/**
 * Per-principal limits of one API process (docs/security-model.md, "Rate limits"). Rates are per
 * second with a burst of twice the rate; 0 turns that limit off. With N API processes behind a
 * load balancer a principal gets up to N times these.
 */
export interface RateLimits {
  /** `POST /v1/actions` per principal. @default 50 */
  proposalsPerSecond: number;
  /** `POST /v1/actions/:id/decisions` per principal. @default 20 */
  decisionsPerSecond: number;
  /** Requests with `?wait=` per principal. @default 50 */
  longPollsPerSecond: number;
  /** `?wait=` requests one principal may hold open at once. @default 20 */
  concurrentWaitsPerPrincipal: number;
  /** `?wait=` requests this process holds open at once, all principals together. @default 2000 */
  concurrentWaits: number;
  /** Failed authentications (401) per client address, before its requests are refused unread. @default 5 */
  authFailuresPerSecond: number;
}

export const DEFAULT_RATE_LIMITS: RateLimits = {
  proposalsPerSecond: 50,
  decisionsPerSecond: 20,
  longPollsPerSecond: 50,
  concurrentWaitsPerPrincipal: 20,
  concurrentWaits: 2000,
  authFailuresPerSecond: 5,
};

/** Every limit off (benchmarks that measure the engine, not the limits). */
export const NO_RATE_LIMITS: RateLimits = {
  proposalsPerSecond: 0,
  decisionsPerSecond: 0,
  longPollsPerSecond: 0,
  concurrentWaitsPerPrincipal: 0,
  concurrentWaits: 0,
  authFailuresPerSecond: 0,
};

/**
 * Token buckets by key: `rate` tokens a second, up to `burst`. Idle keys (full buckets) are
 * forgotten once the map grows past `maxKeys`, so unknown callers cannot grow it without bound.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
    private readonly maxKeys = 100_000,
  ) {}

  /** Take one token for `key`: 0 when there was one, else the seconds until there will be. */
  take(key: string): number {
    const t = this.now();
    const b = this.refill(key, t);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return (1 - b.tokens) / this.rate;
  }

  /** Seconds until `key` has a token again (0 when it has one now), without taking it. */
  wait(key: string): number {
    const b = this.buckets.get(key);
    if (!b) return 0;
    const tokens = Math.min(this.burst, b.tokens + ((this.now() - b.at) / 1000) * this.rate);
    return tokens >= 1 ? 0 : (1 - tokens) / this.rate;
  }

  private refill(key: string, t: number): { tokens: number; at: number } {
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= this.maxKeys) this.forgetFull(t);
      b = { tokens: this.burst, at: t };
      this.buckets.set(key, b);
      return b;
    }
    b.tokens = Math.min(this.burst, b.tokens + ((t - b.at) / 1000) * this.rate);
    b.at = t;
    return b;
  }

  private forgetFull(t: number): void {
    for (const [key, b] of this.buckets) {
      if (b.tokens + ((t - b.at) / 1000) * this.rate >= this.burst) this.buckets.delete(key);
    }
    // Every caller is mid-burst (a flood of distinct keys): start over rather than grow.
    if (this.buckets.size >= this.maxKeys) this.buckets.clear();
  }
}
