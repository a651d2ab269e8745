import fs from 'node:fs';
import path from 'node:path';
import pg, { type Pool } from 'pg';

/** Folder of plain SQL migrations, applied in file-name order. */
export const MIGRATIONS_DIR = path.join(__dirname, 'migrations');

// Any constant works; it only has to be the same for every Countersign process.
const MIGRATION_LOCK_ID = 0x43534d47;

/**
 * Apply every migration in {@link MIGRATIONS_DIR} not yet recorded in `schema_migrations`,
 * each in its own transaction. An advisory lock makes concurrent starts (N API/worker
 * processes) safe: the second waits, then finds nothing left to do.
 * @returns names of the migrations applied now
 */
export async function migrate(pool: Pool, dir: string = MIGRATIONS_DIR): Promise<string[]> {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.sql')).sort();
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const done = new Set((await client.query<{ name: string }>('SELECT name FROM schema_migrations')).rows.map((r) => r.name));
    for (const file of files) {
      if (done.has(file)) continue;
      const sql = fs.readFileSync(path.join(dir, file), 'utf8');
      await client.query('BEGIN');
      try {
        await client.query(sql);
        await client.query('INSERT INTO schema_migrations (name) VALUES ($1)', [file]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${file} failed: ${(err as Error).message}`);
      }
      applied.push(file);
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]).catch(() => {});
    client.release();
  }
  return applied;
}

/** The role the API and the worker run as (ledger/migrations/004_app_role.sql). */
export const APPLICATION_ROLE = 'countersign_app';

/**
 * Apply the migrations as the user of `databaseUrl`, then open the pool the application uses:
 * its connections switch to {@link APPLICATION_ROLE} at start (so UPDATE, DELETE and TRUNCATE
 * on the ledger are refused by privileges) when that role exists and the user may take it;
 * otherwise they run as the user itself, whose grants are then the operator's business.
 */
export async function openApplicationPool(
  databaseUrl: string,
  opts: {
    max?: number;
    /** Errors a connection of the pool reports outside a query (Postgres went away or restarted). */
    onClientError?: (err: Error) => void;
  } = {},
): Promise<{ pool: Pool; applied: string[]; role: string }> {
  const owner = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  owner.on('error', () => {});
  let applied: string[];
  let usable: boolean;
  let user: string;
  try {
    applied = await migrate(owner);
    const { rows } = await owner.query<{ me: string; usable: boolean }>(
      `SELECT current_user AS me,
              CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)
                   THEN pg_has_role(current_user, $1, 'MEMBER') ELSE false END AS usable`,
      [APPLICATION_ROLE],
    );
    user = rows[0]!.me;
    usable = rows[0]!.usable;
  } finally {
    await owner.end();
  }
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max: opts.max ?? 20,
    ...(usable ? { options: `-c role=${APPLICATION_ROLE}` } : {}),
  });
  // pg-pool listens for a connection's 'error' only while it sits idle. A connection that dies
  // while checked out (Postgres crashed or restarted between two queries of a transaction)
  // would emit an 'error' nobody handles, and that kills the process. So every connection gets
  // a listener for its whole life. The query in flight still rejects on its own, and
  // release() drops the dead connection. Idle errors reach the same listener, so the pool's
  // own 'error' event only needs to be absorbed.
  const onClientError = opts.onClientError ?? (() => {});
  pool.on('connect', (client) => client.on('error', onClientError));
  pool.on('error', () => {});
  return { pool, applied, role: usable ? APPLICATION_ROLE : user };
}
