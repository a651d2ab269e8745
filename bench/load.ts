/**
 * `npm run bench:load`: Countersign with many actions waiting for approval at once.
 *
 * One Temporal dev server (in memory, headless), one embedded Postgres, a fake executor target,
 * the API in this process and ONE worker as a child process (`node --import tsx workers/main.ts`,
 * configured by environment like production), so the worker's memory can be read on its own.
 *
 * 1. propose N actions that need one finance approval (C concurrent callers, `?wait=10`), until
 *    all N are `awaiting_approval`;
 * 2. with all N pending: `GET /v1/approvals` latency as a reviewer, sequential and concurrent;
 * 3. approve all N, oldest first, over R reviewers, in three parts:
 *    a. the first `--probe` one at a time, each until it succeeded: latency without queueing;
 *    b. the next `--saturate-share` (20%) of the rest with C closed-loop concurrent callers: the
 *       capacity (approvals/s), and latency when decisions queue behind each other;
 *    c. the rest open-loop, in equal parts: decisions sent at a steady rate of each
 *       `--load-factor` (0.5, 0.58, 0.67) × that capacity, whatever the answers (reviewers do
 *       not wait for each other): latency at sustained loads. The part at half the capacity is
 *       `decideToDoneP99Ms` (see HEADLINE_LOAD_FACTOR); the others show where the tail grows;
 *    each action is timed from the moment its decision is sent to the commit that makes it
 *    `succeeded` (its last change notification), and to the executor call;
 * 4. throughout: the worker's RSS (/proc/<pid>/status) and the CPU time of each process.
 *
 * Prints a table; the LAST line is the JSON summary.
 *
 *   npm run bench:load                        N = 10000, C = 32
 *   npm run bench:load -- --pending 300       a smoke run
 *   options: --pending N --concurrency C --reviewers 4 --inbox-samples 200 --inbox-concurrency 8 --probe 200
 *            --saturate-share 0.2 --load-factor 0.5,0.58,0.67
 *            --rate R1,R2 (fixed arrival rates in approvals/s instead of load factors: compares
 *            two versions at the same load; the headline is still the part nearest 0.5 x capacity)
 *            --max-minutes M (whole run; default 15 + N/200)
 *            --worker-env KEY=VALUE (repeatable; extra environment for the worker process)
 *            --temporal-dc KEY=JSON (repeatable; extra dev-server dynamic config)
 *   diagnostics (environment, each a file to write): BENCH_SAMPLES_FILE (every paced decision),
 *            BENCH_TIMELINE_FILE (CPU and RSS of each process every second), BENCH_PG_LOG
 *            (Postgres log with checkpoints and autovacuum), BENCH_TEMPORAL_LOG (the dev server's
 *            stderr), BENCH_WORKER_LOG (the worker's output; BENCH_WORKER_NODE_ARGS adds node flags)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { ACTION_CHANGED_CHANNEL } from '../activities/change-notifier';
import type { Logger } from '../runtime/logger';
import { startPostgres, type PostgresHandle } from '../runtime/postgres';
import { installTemporalRuntime, startServices, type Services } from '../runtime/stack';
import { NO_RATE_LIMITS } from '../domain/rate-limits';
import { resolveTemporalCli } from '../runtime/temporal-cli';
import { startTemporalDevServer, stopChild, type TemporalServerHandle } from '../runtime/temporal-server';
import { transferAction } from '../test/fixtures/policy';
import { startTarget } from '../test/helpers/target';
import { fmt, freePort, mean, nowMs, percentile, round, table } from './stats';

const mb = (kb: number) => kb / 1024;

const REPO_ROOT = path.resolve(__dirname, '..');

// ---------------------------------------------------------------------------------------------
// options

interface LoadOptions {
  pending: number;
  concurrency: number;
  reviewers: number;
  inboxSamples: number;
  inboxConcurrency: number;
  probe: number;
  /** Share of the actions after the probe approved with C concurrent callers (capacity). */
  saturateShare: number;
  /**
   * The rest arrive open-loop, in equal parts, at these shares of the capacity measured with C
   * concurrent callers, lowest first. The one nearest {@link HEADLINE_LOAD_FACTOR} is the
   * headline `decideToDoneP99Ms`.
   */
  loadFactors: number[];
  /**
   * Instead of shares of the capacity: fixed arrival rates (approvals/s), lowest first, so two
   * versions (or machines) can be compared at the same load; the headline is still the part
   * nearest {@link HEADLINE_LOAD_FACTOR} x capacity.
   */
  rates?: number[];
  maxMinutes: number;
  workerEnv: Record<string, string>;
  temporalDynamicConfig: Record<string, string>;
}

function parseOptions(argv: string[]): LoadOptions {
  const opts: LoadOptions = {
    pending: 10_000,
    concurrency: 32,
    reviewers: 4,
    inboxSamples: 200,
    inboxConcurrency: 8,
    probe: 200,
    saturateShare: 0.2,
    loadFactors: [0.5, 0.58, 0.67],
    maxMinutes: NaN,
    workerEnv: {},
    temporalDynamicConfig: {},
  };
  const ints: Record<string, 'pending' | 'concurrency' | 'reviewers' | 'inboxSamples' | 'inboxConcurrency' | 'probe' | 'maxMinutes'> = {
    '--pending': 'pending',
    '--concurrency': 'concurrency',
    '--reviewers': 'reviewers',
    '--inbox-samples': 'inboxSamples',
    '--inbox-concurrency': 'inboxConcurrency',
    '--probe': 'probe',
    '--max-minutes': 'maxMinutes',
  };
  const pairs: Record<string, 'workerEnv' | 'temporalDynamicConfig'> = { '--worker-env': 'workerEnv', '--temporal-dc': 'temporalDynamicConfig' };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--saturate-share') {
      const value = Number(argv[++i]);
      if (!(value > 0 && value < 1)) throw new Error(`${flag} needs a number between 0 and 1`);
      opts.saturateShare = value;
    } else if (flag === '--load-factor') {
      const values = (argv[++i] ?? '').split(',').map(Number);
      if (!values.every((v) => v > 0 && v < 1)) throw new Error(`${flag} needs numbers between 0 and 1, comma-separated`);
      opts.loadFactors = values.sort((a, b) => a - b);
    } else if (flag === '--rate') {
      const values = (argv[++i] ?? '').split(',').map(Number);
      if (!values.every((v) => v > 0 && Number.isFinite(v))) throw new Error(`${flag} needs positive numbers (approvals per second), comma-separated`);
      opts.rates = values.sort((a, b) => a - b);
    } else if (ints[flag]) {
      const value = Number(argv[++i]);
      if (!Number.isInteger(value) || value < 1) throw new Error(`${flag} needs a positive integer`);
      opts[ints[flag]] = value;
    } else if (pairs[flag]) {
      const pair = argv[++i] ?? '';
      const eq = pair.indexOf('=');
      if (eq < 1) throw new Error(`${flag} needs KEY=VALUE`);
      opts[pairs[flag]][pair.slice(0, eq)] = pair.slice(eq + 1);
    } else {
      throw new Error(`unknown option ${flag}`);
    }
  }
  if (!Number.isFinite(opts.maxMinutes)) opts.maxMinutes = Math.ceil(15 + opts.pending / 200);
  // The probe approves the oldest actions one by one; the rest are approved concurrently.
  opts.probe = Math.min(opts.probe, Math.floor(opts.pending / 2));
  return opts;
}

