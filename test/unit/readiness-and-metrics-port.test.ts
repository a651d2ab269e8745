import type { Server } from 'node:http';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, type ApiDeps } from '../../api/app';
import { createMetrics, metricsApp } from '../../api/metrics';
import { loadConfig } from '../../runtime/config';

/*
 * /readyz, /healthz and /metrics need no token: whatever they say, anyone who can reach the port
 * reads. These run the real express app in-process; only Postgres and Temporal are stand-ins,
 * failing the way their drivers do, with the internal details their errors carry.
 */

const PG_ERROR = 'password authentication failed for user "countersign_owner" at db-primary.internal:5432';
const TEMPORAL_ERROR = '14 UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 10.20.30.40:7233 (tls: certificate signed by unknown authority, CN=temporal.prod.internal)';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function serve(app: ReturnType<typeof createApp>): Promise<string> {
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

/** The API with Postgres and Temporal answering as told; its log lines are kept. */
function api(health: { postgres: () => Promise<unknown>; temporal: () => Promise<unknown> }, extra: Partial<ApiDeps> = {}) {
  const logged: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void logged.push(JSON.parse(line)) });
  const app = createApp({
    log,
    maxBodyBytes: 1024,
    pool: { query: health.postgres },
    temporal: { connection: { healthService: { check: health.temporal } } },
    ...extra,
  } as unknown as ApiDeps);
  return { app, logged };
}

const ok = async () => ({ rows: [{ '?column?': 1 }] });
const refuse = (message: string) => async () => {
  throw new Error(message);
};

describe('/readyz says which dependency failed, never what it said', () => {
  it('when Postgres and Temporal fail with internal details, then the answer names each in fixed words and the details go to the log only', async () => {
    const { app, logged } = api({ postgres: refuse(PG_ERROR), temporal: refuse(TEMPORAL_ERROR) });
    const r = await fetch(`${await serve(app)}/readyz`);
    const text = await r.text();
    expect(r.status).toBe(503);
    expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(text).detail).toBe(
      "not ready: postgres: SELECT 1 failed (the reason is in this process's log); temporal: the health check failed (the reason is in this process's log)",
    );
    for (const leak of ['countersign_owner', 'db-primary', '5432', '10.20.30.40', 'ECONNREFUSED', 'certificate', 'temporal.prod']) expect(text).not.toContain(leak);
    expect(logged).toContainEqual(expect.objectContaining({ msg: 'not ready', postgres: PG_ERROR, temporal: TEMPORAL_ERROR }));
  });

  it('when only one dependency fails, then only that one is named as failing', async () => {
    const { app } = api({ postgres: ok, temporal: refuse(TEMPORAL_ERROR) });
    const r = await fetch(`${await serve(app)}/readyz`);
    expect(r.status).toBe(503);
    expect(((await r.json()) as { detail: string }).detail).toBe("not ready: postgres: ok; temporal: the health check failed (the reason is in this process's log)");
  });

  it('when a dependency does not answer, then the answer says so after 3 s, in fixed words', async () => {
    const { app } = api({ postgres: () => new Promise(() => {}), temporal: ok });
    const started = Date.now();
    const r = await fetch(`${await serve(app)}/readyz`);
    expect(r.status).toBe(503);
    expect(((await r.json()) as { detail: string }).detail).toBe('not ready: postgres: no answer to SELECT 1 within 3 s; temporal: ok');
    expect(Date.now() - started).toBeLessThan(6_000);
  });

  it('when both answer, then 200 as before (the legitimate path)', async () => {
    const { app, logged } = api({ postgres: ok, temporal: ok });
    const r = await fetch(`${await serve(app)}/readyz`);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ ok: true, postgres: 'ok', temporal: 'ok' });
    expect(logged.filter((l) => l.msg === 'not ready')).toEqual([]);
  });
});

describe('/metrics on its own port', () => {
  it('when metrics have their own port, then the API port answers 404 for /metrics and its OpenAPI document does not list it; the metrics port serves them and nothing else', async () => {
    const metrics = createMetrics();
    const { app } = api({ postgres: ok, temporal: ok }, { metrics, metricsOnOwnPort: true });
    const apiUrl = await serve(app);
    const metricsUrl = await serve(metricsApp(metrics));

    const onApi = await fetch(`${apiUrl}/metrics`);
    expect(onApi.status).toBe(404);
    expect(onApi.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await onApi.text()).not.toContain('countersign_');
    const doc = (await (await fetch(`${apiUrl}/openapi.json`)).json()) as { paths: object };
    expect(Object.keys(doc.paths)).not.toContain('/metrics');
    expect(Object.keys(doc.paths)).toContain('/readyz');

    const scraped = await fetch(`${metricsUrl}/metrics`);
    expect(scraped.status).toBe(200);
    expect(scraped.headers.get('content-type')).toMatch(/text\/plain/);
    // The API's traffic is counted in the registry the metrics port serves.
    expect(await scraped.text()).toMatch(/countersign_http_requests_total\{method="GET",route="unmatched",status="404"\} 1/);
    for (const path of ['/readyz', '/openapi.json', '/v1/actions', '/']) expect((await fetch(`${metricsUrl}${path}`)).status, path).toBe(404);
  });

  it('when metrics have no port of their own, then the API port serves and documents /metrics (the legitimate default)', async () => {
    const { app } = api({ postgres: ok, temporal: ok });
    const apiUrl = await serve(app);
    const r = await fetch(`${apiUrl}/metrics`);
    expect(r.status).toBe(200);
    expect(await r.text()).toContain('countersign_http_request_duration_seconds');
    expect(Object.keys(((await (await fetch(`${apiUrl}/openapi.json`)).json()) as { paths: object }).paths)).toContain('/metrics');
  });

  it('when COUNTERSIGN_METRICS_PORT is read, then it is optional, a port, and not PORT; COUNTERSIGN_HOST defaults to all interfaces', () => {
    expect(loadConfig({})).toMatchObject({ metricsPort: undefined, host: '0.0.0.0' });
    expect(loadConfig({ COUNTERSIGN_METRICS_PORT: '9464', COUNTERSIGN_HOST: '127.0.0.1' })).toMatchObject({ metricsPort: 9464, host: '127.0.0.1' });
    expect(() => loadConfig({ PORT: '3000', COUNTERSIGN_METRICS_PORT: '3000' })).toThrow(/COUNTERSIGN_METRICS_PORT: is PORT \(3000\)/);
    expect(() => loadConfig({ COUNTERSIGN_METRICS_PORT: '70000' })).toThrow(/COUNTERSIGN_METRICS_PORT/);
  });
});
