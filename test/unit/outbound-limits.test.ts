import http from 'node:http';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExecutorActivities, ExecutorHealth } from '../../activities/http-executor';
import { createNotificationActivities, type NotificationInput } from '../../activities/notify';
import type { PolicyStore } from '../../ledger/policy-store';
import { loadPolicyBundle } from '../../policy';
import { ConfigError, loadConfig } from '../../runtime/config';
import { startTarget } from '../helpers/target';

/*
 * Executor targets and webhooks are outside the system, so they may be hostile: one that
 * redirects would have the signed request delivered where the bundle never pointed; one that
 * answers without end would fill the worker's memory. Each attack below runs against a real
 * local HTTP server, next to the legitimate call that must keep working.
 */

/** A server that answers every request with `handle`; it records how each answer's connection ended. */
async function hostileServer(handle: (res: http.ServerResponse, sent: { bytes: number; closedEarly: boolean }) => void) {
  const answers: { bytes: number; closedEarly: boolean }[] = [];
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const sent = { bytes: 0, closedEarly: false };
      answers.push(sent);
      // 'close' before 'finish': the client went away before the answer was complete.
      res.on('close', () => (sent.closedEarly = !res.writableFinished));
      handle(res, sent);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`,
    answers,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

/** Writes `chunk` for as long as the client keeps reading, and never ends the body. */
function endless(res: http.ServerResponse, sent: { bytes: number }, chunk = Buffer.alloc(16 * 1024, 'a')) {
  const pump = () => {
    while (!res.destroyed) {
      sent.bytes += chunk.length;
      if (!res.write(chunk)) return void res.once('drain', pump);
    }
  };
  pump();
}

const REDIRECTS = [301, 302, 303, 307, 308];
const SECRET = 'unit-secret-0123456789';

describe('executor calls: redirects and answer size', () => {
  const env = new MockActivityEnvironment();
  // The place a redirect would send the signed request to: it must never receive it.
  let elsewhere: Awaited<ReturnType<typeof startTarget>>;
  beforeAll(async () => {
    elsewhere = await startTarget();
  });
  afterAll(() => elsewhere.close());
  const request = (url: string) => ({ actionId: `act_${Math.random().toString(16).slice(2)}`, action: 'payments.transfer', params: { amount: 5 }, url });

  it('when the target answers with a redirect, then it is not followed and the call is refused for good, naming the redirect', async () => {
    let status = 302;
    const redirector = await hostileServer((res) => res.writeHead(status, { location: `${elsewhere.url}/transfers` }).end('moved'));
    try {
      const acts = createExecutorActivities({ executorSecret: SECRET, health: new ExecutorHealth() });
      for (const code of REDIRECTS) {
        status = code;
        const err: any = await env.run(acts.executeHttp, request(redirector.url)).catch((e: unknown) => e);
        expect(err, `HTTP ${code}`).toBeInstanceOf(ApplicationFailure);
        expect(err.type).toBe('ExecutorRejected');
        expect(err.nonRetryable).toBe(true);
        expect(err.message).toContain(`answered HTTP ${code} (a redirect to ${elsewhere.url}/transfers): redirects are not followed`);
        expect(err.details[0]).toMatchObject({ status: code });
      }
      expect(elsewhere.received).toHaveLength(0);
    } finally {
      await redirector.close();
    }
  });

  it('when the target answers 2xx itself, then the call succeeds as before (the legitimate path)', async () => {
    const acts = createExecutorActivities({ executorSecret: SECRET, health: new ExecutorHealth() });
    const req = request(`${elsewhere.url}/transfers`);
    const result = await env.run(acts.executeHttp, req);
    expect(result).toMatchObject({ status: 200, body: { receipt: expect.any(String) } });
    expect(result).not.toHaveProperty('bodyTruncated');
    expect(elsewhere.forAction(req.actionId)).toHaveLength(1);
  });

  it('when the target answers 2xx with a body that never ends, then reading stops at the cap, the connection is closed, and the answer counts', async () => {
    const flood = await hostileServer((res, sent) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      endless(res, sent);
    });
    try {
      // A long timeout: without the cap the call would read until it, buffering everything.
      const acts = createExecutorActivities({ executorSecret: SECRET, executorTimeoutMs: 20_000, fetchMaxBytes: 256 * 1024, health: new ExecutorHealth() });
      const started = Date.now();
      const result: any = await env.run(acts.executeHttp, request(flood.url));
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(result.status).toBe(200);
      expect(result.bodyTruncated).toBe(true);
      expect(result.body).toHaveLength(64 * 1024); // what the evidence keeps
      await expect.poll(() => flood.answers[0]?.closedEarly).toBe(true);
      // What was written before the close: the cap plus what the sockets buffered, nowhere near unbounded.
      expect(flood.answers[0].bytes).toBeLessThan(16 * 1024 * 1024);
    } finally {
      await flood.close();
    }
  });

  it('when a 5xx answer never ends, then the cap stops it too and the failure stays retryable', async () => {
    const flood = await hostileServer((res, sent) => {
      res.writeHead(503);
      endless(res, sent);
    });
    try {
      const acts = createExecutorActivities({ executorSecret: SECRET, executorTimeoutMs: 20_000, fetchMaxBytes: 64 * 1024, health: new ExecutorHealth() });
      const started = Date.now();
      const err: any = await env.run(acts.executeHttp, request(flood.url)).catch((e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(err.type).toBe('ExecutorUnavailable');
      expect(err.nonRetryable).toBe(false);
      expect(err.details[0]).toMatchObject({ status: 503, bodyTruncated: true });
    } finally {
      await flood.close();
    }
  });

  it('when an answer is under the cap, then it is read whole and parsed (the legitimate path)', async () => {
    const receipt = { receipt: 'r-1', lines: Array.from({ length: 2000 }, (_, i) => `line ${i}`) }; // ~20 KB
    const target = await hostileServer((res) => res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify(receipt)));
    try {
      const acts = createExecutorActivities({ executorSecret: SECRET, fetchMaxBytes: 64 * 1024, health: new ExecutorHealth() });
      const result = await env.run(acts.executeHttp, request(target.url));
      expect(result).toMatchObject({ status: 201, body: receipt });
      expect(result).not.toHaveProperty('bodyTruncated');
    } finally {
      await target.close();
    }
  });

  it('when a body trickles in below the cap, then the executor timeout still cuts the call off, retryably', async () => {
    const trickle = await hostileServer((res) => {
      res.writeHead(200);
      const t = setInterval(() => (res.destroyed ? clearInterval(t) : res.write('.')), 20);
    });
    try {
      const acts = createExecutorActivities({ executorSecret: SECRET, executorTimeoutMs: 400, health: new ExecutorHealth() });
      const started = Date.now();
      const err: any = await env.run(acts.executeHttp, request(trickle.url)).catch((e: unknown) => e);
      expect(err.type).toBe('ExecutorUnavailable');
      expect(err.message).toMatch(/did not answer within 400 ms/);
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      await trickle.close();
    }
  });
});

describe('webhook calls: redirects, answer size and timeout', () => {
  const bundle = loadPolicyBundle(`
defaults: { decision: deny }
actions:
  payments.transfer:
    owner: finance
    category: financial
    params: { type: object, properties: { amount: { type: number } } }
    executor: { type: agent }
rules: []
`);
  const policies = { byVersion: async () => bundle } as unknown as PolicyStore;
  const env = new MockActivityEnvironment();
  const notification: NotificationInput = {
    event: 'approval_requested',
    actionId: 'act_1',
    action: 'payments.transfer',
    agent: 'agent-1',
    status: 'awaiting_approval',
    groups: ['finance'],
    policyVersion: bundle.version,
    deadline: null,
    justification: null,
    params: { amount: 5 },
    link: '/v1/actions/act_1',
  };
  let elsewhere: Awaited<ReturnType<typeof startTarget>>;
  beforeAll(async () => {
    elsewhere = await startTarget();
  });
  afterAll(() => elsewhere.close());

  it('when the webhook answers with a redirect, then it is not followed and the notification is refused for good', async () => {
    let status = 302;
    const redirector = await hostileServer((res) => res.writeHead(status, { location: `${elsewhere.url}/stolen` }).end());
    try {
      const acts = createNotificationActivities({ policies, executorSecret: SECRET });
      for (const code of REDIRECTS) {
        status = code;
        const err: any = await env.run(acts.notifyWebhook, { url: redirector.url, notification }).catch((e: unknown) => e);
        expect(err, `HTTP ${code}`).toBeInstanceOf(ApplicationFailure);
        expect(err.type).toBe('WebhookRejected');
        expect(err.nonRetryable).toBe(true);
        expect(err.message).toContain(`answered ${code} (a redirect to ${elsewhere.url}/stolen): redirects are not followed`);
      }
      expect(elsewhere.received).toHaveLength(0);
      // The legitimate path: the same notification to a webhook that answers itself is delivered.
      await env.run(acts.notifyWebhook, { url: `${elsewhere.url}/finance`, notification });
      expect(elsewhere.received.map((r) => r.path)).toEqual(['/finance']);
    } finally {
      await redirector.close();
    }
  });

  it('when the webhook answers with a body that never ends, then reading stops at the cap and the delivery still counts', async () => {
    const flood = await hostileServer((res, sent) => {
      res.writeHead(200);
      endless(res, sent);
    });
    try {
      const acts = createNotificationActivities({ policies, executorSecret: SECRET, fetchMaxBytes: 64 * 1024 });
      const started = Date.now();
      await env.run(acts.notifyWebhook, { url: flood.url, notification });
      expect(Date.now() - started).toBeLessThan(5_000);
      await expect.poll(() => flood.answers[0]?.closedEarly).toBe(true);
      expect(flood.answers[0].bytes).toBeLessThan(16 * 1024 * 1024);
    } finally {
      await flood.close();
    }
  });

  it('when the webhook never answers, then its timeout cuts the call off, retryably', async () => {
    const silent = await hostileServer(() => {});
    try {
      const acts = createNotificationActivities({ policies, executorSecret: SECRET, webhookTimeoutMs: 300 });
      const started = Date.now();
      const err: any = await env.run(acts.notifyWebhook, { url: silent.url, notification }).catch((e: unknown) => e);
      expect(err.type).toBe('WebhookUnavailable');
      expect(err.nonRetryable).toBe(false);
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      await silent.close();
    }
  });
});

describe('COUNTERSIGN_FETCH_MAX_BYTES', () => {
  it('when unset, then 1 MiB; when set, then that many bytes; below 1 KiB or not a number, then the process refuses to start', () => {
    expect(loadConfig({}).fetchMaxBytes).toBe(1024 * 1024);
    expect(loadConfig({ COUNTERSIGN_FETCH_MAX_BYTES: '65536' }).fetchMaxBytes).toBe(65536);
    expect(() => loadConfig({ COUNTERSIGN_FETCH_MAX_BYTES: '10' })).toThrow(ConfigError);
    expect(() => loadConfig({ COUNTERSIGN_FETCH_MAX_BYTES: 'lots' })).toThrow(/COUNTERSIGN_FETCH_MAX_BYTES/);
  });
});
