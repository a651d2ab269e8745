/**
 * Worker-only process (production: `node --import tsx workers/main.ts`, N replicas). It runs the
 * governedAction workflow and its activities against an existing Temporal cluster and Postgres;
 * the HTTP API runs elsewhere (api/main.ts). Stateless: any number can run side by side.
 */
import { Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { createActivities } from '../activities';
import { ChangeNotifier } from '../activities/change-notifier';
import { APPLICATION_ROLE, openApplicationPool } from '../ledger/migrate';
import { PolicyStore } from '../ledger/policy-store';
import { loadOrCreateSigningKey, registerSigningKey } from '../ledger/signing';
import { ConfigError, loadConfig, type Config } from '../runtime/config';
import { createLogger, type Logger } from '../runtime/logger';
import { redactUrl, waitForPostgres } from '../runtime/postgres';
import { loadOrCreateSecret } from '../runtime/secrets';
import { bootstrapPolicy, installTemporalRuntime, startCheckpoints } from '../runtime/stack';
import { createWorker } from './worker';

/**
 * Run the worker until SIGINT/SIGTERM, then let in-flight tasks finish (the worker's
 * shutdown grace time) and close its connections. Resolves to the process exit code.
 */
export async function runWorker(config: Config = loadConfig(), log: Logger = createLogger(config.logLevel)): Promise<number> {
  const { databaseUrl, temporalAddress } = config;
  if (!databaseUrl || !temporalAddress) {
    // A standalone worker cannot guess them; `npm start` embeds both instead.
    throw new ConfigError('DATABASE_URL and TEMPORAL_ADDRESS must be set for the standalone worker (npm start runs an embedded stack instead)');
  }
  installTemporalRuntime();

  await waitForPostgres(databaseUrl, 60_000);
  // Safe with N processes starting at once: migrations take an advisory lock.
  const { pool, applied, role } = await openApplicationPool(databaseUrl, {
    max: 20,
    onClientError: (err) => log.warn({ err: err.message }, 'postgres connection error'),
  });
  if (applied.length) log.info({ applied }, 'migrations applied');
  if (role !== APPLICATION_ROLE) log.warn({ role }, `the worker runs as ${role}, not ${APPLICATION_ROLE}: its grants alone must keep the ledger append-only`);
  let connection: NativeConnection | undefined;
  const notifier = new ChangeNotifier(pool, log);
  try {
    const policies = new PolicyStore(pool);
    // The API owns explicit activation (POLICY_FILE); a worker only fills an empty database.
    await bootstrapPolicy(policies, config.policyFile, false, log);

    if (!config.executorSecret) {
      log.warn('COUNTERSIGN_EXECUTOR_SECRET is not set: using a key from the data dir; every worker must sign with the same key');
    }
    const executorSecret = config.executorSecret ?? loadOrCreateSecret(config.dataDir, 'executor-hmac');
    // Every process signing checkpoints must hold the same key: COUNTERSIGN_SIGNING_KEY(_FILE), or a shared data dir.
    const signer = loadOrCreateSigningKey(config.dataDir, { keyFile: config.signingKeyFile, keyPem: config.signingKeyPem });
    await registerSigningKey(pool, signer);
    const activities = createActivities({ pool, notifier, policies, executorSecret, executorTimeoutMs: config.executorTimeoutMs, executorInline: config.executorInline, signer, log, publicUrl: config.publicUrl });

    connection = await NativeConnection.connect({ address: temporalAddress });
    const worker = await createWorker({
      connection,
      namespace: config.temporalNamespace,
      taskQueue: config.taskQueue,
      activities,
      maxCachedWorkflows: config.maxCachedWorkflows,
    });
    await startCheckpoints(new Client({ connection, namespace: config.temporalNamespace }), config.taskQueue, config.checkpointIntervalSeconds);

    // The SDK's runtime also reacts to these signals; shutting down twice is refused, hence the state check.
    const stop = (signal: NodeJS.Signals) => {
      log.info({ signal }, 'worker shutting down: finishing in-flight tasks');
      if (worker.getState() === 'RUNNING') worker.shutdown();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    log.info(
      { temporal: temporalAddress, namespace: config.temporalNamespace, taskQueue: config.taskQueue, postgres: redactUrl(databaseUrl) },
      'countersign worker running',
    );
    await worker.run();
    log.info('worker stopped');
    return 0;
  } finally {
    await connection?.close().catch(() => {});
    await notifier.end().catch(() => {});
    await pool.end().catch(() => {});
  }
}


if (require.main === module) {
  runWorker().then(
    (code) => process.exit(code),
    (err) => {
      console.error(err instanceof ConfigError ? err.message : err);
      process.exit(1);
    },
  );
}
