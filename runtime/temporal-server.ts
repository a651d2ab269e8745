import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTE_DECLARATIONS } from '../domain/search-attributes';

/** A Temporal dev server child process. */
export interface TemporalServerHandle {
  address: string;
  uiUrl?: string;
  process: ChildProcess;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

/** Options for {@link startTemporalDevServer}. */
export interface StartTemporalOptions {
  cliPath: string;
  /** SQLite file; omitted = in-memory (histories die with the process). */
  dbFile?: string;
  /** @default 7233 */
  port?: number;
  /** Web UI port; `null` runs headless. @default port + 1000 */
  uiPort?: number | null;
  /** @default "default" */
  namespace?: string;
  /**
   * `--ui-codec-endpoint`: the Web UI sends payloads there (`<endpoint>/decode`) to show them
   * decoded. Countersign's is the API's `/codec`.
   */
  uiCodecEndpoint?: string;
  log?: (line: string) => void;
  /** @default 60000 */
  startTimeoutMs?: number;
}

/**
 * Run `temporal server start-dev` with Countersign's search attributes registered, and resolve
 * once its frontend answers gRPC health checks.
 */
export async function startTemporalDevServer(opts: StartTemporalOptions): Promise<TemporalServerHandle> {
  const port = opts.port ?? 7233;
  const namespace = opts.namespace ?? 'default';
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'warn'];
  if (namespace !== 'default') args.push('--namespace', namespace);
  if (opts.dbFile) {
    fs.mkdirSync(path.dirname(opts.dbFile), { recursive: true });
    args.push('--db-filename', opts.dbFile);
  }
  const uiPort = opts.uiPort === undefined ? port + 1000 : opts.uiPort;
  if (uiPort === null) args.push('--headless');
  else {
    args.push('--ui-port', String(uiPort));
    if (opts.uiCodecEndpoint) args.push('--ui-codec-endpoint', opts.uiCodecEndpoint);
  }
  args.push(...searchAttributeArgs());
  // Lets an API process that runs a worker (npm start) hand new workflows straight to it.
  args.push('--dynamic-config-value', 'system.enableEagerWorkflowStart=true');

  if (await portInUse(port)) {
    throw new Error(`port ${port} is already in use: another Temporal server is running? Set TEMPORAL_ADDRESS to use it, or TEMPORAL_PORT to pick another port.`);
  }
  const child = spawn(opts.cliPath, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: false });
  const log = opts.log ?? (() => {});
  child.stdout?.on('data', (d: Buffer) => log(d.toString().trimEnd()));
  child.stderr?.on('data', (d: Buffer) => log(d.toString().trimEnd()));
  let exited: number | null | undefined;
  // Never leave an orphaned server behind if this process dies without stopping it.
  const killOnExit = () => child.kill('SIGTERM');
  process.once('exit', killOnExit);
  child.once('exit', (code) => {
    exited = code;
    process.removeListener('exit', killOnExit);
  });

  const address = `127.0.0.1:${port}`;
  const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000);
  for (;;) {
    if (exited !== undefined) throw new Error(`temporal server exited with code ${exited} during start-up`);
    try {
      const conn = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await conn.healthService.check({});
        await conn.workflowService.describeNamespace({ namespace });
      } finally {
        await conn.close();
      }
      break;
    } catch (err) {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`temporal server did not become ready on ${address}: ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return {
    address,
    uiUrl: uiPort === null ? undefined : `http://localhost:${uiPort}`,
    process: child,
    stop: (graceMs = 10_000) => stopChild(child, graceMs),
  };
}

/** `--search-attribute name=type` for every search attribute in domain/search-attributes.ts. */
export function searchAttributeArgs(): string[] {
  return Object.entries(SEARCH_ATTRIBUTE_DECLARATIONS).flatMap(([name, type]) => ['--search-attribute', `${name}=${type}`]);
}

/** SIGTERM a child process and wait for it to exit; SIGKILL after `graceMs`. */
export function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
