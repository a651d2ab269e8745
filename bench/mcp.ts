/**
 * `npm run bench:mcp`: what the MCP gateway adds to a tool call that policy allows, against the
 * same call made straight to the upstream, in one run on one Temporal dev server and Postgres.
 *
 * - gateway: the SDK's `Client` over stdio to `countersign mcp-gateway` (the real CLI, a child
 *   process) in front of the published filesystem server; each `read_file` is proposed, allowed,
 *   run upstream and reported (POST /v1/actions?wait, the upstream call, POST …/result);
 * - direct: the SDK's `Client` over stdio to the same filesystem server, same call.
 *
 * Sequential latency (interleaved samples, so drift hits both alike), then calls per second with
 * N concurrent clients, each its own Streamable HTTP session on one gateway (`--http`), and the
 * same N clients each on its own stdio connection to the upstream. Prints a table; the LAST line
 * is the JSON summary. Target: the gateway adds at most 50 ms at p50.
 *
 *   npm run bench:mcp                 full size
 *   npm run bench:mcp -- --quick      small counts, to check it works
 *   options: --samples 200 --warmup 20 --concurrency 16 --per-client 20
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import pino from 'pino';
import { NO_RATE_LIMITS } from '../domain/rate-limits';
import type { Logger } from '../runtime/logger';
import { startPostgres, type PostgresHandle } from '../runtime/postgres';
import { installTemporalRuntime, startServices, type Services } from '../runtime/stack';
import { resolveTemporalCli } from '../runtime/temporal-cli';
import { startTemporalDevServer, type TemporalServerHandle } from '../runtime/temporal-server';
import { bundleWorkflows } from '../workers/worker';
import { fmt, freePort, mean, nowMs, percentile, round, table } from './stats';

interface BenchOptions {
  samples: number;
  warmup: number;
  concurrency: number;
  perClient: number;
}

function parseOptions(argv: string[]): BenchOptions {
  const quick = argv.includes('--quick');
  const opts: BenchOptions = quick ? { samples: 20, warmup: 5, concurrency: 16, perClient: 3 } : { samples: 200, warmup: 20, concurrency: 16, perClient: 20 };
  const flags: Record<string, keyof BenchOptions> = { '--samples': 'samples', '--warmup': 'warmup', '--concurrency': 'concurrency', '--per-client': 'perClient' };
  for (let i = 0; i < argv.length; i++) {
    const key = flags[argv[i]];
    if (!key) continue;
    const value = Number(argv[++i]);
    if (!Number.isInteger(value) || value < 1) throw new Error(`${argv[i - 1]} needs a positive integer`);
    opts[key] = value;
  }
  return opts;
}

const progress = (line: string) => process.stderr.write(`[bench:mcp] ${line}\n`);
const REPO = path.resolve(__dirname, '..');
const CLI = path.join(REPO, 'cli', 'bin.js');
const FILESYSTEM_SERVER = path.join(REPO, 'node_modules', '@modelcontextprotocol', 'server-filesystem', 'dist', 'index.js');

const POLICY = `
defaults:
  decision: deny
actions:
  mcp.files.read_file:
    owner: files
    category: data_access
    params:
      type: object
      required: [path]
      properties: { path: { type: string }, head: { type: number }, tail: { type: number } }
    executor: { type: agent }
rules:
  - { id: reads, action: mcp.files.read_file, decision: allow }
`;

/** Everything the run started, so it can all be stopped. */
class Resources {
  dir?: string;
  temporal?: TemporalServerHandle;
  postgres?: PostgresHandle;
  services?: Services;
  clients: Client[] = [];
  children: ChildProcess[] = [];

