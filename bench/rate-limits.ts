/**
 * `npm run bench:rate-limits`: does an agent flooding the API raise another agent's latency?
 *
 * One Temporal dev server and one Postgres; for each row, fresh services on them (API + its
 * in-process worker, own task queue, so one row's backlog does not slow the next). A well-behaved
 * agent proposes an allowed action at a steady pace and waits for it to succeed (`?wait=30`); its
 * latency is measured
 *
 * 1. alone (the baseline of the same run),
 * 2. while a second agent floods the API (16 connections proposing as fast as they are answered,
 *    ignoring 429 and Retry-After, from their own thread) under the default limit (50/s),
 * 3. the same flood under a limit sized to this machine (`--sized`, default 5/s: a quarter of what
 *    two vCPUs execute, about 20 actions/s),
 * 4. the same flood with every limit off (what the limits prevent).
 *
 * Target: a flood under a limit sized below capacity raises the steady agent's p99 at most 2 x.
 * A per-principal rate only protects others while one principal's admitted rate stays below what
 * the deployment executes; row 2 shows what happens when it does not. Prints a table; the LAST
 * line is the JSON summary.
 *
 *   npm run bench:rate-limits
 *   options: --samples 240 --pace-ms 250 --flood-connections 16 --sized 5 (p99 of 240 samples is
 *   their third slowest; of 120, their second: one stray pause then decides the ratio)
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker as Thread } from 'node:worker_threads';
import pino from 'pino';
import { DEFAULT_RATE_LIMITS, NO_RATE_LIMITS, type RateLimits } from '../domain/rate-limits';
import type { Logger } from '../runtime/logger';
import { startPostgres, type PostgresHandle } from '../runtime/postgres';
import { installTemporalRuntime, startServices, type Services, type ServicesOptions } from '../runtime/stack';
import { resolveTemporalCli } from '../runtime/temporal-cli';
import { startTemporalDevServer, type TemporalServerHandle } from '../runtime/temporal-server';
import { transferAction } from '../test/fixtures/policy';
import { startTarget } from '../test/helpers/target';
import { bundleWorkflows } from '../workers/worker';
import { fmt, freePort, nowMs, percentile, round, table } from './stats';

const progress = (line: string) => process.stderr.write(`[bench:rate-limits] ${line}\n`);
const ACTION = 'bench.transfer';

interface Options {
  samples: number;
  paceMs: number;
  floodConnections: number;
  sized: number;
}

function parseOptions(argv: string[]): Options {
  const opts: Options = { samples: 240, paceMs: 250, floodConnections: 16, sized: 5 };
  const flags: Record<string, keyof Options> = { '--samples': 'samples', '--pace-ms': 'paceMs', '--flood-connections': 'floodConnections', '--sized': 'sized' };
  for (let i = 0; i < argv.length; i++) {
    const key = flags[argv[i]];
    if (!key) continue;
    const value = Number(argv[++i]);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`${argv[i - 1]} needs a positive number`);
    opts[key] = value;
  }
  return opts;
}

const policy = (targetUrl: string) => `
defaults:
  decision: deny
  approval: { timeout: 1h, onTimeout: deny }
actions:
${transferAction(targetUrl, ACTION, 'bench')}
rules:
  - id: small-transfers
    action: ${ACTION}
    when: params.amount <= 100
    decision: allow
`;

/**
 * The flooding agent, in its own thread (its own event loop, as another process would be): each
 * connection proposes, and proposes again as soon as it has an answer, whatever the answer.
 */
const FLOOD = `
const { parentPort, workerData } = require('node:worker_threads');
const { url, token, connections } = workerData;
let stop = false, sent = 0;
const counts = {};
parentPort.on('message', () => { stop = true; });
async function loop(c) {
  for (let n = 0; !stop; n++) {
    try {
      const r = await fetch(url + '/v1/actions', {
        method: 'POST',
        headers: { authorization: 'Bearer ' + token, 'content-type': 'application/json', 'idempotency-key': 'flood-' + c + '-' + n + '-' + Math.random() },
        body: JSON.stringify({ action: '${ACTION}', params: { amount: 1 + (n % 100), currency: 'EUR', to: 'flood' } }),
      });
      await r.arrayBuffer();
      counts[r.status] = (counts[r.status] || 0) + 1;
    } catch { counts.error = (counts.error || 0) + 1; }
    sent++;
  }
}
Promise.all(Array.from({ length: connections }, (_, c) => loop(c))).then(() => parentPort.postMessage({ sent, counts }));
`;

