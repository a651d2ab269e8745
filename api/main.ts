/**
 * API-only process (production: `node --import tsx api/main.ts`, N replicas behind a load
 * balancer). The same services `npm start` runs, without the in-process worker: workflows run in
 * worker processes (workers/main.ts) on the same task queue.
 */
import { ConfigError, externalInfrastructure, loadConfig, type Config } from '../runtime/config';
import { createLogger, type Logger } from '../runtime/logger';
import { servicesOptionsFromConfig, startServices } from '../runtime/stack';

/**
 * Serve the HTTP API until SIGINT/SIGTERM; then /readyz turns 503, the listener closes, in-flight
 * requests (long polls included) finish, and the pools close. Resolves to the process exit code.
 */
export async function runApi(config: Config = loadConfig(), log: Logger = createLogger(config.logLevel)): Promise<number> {
  const infra = externalInfrastructure(config, 'API');
  // Built by the same composition root as the worker (runtime/core.ts), without the in-process worker.
  const services = await startServices({ ...servicesOptionsFromConfig(config, infra, log), worker: false });

  log.info({ port: config.port, temporal: infra.temporalAddress, namespace: config.temporalNamespace, taskQueue: config.taskQueue }, 'countersign api listening');
  if (!config.adminToken) log.warn('COUNTERSIGN_ADMIN_TOKEN is not set: a random admin token was generated and is not shown; set one to manage principals');

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'api draining');
      services.stop().then(
        () => {
          log.info('api stopped');
          resolve(0);
        },
        (err) => {
          log.error({ err }, 'api shutdown failed');
          resolve(1);
        },
      );
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

if (require.main === module) {
  runApi().then(
    (code) => process.exit(code),
    (err) => {
      console.error(err instanceof ConfigError ? err.message : err);
      process.exit(1);
    },
  );
}
