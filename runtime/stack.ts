import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import type { Server } from 'node:http';
import path from 'node:path';
import { Client, Connection, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker, type WorkflowBundle } from '@temporalio/worker';
import pg from 'pg';
import { createActivities } from '../activities';
import { ChangeNotifier } from '../activities/change-notifier';
import { createApp } from '../api/app';
import { PrincipalStore } from '../api/auth';
import { ChangeFeed } from '../api/change-feed';
import { compileOr422 } from '../policy';
import { APPLICATION_ROLE, openApplicationPool } from '../ledger/migrate';
import { NoActivePolicyError, PolicyStore } from '../ledger/policy-store';
import { loadOrCreateSigningKey, registerSigningKey, trustedPublicKeys } from '../ledger/signing';
import { ledgerCheckpoints } from '../workflows';
import { createWorker } from '../workers/worker';
import type { Config } from './config';
import type { Logger } from './logger';
import { redactUrl, startPostgres, type PostgresHandle } from './postgres';
import { loadOrCreateSecret } from './secrets';
import { resolveTemporalCli } from './temporal-cli';
import { startTemporalDevServer, type TemporalServerHandle } from './temporal-server';

let runtimeInstalled = false;
/** The SDK's core runtime logs at INFO to stderr by default; keep it to warnings. */
export function installTemporalRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    // Our entrypoints handle SIGINT/SIGTERM themselves (drain the API, then the worker).
    Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  } catch {
    // Already installed by someone else in this process: keep theirs.
  }
}

/** Postgres and Temporal, started here or found at the configured addresses. */
export interface Infrastructure {
  databaseUrl: string;
  temporalAddress: string;
  temporalUiUrl?: string;
  postgres: PostgresHandle;
  temporal?: TemporalServerHandle;
  stop(): Promise<void>;
}

/** Start (or connect to) Postgres and Temporal as the configuration says. */
export async function startInfrastructure(config: Config, log: Logger): Promise<Infrastructure> {
  fs.mkdirSync(config.dataDir, { recursive: true });
  const postgres = await startPostgres({
    databaseUrl: config.databaseUrl,
    dir: path.join(config.dataDir, 'pg'),
    port: config.pgPort,
    onLog: (line) => log.debug({ component: 'postgres' }, line),
  });
  log.info({ postgres: redactUrl(postgres.url), embedded: postgres.embedded }, 'postgres ready');
  let temporal: TemporalServerHandle | undefined;
  try {
    if (!config.temporalAddress) {
      const cliPath = resolveTemporalCli({ explicitPath: config.temporalCli, log: (l) => log.info(l) });
      temporal = await startTemporalDevServer({
        cliPath,
        dbFile: path.join(config.dataDir, 'temporal.db'),
        port: config.temporalPort,
        uiPort: config.temporalUiPort,
        namespace: config.temporalNamespace,
        log: (line) => log.debug({ component: 'temporal' }, line),
      });
      log.info({ temporal: temporal.address, ui: temporal.uiUrl }, 'temporal dev server ready');
    }
  } catch (err) {
    await postgres.stop().catch(() => {});
    throw err;
  }
  return {
    databaseUrl: postgres.url,
    temporalAddress: config.temporalAddress ?? (temporal as TemporalServerHandle).address,
    temporalUiUrl: temporal?.uiUrl,
    postgres,
    temporal,
    async stop() {
      await temporal?.stop();
      await postgres.stop();
    },
  };
}

/** Options for {@link startServices}. */
export interface ServicesOptions {
  databaseUrl: string;
  temporalAddress: string;
  namespace: string;
  taskQueue: string;
  dataDir: string;
  /** Listen port; 0 picks a free one. */
  port: number;
  /** Bundle activated when none is active (or when `forcePolicy`). */
  policyFile: string;
  forcePolicy?: boolean;
  adminToken?: string;
  executorSecret?: string;
  /** Per-request timeout of the http executor. @default 25000 */
  executorTimeoutMs?: number;
  /** Whether the worker may call targets it has seen answer fast inline. @default true */
  executorInline?: boolean;
  temporalUiUrl: string;
  /** Base URL of the API as users reach it (links in notifications). */
  publicUrl?: string;
  maxBodyBytes: number;
  log: Logger;
  /** Run a worker in this process. @default true */
  worker?: boolean;
  workflowBundle?: WorkflowBundle;
  maxCachedWorkflows?: number;
  signingKeyFile?: string;
  signingKeyPem?: string;
  /** Seconds between ledger checkpoints. @default 60 */
  checkpointIntervalSeconds?: number;
  /**
   * On stop, how long /readyz answers 503 while requests are still served, so a load balancer
   * stops routing here before the listener closes. @default 0
   */
  drainDelayMs?: number;
}