// ---------------------------------------------------------------------------------------------
// statistics, clocks, output

/** Wall-clock epoch milliseconds with sub-millisecond resolution. */
/** A latency row: n, p50, p90, p99, max, mean. */
const latencyRow = (label: string, values: number[]) => [
  label,
  String(values.length),
  fmt(percentile(values, 0.5)),
  fmt(percentile(values, 0.9)),
  fmt(percentile(values, 0.99)),
  fmt(Math.max(...values)),
  fmt(mean(values)),
];

const progress = (line: string) => process.stderr.write(`[bench:load ${new Date().toISOString().slice(11, 19)}] ${line}\n`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Run `total` jobs on `concurrency` callers; each caller gets its own index (to pick a principal). */
async function runConcurrently<T>(total: number, concurrency: number, job: (n: number, caller: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(total);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, total) }, async (_, caller) => {
      for (let n = next++; n < total; n = next++) out[n] = await job(n, caller);
    }),
  );
  return out;
}

// ---------------------------------------------------------------------------------------------
// /proc: memory and CPU of the processes under test

/** VmRSS and VmHWM (peak RSS) of a process, in kB; undefined once it is gone. */
function memoryKb(pid: number): { rss: number; hwm: number } | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rss: field('VmRSS'), hwm: field('VmHWM') };
  } catch {
    return undefined;
  }
}

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ; 100 on Linux). */
const CLOCK_TICKS = 100;

/** utime, stime, cutime, cstime (seconds) and ppid of a process. */
function procStat(pid: number): { cpu: number; children: number; ppid: number } | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(f[1]), cpu: (Number(f[11]) + Number(f[12])) / CLOCK_TICKS, children: (Number(f[13]) + Number(f[14])) / CLOCK_TICKS };
  } catch {
    return undefined;
  }
}

/**
 * CPU seconds used so far by a process and, with `tree`, its children (live ones directly,
 * exited and reaped ones through cutime/cstime): how Postgres' backends are counted.
 */
function cpuSeconds(pid: number | undefined, tree = false): number {
  if (!pid) return NaN;
  const self = procStat(pid);
  if (!self) return NaN;
  if (!tree) return self.cpu;
  let total = self.cpu + self.children;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const child = procStat(Number(entry));
    if (child?.ppid === pid) total += child.cpu;
  }
  return total;
}

// ---------------------------------------------------------------------------------------------
// the system under test

const TASK_QUEUE = 'bench-load';
const EXECUTOR_SECRET = 'bench-executor-secret-0123456789';
const ACTION = 'bench.transfer';

/** One action, one rule: every proposal waits for one finance approver, for up to 24 hours. */
function loadPolicy(targetUrl: string): string {
  return `
defaults:
  decision: deny
  approval: { timeout: 24h, onTimeout: deny }
actions:
${transferAction(targetUrl, ACTION, 'bench')}
rules:
  - id: needs-finance
    action: ${ACTION}
    when: params.amount > 100
    decision: require_approval
    approval:
      steps:
        - { group: finance, quorum: 1, timeout: 24h }
`;
}

const params = (n: number) => ({ amount: 500 + (n % 1000), currency: 'EUR', to: `payee-${n % 97}` });

/**
 * The dev server keeps 8096 workflows' mutable state in its host-level cache (temporalio/cli
 * devserver); with more open workflows than that, a decision on an evicted one first reloads
 * it from SQLite. A production cluster sizes this per host; size it to the run so the
 * benchmark measures Countersign rather than the dev server's default. Not required for
 * correctness: Temporal has no limit on the number of open workflows.
 */
function defaultDynamicConfig(pending: number): Record<string, string> {
  const entries = String(Math.max(8096, pending + 2000));
  return { 'history.hostLevelCacheMaxSize': entries, 'history.cacheMaxSize': entries };
}

/**
 * startTemporalDevServer takes a CLI path, not extra arguments: a two-line wrapper adds the
 * dynamic config. `exec` keeps the pid, so stopping the "CLI" stops the server itself.
 */
function temporalWrapper(dir: string, cliPath: string, dynamicConfig: Record<string, string>): string {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const extra = Object.entries(dynamicConfig).map(([k, v]) => `--dynamic-config-value ${quote(`${k}=${v}`)}`);
  const file = path.join(dir, 'temporal-with-config.sh');
  // BENCH_TEMPORAL_LOG=<file> keeps the server's stderr (e.g. with GODEBUG=gctrace=1).
  const keepLog = process.env.BENCH_TEMPORAL_LOG ? ` 2>>${quote(process.env.BENCH_TEMPORAL_LOG)}` : '';
  fs.writeFileSync(file, `#!/bin/sh\nexec ${quote(cliPath)} "$@" ${extra.join(' ')}${keepLog}\n`, { mode: 0o755 });
  return file;
}

