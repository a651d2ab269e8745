import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import type { Server } from 'node:http';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import type pg from 'pg';
import { createApp } from '../api/app';
import { createMetrics, metricsApp } from '../api/metrics';
import type { RateLimits } from '../domain/rate-limits';
import { countActionFaults } from '../ledger/action-faults';
import { PrincipalStore } from '../api/auth';
import { ChangeFeed } from '../api/change-feed';
import type { OidcSettings } from '../api/oidc';
import type { PolicyStore } from '../ledger/policy-store';
import { trustedPublicKeys } from '../ledger/signing';
import type { Config } from './config';
import { buildCore, coreOptionsFromConfig, ledgerWitnesses, type CoreOptions } from './core';
import type { Logger } from './logger';
import type { MessageSigner } from './message-keys';
import type { PayloadEncryptionCodec } from './payload-codec';
import { redactUrl, startPostgres, type PostgresHandle } from './postgres';
import { resolveTemporalCli } from './temporal-cli';
import { startTemporalDevServer, type TemporalServerHandle } from './temporal-server';

// Benchmarks import these from here.
export { installTemporalRuntime } from './core';

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
        // The UI, in the browser, decodes payloads through the API's codec endpoint (/codec/decode).
        uiCodecEndpoint: codecEndpoint(config.publicUrl),
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

