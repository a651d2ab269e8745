/**
 * Worker-only process (production: `node --import tsx workers/main.ts`, N replicas). It runs the
 * governedAction workflow and its activities against an existing Temporal cluster and Postgres;
 * the HTTP API runs elsewhere (api/main.ts). Stateless: any number can run side by side.
 */
import { ConfigError, externalInfrastructure, loadConfig, type Config } from '../runtime/config';
import { buildCore, coreOptionsFromConfig } from '../runtime/core';
import { createLogger, type Logger } from '../runtime/logger';
import { redactUrl } from '../runtime/postgres';

/**
 * Run the worker until SIGINT/SIGTERM, then let in-flight tasks finish (the worker's
 * shutdown grace time) and close its connections. Resolves to the process exit code.
 */
export async function runWorker(config: Config = loadConfig(), log: Logger = createLogger(config.logLevel)): Promise<number> {
  const infra = externalInfrastructure(config, 'worker');
  if (!config.executorSecret) {
    log.warn('COUNTERSIGN_EXECUTOR_SECRET is not set: using a key from the data dir; every worker must sign with the same key');
  }
  // The API owns explicit activation (POLICY_FILE); a worker only fills an empty database.
  const core = await buildCore({ ...coreOptionsFromConfig(config, infra, log), forcePolicy: false, worker: true });
  try {
    const worker = await core.createWorker();
    // The SDK's runtime also reacts to these signals; shutting down twice is refused, hence the state check.
    const stop = (signal: NodeJS.Signals) => {
      log.info({ signal }, 'worker shutting down: finishing in-flight tasks');
      if (worker.getState() === 'RUNNING') worker.shutdown();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    log.info(
      { temporal: infra.temporalAddress, namespace: config.temporalNamespace, taskQueue: config.taskQueue, postgres: redactUrl(infra.databaseUrl) },
      'countersign worker running',
    );
    await worker.run();
    log.info('worker stopped');
    return 0;
  } finally {
    await core.close();
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
