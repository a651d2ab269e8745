import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Payload } from '@temporalio/common';
import { inject } from 'vitest';
import { createLogger, type Logger } from '../../runtime/logger';
import type { PayloadKey } from '../../runtime/payload-keys';
import { startServices, type Services, type ServicesOptions } from '../../runtime/stack';

/** An HTTP answer, parsed. */
export interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

/** Call the API. `body` as a string is sent raw (for malformed-JSON cases). */
export async function call(
  base: string,
  token: string | undefined,
  method: string,
  urlPath: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const res = await fetch(base + urlPath, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

/** A Countersign API + worker on the shared test infrastructure, with its own database and task queue. */
export interface TestStack {
  url: string;
  admin: string;
  /** The task queue this stack's worker polls. */
  taskQueue: string;
  services: Services;
  pool: pg.Pool;
  call(token: string | undefined, method: string, urlPath: string, body?: unknown, headers?: Record<string, string>): Promise<Answer>;
  principal(id: string, kind: 'agent' | 'human', roles: string[], groups?: string[]): Promise<string>;
  /**
   * Stop the API and worker and start them again on the same database, data dir and task queue
   * (as a deploy would), with `changes` applied (e.g. rotated payload keys); `url` and `services`
   * then name the new ones.
   */
  restart(changes?: Partial<Pick<ServicesOptions, 'payloadKeys'>>): Promise<void>;
  stop(): Promise<void>;
}

/** Start services against the global Temporal + Postgres; `policy` is the bundle source to activate. */
export async function startTestStack(
  policy: string,
  opts: { log?: Logger; drainDelayMs?: number; payloadKeys?: PayloadKey[] } & Pick<ServicesOptions, 'host' | 'metricsPort' | 'rateLimits' | 'sessionTtlMs' | 'oidc' | 'publicUrl' | 'slack' | 'tracing' | 'workflowBundle'> = {},
): Promise<TestStack> {
  const suffix = randomBytes(4).toString('hex');
  const baseUrl = inject('databaseUrl');
  const database = `t_${suffix}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.end();
  const databaseUrl = baseUrl.replace(/\/[^/]+$/, `/${database}`);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-stack-'));
  const policyFile = path.join(dataDir, 'policy.yaml');
  fs.writeFileSync(policyFile, policy);
  const adminToken = randomBytes(24).toString('base64url');
  const options: ServicesOptions = {
    databaseUrl,
    temporalAddress: inject('temporalAddress'),
    namespace: 'default',
    taskQueue: `test-${suffix}`,
    dataDir,
    port: 0,
    host: opts.host,
    metricsPort: opts.metricsPort,
    policyFile,
    adminToken,
    executorSecret: 'test-executor-secret-0123456789',
    temporalUiUrl: 'http://localhost:8233',
    maxBodyBytes: 1024 * 1024,
    log: opts.log ?? createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
    workflowBundle: opts.workflowBundle ?? { code: fs.readFileSync(inject('workflowBundlePath'), 'utf8') },
    tracing: opts.tracing,
    drainDelayMs: opts.drainDelayMs,
    payloadKeys: opts.payloadKeys,
    sessionTtlMs: opts.sessionTtlMs,
    oidc: opts.oidc,
    publicUrl: opts.publicUrl,
    slack: opts.slack,
    rateLimits: opts.rateLimits,
  };
  const stack: TestStack = {
    url: '',
    admin: adminToken,
    taskQueue: options.taskQueue,
    services: await startServices(options),
    get pool() {
      return this.services.pool;
    },
    call: (token, method, urlPath, body, headers) => call(stack.url, token, method, urlPath, body, headers),
    async principal(id, kind, roles, groups = []) {
      const r = await call(stack.url, adminToken, 'POST', '/v1/principals', { id, kind, roles, groups });
      if (r.status !== 201) throw new Error(`creating principal ${id}: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body.token as string;
    },
    async restart(changes = {}) {
      await stack.services.stop();
      Object.assign(options, changes);
      stack.services = await startServices(options);
      stack.url = stack.services.url;
    },
    async stop() {
      await stack.services.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
  stack.url = stack.services.url;
  return stack;
}

/** Poll until `fn` returns a truthy value (for states reached asynchronously), or fail after `ms`. */
export async function eventually<T>(fn: () => Promise<T | undefined | false>, ms = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * With RECORD_REPLAY_FIXTURES=<generation> (e.g. v5), save the histories of the named workflows
 * ("name=workflowId") as replay fixtures in test/replay/fixtures/<generation> (replayed offline
 * by test/replay). Earlier generations stay: today's code must still replay what older code
 * recorded, since such workflows may still be running.
 */
export async function saveReplayFixtures(stack: TestStack, named: string[]): Promise<void> {
  const generation = process.env.RECORD_REPLAY_FIXTURES;
  if (!generation) return;
  if (!/^[\w.-]+$/.test(generation)) throw new Error(`RECORD_REPLAY_FIXTURES must name a fixture generation (e.g. v5), got ${generation}`);
  const dir = path.join(__dirname, '..', 'replay', 'fixtures', generation);
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, workflowId] of named.map((r) => r.split('=') as [string, string])) {
    // The CLI writes the standard JSON history format that every Temporal tool reads.
    const out = execFileSync(inject('temporalCli'), ['workflow', 'show', '-w', workflowId, '--address', inject('temporalAddress'), '--output', 'json'], {
      encoding: 'utf8',
    });
    // Payloads are encrypted with this run's keys, which go with its data dir: the fixture keeps
    // them decoded, so any later run replays it (its codec passes plaintext on).
    fs.writeFileSync(path.join(dir, `${name}.json`), JSON.stringify(await decodeHistory(JSON.parse(out), stack.services.payloadCodec), null, 2));
  }
}

/** A history in Temporal's JSON form with every payload in it run through `codec.decode`. */
async function decodeHistory(history: unknown, codec: { decode(p: Payload[]): Promise<Payload[]> }): Promise<unknown> {
  const found: Record<string, unknown>[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (o.metadata && typeof o.metadata === 'object' && typeof (o.metadata as Record<string, unknown>).encoding === 'string') found.push(o);
      else Object.values(o).forEach(walk);
    }
  };
  walk(history);
  const b64 = (s: unknown) => Buffer.from(String(s ?? ''), 'base64');
  const decoded = await codec.decode(
    found.map((o) => ({
      metadata: Object.fromEntries(Object.entries(o.metadata as Record<string, string>).map(([k, v]) => [k, new Uint8Array(b64(v))])),
      data: new Uint8Array(b64(o.data)),
    })),
  );
  decoded.forEach((p, i) => {
    const o = found[i];
    o.metadata = Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v as Uint8Array).toString('base64')]));
    o.data = Buffer.from(p.data ?? new Uint8Array()).toString('base64');
  });
  return history;
}
