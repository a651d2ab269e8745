import path from 'node:path';
import pg from 'pg';
import type { Config } from '../runtime/config';
import { createLogger } from '../runtime/logger';
import { startPostgres } from '../runtime/postgres';

/**
 * The database of the commands that read Postgres: DATABASE_URL; else the data dir's embedded
 * cluster — the one `npm start` is running when it is (a second server on that dir is refused),
 * or one started for the command and stopped by `close()`. Opened on first use only.
 */
export function databaseDeps(config: Config) {
  const log = createLogger('warn');
  let stopPg: (() => Promise<void>) | undefined;
  let pool: pg.Pool | undefined;
  const getPool = async () => {
    if (pool) return pool;
    const handle = await startPostgres({
      databaseUrl: config.databaseUrl,
      dir: path.join(config.dataDir, 'pg'),
      port: config.pgPort,
      attachToRunning: true,
      onLog: (l) => log.debug(l),
    });
    stopPg = handle.embedded ? () => handle.stop() : undefined;
    pool = new pg.Pool({ connectionString: handle.url });
    return pool;
  };
  return {
    dataDir: config.dataDir,
    getPool,
    async close() {
      await pool?.end();
      await stopPg?.();
    },
  };
}
