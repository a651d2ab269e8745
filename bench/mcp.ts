/**
 * `npm run bench:mcp`: what the MCP gateway adds to a tool call that policy allows, against the
 * same call made straight to the upstream, in one run on one Temporal dev server and Postgres.
 *
 * - gateway: the SDK's `Client` over stdio to `countersign mcp-gateway` (the real CLI, a child
 *   process) in front of the published filesystem server; each `read_file` is proposed, allowed,
 *   run upstream and reported (POST /v1/actions?wait, the upstream call, POST …/result);
 * - direct: the SDK's `Client` over stdio to the same filesystem server, same call.
 *
 * Sequential latency (interleaved samples, so drift hits both alike), twice: one call every
 * `--pace-ms` (250 ms: an agent calls a tool once its model has read the last result, never
 * within milliseconds; the target is about this row), and back to back, where each call shares
 * the two cores with the result report of the call before it, still under way (printed too, as
 * the worst case). Then calls per second with
 * N concurrent clients, each its own Streamable HTTP session on one gateway (`--http`), and the
 * same N clients each on its own stdio connection to the upstream. The MCP clients run in a
 * thread of their own: an agent's MCP client is never in Countersign's process, and sharing the
 * event loop of the API and worker here would time their work (a report arriving, a workflow
 * task) as the client's. Prints a table; the LAST line is the JSON summary. Target: the gateway
 * adds at most 50 ms at p50.
 *
 *   npm run bench:mcp                 full size
 *   npm run bench:mcp -- --quick      small counts, to check it works
 *   options: --samples 200 --warmup 20 --concurrency 16 --per-client 20 --pace-ms 250
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker as Thread } from 'node:worker_threads';
import pino from 'pino';
import { NO_RATE_LIMITS } from '../domain/rate-limits';
import type { Logger } from '../runtime/logger';
import { startPostgres, type PostgresHandle } from '../runtime/postgres';
import { installTemporalRuntime, startServices, type Services } from '../runtime/stack';
import { resolveTemporalCli } from '../runtime/temporal-cli';
import { startTemporalDevServer, type TemporalServerHandle } from '../runtime/temporal-server';
import { bundleWorkflows } from '../workers/worker';
import { fmt, freePort, mean, percentile, round, table } from './stats';

interface BenchOptions {
  samples: number;
  warmup: number;
  concurrency: number;
  perClient: number;
  /** One sequential call every this many ms (an agent's turn between two tool calls). */
  paceMs: number;
}

