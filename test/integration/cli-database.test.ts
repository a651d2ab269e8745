import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseDeps } from '../../cli/database';
import { runLedgerCommand } from '../../cli/commands/ledger';
import { migrate } from '../../ledger/migrate';
import { loadConfig } from '../../runtime/config';
import { startPostgres, waitForPostgres, type PostgresHandle } from '../../runtime/postgres';

let tmp: string;
let dataDir: string;
let running: PostgresHandle | undefined;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-cli-db-'));
  // The embedded server runs as an unprivileged user when the tests run as root.
  fs.chmodSync(tmp, 0o755);
  dataDir = path.join(tmp, 'data');
  // What `npm start` leaves running: the data dir's embedded cluster, migrated.
  running = await startPostgres({ dir: path.join(dataDir, 'pg'), port: 57000 + Math.floor(Math.random() * 1000) });
  const pool = new pg.Pool({ connectionString: running.url });
  await migrate(pool);
  await pool.end();
}, 180_000);

afterAll(async () => {
  await running?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('CLI database', () => {
  it('when npm start runs the embedded Postgres of the data dir, then ledger verify uses it instead of starting a second one', async () => {
    // Arrange: the CLI's shell names another port, as a shell without COUNTERSIGN_PG_PORT would.
    const config = loadConfig({ COUNTERSIGN_DATA_DIR: dataDir, COUNTERSIGN_PG_PORT: '54999' });
    const deps = databaseDeps(config);
    let stdout = '';
    let stderr = '';
    const io = { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) } };

    // Act
    const code = await runLedgerCommand(['verify'], { ...deps, io, env: {} });
    await deps.close();

    // Assert: verified through the running server, which the command left running.
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^ok: ledger holds/);
    await waitForPostgres(running!.url, 2_000);
  });
});