async function principal(url: string, adminToken: string, id: string): Promise<string> {
  const r = await fetch(`${url}/v1/principals`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ id, kind: 'agent', roles: ['agent'] }),
  });
  const body = (await r.json()) as { token?: string };
  if (r.status !== 201 || !body.token) throw new Error(`creating ${id}: HTTP ${r.status} ${JSON.stringify(body)}`);
  return body.token;
}

/**
 * The well-behaved agent: one proposal every `paceMs` (open loop), each waited for until it
 * succeeds; an answer still `evaluating`/`executing` after the 30 s wait counts as 30 s and as unsettled.
 */
async function measure(url: string, token: string, opts: Options, label: string): Promise<number[] & { unsettled?: number; refused?: number }> {
  const ms: number[] & { unsettled?: number; refused?: number } = [];
  ms.unsettled = 0;
  ms.refused = 0;
  const one = async (n: number) => {
    const t0 = nowMs();
    const r = await fetch(`${url}/v1/actions?wait=30`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': `${label}-${n}-${randomBytes(4).toString('hex')}` },
      body: JSON.stringify({ action: ACTION, params: { amount: 1 + (n % 100), currency: 'EUR', to: 'steady' } }),
    });
    const body = (await r.json()) as { status?: string };
    // Its own limits (e.g. 20 held ?wait once latency climbs past 5 s): counted, not timed.
    if (r.status === 429) {
      ms.refused = (ms.refused ?? 0) + 1;
      return;
    }
    if (r.status !== 201) throw new Error(`${label}: the steady agent got HTTP ${r.status} ${JSON.stringify(body).slice(0, 200)}`);
    if (body.status !== 'succeeded') ms.unsettled = (ms.unsettled ?? 0) + 1;
    ms.push(nowMs() - t0);
  };
  const inflight: Promise<void>[] = [];
  for (let n = 0; n < opts.samples; n++) {
    inflight.push(one(n));
    await new Promise((r) => setTimeout(r, opts.paceMs));
  }
  await Promise.all(inflight);
  return ms;
}

async function withFlood<T>(url: string, token: string, connections: number, during: () => Promise<T>): Promise<{ result: T; sent: number; counts: Record<string, number>; seconds: number }> {
  const thread = new Thread(FLOOD, { eval: true, workerData: { url, token, connections } });
  const done = new Promise<{ sent: number; counts: Record<string, number> }>((resolve, reject) => {
    thread.once('message', resolve);
    thread.once('error', reject);
  });
  const t0 = nowMs();
  // Let the flood reach its pace before measuring.
  await new Promise((r) => setTimeout(r, 2000));
  try {
    const result = await during();
    thread.postMessage('stop');
    const stats = await done;
    return { result, ...stats, seconds: (nowMs() - t0) / 1000 };
  } finally {
    await thread.terminate();
  }
}

