import os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPolicy } from '../fixtures/policy';
import { startTestStack, type TestStack } from '../helpers/stack';

/*
 * With COUNTERSIGN_METRICS_PORT, /metrics (which shows action names and traffic, to anyone who
 * can reach it) moves to a listener of its own, so the API's port can face clients while the
 * metrics stay on a network only the scraper reaches. The real services, as `npm start` and
 * api/main.ts build them.
 */
describe('metrics on their own port', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack(testPolicy('http://127.0.0.1:9'), { host: '127.0.0.1', metricsPort: 0 });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('when the API port is asked for /metrics, then 404, and its OpenAPI document does not list it', async () => {
    const r = await stack.call(undefined, 'GET', '/metrics');
    expect(r.status).toBe(404);
    expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(Object.keys((await stack.call(undefined, 'GET', '/openapi.json')).body.paths)).not.toContain('/metrics');
  });

  it('when the metrics port is scraped, then it serves the API process metrics, the faults gauge included, and nothing else', async () => {
    const { metricsUrl } = stack.services;
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(metricsUrl).not.toBe(stack.url);
    expect((await stack.call(stack.admin, 'GET', '/v1/policy')).status).toBe(200);
    const r = await fetch(`${metricsUrl}/metrics`);
    const text = await r.text();
    expect(r.status).toBe(200);
    expect(text).toMatch(/countersign_http_requests_total\{method="GET",route="\/v1\/policy",status="200"\} 1/);
    expect(text).toMatch(/countersign_action_faults 0/);
    expect((await fetch(`${metricsUrl}/v1/policy`, { headers: { authorization: `Bearer ${stack.admin}` } })).status).toBe(404);
  });

  it('when the configured host is loopback, then the metrics port is bound to it, not to other interfaces', async () => {
    const port = new URL(stack.services.metricsUrl!).port;
    const external = Object.values(os.networkInterfaces())
      .flat()
      .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
    if (!external) return; // no other interface on this machine to try
    const err = await fetch(`http://${external}:${port}/metrics`, { signal: AbortSignal.timeout(3000) }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect(((err as Error & { cause?: { code?: string } }).cause?.code)).toBe('ECONNREFUSED');
  });
});
