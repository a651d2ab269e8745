import { loadConfig } from '../runtime/config';
import { createLogger } from '../runtime/logger';
import { codecEndpoint, startStack } from '../runtime/stack';

/**
 * `countersign up` / `npm start`: the whole stack in one process tree. Ctrl-C or SIGTERM
 * drains the API and worker, then stops the Temporal and Postgres children.
 */
export async function runUp(): Promise<number> {
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  const stack = await startStack(config, log);
  const temporalUi = stack.infra.temporalUiUrl ?? config.temporalUiUrl;
  console.log(
    [
      '',
      'Countersign is up.',
      `  API          ${config.publicUrl}   (OpenAPI: ${config.publicUrl}/openapi.json)`,
      ...(stack.services.metricsUrl ? [`  Metrics      ${stack.services.metricsUrl}/metrics   (COUNTERSIGN_METRICS_PORT; not on the API's port)`] : []),
      `  Temporal UI  ${temporalUi}   (payloads are encrypted; decoded through the codec endpoint below)`,
      `  Codec        ${codecEndpoint(config.publicUrl)}   (an operator's token: docs/operations.md#reading-encrypted-histories)`,
      `  Temporal     ${stack.infra.temporalAddress}  namespace ${config.temporalNamespace}`,
      `  Postgres     ${stack.infra.postgres.embedded ? `embedded in ${config.dataDir}/pg` : 'DATABASE_URL'}`,
      `  Policy       ${(await stack.services.policies.active()).version.slice(0, 12)}… (GET /v1/policy)`,
      config.adminToken ? '  Admin token  from COUNTERSIGN_ADMIN_TOKEN' : `  Admin token  ${stack.services.adminToken}   (set COUNTERSIGN_ADMIN_TOKEN to choose one)`,
      '',
      'Ctrl-C stops everything.',
    ].join('\n'),
  );
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'shutting down');
      stack.stop().then(
        () => resolve(0),
        (err) => {
          log.error({ err }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => stop(signal));
  });
}
