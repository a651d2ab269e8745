import express from 'express';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RATE_LIMITS } from '../../domain/rate-limits';
import { MAX_HELD_REFUSALS_PER_PRINCIPAL, principalLimits, SlowRefusals } from '../../api/rate-limit';

// The per-principal limits on a bare express app (the principal named by a header), so that many
// concurrent requests can be counted exactly: what is held, what is sent at once, and when.

describe('refusals held for clients that do not wait', () => {
  let server: http.Server;
  let port: number;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 200 });

  beforeAll(async () => {
    const app = express();
    app.use((req, _res, next) => {
      (req as unknown as { principal: { id: string } }).principal = { id: String(req.headers['x-principal']) };
      next();
    });
    // Held answers come half a second after the Retry-After ends (not at random): far from the
    // immediate ones even when the requests take a while to arrive on a busy machine.
    app.use(principalLimits({ ...DEFAULT_RATE_LIMITS, proposalsPerSecond: 1 }, new SlowRefusals(Date.now, () => 0.5)));
    app.post('/v1/actions', (_req, res) => {
      res.status(201).json({ ok: true });
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    agent.destroy();
    await new Promise((r) => server.close(r));
  });

  const propose = (principal: string) =>
    new Promise<{ status: number; ms: number; retryAfter?: string; connection?: string }>((resolve, reject) => {
      const t0 = Date.now();
      const req = http.request({ host: '127.0.0.1', port, path: '/v1/actions', method: 'POST', agent, headers: { 'x-principal': principal, 'content-type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: Date.now() - t0, retryAfter: res.headers['retry-after'], connection: res.headers.connection }));
      });
      req.on('error', reject);
      req.end('{}');
    });

  it('when a principal sends again before its Retry-After, then the 429 is held until then; past the cap it is sent at once and the connection closed; others are not held', async () => {
    const n = MAX_HELD_REFUSALS_PER_PRINCIPAL + 10;
    const answers = await Promise.all(Array.from({ length: n }, () => propose('flooder')));
    const admitted = answers.filter((a) => a.status === 201);
    const refused = answers.filter((a) => a.status === 429);
    expect(admitted.length).toBe(2); // burst: twice the rate
    expect(refused).toHaveLength(n - 2);
    for (const r of refused) expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
    const held = refused.filter((a) => a.ms >= 700);
    const atOnce = refused.filter((a) => a.ms < 700);
    expect(held).toHaveLength(MAX_HELD_REFUSALS_PER_PRINCIPAL);
    // The first refusal (which set the Retry-After) and those over the cap.
    expect(atOnce).toHaveLength(n - 2 - MAX_HELD_REFUSALS_PER_PRINCIPAL);
    expect(atOnce.filter((a) => a.connection === 'close')).toHaveLength(atOnce.length - 1);
    // Another principal at the same moment: admitted, and its own first refusal is not held.
    const other = await Promise.all([propose('other'), propose('other'), propose('other')]);
    expect(other.map((a) => a.status).sort()).toEqual([201, 201, 429]);
    expect(other.every((a) => a.ms < 700)).toBe(true);
  });

  it('when a refused client waits as told, then its next answer is not held', async () => {
    await new Promise((r) => setTimeout(r, 2100));
    const [a, b] = [await propose('patient'), await propose('patient')];
    expect([a.status, b.status]).toEqual([201, 201]);
    const first = await propose('patient');
    expect(first.status).toBe(429);
    expect(first.ms).toBeLessThan(700);
    await new Promise((r) => setTimeout(r, Number(first.retryAfter) * 1000));
    const next = await propose('patient');
    expect(next.status).toBe(201);
    expect(next.ms).toBeLessThan(700);
  });
});

describe('what a held refusal tells', () => {
  it('when a held answer is ignored too, then the next is held again; another limit of the same principal is not held', () => {
    let now = 0;
    const timers: { at: number; fn: () => void }[] = [];
    const slow = new SlowRefusals(() => now, () => 0);
    const res = () => {
      const r = { headersSent: false, destroyed: false, headers: {} as Record<string, string>, status: 0, listeners: [] as (() => void)[] } as any;
      r.setHeader = (k: string, v: string) => (r.headers[k.toLowerCase()] = v);
      r.status = (c: number) => ((r.code = c), r);
      r.type = () => r;
      r.send = () => ((r.headersSent = true), r);
      r.end = () => ((r.headersSent = true), r);
      r.on = (_e: string, fn: () => void) => r.listeners.push(fn);
      return r;
    };
    const realSetTimeout = globalThis.setTimeout;
    globalThis.setTimeout = ((fn: () => void, ms: number) => (timers.push({ at: now + ms, fn }), timers.length)) as any;
    const realClear = globalThis.clearTimeout;
    globalThis.clearTimeout = (() => {}) as any;
    try {
      const first = res();
      slow.refuse(first, 'p', 'proposals', 0.5, 'slow down');
      expect(first.headersSent).toBe(true); // at once: it was told 1 s
      const second = res();
      now = 100;
      slow.refuse(second, 'p', 'proposals', 0.5, 'slow down');
      expect(second.headersSent).toBe(false); // held until t = 1000
      expect(timers.at(-1)?.at).toBe(1000);
      // Another limit of the same principal: its own first refusal, at once.
      const decision = res();
      slow.refuse(decision, 'p', 'decisions', 0.5, 'slow down');
      expect(decision.headersSent).toBe(true);
      now = 1000;
      timers.at(-1)?.fn();
      expect(second.headersSent).toBe(true);
      expect(second.headers['retry-after']).toBe('1');
      // Ignoring that answer too: held again, until the second it told has passed.
      now = 1010;
      const third = res();
      slow.refuse(third, 'p', 'proposals', 0.5, 'slow down');
      expect(third.headersSent).toBe(false);
      expect(timers.at(-1)?.at).toBe(2000);
    } finally {
      globalThis.setTimeout = realSetTimeout;
      globalThis.clearTimeout = realClear;
    }
  });
});