async function main(): Promise<number> {
  const opts = parseOptions(process.argv.slice(2));
  installTemporalRuntime();
  const log = pino({ level: process.env.LOG_LEVEL ?? 'warn' }, pino.destination(2)) as Logger;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-bench-'));
  let temporal: TemporalServerHandle | undefined;
  let postgres: PostgresHandle | undefined;
  let target: Awaited<ReturnType<typeof startTarget>> | undefined;
  const services: Services[] = [];
  try {
    progress('starting Temporal dev server (in memory), Postgres, and bundling workflows');
    const cliPath = resolveTemporalCli({ explicitPath: process.env.TEMPORAL_CLI, log: progress });
    const [temporalPort, pgPort] = [await freePort(), await freePort()];
    let bundle;
    [temporal, postgres, bundle] = await Promise.all([
      startTemporalDevServer({ cliPath, port: temporalPort, uiPort: null }),
      startPostgres({ dir: path.join(dir, 'pg'), port: pgPort }),
      bundleWorkflows(),
    ]);
    target = await startTarget();
    const policyFile = path.join(dir, 'policy.yaml');
    fs.writeFileSync(policyFile, policy(target.url));
    const adminToken = randomBytes(24).toString('base64url');
    const base = (taskQueue: string, dataDir: string, rateLimits: RateLimits): ServicesOptions => ({
      databaseUrl: postgres!.url,
      temporalAddress: temporal!.address,
      namespace: 'default',
      taskQueue,
      dataDir,
      port: 0,
      policyFile,
      adminToken,
      executorSecret: 'bench-executor-secret-0123456789',
      temporalUiUrl: 'http://localhost:8233',
      maxBodyBytes: 1024 * 1024,
      log,
      workflowBundle: bundle,
      rateLimits,
    });
    // Each row on services of its own (own task queue and data dir; same database, principals, policy).
    let current: Services | undefined;
    const fresh = async (name: string, rateLimits: RateLimits) => {
      if (current) await current.stopWorker();
      fs.mkdirSync(path.join(dir, name));
      current = await startServices(base(`bench-${name}`, path.join(dir, name), rateLimits));
      services.push(current);
      return current;
    };
    const first = await fresh('alone', DEFAULT_RATE_LIMITS);
    const steady = await principal(first.url, adminToken, 'steady-agent');
    const flooder = await principal(first.url, adminToken, 'flooding-agent');
    progress(`warm-up, then ${opts.samples} proposals every ${opts.paceMs} ms per row`);
    await measure(first.url, steady, { ...opts, samples: 20 }, 'warmup');
    const alone = await measure(first.url, steady, opts, 'alone');
    const flood = async (name: string, rateLimits: RateLimits) => {
      const s = await fresh(name, rateLimits);
      await measure(s.url, steady, { ...opts, samples: 10 }, `warmup-${name}`);
      progress(`flood: ${name}`);
      return withFlood(s.url, flooder, opts.floodConnections, () => measure(s.url, steady, opts, name));
    };
    const rows = [
      { name: `flooded, default limit (${DEFAULT_RATE_LIMITS.proposalsPerSecond}/s per principal)`, key: 'defaultLimit', r: await flood('default-limit', DEFAULT_RATE_LIMITS) },
      { name: `flooded, limit sized to this machine (${opts.sized}/s)`, key: 'sizedLimit', r: await flood('sized-limit', { ...DEFAULT_RATE_LIMITS, proposalsPerSecond: opts.sized }) },
      { name: 'flooded, limits off', key: 'noLimit', r: await flood('no-limit', NO_RATE_LIMITS) },
    ];
    const p99 = (ms: number[]) => percentile(ms, 0.99);
    console.log(
      table([
        ['steady agent, POST ?wait=30 until succeeded', 'p50 ms', 'p99 ms', 'p99 / alone', 'unsettled', 'refused', 'flood req/s', 'flood admitted/s', 'flood 429/s'],
        ['alone (baseline, same run)', fmt(percentile(alone, 0.5)), fmt(p99(alone)), '1.00', String(alone.unsettled), String(alone.refused), '-', '-', '-'],
        ...rows.map(({ name, r }) => [
          name,
          fmt(percentile(r.result, 0.5)),
          fmt(p99(r.result)),
          fmt(p99(r.result) / p99(alone)),
          String(r.result.unsettled),
          String(r.result.refused),
          fmt(r.sent / r.seconds, 0),
          fmt((r.counts['201'] ?? 0) / r.seconds, 1),
          fmt((r.counts['429'] ?? 0) / r.seconds, 0),
        ]),
      ]),
    );
    const sizedRatio = p99(rows[1].r.result) / p99(alone);
    const summary = {
      bench: 'rate-limits',
      date: new Date().toISOString(),
      machine: `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB`,
      options: opts,
      alone: { p50: round(percentile(alone, 0.5)), p99: round(p99(alone)) },
      ...Object.fromEntries(
        rows.map(({ key, r }) => [
          key,
          { p50: round(percentile(r.result, 0.5)), p99: round(p99(r.result)), p99Ratio: round(p99(r.result) / p99(alone)), unsettled: r.result.unsettled, refused: r.result.refused, floodPerSecond: round(r.sent / r.seconds, 0), admittedPerSecond: round((r.counts['201'] ?? 0) / r.seconds, 1), counts: r.counts },
        ]),
      ),
      target: { sizedLimitP99Ratio: 2 },
      met: sizedRatio <= 2,
    };
    console.log(JSON.stringify(summary));
    return 0;
  } finally {
    for (const s of services.reverse()) await s.stop().catch((err) => progress(`services stop: ${(err as Error).message}`));
    await target?.close().catch(() => {});
    await temporal?.stop().catch(() => {});
    await postgres?.stop().catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