/**
 * The share of the capacity whose paced part is the headline `decideToDoneP99Ms`: a sustained
 * half of what the machine does saturated. A paced approval costs about 1.25 times the CPU of a
 * batched (saturated) one, so this keeps the cores about 65% busy, the usual provisioning point
 * for a latency target. The higher parts (0.58, 0.67) are reported beside it: there the two
 * cores, shared by Temporal, Postgres, the worker, the API and the load generator, are 75-85%
 * busy and p99 is mostly time spent queueing for them. A faster Countersign raises the capacity
 * and so the rate of every part; `--rate` compares versions at the same rate.
 */
const HEADLINE_LOAD_FACTOR = 0.5;

/** One open-loop part of the approvals: decisions sent at `rate` (= loadFactor x capacity). */
interface PacedPart {
  loadFactor: number;
  rate: number;
  ids: string[];
  /** POST /decisions answered. */
  decisionLatencies: number[];
  /** Decision sent -> `succeeded` committed. */
  toDone: number[];
  /** Decision sent -> executor target called. */
  toExecutor: number[];
  start: number;
  elapsedMs: number;
  perSec: number;
  maxInFlight: number;
}

/** The worker child process, with the tail of its output kept for a failure report. */
class WorkerProcess {
  readonly child: ChildProcess;
  private output = '';
  exit?: { code: number | null; signal: NodeJS.Signals | null };

  constructor(env: NodeJS.ProcessEnv) {
    // process.execPath with `--import tsx` directly (not the tsx CLI, which would run the
    // script in a grandchild): child.pid is the process whose memory we read.
    // BENCH_WORKER_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", profiles the worker.
    const nodeArgs = (process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean);
    this.child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', path.join(REPO_ROOT, 'workers', 'main.ts')], {
      cwd: REPO_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // BENCH_WORKER_LOG=<file> keeps all of it (e.g. with --trace-gc in BENCH_WORKER_NODE_ARGS).
    const logFile = process.env.BENCH_WORKER_LOG;
    const keep = (d: Buffer) => {
      this.output = (this.output + d.toString()).slice(-32_768);
      if (logFile) fs.appendFileSync(logFile, d);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.child.once('exit', (code, signal) => (this.exit = { code, signal }));
    // Never leave a worker behind if this process dies without stopping it.
    const killOnExit = () => this.child.kill('SIGKILL');
    process.once('exit', killOnExit);
    this.child.once('exit', () => process.removeListener('exit', killOnExit));
  }

  get pid(): number {
    return this.child.pid as number;
  }

  tail(): string {
    return this.output.trim().split('\n').slice(-20).join('\n');
  }

  /** SIGTERM (the worker drains in-flight tasks, up to its 20 s grace time), SIGKILL after 30 s. */
  stop(): Promise<void> {
    return stopChild(this.child, 30_000);
  }
}

/** Everything the run started, so it can all be stopped. */
class Resources {
  dir?: string;
  temporal?: TemporalServerHandle;
  postgres?: PostgresHandle;
  target?: Awaited<ReturnType<typeof startTarget>>;
  services?: Services;
  worker?: WorkerProcess;
  listener?: pg.Client;
  timers: NodeJS.Timeout[] = [];