/** The codec endpoint Temporal's UI and CLI are given: the API's `/codec` (they append `/decode` and `/encode`). */
export function codecEndpoint(publicUrl: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/codec`;
}

/** Options for {@link startServices}: the core's, plus the API's. */
export interface ServicesOptions extends CoreOptions {
  /** Listen port; 0 picks a free one. */
  port: number;
  /** The address the API and the metrics listener bind to. @default "0.0.0.0" */
  host?: string;
  /**
   * The port of a listener that serves only `GET /metrics`; the API's port then answers 404 for
   * it. Undefined: /metrics is on the API's port. 0 picks a free one.
   */
  metricsPort?: number;
  adminToken?: string;
  temporalUiUrl: string;
  /** The browser origin allowed to call /codec with credentials. @default the origin of `temporalUiUrl` */
  temporalUiOrigin?: string;
  maxBodyBytes: number;
  /** How long a console session lasts. @default 12 h */
  sessionTtlMs?: number;
  /** The OpenID provider of console sign-in (`COUNTERSIGN_OIDC_*`); undefined: sign-in links only. */
  oidc?: OidcSettings;
  /** Per-principal rate limits and long-poll caps (api/rate-limit.ts). @default DEFAULT_RATE_LIMITS */
  rateLimits?: RateLimits;
  /** express "trust proxy" (`COUNTERSIGN_TRUST_PROXY`). @default the socket's address */
  trustProxy?: boolean | number | string;
  /**
   * On stop, how long /readyz answers 503 while requests are still served, so a load balancer
   * stops routing here before the listener closes. @default 0
   */
  drainDelayMs?: number;
  /** Reviewer metrics: decisions faster than this count as fast (`COUNTERSIGN_FAST_DECISION_MS`). @default 5000 */
  fastDecisionMs?: number;
}

/** The running Countersign processes (API and, optionally, worker) of one stack. */
export interface Services {
  url: string;
  /** The metrics listener's base URL, when /metrics has its own port. */
  metricsUrl?: string;
  adminToken: string;
  pool: pg.Pool;
  temporal: Client;
  /** The payload codec of the client and worker (a worker built beside them needs the same). */
  payloadCodec: PayloadEncryptionCodec;
  /** Signs what the API sends to workflows (tests sign their own Updates past the API with it). */
  messages: MessageSigner;
  /** The digest key (sensitive values, keyed approval digests): a worker built beside these needs it. */
  digestKey: Buffer;
  policies: PolicyStore;
  /** Stop the in-process worker (as a crash or deploy would) and start a fresh one. */
  restartWorker(): Promise<void>;
  stopWorker(): Promise<void>;
  startWorker(): Promise<void>;
  stop(): Promise<void>;
}

/** Start the API (and worker) against running infrastructure. */
export async function startServices(opts: ServicesOptions): Promise<Services> {
  const log = opts.log;
  const core = await buildCore(opts);
  const { pool, temporal, policies } = core;

  let worker: Worker | undefined;
  let workerRun: Promise<void> | undefined;
  const startWorker = async () => {
    worker = await core.createWorker();
    workerRun = worker.run();
    workerRun.catch((err) => log.error({ err }, 'worker stopped with an error'));
  };
  const stopWorker = async () => {
    if (!worker) return;
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await workerRun?.catch(() => {});
    worker = undefined;
  };
  const adminToken = opts.adminToken ?? randomBytes(24).toString('base64url');
  const feed = new ChangeFeed(opts.databaseUrl, log);
  let draining = false;
  let server: Server;
  let metricsServer: Server | undefined;
  const host = opts.host ?? '0.0.0.0';
  const listen = (app: ReturnType<typeof createApp>, port: number) =>
    new Promise<Server>((resolve, reject) => {
      const s = app.listen(port, host, () => resolve(s));
      s.once('error', reject);
    });
  try {
    if (opts.worker !== false) await startWorker();
    await feed.start();
    const metricsOnOwnPort = opts.metricsPort !== undefined;
    const metrics = createMetrics({ openFaults: () => countActionFaults(pool) });
    if (metricsOnOwnPort) metricsServer = await listen(metricsApp(metrics), opts.metricsPort as number);
    const app = createApp({
      pool,
      temporal,
      eagerStart: core.eagerStart,
      taskQueue: opts.taskQueue,
      namespace: opts.namespace,
      temporalUiUrl: opts.temporalUiUrl,
      temporalUiOrigin: opts.temporalUiOrigin ?? new URL(opts.temporalUiUrl).origin,
      payloadCodec: core.payloadCodec,
      policies,
      // Revoked tokens, disabled principals and ended sessions are dropped from its cache as any process's change arrives.
      principals: new PrincipalStore(pool, adminToken).attachChanges(feed),
      // Unset, the address this listener got (tests listen on port 0).
      publicUrl: () => opts.publicUrl ?? (server ? localUrl(host, portOf(server, opts.port)) : `http://localhost:${opts.port}`),
      sessionTtlMs: opts.sessionTtlMs,
      oidc: opts.oidc,
      slack: opts.slack,
      feed,
      signer: core.signer,
      messages: core.messages,
      trustedKeys: () => trustedPublicKeys(opts.dataDir),
      // The file appears with the first checkpoint a worker on this data dir writes.
      ledgerWitnesses: () => ledgerWitnesses(opts, true),
      checkpointIntervalSeconds: opts.checkpointIntervalSeconds,
      log,
      maxBodyBytes: opts.maxBodyBytes,
      rateLimits: opts.rateLimits,
      trustProxy: opts.trustProxy,
      tracing: opts.tracing,
      isReady: () => !draining,
      pauses: core.pauses,
      fastDecisionMs: opts.fastDecisionMs,
      metrics,
      metricsOnOwnPort,
    });
    server = await listen(app, opts.port);
  } catch (err) {
    await new Promise((resolve) => (metricsServer ? metricsServer.close(resolve) : resolve(undefined)));
    await feed.close();
    await stopWorker();
    await core.close();
    throw err;
  }
  // Long polls hold requests up to 60 s; keep sockets alive a little longer than that.
  server.requestTimeout = 90_000;
  // Keep idle connections open longer than clients and load balancers do (Node's default is
  // 5 s, shorter than most balancers' 60 s): a server that closes an idle socket just as a
  // client reuses it makes that request fail with ECONNRESET.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  const portOf = (s: Server, fallback: number) => {
    const address = s.address();
    return typeof address === 'object' && address ? address.port : fallback;
  };

  return {
    url: localUrl(host, portOf(server, opts.port)),
    ...(metricsServer ? { metricsUrl: localUrl(host, portOf(metricsServer, opts.metricsPort as number)) } : {}),
    adminToken,
    pool,
    temporal,
    payloadCodec: core.payloadCodec,
    messages: core.messages,
    digestKey: core.digestKey,
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
      // Scrapes keep working while the API drains; the metrics listener closes after it.
      if (metricsServer) {
        const metricsClosed = new Promise((resolve) => metricsServer!.close(resolve));
        metricsServer.closeAllConnections();
        await metricsClosed;
      }
      await stopWorker();
      await core.close();
    },
  };
}

/** The services' options as the configuration says, against the given Postgres and Temporal. */
export function servicesOptionsFromConfig(
  config: Config,
  infra: { databaseUrl: string; temporalAddress: string },
  log: Logger,
): ServicesOptions {
  return {
    ...coreOptionsFromConfig(config, infra, log),
    port: config.port,
    host: config.host,
    metricsPort: config.metricsPort,
    adminToken: config.adminToken,
    temporalUiUrl: config.temporalUiUrl,
    temporalUiOrigin: config.temporalUiOrigin,
    drainDelayMs: config.drainDelayMs,
    fastDecisionMs: config.fastDecisionMs,
    maxBodyBytes: config.maxBodyBytes,
    sessionTtlMs: config.sessionTtlMs,
    oidc: config.oidc,
    rateLimits: config.rateLimits,
    trustProxy: config.trustProxy,
  };
}

/** How this machine reaches a listener bound to `host` (all interfaces: the loopback address). */
function localUrl(host: string, port: number): string {
  const reachable = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
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
