/**
 * The MCP gateway in tests: configs pointing at real upstream MCP servers (the published
 * filesystem server from node_modules, and the small local one in mcp-local-server.ts), the
 * gateway as the real CLI in a child process (stdio) or in this process (Streamable HTTP),
 * and the official SDK's `Client` connected to it.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { loadGatewayConfig } from '../../mcp/config';
import { Gateway, type GatewayOptions } from '../../mcp/gateway';

export const REPO = path.resolve(__dirname, '..', '..');
/** The published reference server, run from node_modules (no network). */
export const FILESYSTEM_SERVER = path.join(REPO, 'node_modules', '@modelcontextprotocol', 'server-filesystem', 'dist', 'index.js');
export const LOCAL_SERVER = path.join(REPO, 'test', 'helpers', 'mcp-local-server.ts');
const CLI = path.join(REPO, 'cli', 'bin.js');

/** `files:` upstream: the filesystem server allowed into `dir`. */
export const filesUpstream = (dir: string) => `  files: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(FILESYSTEM_SERVER)}, ${JSON.stringify(dir)}] }`;

/** `local:` upstream: the failure-case server, logging its calls to `log`. */
export const localUpstream = (log: string, extra = '') =>
  `  local: { command: ${JSON.stringify(process.execPath)}, args: ["--import", "tsx", ${JSON.stringify(LOCAL_SERVER)}], cwd: ${JSON.stringify(REPO)}, env: { MCP_LOCAL_LOG: ${JSON.stringify(log)} }${extra} }`;

/** Write a gateway config into `dir` and answer its path. */
export function writeGatewayConfig(dir: string, name: string, countersignUrl: string, upstreams: string[], more = ''): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `countersign: { url: ${JSON.stringify(countersignUrl)} }\nstate: ${JSON.stringify(path.join(dir, `${name}.state`))}\nupstreams:\n${upstreams.join('\n')}\n${more}`);
  return file;
}

/** The lines the local server logged. */
export const localLog = (log: string): string[] => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean) : []);

/** A gateway CLI process with an MCP client on its stdio. */
export interface StdioGateway {
  client: Client;
  transport: StdioClientTransport;
  pid: number;
  stderr(): string;
  close(): Promise<void>;
}

/** Start `countersign mcp-gateway --config <file> …` and connect the SDK's Client over stdio. */
export async function connectStdioGateway(configFile: string, token: string, args: string[] = []): Promise<StdioGateway> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, 'mcp-gateway', '--config', configFile, ...args],
    env: { ...(process.env as Record<string, string>), COUNTERSIGN_TOKEN: token },
    cwd: REPO,
    stderr: 'pipe',
  });
  let err = '';
  transport.stderr?.on('data', (c: Buffer) => (err += c.toString('utf8')));
  const client = new Client({ name: 'countersign-test-client', version: '1.0.0' }, { capabilities: {} });
  try {
    await client.connect(transport, { timeout: 60_000 });
  } catch (e) {
    throw new Error(`the gateway did not start: ${(e as Error).message}\n${err}`);
  }
  return {
    client,
    transport,
    pid: transport.pid!,
    stderr: () => err,
    close: () => client.close().catch(() => undefined),
  };
}

/** A gateway in this process serving Streamable HTTP on a free port. */
export async function startHttpGateway(configFile: string, token: string, options: GatewayOptions = {}) {
  const gateway = await Gateway.start(loadGatewayConfig(configFile, { ...process.env, COUNTERSIGN_TOKEN: token }), { log: () => undefined, ...options });
  const { url } = await gateway.serveHttp(0);
  const clients: Client[] = [];
  return {
    gateway,
    url,
    /** A new SDK Client connected over Streamable HTTP. */
    async client(): Promise<Client> {
      const client = new Client({ name: 'countersign-test-client', version: '1.0.0' }, { capabilities: {} });
      await client.connect(new StreamableHTTPClientTransport(new URL(url)));
      clients.push(client);
      return client;
    },
    async close() {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      await gateway.close();
    },
  };
}

/** Run the CLI to completion (at most `ms`); answers its exit code and output. */
export function runCli(args: string[], env: Record<string, string> = {}, ms = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The text of a tool result. */
export const textOf = (r: { content?: unknown }): string =>
  ((r.content as { type: string; text?: string }[] | undefined) ?? [])
    .filter((c) => c.type === 'text')
    .map((c) => c.text)
    .join('\n');

/** Catalog entries and rules for the gateway tests. */
export function mcpTestPolicy(opts: { writeResultTimeout?: string; localResultTimeout?: string } = {}): string {
  return `
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
  mcp.files.write_file:
    owner: files
    category: production_change
    params:
      type: object
      required: [path, content]
      additionalProperties: false
      properties: { path: { type: string }, content: { type: string } }
    executor: { type: agent${opts.writeResultTimeout ? `, resultTimeout: ${opts.writeResultTimeout}` : ''} }
  mcp.local.echo:
    owner: ops
    category: data_access
    params: { type: object, required: [text], properties: { text: { type: string, maxLength: 100 } } }
    executor: { type: agent }
  mcp.local.count:
    owner: ops
    category: production_change
    params: { type: object, required: [label], properties: { label: { type: string } } }
    executor: { type: agent }
  mcp.local.slow:
    owner: ops
    category: production_change
    params: { type: object, required: [label, ms], properties: { label: { type: string }, ms: { type: number } } }
    executor: { type: agent${opts.localResultTimeout ? `, resultTimeout: ${opts.localResultTimeout}` : ''} }
  mcp.local.crash:
    owner: ops
    category: production_change
    params: { type: object, required: [label], properties: { label: { type: string } } }
    executor: { type: agent }
rules:
  - { id: reads, action: mcp.files.read_file, decision: allow }
  - id: writes-need-approval
    action: mcp.files.write_file
    decision: require_approval
    reason: Writing files needs a reviewer from files
    approval: { steps: [ { group: files, timeout: 1h } ] }
  - id: no-secrets
    action: mcp.files.write_file
    when: params.path.contains("secret")
    decision: deny
    reason: Nothing may be written to secret files
  - { id: local-allowed, action: "mcp.local.*", decision: allow }
  - id: slow-needs-approval
    action: mcp.local.slow
    when: params.label.startsWith("approve")
    decision: require_approval
    approval: { steps: [ { group: ops, timeout: 1h } ] }
`;
}