  async stop(): Promise<void> {
    for (const c of this.clients.splice(0)) await c.close().catch(() => {});
    for (const p of this.children.splice(0)) if (p.exitCode === null) p.kill('SIGTERM');
    await this.services?.stop().catch((err) => progress(`services stop: ${(err as Error).message}`));
    await this.temporal?.stop().catch(() => {});
    await this.postgres?.stop().catch(() => {});
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

async function stdioClient(res: Resources, command: string, args: string[], env: Record<string, string> = {}): Promise<Client> {
  const client = new Client({ name: 'bench-mcp', version: '1.0.0' }, { capabilities: {} });
  const transport = new StdioClientTransport({ command, args, env: { ...(process.env as Record<string, string>), ...env }, cwd: REPO, stderr: 'ignore' });
  await client.connect(transport, { timeout: 60_000 });
  res.clients.push(client);
  return client;
}

async function main(): Promise<number> {
  const opts = parseOptions(process.argv.slice(2));
  const res = new Resources();
  let stopping = false;
  const onSignal = () => {
    if (stopping) return;
    stopping = true;
    progress('interrupted: stopping everything');
    res.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    installTemporalRuntime();
    const loadAtStart = os.loadavg()[0];
    const log = pino({ level: process.env.LOG_LEVEL ?? 'warn' }, pino.destination(2)) as Logger;
    res.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-bench-mcp-'));
    const share = path.join(res.dir, 'share');
    fs.mkdirSync(share);
    const file = path.join(share, 'note.txt');
    fs.writeFileSync(file, 'a line the benchmark reads\n'.repeat(20));

    progress('starting Temporal dev server (in memory), Postgres, and bundling workflows');
    const cliPath = resolveTemporalCli({ explicitPath: process.env.TEMPORAL_CLI, log: progress });
    const [temporalPort, pgPort] = [await freePort(), await freePort()];
    const [temporal, postgres, workflowBundle] = await Promise.all([
      startTemporalDevServer({ cliPath, port: temporalPort, uiPort: null }),
      startPostgres({ dir: path.join(res.dir, 'pg'), port: pgPort }),
      bundleWorkflows(),
    ]);
    res.temporal = temporal;
    res.postgres = postgres;
    const policyFile = path.join(res.dir, 'policy.yaml');
    fs.writeFileSync(policyFile, POLICY);
    const adminToken = randomBytes(24).toString('base64url');
    const services = await startServices({
      databaseUrl: postgres.url,
      temporalAddress: temporal.address,
      namespace: 'default',
      taskQueue: 'bench-mcp',
      dataDir: res.dir,
      port: 0,
      policyFile,
      adminToken,
      executorSecret: 'bench-executor-secret-0123456789',
      temporalUiUrl: 'http://localhost:8233',
      maxBodyBytes: 1024 * 1024,
      // The gateway's own overhead, not the per-principal limits (16 clients share one gateway token).
      rateLimits: NO_RATE_LIMITS,
      log,
      workflowBundle,
    });
    res.services = services;
    const r = await fetch(`${services.url}/v1/principals`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'bench-gateway', kind: 'agent', roles: ['agent'] }),
    });
    const token = ((await r.json()) as { token?: string }).token;
    if (r.status !== 201 || !token) throw new Error(`creating the gateway principal: HTTP ${r.status}`);

    const config = path.join(res.dir, 'gateway.yaml');
    fs.writeFileSync(
      config,
      `countersign: { url: ${JSON.stringify(services.url)} }\nstate: ${JSON.stringify(path.join(res.dir, 'gateway-state'))}\nupstreams:\n  files: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(FILESYSTEM_SERVER)}, ${JSON.stringify(share)}] }\n`,
    );
    progress('starting the gateway (stdio) and a direct connection to the filesystem server');
    const gateway = await stdioClient(res, process.execPath, [CLI, 'mcp-gateway', '--config', config], { COUNTERSIGN_TOKEN: token });
    const direct = await stdioClient(res, process.execPath, [FILESYSTEM_SERVER, share]);

    const once = async (client: Client, name: string): Promise<number> => {
      const start = nowMs();
      const result = (await client.callTool({ name, arguments: { path: file } })) as CallToolResult;
      const ms = nowMs() - start;
      if (result.isError) throw new Error(`${name}: ${JSON.stringify(result.content).slice(0, 300)}`);
      return ms;
    };

    progress(`warm-up: ${opts.warmup} sequential calls on each path`);
    for (let i = 0; i < opts.warmup; i++) {
      await once(gateway, 'read_file');
      await once(direct, 'read_file');
    }
    progress(`latency: ${opts.samples} sequential calls per path, interleaved`);
    const gatewayLat: number[] = [];
    const directLat: number[] = [];
    for (let i = 0; i < opts.samples; i++) {
      gatewayLat.push(await once(gateway, 'read_file'));
      directLat.push(await once(direct, 'read_file'));
    }