/** The running Countersign processes (API and, optionally, worker) of one stack. */
export interface Services {
  url: string;
  adminToken: string;
  pool: pg.Pool;
  temporal: Client;
  policies: PolicyStore;
  /** Stop the in-process worker (as a crash or deploy would) and start a fresh one. */
  restartWorker(): Promise<void>;
  stopWorker(): Promise<void>;
  startWorker(): Promise<void>;
  stop(): Promise<void>;
}

/** Start the API (and worker) against running infrastructure. */
export async function startServices(opts: ServicesOptions): Promise<Services> {
  installTemporalRuntime();
  const log = opts.log;
  const { pool, applied, role } = await openApplicationPool(opts.databaseUrl, {
    max: 20,
    onClientError: (err) => log.warn({ err: err.message }, 'postgres connection error'),
  });
  if (applied.length) log.info({ applied }, 'migrations applied');
  if (role !== APPLICATION_ROLE) log.warn({ role }, `the application runs as ${role}, not ${APPLICATION_ROLE}: its grants alone must keep the ledger append-only`);

  const policies = new PolicyStore(pool);
  await bootstrapPolicy(policies, opts.policyFile, Boolean(opts.forcePolicy), log);

  const executorSecret = opts.executorSecret ?? loadOrCreateSecret(opts.dataDir, 'executor-hmac');
  const signer = loadOrCreateSigningKey(opts.dataDir, { keyFile: opts.signingKeyFile, keyPem: opts.signingKeyPem });
  await registerSigningKey(pool, signer);
  const notifier = new ChangeNotifier(pool, log);
  const activities = createActivities({ pool, notifier, policies, executorSecret, executorTimeoutMs: opts.executorTimeoutMs, executorInline: opts.executorInline, signer, log, publicUrl: opts.publicUrl });

  let worker: Worker | undefined;
  let workerRun: Promise<void> | undefined;
  let workerConnection: NativeConnection | undefined;
  const startWorker = async () => {
    workerConnection ??= await NativeConnection.connect({ address: opts.temporalAddress });
    worker = await createWorker({
      connection: workerConnection,
      namespace: opts.namespace,
      taskQueue: opts.taskQueue,
      activities,
      workflowBundle: opts.workflowBundle,
      maxCachedWorkflows: opts.maxCachedWorkflows,
    });
    workerRun = worker.run();
    workerRun.catch((err) => log.error({ err }, 'worker stopped with an error'));
  };
  const stopWorker = async () => {
    if (!worker) return;
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await workerRun?.catch(() => {});
    worker = undefined;
  };
  if (opts.worker !== false) await startWorker();

  // With a worker in this process, the client shares its connection so workflow starts can be
  // eager: the server hands the first task straight back instead of through the task queue.
  const connection = workerConnection ?? (await Connection.connect({ address: opts.temporalAddress }));
  const temporal = new Client({ connection, namespace: opts.namespace });
  if (opts.worker !== false) await startCheckpoints(temporal, opts.taskQueue, opts.checkpointIntervalSeconds ?? 60);
  const adminToken = opts.adminToken ?? randomBytes(24).toString('base64url');
  const principals = new PrincipalStore(pool, adminToken);
  const feed = new ChangeFeed(opts.databaseUrl, log);
  await feed.start();

  let draining = false;
  const app = createApp({
    pool,
    temporal,
    eagerStart: workerConnection !== undefined,
    taskQueue: opts.taskQueue,
    namespace: opts.namespace,
    temporalUiUrl: opts.temporalUiUrl,
    policies,
    principals,
    feed,
    signer,
    trustedKeys: () => trustedPublicKeys(opts.dataDir),
    log,
    maxBodyBytes: opts.maxBodyBytes,
    isReady: () => !draining,
  });
  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(opts.port, '0.0.0.0', () => resolve(s));
    s.once('error', reject);
  });
  // Long polls hold requests up to 60 s; keep sockets alive a little longer than that.
  server.requestTimeout = 90_000;
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;

  return {
    url: `http://127.0.0.1:${port}`,
    adminToken,
    pool,
    temporal,
    policies,
    startWorker,
    stopWorker,
    async restartWorker() {
      await stopWorker();
      await startWorker();
    },
    async stop() {
      draining = true;
      if (opts.drainDelayMs) await new Promise((r) => setTimeout(r, opts.drainDelayMs));
      // Stop accepting, let in-flight requests finish (long polls are woken by closing the feed).
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await feed.close();
      server.closeIdleConnections();
      const force = setTimeout(() => server.closeAllConnections(), 10_000);
      await closed;
      clearTimeout(force);
      await stopWorker();
      await connection.close().catch(() => {});
      if (workerConnection !== connection) await workerConnection?.close().catch(() => {});
      await notifier.end().catch(() => {});
      await pool.end().catch(() => {});
    },
  };
}

