/**
 * The composition root: the one place that builds what every Countersign process shares — the
 * migrated Postgres pool, the policy store, the executor secret, the ledger signer, the change
 * notifier, the activities and the Temporal client. The API (api/main.ts), the worker
 * (workers/main.ts) and `npm start` (runtime/stack.ts) all start from {@link buildCore}, so a new
 * dependency is one edit here.
 */
import { Client, Connection, WorkflowExecutionAlreadyStartedError, type TLSConfig } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker, type WorkflowBundle } from '@temporalio/worker';
import type pg from 'pg';
import { createActivities, type Activities } from '../activities';
import type { SlackSettings } from '../activities/slack';
import { ChangeNotifier } from '../activities/change-notifier';
import { PauseRegistry } from '../ledger/pause-store';
import { loadOrCreateDigestKey } from '../ledger/digest-key';
import { APPLICATION_ROLE, openApplicationPool } from '../ledger/migrate';
import { PolicyStore } from '../ledger/policy-store';
import { loadOrCreateSigningKey, registerSigningKey, type LedgerSigner } from '../ledger/signing';
import { ledgerCheckpoints } from '../workflows';
import { createWorker } from '../workers/worker';
import type { Config } from './config';
import type { Logger } from './logger';
import { countersignDataConverter, PayloadEncryptionCodec } from './payload-codec';
import { loadOrCreatePayloadKeys, type PayloadKey } from './payload-keys';
import { bootstrapPolicy } from './policy-bootstrap';
import { waitForPostgres } from './postgres';
import { MessageSigner } from './message-keys';
import { loadOrCreateSecret } from './secrets';
import { configuredWitnesses, type CheckpointWitness } from '../ledger/witness';
import { startTracing, type Tracing } from './tracing';

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

/** Options for {@link buildCore}; {@link coreOptionsFromConfig} fills them from the configuration. */
export interface CoreOptions {
  databaseUrl: string;
  temporalAddress: string;
  /** TLS to Temporal (mTLS with a client certificate); undefined = plain gRPC unless `temporalApiKey`. */
  temporalTls?: TLSConfig;
  /** API key sent with every Temporal call (Temporal Cloud); implies TLS. */
  temporalApiKey?: string;
  namespace: string;
  taskQueue: string;
  dataDir: string;
  /** Keys that encrypt payloads in Temporal, the first encrypting; else the data dir's (created on first start). */
  payloadKeys?: PayloadKey[];
  /**
   * Whether payloads written to Temporal are encrypted. Off only in `npm run bench:e2e`, which
   * measures what encryption costs against a stack without it; no setting exposes it.
   * @default true
   */
  encryptPayloads?: boolean;
  /** Bundle activated when none is active (or when `forcePolicy`). */
  policyFile: string;
  /** Activate `policyFile` even when another bundle is active. @default false */
  forcePolicy?: boolean;
  /** HMAC key for executor requests; else one kept in the data dir. */
  executorSecret?: string;
  /** Per-request timeout of the http executor. @default 25000 */
  executorTimeoutMs?: number;
  /** Bytes read of an executor's or webhook's answer. @default 1048576 */
  fetchMaxBytes?: number;
  /** Whether the worker may call targets it has seen answer fast inline. @default true */
  executorInline?: boolean;
  /** Base URL of the API as users reach it (links in notifications). */
  publicUrl?: string;
  /** Slack approvals (`COUNTERSIGN_SLACK_*`): the worker posts and updates messages, the API verifies clicks. */
  slack?: SlackSettings;
  signingKeyFile?: string;
  signingKeyPem?: string;
  /** The keyed-digest key as hex (`COUNTERSIGN_DIGEST_KEY`); else the data dir's (created on first start). */
  digestKey?: string;
  /** Message root keys (base64url seeds, first current); else the data dir's. */
  messageRootKeys?: string[];
  log: Logger;
  /**
   * Whether this process runs workers: the client then shares the workers' connection (so
   * workflow starts can be eager) and the ledger checkpoint workflow is kept running. @default true
   */
  worker?: boolean;
  workflowBundle?: WorkflowBundle;
  maxCachedWorkflows?: number;
  /** Seconds between ledger checkpoints. @default 60 */
  checkpointIntervalSeconds?: number;
  /**
   * An HTTP witness that also keeps every signed checkpoint (`COUNTERSIGN_LEDGER_WITNESS_URL`,
   * ledger/witness.ts), besides the file `<dataDir>/ledger-witness.jsonl`.
   */
  ledgerWitnessUrl?: string;
  ledgerWitnessToken?: string;
  /** OpenTelemetry (runtime/tracing.ts): client and worker interceptors. Undefined: no tracing. */
  tracing?: Tracing;
}