function parseOptions(argv: string[]): BenchOptions {
  const quick = argv.includes('--quick');
  const opts: BenchOptions = quick ? { samples: 20, warmup: 5, concurrency: 16, perClient: 3, paceMs: 250 } : { samples: 200, warmup: 20, concurrency: 16, perClient: 20, paceMs: 250 };
  const flags: Record<string, keyof BenchOptions> = { '--samples': 'samples', '--warmup': 'warmup', '--concurrency': 'concurrency', '--per-client': 'perClient', '--pace-ms': 'paceMs' };
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
  children: ChildProcess[] = [];
  thread?: Thread;

  async stop(): Promise<void> {
    await this.thread?.terminate().catch(() => {});
    for (const p of this.children.splice(0)) if (p.exitCode === null) p.kill('SIGTERM');
    await this.services?.stop().catch((err) => progress(`services stop: ${(err as Error).message}`));
    await this.temporal?.stop().catch(() => {});
    await this.postgres?.stop().catch(() => {});
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * The clients, in their own thread (see the file comment). Sequential latency on one stdio
 * connection through the gateway and one straight to the upstream, interleaved; then N
 * concurrent Streamable HTTP sessions on the HTTP gateway and N stdio connections to the upstream.
 */
const CLIENTS = `
const { parentPort, workerData: w } = require('node:worker_threads');
const { Client } = require('@modelcontextprotocol/sdk/client/index.js');
const { StdioClientTransport } = require('@modelcontextprotocol/sdk/client/stdio.js');
const { StreamableHTTPClientTransport } = require('@modelcontextprotocol/sdk/client/streamableHttp.js');
const clients = [];
const progress = (line) => parentPort.postMessage({ progress: line });
async function connect(transport) {
  const c = new Client({ name: 'bench-mcp', version: '1.0.0' }, { capabilities: {} });
  await c.connect(transport, { timeout: 60000 });
  clients.push(c);
  return c;
}
const stdio = (command, args, env) => connect(new StdioClientTransport({ command, args, env: { ...process.env, ...env }, cwd: w.repo, stderr: 'ignore' }));
async function once(client) {
  const start = performance.now();
  const result = await client.callTool({ name: 'read_file', arguments: { path: w.file } });
  const ms = performance.now() - start;
  if (result.isError) throw new Error('read_file: ' + JSON.stringify(result.content).slice(0, 300));
  return ms;
}
async function throughput(list) {
  const lat = [];
  const start = performance.now();
  await Promise.all(list.map(async (c) => { for (let i = 0; i < w.perClient; i++) lat.push(await once(c)); }));
  return { lat, elapsed: performance.now() - start };
}
(async () => {
  const gateway = await stdio(w.node, [w.cli, 'mcp-gateway', '--config', w.config], { COUNTERSIGN_TOKEN: w.token });
  const direct = await stdio(w.node, [w.server, w.share], {});
  progress('warm-up: ' + w.warmup + ' sequential calls on each path');
  for (let i = 0; i < w.warmup; i++) { await once(gateway); await once(direct); }
  progress('latency: ' + w.samples + ' sequential calls per path, interleaved, one every ' + w.paceMs + ' ms');
  const gatewayLat = [], directLat = [];
  for (let i = 0; i < w.samples; i++) {
    const next = performance.now() + w.paceMs;
    gatewayLat.push(await once(gateway));
    directLat.push(await once(direct));
    await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
  }
  progress('latency: ' + w.samples + ' sequential calls per path, interleaved, back to back');
  const gatewayB2b = [], directB2b = [];
  for (let i = 0; i < w.samples; i++) { gatewayB2b.push(await once(gateway)); directB2b.push(await once(direct)); }
  progress('throughput: ' + w.concurrency + ' concurrent clients x ' + w.perClient + ' calls');
  const httpClients = [];
  for (let i = 0; i < w.concurrency; i++) httpClients.push(await connect(new StreamableHTTPClientTransport(new URL(w.httpUrl))));
  const directClients = await Promise.all(Array.from({ length: w.concurrency }, () => stdio(w.node, [w.server, w.share], {})));
  await throughput(httpClients.slice(0, 2)); // warm the HTTP gateway
  const gatewayTp = await throughput(httpClients);
  const directTp = await throughput(directClients);
  for (const c of clients) await c.close().catch(() => {});
  parentPort.postMessage({ done: { gatewayLat, directLat, gatewayB2b, directB2b, gatewayTp, directTp } });
})().catch((err) => {
  for (const c of clients) c.close().catch(() => {});
  parentPort.postMessage({ error: String(err && err.stack || err) });
});
`;

interface ClientResults {
  gatewayLat: number[];
  directLat: number[];
  gatewayB2b: number[];
  directB2b: number[];
  gatewayTp: { lat: number[]; elapsed: number };
  directTp: { lat: number[]; elapsed: number };
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
    // The HTTP gateway the concurrent clients share (a second gateway process, --http).
    const httpGateway = spawn(process.execPath, [CLI, 'mcp-gateway', '--config', config, '--http', '0'], {
      cwd: REPO,
      env: { ...process.env, COUNTERSIGN_TOKEN: token },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    res.children.push(httpGateway);
    const httpUrl = await new Promise<string>((resolve, reject) => {
      let err = '';
      httpGateway.stderr?.on('data', (c: Buffer) => {
        err += c.toString('utf8');
        const m = /at (http:\/\/\S+\/mcp)/.exec(err);
        if (m) resolve(m[1]);
      });
      httpGateway.once('exit', (code) => reject(new Error(`the HTTP gateway exited (${code}): ${err}`)));
    });
    progress('starting the clients in their own thread: the gateway (stdio) and a direct connection to the filesystem server');
    const thread = new Thread(CLIENTS, {
      eval: true,
      workerData: { ...opts, repo: REPO, node: process.execPath, cli: CLI, server: FILESYSTEM_SERVER, config, token, share, file, httpUrl },
    });
    res.thread = thread;
    const results = await new Promise<ClientResults>((resolve, reject) => {
      thread.on('message', (m: { progress?: string; done?: ClientResults; error?: string }) => {
        if (m.progress) progress(m.progress);
        if (m.done) resolve(m.done);
        if (m.error) reject(new Error(m.error));
      });
      thread.once('error', reject);
      thread.once('exit', (code) => reject(new Error(`the client thread exited (${code})`)));
    });
    const { gatewayLat, directLat, gatewayB2b, directB2b } = results;
    const tp = (t: ClientResults['gatewayTp']) => ({ perSec: (t.lat.length / t.elapsed) * 1000, p50: percentile(t.lat, 0.5), p99: percentile(t.lat, 0.99) });
    const gatewayTp = tp(results.gatewayTp);
    const directTp = tp(results.directTp);

    const summary = {
      gatewayP50Ms: round(percentile(gatewayLat, 0.5)),
      gatewayP99Ms: round(percentile(gatewayLat, 0.99)),
      directP50Ms: round(percentile(directLat, 0.5)),
      directP99Ms: round(percentile(directLat, 0.99)),
      addedP50Ms: round(percentile(gatewayLat, 0.5) - percentile(directLat, 0.5)),
      addedP99Ms: round(percentile(gatewayLat, 0.99) - percentile(directLat, 0.99)),
      paceMs: opts.paceMs,
      backToBack: {
        gatewayP50Ms: round(percentile(gatewayB2b, 0.5)),
        gatewayP99Ms: round(percentile(gatewayB2b, 0.99)),
        directP50Ms: round(percentile(directB2b, 0.5)),
        addedP50Ms: round(percentile(gatewayB2b, 0.5) - percentile(directB2b, 0.5)),
      },
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
        [`through the gateway, a call every ${opts.paceMs} ms`, fmt(percentile(gatewayLat, 0.5)), fmt(percentile(gatewayLat, 0.9)), fmt(percentile(gatewayLat, 0.99)), fmt(mean(gatewayLat)), fmt(gatewayTp.perSec), fmt(gatewayTp.p50), fmt(gatewayTp.p99)],
        [`direct to the upstream, a call every ${opts.paceMs} ms`, fmt(percentile(directLat, 0.5)), fmt(percentile(directLat, 0.9)), fmt(percentile(directLat, 0.99)), fmt(mean(directLat)), fmt(directTp.perSec), fmt(directTp.p50), fmt(directTp.p99)],
        ['through the gateway, back to back', fmt(percentile(gatewayB2b, 0.5)), fmt(percentile(gatewayB2b, 0.9)), fmt(percentile(gatewayB2b, 0.99)), fmt(mean(gatewayB2b)), '', '', ''],
        ['direct to the upstream, back to back', fmt(percentile(directB2b, 0.5)), fmt(percentile(directB2b, 0.9)), fmt(percentile(directB2b, 0.99)), fmt(mean(directB2b)), '', '', ''],
      ]),
    );
    out.push('');
    out.push(`added at p50, a call every ${opts.paceMs} ms: ${summary.addedP50Ms} ms (target <= 50 ms: ${(summary.addedP50Ms ?? Infinity) <= 50 ? 'met' : 'missed'})`);
    out.push(`added at p50, back to back: ${summary.backToBack.addedP50Ms} ms (each call also shares the machine with the previous call's result report, still under way)`);
    out.push('concurrent gateway clients are Streamable HTTP sessions on one gateway');
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