/**
 * Keep one checkpoint workflow running per task queue. Starting it again (every process start)
 * finds the running one: the id is fixed and a conflict means "already there".
 */
export async function startCheckpoints(temporal: Client, taskQueue: string, intervalSeconds: number): Promise<void> {
  try {
    await temporal.workflow.start(ledgerCheckpoints, {
      workflowId: `ledger-checkpoints-${taskQueue}`,
      taskQueue,
      args: [intervalSeconds * 1000],
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}

/**
 * Activate the configured bundle when nothing is active yet, or when it was named explicitly
 * (`forcePolicy`) and differs from the active one. An operator's later `PUT /v1/policy`
 * survives restarts that do not name a file.
 */
export async function bootstrapPolicy(policies: PolicyStore, file: string, force: boolean, log: Logger): Promise<void> {
  let activeVersion: string | undefined;
  try {
    activeVersion = (await policies.active()).version;
  } catch (err) {
    if (!(err instanceof NoActivePolicyError)) throw err;
  }
  if (activeVersion && !force) return;
  const source = fs.readFileSync(file, 'utf8');
  const bundle = compileOr422(source, path.basename(file));
  if (bundle.version === activeVersion) return;
  await policies.activate(bundle, source, 'bootstrap', path.relative(process.cwd(), file) || file);
  log.info({ version: bundle.version, file }, 'policy activated');
}

/** The services' options as the configuration says, against the given Postgres and Temporal. */
export function servicesOptionsFromConfig(
  config: Config,
  infra: { databaseUrl: string; temporalAddress: string },
  log: Logger,
): ServicesOptions {
  return {
    databaseUrl: infra.databaseUrl,
    temporalAddress: infra.temporalAddress,
    namespace: config.temporalNamespace,
    taskQueue: config.taskQueue,
    dataDir: config.dataDir,
    port: config.port,
    policyFile: config.policyFile,
    forcePolicy: config.policyFileExplicit,
    adminToken: config.adminToken,
    executorSecret: config.executorSecret,
    executorTimeoutMs: config.executorTimeoutMs,
    executorInline: config.executorInline,
    temporalUiUrl: config.temporalUiUrl,
    publicUrl: config.publicUrl,
    signingKeyFile: config.signingKeyFile,
    signingKeyPem: config.signingKeyPem,
    checkpointIntervalSeconds: config.checkpointIntervalSeconds,
    drainDelayMs: config.drainDelayMs,
    maxCachedWorkflows: config.maxCachedWorkflows,
    maxBodyBytes: config.maxBodyBytes,
    log,
  };
}

/** Everything `npm start` runs: infrastructure plus services. */
export async function startStack(config: Config, log: Logger): Promise<{ infra: Infrastructure; services: Services; stop(): Promise<void> }> {
  const infra = await startInfrastructure(config, log);
  try {
    const services = await startServices(servicesOptionsFromConfig(config, infra, log));
    return {
      infra,
      services,
      async stop() {
        await services.stop();
        await infra.stop();
      },
    };
  } catch (err) {
    await infra.stop().catch(() => {});
    throw err;
  }
}