    // Concurrency: N Streamable HTTP sessions on one gateway (a second gateway process, --http),
    // against N stdio connections straight to the filesystem server.
    progress(`throughput: ${opts.concurrency} concurrent clients x ${opts.perClient} calls`);
    const httpGateway = spawn(process.execPath, [CLI, 'mcp-gateway', '--config', config, '--http', '0'], {
      cwd: REPO,
      env: { ...process.env, COUNTERSIGN_TOKEN: token },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    res.children.push(httpGateway);
    const url = await new Promise<string>((resolve, reject) => {
      let err = '';
      httpGateway.stderr?.on('data', (c: Buffer) => {
        err += c.toString('utf8');
        const m = /at (http:\/\/\S+\/mcp)/.exec(err);
        if (m) resolve(m[1]);
      });
      httpGateway.once('exit', (code) => reject(new Error(`the HTTP gateway exited (${code}): ${err}`)));
    });
    const httpClients = await Promise.all(
      Array.from({ length: opts.concurrency }, async () => {
        const c = new Client({ name: 'bench-mcp', version: '1.0.0' }, { capabilities: {} });
        await c.connect(new StreamableHTTPClientTransport(new URL(url)));
        res.clients.push(c);
        return c;
      }),
    );
    const directClients = await Promise.all(Array.from({ length: opts.concurrency }, () => stdioClient(res, process.execPath, [FILESYSTEM_SERVER, share])));
    const throughput = async (clients: Client[], name: string) => {
      const lat: number[] = [];
      const start = nowMs();
      await Promise.all(clients.map(async (c) => {
        for (let i = 0; i < opts.perClient; i++) lat.push(await once(c, name));
      }));
      const elapsed = nowMs() - start;
      return { perSec: (lat.length / elapsed) * 1000, p50: percentile(lat, 0.5), p99: percentile(lat, 0.99) };
    };
    await throughput(httpClients.slice(0, 2), 'read_file'); // warm the HTTP gateway
    const gatewayTp = await throughput(httpClients, 'read_file');
    const directTp = await throughput(directClients, 'read_file');

    const summary = {
      gatewayP50Ms: round(percentile(gatewayLat, 0.5)),
      gatewayP99Ms: round(percentile(gatewayLat, 0.99)),
      directP50Ms: round(percentile(directLat, 0.5)),
      directP99Ms: round(percentile(directLat, 0.99)),
      addedP50Ms: round(percentile(gatewayLat, 0.5) - percentile(directLat, 0.5)),
      addedP99Ms: round(percentile(gatewayLat, 0.99) - percentile(directLat, 0.99)),
      gatewayCallsPerSec: round(gatewayTp.perSec, 1),
      directCallsPerSec: round(directTp.perSec, 1),
      concurrency: opts.concurrency,
    };
    const loadAtEnd = os.loadavg()[0];
    progress('stopping everything');
    await res.stop();

    const out: string[] = [];
    out.push(`bench:mcp — ${new Date().toISOString()} — ${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}, node ${process.version}`);
    out.push(`1-min load average: ${loadAtStart.toFixed(2)} at start, ${loadAtEnd.toFixed(2)} at end`);
    out.push(`sequential: ${opts.samples} calls/path after ${opts.warmup} warm-up; concurrent: ${opts.concurrency} clients x ${opts.perClient} calls per path`);
    out.push('');
    out.push(
      table([
        ['path (read_file, allowed)', 'p50 ms', 'p90 ms', 'p99 ms', 'mean ms', 'conc. calls/s', 'conc. p50 ms', 'conc. p99 ms'],
        ['through the gateway', fmt(percentile(gatewayLat, 0.5)), fmt(percentile(gatewayLat, 0.9)), fmt(percentile(gatewayLat, 0.99)), fmt(mean(gatewayLat)), fmt(gatewayTp.perSec), fmt(gatewayTp.p50), fmt(gatewayTp.p99)],
        ['direct to the upstream', fmt(percentile(directLat, 0.5)), fmt(percentile(directLat, 0.9)), fmt(percentile(directLat, 0.99)), fmt(mean(directLat)), fmt(directTp.perSec), fmt(directTp.p50), fmt(directTp.p99)],
      ]),
    );
    out.push('');
    out.push(`added at p50: ${summary.addedP50Ms} ms (target <= 50 ms: ${(summary.addedP50Ms ?? Infinity) <= 50 ? 'met' : 'missed'}); concurrent gateway clients are Streamable HTTP sessions on one gateway`);
    out.push('');
    out.push(JSON.stringify(summary));
    process.stdout.write(out.join('\n') + '\n');
    return 0;
  } catch (err) {
    progress(`failed: ${(err as Error).stack ?? err}`);
    await res.stop().catch(() => {});
    return 1;
  }
}

main().then((code) => process.exit(code));