  async stop(): Promise<void> {
    for (const t of this.timers.splice(0)) clearInterval(t);
    await this.worker?.stop().catch(() => {});
    await this.listener?.end().catch(() => {});
    await this.services?.stop().catch((err) => progress(`services stop: ${(err as Error).message}`));
    await this.target?.close().catch(() => {});
    await this.temporal?.stop().catch(() => {});
    await this.postgres?.stop().catch(() => {});
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Memory samples of the worker, tagged with the phase they were taken in. */
class RssSampler {
  readonly byPhase = new Map<string, number[]>();
  phase = 'start';
  lastKb = NaN;

  constructor(private readonly pid: number) {}

  sample(): void {
    const m = memoryKb(this.pid);
    if (!m) return;
    this.lastKb = m.rss;
    const list = this.byPhase.get(this.phase) ?? [];
    list.push(m.rss);
    this.byPhase.set(this.phase, list);
  }

  maxKb(phase?: string): number {
    const lists = phase ? [this.byPhase.get(phase) ?? []] : [...this.byPhase.values()];
    const all = lists.flat();
    return all.length ? all.reduce((a, b) => Math.max(a, b)) : NaN;
  }

  peakKb(): number {
    return memoryKb(this.pid)?.hwm ?? NaN;
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP

interface Answer {
  status: number;
  body: any;
}

/** Every call has a deadline: a stuck request must not hang the benchmark. */
async function call(url: string, token: string, method: string, body?: unknown, timeoutMs = 60_000): Promise<Answer> {
  const res = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed };
}

// ---------------------------------------------------------------------------------------------
// the benchmark

/** Thrown when a phase cannot finish; the run stops and exits non-zero. */
class BenchFailure extends Error {
  override name = 'BenchFailure';
}

async function main(): Promise<number> {
  const opts = parseOptions(process.argv.slice(2));
  const res = new Resources();
  let stopping = false;
  const abort = (why: string, code: number) => {
    if (stopping) return;
    stopping = true;
    progress(`${why}: stopping everything`);
    if (res.worker) progress(`worker output (tail):\n${res.worker.tail()}`);
    res.stop().finally(() => process.exit(code));
  };
  process.once('SIGINT', () => abort('interrupted', 130));
  process.once('SIGTERM', () => abort('terminated', 143));
  // The whole run is bounded, whatever happens inside it.
  const watchdog = setTimeout(() => abort(`no result after ${opts.maxMinutes} min (--max-minutes)`, 2), opts.maxMinutes * 60_000);

  try {
    installTemporalRuntime();
    const loadAtStart = os.loadavg()[0];
    const log = pino({ level: 'warn' }, pino.destination(2)) as Logger;
    res.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-load-'));
    const N = opts.pending;

    // ---- infrastructure
    const dynamicConfig = { ...defaultDynamicConfig(N), ...opts.temporalDynamicConfig };
    progress(`starting Temporal dev server (in memory; ${Object.entries(dynamicConfig).map(([k, v]) => `${k}=${v}`).join(', ')}) and Postgres`);
    const cliPath = temporalWrapper(res.dir, resolveTemporalCli({ explicitPath: process.env.TEMPORAL_CLI, log: progress }), dynamicConfig);
    const [temporalPort, pgPort] = [await freePort(), await freePort()];
    const [temporal, postgres] = await Promise.all([
      startTemporalDevServer({ cliPath, port: temporalPort, uiPort: null }),
      // BENCH_PG_LOG=<file> keeps Postgres' log, with checkpoints and autovacuum runs in it.
      startPostgres({
        dir: path.join(res.dir, 'pg'),
        port: pgPort,
        ...(process.env.BENCH_PG_LOG && {
          settings: { log_checkpoints: 'on', log_autovacuum_min_duration: '0', log_line_prefix: '%m ' },
          onLog: (line: string) => fs.appendFileSync(process.env.BENCH_PG_LOG!, line + '\n'),
        }),
      }),
    ]);
    res.temporal = temporal;
    res.postgres = postgres;
    const postmasterPid = Number(fs.readFileSync(path.join(res.dir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);

    // The executor target: answers 200 at once and notes when each action's call arrived.
    const executedAt = new Map<string, number>();
    let duplicateExecutions = 0;
    const target = await startTarget((req) => {
      const id = String(req.body?.actionId);
      if (executedAt.has(id)) duplicateExecutions++;
      else executedAt.set(id, nowMs());
      return { status: 200, body: { receipt: `r-${id}` } };
    });
    res.target = target;

    // ---- the API here, the worker in its own process (sharing the data dir: same signing key)
    const policyFile = path.join(res.dir, 'policy.yaml');
    fs.writeFileSync(policyFile, loadPolicy(target.url));
    const adminToken = randomBytes(24).toString('base64url');
    const services = await startServices({
      databaseUrl: postgres.url,
      temporalAddress: temporal.address,
      namespace: 'default',
      taskQueue: TASK_QUEUE,
      dataDir: res.dir,
      port: 0,
      policyFile,
      forcePolicy: true,
      adminToken,
      executorSecret: EXECUTOR_SECRET,
      temporalUiUrl: 'http://localhost:8233',
      maxBodyBytes: 1024 * 1024,
      // The engine's throughput, not the per-principal limits (bench:rate-limits measures those).
      rateLimits: NO_RATE_LIMITS,
      log,
      worker: false,
    });
    res.services = services;

    // The worker gets exactly the configuration below (plus PATH/HOME and --worker-env), so no
    // stray COUNTERSIGN_* or DATABASE_URL of the caller's shell changes what is measured.
    const workerEnv: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATABASE_URL: postgres.url,
      TEMPORAL_ADDRESS: temporal.address,
      COUNTERSIGN_TASK_QUEUE: TASK_QUEUE,
      COUNTERSIGN_EXECUTOR_SECRET: EXECUTOR_SECRET,
      COUNTERSIGN_DATA_DIR: res.dir,
      POLICY_FILE: policyFile,
      LOG_LEVEL: 'warn',
      ...opts.workerEnv,
    };
    progress(`starting the worker process (bundles the workflow code first)${Object.keys(opts.workerEnv).length ? ` with ${JSON.stringify(opts.workerEnv)}` : ''}`);
    const worker = new WorkerProcess(workerEnv);
    res.worker = worker;
    await waitForWorker(services, worker);
    const rss = new RssSampler(worker.pid);
    rss.sample();
    const rssReadyKb = rss.lastKb;
    const rssReadyPeakKb = rss.peakKb();
    res.timers.push(setInterval(() => rss.sample(), 250));

    // CPU seconds per process and phase (Temporal = the dev server; Postgres = postmaster + backends).
    const cpuMarks: { phase: string; worker: number; bench: number; temporal: number; postgres: number }[] = [];
    const markCpu = (phase: string) => {
      const own = process.cpuUsage();
      cpuMarks.push({
        phase,
        worker: cpuSeconds(worker.pid),
        bench: (own.user + own.system) / 1e6,
        temporal: cpuSeconds(temporal.process.pid),
        postgres: cpuSeconds(postmasterPid, true),
      });
    };

    // BENCH_TIMELINE_FILE=<file>: every second, the CPU seconds and RSS (MB) of each process
    // ("epochMs worker temporal postgres bench workerRss temporalRss"), to line slow decisions
    // up with what the machine was doing at the time.
    if (process.env.BENCH_TIMELINE_FILE) {
      const file = process.env.BENCH_TIMELINE_FILE;
      fs.writeFileSync(file, '');
      res.timers.push(
        setInterval(() => {
          const own = process.cpuUsage();
          const row = [
            Date.now(),
            cpuSeconds(worker.pid),
            cpuSeconds(temporal.process.pid),
            cpuSeconds(postmasterPid, true),
            (own.user + own.system) / 1e6,
            mb(memoryKb(worker.pid)?.rss ?? NaN),
            mb(memoryKb(temporal.process.pid ?? 0)?.rss ?? NaN),
          ];
          fs.appendFileSync(file, row.map((v) => (Number.isInteger(v) ? v : v.toFixed(2))).join(' ') + '\n');
        }, 1000),
      );
    }

    // When each action's read model last changed: the commit that made it `succeeded` is the
    // last notification of its run, so this is when an agent's long poll would be woken.
    const listener = new pg.Client({ connectionString: postgres.url });
    await listener.connect();
    res.listener = listener;
    const changedAt = new Map<string, number>();
    const changes = new EventEmitter().setMaxListeners(0);
    listener.on('notification', (msg) => {
      if (!msg.payload) return;
      changedAt.set(msg.payload, nowMs());
      changes.emit(msg.payload);
    });
    await listener.query(`LISTEN ${ACTION_CHANGED_CHANNEL}`);

    // ---- principals: one agent, R finance reviewers
    const createPrincipal = async (body: object): Promise<string> => {
      const r = await call(`${services.url}/v1/principals`, adminToken, 'POST', body);
      if (r.status !== 201 || !r.body?.token) throw new BenchFailure(`creating principal: HTTP ${r.status} ${JSON.stringify(r.body)}`);
      return r.body.token as string;
    };
    const agentToken = await createPrincipal({ id: 'bench-agent', kind: 'agent', roles: ['agent'] });
    const reviewerTokens: string[] = [];
    for (let i = 0; i < opts.reviewers; i++) {
      reviewerTokens.push(await createPrincipal({ id: `bench-reviewer-${i}`, kind: 'human', roles: ['reviewer'], groups: ['finance'] }));
    }

    // ---- 1. propose N
    rss.phase = 'propose';
    markCpu('ready');
    progress(`proposing ${N} actions with ${opts.concurrency} concurrent callers`);
    const proposeLat: number[] = [];
    const ids: string[] = new Array(N);
    let notYetPending = 0;
    const ticker = (label: string, done: () => number, start: number, total = N) =>
      setInterval(() => {
        const n = done();
        progress(`${label}: ${n}/${total} (${fmt((n / (nowMs() - start)) * 1000, 1)}/s), worker RSS ${fmt(mb(rss.lastKb), 0)} MB`);
      }, 10_000);
    const proposeStart = nowMs();
    const proposeTicker = ticker('proposed', () => proposeLat.length, proposeStart);
    res.timers.push(proposeTicker);
    try {
      await runConcurrently(N, opts.concurrency, async (n) => {
        const sentAt = nowMs();
        const r = await call(`${services.url}/v1/actions?wait=10`, agentToken, 'POST', { action: ACTION, params: params(n), justification: `load ${n}` });
        proposeLat.push(nowMs() - sentAt);
        if (r.status !== 201 || !r.body?.id) throw new BenchFailure(`proposal ${n}: HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
        ids[n] = r.body.id;
        // Still evaluating after 10 s would be a finding (counted); anything else is wrong.
        if (r.body.status === 'evaluating') notYetPending++;
        else if (r.body.status !== 'awaiting_approval') throw new BenchFailure(`proposal ${n}: status ${r.body.status}`);
      });
    } finally {
      clearInterval(proposeTicker);
    }
    const proposeElapsed = nowMs() - proposeStart;
    await waitForCount(services.pool, 'awaiting_approval', N, 120_000);
    const proposePerSec = (N / proposeElapsed) * 1000;
    markCpu('proposed');
    rss.sample();
    const rssPendingKb = rss.lastKb;
    progress(`all ${N} awaiting approval: ${fmt(proposePerSec, 1)} proposals/s, worker RSS ${fmt(mb(rssPendingKb), 0)} MB`);

    // ---- 2. the inbox with all N pending
    rss.phase = 'inbox';
    progress(`inbox: ${opts.inboxSamples} sequential GET /v1/approvals, then ${opts.inboxSamples} with ${opts.inboxConcurrency} concurrent reviewers`);
    const expectedItems = Math.min(100, N);
    const inboxOnce = async (token: string): Promise<number> => {
      const sentAt = nowMs();
      const r = await call(`${services.url}/v1/approvals`, token, 'GET');
      const ms = nowMs() - sentAt;
      if (r.status !== 200 || r.body?.items?.length !== expectedItems) {
        throw new BenchFailure(`inbox: HTTP ${r.status}, ${r.body?.items?.length} items (expected ${expectedItems})`);
      }
      return ms;
    };
    for (let i = 0; i < 5; i++) await inboxOnce(reviewerTokens[0]); // warm the plan and the pool
    const inboxSeq: number[] = [];
    for (let i = 0; i < opts.inboxSamples; i++) inboxSeq.push(await inboxOnce(reviewerTokens[i % reviewerTokens.length]));
    const inboxConc = await runConcurrently(opts.inboxSamples, opts.inboxConcurrency, (_, caller) => inboxOnce(reviewerTokens[caller % reviewerTokens.length]));
    const inboxPlan = await explainInbox(services.pool, 'bench-reviewer-0', ['finance']);
    markCpu('inbox');

    // ---- 3. approve all N, oldest first (the inbox order)
    rss.phase = 'approve';
    const decisionSentAt = new Map<string, number>();
    const decisionFailures: string[] = [];
    const decide = async (id: string, token: string, latencies: number[]): Promise<boolean> => {
      const sentAt = nowMs();
      decisionSentAt.set(id, sentAt);
      try {
        const r = await call(`${services.url}/v1/actions/${id}/decisions`, token, 'POST', { decision: 'approve', reason: 'load test' });
        if (r.status !== 200 || !['executing', 'succeeded'].includes(r.body?.status)) {
          throw new Error(`HTTP ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
        }
        latencies.push(nowMs() - sentAt);
        return true;
      } catch (err) {
        decisionSentAt.delete(id);
        decisionFailures.push(`${id}: ${(err as Error).message}`);
        return false;
      }
    };
    /** Decision sent -> `succeeded` committed, and -> executor called, for these actions. */
    const completions = (subset: string[]) => {
      const toDone: number[] = [];
      const toExecutor: number[] = [];
      let lastDone = -Infinity;
      for (const id of subset) {
        const sentAt = decisionSentAt.get(id);
        if (sentAt === undefined) continue;
        const done = changedAt.get(id);
        if (done !== undefined && done > sentAt) {
          toDone.push(done - sentAt);
          lastDone = Math.max(lastDone, done);
        }
        const executed = executedAt.get(id);
        if (executed !== undefined) toExecutor.push(executed - sentAt);
      }
      return { toDone, toExecutor, lastDone };
    };

    // 3a. One reviewer at a time, each action to `succeeded` before the next: the latency of
    // a decision on an idle system that still holds ~N pending actions (no queueing behind others).
    const probeIds = ids.slice(0, opts.probe);
    progress(`approving ${probeIds.length} actions one at a time (each until succeeded)`);
    const probeDecisionLat: number[] = [];
    const probeStart = nowMs();
    for (const [i, id] of probeIds.entries()) {
      if (await decide(id, reviewerTokens[i % reviewerTokens.length], probeDecisionLat)) await waitForStatus(services.pool, changes, id, 'succeeded', 30_000);
    }
    const probeElapsed = nowMs() - probeStart;
    await sleep(200);
    const probe = completions(probeIds);
    markCpu('probe');

    // 3b. A share of the rest with C closed-loop callers: capacity, and latency when saturated.
    const restIds = ids.slice(opts.probe);
    const satIds = restIds.slice(0, Math.max(1, Math.round(restIds.length * opts.saturateShare)));
    progress(`approving ${satIds.length} actions with ${opts.concurrency} concurrent callers over ${opts.reviewers} reviewers (capacity)`);
    const decisionLat: number[] = [];
    const approveStart = nowMs();
    const approveTicker = ticker('decided', () => decisionLat.length, approveStart, satIds.length);
    res.timers.push(approveTicker);
    try {
      await runConcurrently(satIds.length, opts.concurrency, (n, caller) => decide(satIds[n], reviewerTokens[caller % reviewerTokens.length], decisionLat));
    } finally {
      clearInterval(approveTicker);
    }
    const decisionsElapsed = nowMs() - approveStart;
    await waitForCount(services.pool, 'succeeded', decisionSentAt.size, 180_000);
    await sleep(500);
    markCpu('saturated');
    const sat = completions(satIds);
    const satLastDone = Math.max(sat.lastDone, approveStart);
    const approvePerSec = (satIds.filter((id) => decisionSentAt.has(id)).length / (satLastDone - approveStart)) * 1000;

    // 3c. The rest open-loop, in equal parts at each loadFactor x capacity, lowest first: each
    // decision leaves on its schedule.
    const pacedIds = restIds.slice(satIds.length);
    const parts = opts.rates
      ? opts.rates.map((rate) => ({ rate, loadFactor: Math.round((rate / approvePerSec) * 100) / 100 }))
      : opts.loadFactors.map((loadFactor) => ({ rate: approvePerSec * loadFactor, loadFactor }));
    const partSize = Math.ceil(pacedIds.length / parts.length);
    const paced: PacedPart[] = [];
    for (const [p, { rate, loadFactor }] of parts.entries()) {
      const partIds = pacedIds.slice(p * partSize, (p + 1) * partSize);
      if (partIds.length === 0) break;
      progress(`approving ${partIds.length} actions arriving at ${fmt(rate, 1)}/s (${loadFactor} x capacity ${fmt(approvePerSec, 1)}/s)`);
      const decisionLatencies: number[] = [];
      const start = nowMs();
      const partTicker = ticker('decided', () => decisionLatencies.length, start, partIds.length);
      res.timers.push(partTicker);
      let maxInFlight = 0;
      try {
        let inFlight = 0;
        const sent: Promise<unknown>[] = [];
        for (const [k, id] of partIds.entries()) {
          const due = start + (k * 1000) / rate;
          const wait = due - nowMs();
          if (wait > 0) await sleep(wait);
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          sent.push(decide(id, reviewerTokens[k % reviewerTokens.length], decisionLatencies).finally(() => inFlight--));
        }
        await Promise.all(sent);
      } finally {
        clearInterval(partTicker);
      }
      await waitForCount(services.pool, 'succeeded', decisionSentAt.size, 180_000);
      // The notification of the last commit can trail what waitForCount saw by a moment.
      await sleep(500);
      markCpu(`paced${p}`);
      const { toDone, toExecutor, lastDone } = completions(partIds);
      const end = Math.max(lastDone, start);
      const perSec = (partIds.filter((id) => decisionSentAt.has(id)).length / (end - start)) * 1000;
      paced.push({ loadFactor, rate, ids: partIds, decisionLatencies, toDone, toExecutor, start, elapsedMs: end - start, perSec, maxInFlight });
    }
    const approved = [...decisionSentAt.keys()];
    const headline = paced.reduce<PacedPart | undefined>(
      (best, part) => (!best || Math.abs(part.loadFactor - HEADLINE_LOAD_FACTOR) < Math.abs(best.loadFactor - HEADLINE_LOAD_FACTOR) ? part : best),
      undefined,
    );
    if (!headline) throw new BenchFailure(`no actions left for the paced part: raise --pending (now ${N})`);
    const { toDone: decideToDone } = headline;
    // BENCH_SAMPLES_FILE=<file>: one line per paced decision (seconds since its part began, ms
    // to succeeded, load factor, epoch ms sent), to see whether the slow ones cluster in time.
    if (process.env.BENCH_SAMPLES_FILE) {
      const lines = paced.flatMap((part) =>
        part.ids.flatMap((id) => {
          const sentAt = decisionSentAt.get(id);
          const done = changedAt.get(id);
          return sentAt !== undefined && done !== undefined
            ? [`${((sentAt - part.start) / 1000).toFixed(3)} ${(done - sentAt).toFixed(1)} ${part.loadFactor} ${Math.round(sentAt)}`]
            : [];
        }),
      );
      fs.writeFileSync(process.env.BENCH_SAMPLES_FILE, lines.join('\n') + '\n');
    }

    // ---- 4. worker memory at the end (everything finished), then stop
    rss.sample();
    const rssEndKb = rss.lastKb;
    // VmHWM is the true peak (between samples too), including start-up (bundling the workflows).
    const peaks = [rss.peakKb(), rss.maxKb()].filter(Number.isFinite);
    const rssPeakKb = peaks.length ? Math.max(...peaks) : NaN;
    const loadAtEnd = os.loadavg()[0];
    clearTimeout(watchdog);
    progress('stopping everything');
    const workerTail = worker.tail();
    await res.stop();

    const summary = {
      pending: N,
      workerRssMb: round(mb(rssPeakKb), 1),
      inboxP99Ms: round(percentile(inboxSeq, 0.99)),
      decideToDoneP99Ms: round(percentile(decideToDone, 0.99)),
      decideToDoneP50Ms: round(percentile(decideToDone, 0.5)),
      // Beyond the contract above: the arrival rate of those decisions, the capacity it is a
      // share of, and the latency one decision at a time (no queueing) and saturated.
      approveRatePerSec: round(headline.rate, 1),
      approveCapacityPerSec: round(approvePerSec, 1),
      // Each paced part: its share of the capacity, arrival rate and decide-to-done p50/p99.
      paced: paced.map((part) => ({
        loadFactor: part.loadFactor,
        ratePerSec: round(part.rate, 1),
        p50Ms: round(percentile(part.toDone, 0.5)),
        p99Ms: round(percentile(part.toDone, 0.99)),
      })),
      proposePerSec: round(proposePerSec, 1),
      decideToDoneSeqP50Ms: round(percentile(probe.toDone, 0.5)),
      decideToDoneSeqP99Ms: round(percentile(probe.toDone, 0.99)),
      decideToDoneSaturatedP50Ms: round(percentile(sat.toDone, 0.5)),
      decideToDoneSaturatedP99Ms: round(percentile(sat.toDone, 0.99)),
    };

    // CPU per phase, also per action: where the machine's two cores go.
    const phaseInfo: Record<string, [string, number, number]> = {
      proposed: [`propose ${N} (${opts.concurrency} concurrent)`, N, proposeElapsed],
      inbox: [`inbox ${opts.inboxSamples * 2 + 5} calls`, NaN, NaN],
      probe: [`approve ${probeIds.length} one at a time`, probeIds.length, probeElapsed],
      saturated: [`approve ${satIds.length} (${opts.concurrency} concurrent)`, satIds.length, satLastDone - approveStart],
      ...Object.fromEntries(
        paced.map((part, p) => [`paced${p}`, [`approve ${part.ids.length} (at ${fmt(part.rate, 1)}/s)`, part.ids.length, part.elapsedMs] as [string, number, number]]),
      ),
    };
    const perAction = (s: number, n: number) => (Number.isFinite(n) ? ` (${fmt((s * 1000) / n, 0)})` : '');
    const cpuRows = cpuMarks.slice(1).map((m, i) => {
      const prev = cpuMarks[i];
      const [label, n, wallMs] = phaseInfo[m.phase];
      const cell = (key: 'worker' | 'bench' | 'temporal' | 'postgres') => fmt(m[key] - prev[key], 1) + perAction(m[key] - prev[key], n);
      return [label, cell('worker'), cell('bench'), cell('temporal'), cell('postgres'), fmt(wallMs / 1000, 1)];
    });

    const out: string[] = [];
    out.push(`bench:load — ${new Date().toISOString()} — ${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}, node ${process.version}`);
    // Everything shares the machine's cores: report how busy it was with the figures.
    out.push(`1-min load average: ${loadAtStart.toFixed(2)} at start, ${loadAtEnd.toFixed(2)} at end`);
    out.push(`pending ${N}, concurrency ${opts.concurrency}, reviewers ${opts.reviewers}; worker = workers/main.ts as its own process (pid ${worker.pid})`);
    out.push('');
    out.push(
      table([
        ['latency (ms)', 'n', 'p50', 'p90', 'p99', 'max', 'mean'],
        latencyRow('POST /v1/actions?wait=10 (to awaiting_approval)', proposeLat),
        latencyRow('GET /v1/approvals, sequential', inboxSeq),
        latencyRow(`GET /v1/approvals, ${opts.inboxConcurrency} concurrent`, inboxConc),
        latencyRow('one at a time: POST /decisions (HTTP answer)', probeDecisionLat),
        latencyRow('one at a time: decision -> executor called', probe.toExecutor),
        latencyRow('one at a time: decision -> succeeded', probe.toDone),
        latencyRow(`${opts.concurrency} concurrent: POST /decisions`, decisionLat),
        latencyRow(`${opts.concurrency} concurrent: decision -> executor called`, sat.toExecutor),
        latencyRow(`${opts.concurrency} concurrent: decision -> succeeded`, sat.toDone),
        ...paced.flatMap((part) => [
          latencyRow(`at ${fmt(part.rate, 1)}/s (${part.loadFactor} x capacity): POST /decisions`, part.decisionLatencies),
          latencyRow(`at ${fmt(part.rate, 1)}/s: decision -> executor called`, part.toExecutor),
          latencyRow(`at ${fmt(part.rate, 1)}/s: decision -> succeeded`, part.toDone),
        ]),
      ]),
    );
    out.push('');
    out.push(
      table([
        ['throughput', 'per second', 'seconds'],
        ['proposals (until all awaiting_approval)', fmt(proposePerSec, 1), fmt(proposeElapsed / 1000, 1)],
        [`decisions, ${opts.concurrency} concurrent (HTTP answered)`, fmt((decisionLat.length / decisionsElapsed) * 1000, 1), fmt(decisionsElapsed / 1000, 1)],
        [`approvals, ${opts.concurrency} concurrent (first sent -> last succeeded): capacity`, fmt(approvePerSec, 1), fmt((satLastDone - approveStart) / 1000, 1)],
        ...paced.map((part) => [
          `approvals arriving at ${part.loadFactor} x capacity (first sent -> last succeeded; ${part.maxInFlight} in flight at most)`,
          fmt(part.perSec, 1),
          fmt(part.elapsedMs / 1000, 1),
        ]),
      ]),
    );
    out.push('');
    out.push(
      table([
        ['worker RSS', 'MB'],
        ['ready (before any action)', fmt(mb(rssReadyKb), 1)],
        ['peak until ready (VmHWM: start-up, bundling)', fmt(mb(rssReadyPeakKb), 1)],
        [`all ${N} pending`, fmt(mb(rssPendingKb), 1)],
        ['max while proposing', fmt(mb(rss.maxKb('propose')), 1)],
        ['max while approving', fmt(mb(rss.maxKb('approve')), 1)],
        ['peak of the whole run (VmHWM)', fmt(mb(rssPeakKb), 1)],
        ['at the end (all done)', fmt(mb(rssEndKb), 1)],
      ]),
    );
    out.push('');
    out.push(table([['CPU s (ms per action)', 'worker', 'API+load gen', 'temporal', 'postgres', 'wall s'], ...cpuRows]));
    out.push('');
    out.push(`inbox SQL (EXPLAIN ANALYZE, ${N} pending): ${inboxPlan}`);
    const checks = [
      [`worker RSS <= 1024 MB`, mb(rssPeakKb) <= 1024],
      ['inbox p99 <= 100 ms', percentile(inboxSeq, 0.99) <= 100],
      ...paced.map(
        (part) => [`decide-to-done p99 <= 500 ms (${part === headline ? 'headline: ' : ''}at ${part.loadFactor} x capacity)`, percentile(part.toDone, 0.99) <= 500] as const,
      ),
      ['(one at a time)', percentile(probe.toDone, 0.99) <= 500],
      [`(${opts.concurrency} concurrent, saturated)`, percentile(sat.toDone, 0.99) <= 500],
    ] as const;
    out.push(`targets: ${checks.map(([name, ok]) => `${name}: ${ok ? 'met' : 'MISSED'}`).join('; ')}`);
    const problems: string[] = [];
    if (notYetPending) problems.push(`${notYetPending} proposals were still evaluating when ?wait=10 answered`);
    if (decisionFailures.length) problems.push(`${decisionFailures.length} decisions failed, e.g. ${decisionFailures.slice(0, 3).join(' | ')}`);
    if (duplicateExecutions) problems.push(`${duplicateExecutions} duplicate executor calls`);
    if (executedAt.size !== approved.length) problems.push(`${executedAt.size} executor calls for ${approved.length} approved actions`);
    const timed = paced.reduce((n, part) => n + part.toDone.length, 0) + probe.toDone.length + sat.toDone.length;
    if (timed !== approved.length) problems.push(`${approved.length - timed} approved actions without a completion notification`);
    if (problems.length) {
      out.push(`problems: ${problems.join('; ')}`);
      if (workerTail) out.push(`worker output (tail):\n${workerTail}`);
    }
    out.push('');
    out.push(JSON.stringify(summary));
    process.stdout.write(out.join('\n') + '\n');
    return problems.length && (decisionFailures.length || duplicateExecutions) ? 1 : 0;
  } catch (err) {
    clearTimeout(watchdog);
    progress(`failed: ${(err as Error).stack ?? err}`);
    if (res.worker) progress(`worker output (tail):\n${res.worker.tail()}`);
    await res.stop().catch(() => {});
    return 1;
  }
}

/** The worker is ready when it polls the task queue (after bundling the workflow code). */
async function waitForWorker(services: Services, worker: WorkerProcess, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (worker.exit) throw new BenchFailure(`worker exited during start-up (${JSON.stringify(worker.exit)}):\n${worker.tail()}`);
    const { pollers } = await services.temporal.workflowService.describeTaskQueue({
      namespace: 'default',
      taskQueue: { name: TASK_QUEUE },
      taskQueueType: 1, // TASK_QUEUE_TYPE_WORKFLOW
    });
    if ((pollers?.length ?? 0) > 0) return;
    if (Date.now() > deadline) throw new BenchFailure(`worker not polling ${TASK_QUEUE} after ${timeoutMs / 1000} s:\n${worker.tail()}`);
    await sleep(250);
  }
}

/** Wait until `count` actions have `status`; fail when the count stops moving for `stallMs`. */
async function waitForCount(db: pg.Pool, status: string, count: number, stallMs: number): Promise<void> {
  let last = -1;
  let movedAt = Date.now();
  for (;;) {
    const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM actions WHERE status = $1', [status]);
    const n = Number(rows[0].n);
    if (n >= count) return;
    if (n !== last) {
      last = n;
      movedAt = Date.now();
    } else if (Date.now() - movedAt > stallMs) {
      const { rows: all } = await db.query('SELECT status, count(*)::int AS n FROM actions GROUP BY status');
      throw new BenchFailure(`only ${n}/${count} actions ${status} after ${stallMs / 1000} s without progress: ${JSON.stringify(all)}`);
    }
    await sleep(250);
  }
}

/** Wait until one action has `status`, re-reading it on each of its change notifications. */
async function waitForStatus(db: pg.Pool, changes: EventEmitter, id: string, status: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let wake = () => {};
  const onChange = () => wake();
  changes.on(id, onChange);
  try {
    for (;;) {
      const changed = new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 200); // a re-read now and then, in case a notification was missed
      });
      const { rows } = await db.query<{ status: string }>('SELECT status FROM actions WHERE id = $1', [id]);
      if (rows[0]?.status === status) return;
      if (Date.now() > deadline) throw new BenchFailure(`action ${id} is ${rows[0]?.status}, not ${status}, after ${timeoutMs / 1000} s`);
      await changed;
    }
  } finally {
    changes.removeListener(id, onChange);
  }
}

/** The inbox query of api/action-service.ts, explained: its execution time and plan shape. */
async function explainInbox(db: pg.Pool, reviewer: string, groups: string[]): Promise<string> {
  const { rows } = await db.query<{ 'QUERY PLAN': string }>(
    `EXPLAIN (ANALYZE, BUFFERS) SELECT * FROM actions
      WHERE status = 'awaiting_approval' AND eligible_groups && $1::text[]
        AND NOT ($2 = ANY(voters)) AND agent <> $2 AND on_behalf_of IS DISTINCT FROM $2
      ORDER BY deadline ASC NULLS LAST, created_at ASC LIMIT $3`,
    [groups, reviewer, 100],
  );
  const lines = rows.map((r) => r['QUERY PLAN']);
  const nodes = lines
    .filter((l) => /->|^\S/.test(l) && !/^(Planning|Execution)/.test(l))
    .map((l) => l.trim().replace(/^->\s*/, '').replace(/\s+\(cost=.*$/, ''))
    .slice(0, 5);
  const exec = lines.find((l) => l.startsWith('Execution Time')) ?? '';
  return `${exec.replace('Execution Time: ', '')}; plan: ${nodes.join(' > ')}`;
}

main().then((code) => process.exit(code));