/** What every process is built from; {@link Core.close} releases all of it. */
export interface Core {
  pool: pg.Pool;
  policies: PolicyStore;
  signer: LedgerSigner;
  notifier: ChangeNotifier;
  /** The active pauses (docs/controls.md), kept current by Postgres notifications. */
  pauses: PauseRegistry;
  activities: Activities;
  /**
   * The digest key (ledger/digest-key.ts) the activities use, for the API's keyed digests
   * (domain/approval-digest.ts `approvalDigestFor`). Never passed to workflow code.
   */
  digestKey: Buffer;
  temporal: Client;
  /** Signs what the API sends to workflows; its roots are the ones the worker trusts. */
  messages: MessageSigner;
  /** Encrypts and decrypts every payload the client and the worker exchange with Temporal (also serves /codec). */
  payloadCodec: PayloadEncryptionCodec;
  /** True when the client shares a worker connection, so workflow starts may be eager. */
  eagerStart: boolean;
  /** A new (not yet running) worker on the core's connection; only with `worker`. */
  createWorker(): Promise<Worker>;
  /** Close the Temporal connection, the notifier and the pool; stop workers first. */
  close(): Promise<void>;
}

/** Build the core against running Postgres and Temporal; on failure, whatever was opened is closed. */
export async function buildCore(opts: CoreOptions): Promise<Core> {
  installTemporalRuntime();
  const log = opts.log;
  const withWorker = opts.worker !== false;
  await waitForPostgres(opts.databaseUrl, 60_000);
  // Safe with N processes starting at once: migrations take an advisory lock.
  const { pool, applied, role } = await openApplicationPool(opts.databaseUrl, {
    max: 20,
    onClientError: (err) => log.warn({ err: err.message }, 'postgres connection error'),
  });
  if (applied.length) log.info({ applied }, 'migrations applied');
  if (role !== APPLICATION_ROLE) log.warn({ role }, `this process runs as ${role}, not ${APPLICATION_ROLE}: its grants alone must keep the ledger append-only`);
  const notifier = new ChangeNotifier(pool, log);
  const pauses = new PauseRegistry(pool, log);
  let connection: NativeConnection | Connection | undefined;
  const close = async () => {
    // Spans still buffered (tracing exports in batches) go out before the process stops.
    await opts.tracing?.flush().catch(() => {});
    await connection?.close().catch(() => {});
    await pauses.close().catch(() => {});
    await notifier.end().catch(() => {});
    await pool.end().catch(() => {});
  };
  try {
    const policies = new PolicyStore(pool);
    await bootstrapPolicy(policies, opts.policyFile, Boolean(opts.forcePolicy), log);
    const executorSecret = opts.executorSecret ?? loadOrCreateSecret(opts.dataDir, 'executor-hmac');
    // Every process signing checkpoints must hold the same key: COUNTERSIGN_SIGNING_KEY(_FILE), or a shared data dir.
    const signer = loadOrCreateSigningKey(opts.dataDir, { keyFile: opts.signingKeyFile, keyPem: opts.signingKeyPem });
    await registerSigningKey(pool, signer);
    // Every API and worker process must hold the same key: COUNTERSIGN_DIGEST_KEY, or a shared data dir.
    const digestKey = loadOrCreateDigestKey(opts.dataDir, { keyHex: opts.digestKey });
    // Every API and worker process must hold the same message roots: COUNTERSIGN_MESSAGE_ROOT_KEYS, or a shared data dir.
    const messages = MessageSigner.load(opts.dataDir, opts.messageRootKeys);
    // Every process must hold the same payload keys: COUNTERSIGN_PAYLOAD_KEYS, or a shared data dir.
    const payloadCodec = new PayloadEncryptionCodec(opts.payloadKeys ?? loadOrCreatePayloadKeys(opts.dataDir), {
      onUndecodable: (reason, keyId) =>
        log.warn({ reason, keyId }, reason === 'unknown-key' ? 'a payload is encrypted with a key this process does not hold: passed on undecoded' : 'an encrypted payload failed authentication: passed on undecoded'),
    });
    const dataConverter = countersignDataConverter(opts.encryptPayloads === false ? PLAINTEXT_CODEC : payloadCodec);
    await pauses.start();
    const activities = createActivities({
      pool,
      notifier,
      pauses,
      policies,
      executorSecret,
      executorTimeoutMs: opts.executorTimeoutMs,
      fetchMaxBytes: opts.fetchMaxBytes,
      executorInline: opts.executorInline,
      signer,
      ledgerWitnesses: ledgerWitnesses(opts),
      log,
      publicUrl: opts.publicUrl,
      slack: opts.slack,
      trustedRoots: messages.trustedRoots,
      digestKey,
    });

    // With workers in this process, the client shares their connection so workflow starts can be
    // eager: the server hands the first task straight back instead of through the task queue.
    const connectionOptions = temporalConnectionOptions(opts);
    const workerConnection = withWorker ? await NativeConnection.connect(connectionOptions) : undefined;
    connection = workerConnection ?? (await Connection.connect(connectionOptions));
    const temporal = new Client({ connection, namespace: opts.namespace, dataConverter, interceptors: opts.tracing?.clientInterceptors() });
    if (withWorker) await startCheckpoints(temporal, opts.taskQueue, opts.checkpointIntervalSeconds ?? 60);

    return {
      pool,
      policies,
      signer,
      messages,
      notifier,
      pauses,
      activities,
      digestKey,
      temporal,
      payloadCodec,
      eagerStart: withWorker,
      async createWorker() {
        if (!workerConnection) throw new Error('this core was built without workers (worker: false)');
        return createWorker({
          connection: workerConnection,
          namespace: opts.namespace,
          taskQueue: opts.taskQueue,
          activities,
          dataConverter,
          workflowBundle: opts.workflowBundle,
          maxCachedWorkflows: opts.maxCachedWorkflows,
          tracing: opts.tracing,
        });
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/**
 * The address, TLS and API key of a Temporal connection, for the worker's NativeConnection and the
 * client's Connection alike. An API key without TLS options still connects with TLS (system roots).
 */
export function temporalConnectionOptions(opts: Pick<CoreOptions, 'temporalAddress' | 'temporalTls' | 'temporalApiKey'>): {
  address: string;
  tls?: TLSConfig;
  apiKey?: string;
} {
  const tls = opts.temporalTls ?? (opts.temporalApiKey ? {} : undefined);
  return { address: opts.temporalAddress, ...(tls ? { tls } : {}), ...(opts.temporalApiKey ? { apiKey: opts.temporalApiKey } : {}) };
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

/** The core's options as the configuration says, against the given Postgres and Temporal. */
export function coreOptionsFromConfig(config: Config, infra: { databaseUrl: string; temporalAddress: string }, log: Logger): CoreOptions {
  return {
    databaseUrl: infra.databaseUrl,
    temporalAddress: infra.temporalAddress,
    temporalTls: config.temporalTls,
    temporalApiKey: config.temporalApiKey,
    namespace: config.temporalNamespace,
    taskQueue: config.taskQueue,
    dataDir: config.dataDir,
    payloadKeys: config.payloadKeys,
    policyFile: config.policyFile,
    forcePolicy: config.policyFileExplicit,
    executorSecret: config.executorSecret,
    executorTimeoutMs: config.executorTimeoutMs,
    fetchMaxBytes: config.fetchMaxBytes,
    executorInline: config.executorInline,
    publicUrl: config.publicUrl,
    slack: config.slack,
    signingKeyFile: config.signingKeyFile,
    signingKeyPem: config.signingKeyPem,
    digestKey: config.digestKey,
    messageRootKeys: config.messageRootKeys,
    checkpointIntervalSeconds: config.checkpointIntervalSeconds,
    ledgerWitnessUrl: config.ledgerWitnessUrl,
    ledgerWitnessToken: config.ledgerWitnessToken,
    tracing: config.otlpTracesUrl ? startTracing({ url: config.otlpTracesUrl, serviceName: config.otelServiceName }) : undefined,
    maxCachedWorkflows: config.maxCachedWorkflows,
    log,
  };
}

/** Where the signed checkpoints are also kept: the data dir's file, and the HTTP witness when configured. */
export function ledgerWitnesses(opts: Pick<CoreOptions, 'dataDir' | 'ledgerWitnessUrl' | 'ledgerWitnessToken'>, existingFileOnly = false): CheckpointWitness[] {
  return configuredWitnesses({ dataDir: opts.dataDir, url: opts.ledgerWitnessUrl, token: opts.ledgerWitnessToken, existingFileOnly });
}

/** A codec that changes nothing: the benchmark's stack without encryption ({@link CoreOptions.encryptPayloads}). */
const PLAINTEXT_CODEC = { encode: async <T>(payloads: T) => payloads, decode: async <T>(payloads: T) => payloads };
