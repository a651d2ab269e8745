import { createHash, createHmac } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvalDigest } from '../../activities/approval-digest';
import { createExecutorActivities } from '../../activities/http-executor';
import { startTarget } from '../helpers/target';

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
    const http = await import('node:http');
    const silent = http.createServer(() => {}); // accepts, never answers
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const { port } = silent.address() as { port: number };
      const slow = createExecutorActivities({ executorSecret: 'unit-secret-0123456789', executorTimeoutMs: 300 });
      const started = Date.now();
      const err: any = await env.run(slow.executeHttp, request({ url: `http://127.0.0.1:${port}/transfers` })).catch((e: unknown) => e);
      expect(err.type).toBe('ExecutorUnavailable');
      expect(err.nonRetryable).toBe(false);
      expect(err.message).toMatch(/did not answer within 300 ms/);
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      silent.closeAllConnections();
      await new Promise((r) => silent.close(r));
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
});
