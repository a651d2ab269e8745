import { createHash, createHmac } from 'node:crypto';
import http from 'node:http';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvalDigest } from '../../activities/approval-digest';
import { createExecutorActivities, ExecutorHealth } from '../../activities/http-executor';
import { startTarget } from '../helpers/target';

/**
 * A target whose every request `handle` answers (or not), for what startTarget cannot do:
 * never answer, stall mid-body. `close` drops open connections too.
 */
async function rawTarget(handle: http.RequestListener) {
  const server = http.createServer(handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/transfers`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

describe('http executor', () => {
  let status = 200;
  let target: Awaited<ReturnType<typeof startTarget>>;
  const env = new MockActivityEnvironment();
  const { executeHttp } = createExecutorActivities({ executorSecret: 'unit-secret-0123456789' });
  const run = (req: Parameters<typeof executeHttp>[0]) => env.run(executeHttp, req);

  beforeAll(async () => {
    target = await startTarget(() => ({ status, body: { answered: status } }));
  });
  afterAll(() => target.close());

  const request = (extra: Partial<Parameters<typeof executeHttp>[0]> = {}) => ({
    actionId: `act_${Math.random().toString(16).slice(2)}`,
    action: 'payments.transfer',
    params: { amount: 5 },
    url: `${target.url}/transfers`,
    ...extra,
  });

  it('when the target answers 2xx, then the answer is the result and the request is keyed and signed', async () => {
    status = 201;
    const req = request();
    const result = await run(req);
    const [got] = target.forAction(req.actionId);
    expect(result).toEqual({ status: 201, body: { answered: 201 }, requestDigest: 'sha256:' + createHash('sha256').update(got.rawBody).digest('hex') });
    expect(got.headers['idempotency-key']).toBe(req.actionId);
    expect(got.headers['x-countersign-signature']).toBe('sha256=' + createHmac('sha256', 'unit-secret-0123456789').update(got.rawBody).digest('hex'));
  });

  it('when the target answers 4xx, then the failure is final (non-retryable) and carries the answer', async () => {
    status = 422;
    const err: any = await run(request()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApplicationFailure);
    expect(err.type).toBe('ExecutorRejected');
    expect(err.nonRetryable).toBe(true);
    expect(err.details[0]).toMatchObject({ status: 422, body: { answered: 422 } });
  });

  it('when the target answers 5xx, then the failure is retryable', async () => {
    status = 503;
    const err: any = await run(request()).catch((e: unknown) => e);
    expect(err.type).toBe('ExecutorUnavailable');
    expect(err.nonRetryable).toBe(false);
  });

  it('when the target does not answer within the configured timeout, then the call is abandoned with a retryable failure', async () => {
    const silent = await rawTarget(() => {}); // accepts, never answers
    try {
      const slow = createExecutorActivities({ executorSecret: 'unit-secret-0123456789', executorTimeoutMs: 300 });
      const started = Date.now();
      const err: any = await env.run(slow.executeHttp, request({ url: silent.url })).catch((e: unknown) => e);
      expect(err.type).toBe('ExecutorUnavailable');
      expect(err.nonRetryable).toBe(false);
      expect(err.message).toMatch(/did not answer within 300 ms/);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await silent.close();
    }
  });

  it('when the target is unreachable, then the failure is retryable', async () => {
    const err: any = await run(request({ url: 'http://127.0.0.1:1/transfers' })).catch((e: unknown) => e);
    expect(err.type).toBe('ExecutorUnavailable');
    expect(err.nonRetryable).toBe(false);
  });

  it('when the params differ from what was approved, then nothing is sent', async () => {
    status = 200;
    const req = request();
    const digest = approvalDigest({ action: req.action, params: { amount: 4 }, resource: null, policyVersion: 'v1' });
    const err: any = await run({ ...req, approved: { digest, resource: null, policyVersion: 'v1' } }).catch((e: unknown) => e);
    expect(err.type).toBe('ExecutionDigestMismatch');
    expect(target.forAction(req.actionId)).toHaveLength(0);
    const ok: any = await run({ ...req, approved: { digest: approvalDigest({ action: req.action, params: req.params, resource: null, policyVersion: 'v1' }), resource: null, policyVersion: 'v1' } });
    expect(ok.status).toBe(200);
  });

  it('when the worker has not seen the target answer, then the inline attempt sends nothing; once it answered fast, the inline attempt sends', async () => {
    status = 200;
    const fresh = createExecutorActivities({ executorSecret: 'unit-secret-0123456789', health: new ExecutorHealth() });
    const first = request();
    expect(await env.run(fresh.tryExecuteHttpInline, first)).toEqual({ sent: false, reason: expect.any(String) });
    expect(target.forAction(first.actionId)).toHaveLength(0);

    await env.run(fresh.executeHttp, request());
    const second = request();
    const inline = await env.run(fresh.tryExecuteHttpInline, second);
    expect(inline).toMatchObject({ sent: true, response: { status: 200 } });
    expect(target.forAction(second.actionId)).toHaveLength(1);
  });

  it('when inline calls are switched off, then the inline attempt never sends, even to a target that answered fast', async () => {
    status = 200;
    const off = createExecutorActivities({ executorSecret: 'unit-secret-0123456789', executorInline: false, health: new ExecutorHealth() });
    await env.run(off.executeHttp, request());
    const req = request();
    expect(await env.run(off.tryExecuteHttpInline, req)).toEqual({ sent: false, reason: expect.stringMatching(/COUNTERSIGN_EXECUTOR_INLINE/) });
    expect(target.forAction(req.actionId)).toHaveLength(0);
  });

  it('when an inline attempt meets a target that stopped answering, then it gives up within its budget, retryably, and the next attempt sends nothing', async () => {
    let hang = false;
    const flaky = await rawTarget((_req, res) => {
      if (!hang) res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    try {
      const { url } = flaky;
      // The executor timeout (300 ms) is below the inline budget (3 s), so it is what cuts the call off.
      const acts = createExecutorActivities({ executorSecret: 'unit-secret-0123456789', executorTimeoutMs: 300, health: new ExecutorHealth() });
      await env.run(acts.executeHttp, request({ url }));
      hang = true;

      const started = Date.now();
      const err: any = await env.run(acts.tryExecuteHttpInline, request({ url })).catch((e: unknown) => e);
      expect(err.type).toBe('ExecutorUnavailable');
      expect(err.nonRetryable).toBe(false);
      expect(Date.now() - started).toBeLessThan(2_000);
      expect(await env.run(acts.tryExecuteHttpInline, request({ url }))).toMatchObject({ sent: false });
    } finally {
      await flaky.close();
    }
  });

  it('when an inline attempt gets a 4xx, then the refusal is final, as for a regular call, and the target stays known as fast', async () => {
    const acts = createExecutorActivities({ executorSecret: 'unit-secret-0123456789', health: new ExecutorHealth() });
    status = 200;
    await env.run(acts.executeHttp, request());
    status = 409;
    const err: any = await env.run(acts.tryExecuteHttpInline, request()).catch((e: unknown) => e);
    expect(err.type).toBe('ExecutorRejected');
    expect(err.nonRetryable).toBe(true);
    expect(err.details[0]).toMatchObject({ status: 409 });
    // A refusal is an answer: the next call still goes inline.
    status = 200;
    expect(await env.run(acts.tryExecuteHttpInline, request())).toMatchObject({ sent: true });
  });

  it('when a target sends its headers at once but stalls its body, then the call fails retryably and the target is off the inline path', async () => {
    let stall = false;
    const staller = await rawTarget((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      if (stall) res.write('{"receipt":'); // and never the rest
      else res.end('{}');
    });
    try {
      const { url } = staller;
      const acts = createExecutorActivities({ executorSecret: 'unit-secret-0123456789', executorTimeoutMs: 300, health: new ExecutorHealth() });
      await env.run(acts.executeHttp, request({ url }));
      stall = true;

      const err: any = await env.run(acts.tryExecuteHttpInline, request({ url })).catch((e: unknown) => e);
      expect(err.type).toBe('ExecutorUnavailable');
      expect(err.nonRetryable).toBe(false);
      expect(await env.run(acts.tryExecuteHttpInline, request({ url }))).toMatchObject({ sent: false });
    } finally {
      await staller.close();
    }
  });
});

describe('executor health (which targets are called inline)', () => {
  const url = 'http://target.example/transfers';
  let now = 1_000_000;
  const health = () => new ExecutorHealth({ fastMs: 1000, coolDownMs: 30_000, freshMs: 300_000, now: () => now });
  /** One call to `url` that takes `ms` and ends as `outcome`. */
  const call = (h: ExecutorHealth, ms: number, outcome: 'answered' | 'failed' = 'answered') => {
    const done = h.begin(url);
    now += ms;
    done(outcome);
  };

  it('when a target was never called, then it is not known to be fast', () => {
    expect(health().knownFast(url)).toBe(false);
  });

  it('when the last call was answered within a second, then the target is known to be fast', () => {
    const h = health();
    call(h, 200);
    expect(h.knownFast(url)).toBe(true);
    expect(h.knownFast('http://other.example/')).toBe(false);
  });

  it('when a call answers slowly or fails, then the target is off the inline path until it has answered fast again and the cool-down has passed', () => {
    for (const [ms, outcome] of [[1500, 'answered'], [10, 'failed']] as const) {
      // A fast answer after the cool-down brings it back...
      const a = health();
      call(a, 100);
      call(a, ms, outcome);
      expect(a.knownFast(url)).toBe(false);
      now += 30_000;
      expect(a.knownFast(url)).toBe(false); // the cool-down alone is not enough
      call(a, 100);
      expect(a.knownFast(url)).toBe(true);
      // ...and so does the cool-down after a fast answer.
      const b = health();
      call(b, 100);
      call(b, ms, outcome);
      call(b, 100);
      expect(b.knownFast(url)).toBe(false); // fast again, but within the cool-down
      now += 30_000;
      expect(b.knownFast(url)).toBe(true);
    }
  });

  it('when the last fast answer is more than five minutes old, then the target is no longer known to be fast', () => {
    const h = health();
    call(h, 100);
    now += 299_000;
    expect(h.knownFast(url)).toBe(true);
    now += 2_000;
    expect(h.knownFast(url)).toBe(false);
    call(h, 100);
    expect(h.knownFast(url)).toBe(true);
  });

  it('when a call has been in flight for longer than a second, then the target is off the inline path before that call ends', () => {
    const h = health();
    call(h, 100);
    const done = h.begin(url);
    now += 500;
    expect(h.knownFast(url)).toBe(true);
    now += 600;
    expect(h.knownFast(url)).toBe(false);
    done('answered');
    expect(h.knownFast(url)).toBe(false);
  });
});
