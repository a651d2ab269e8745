/**
 * `countersign mcp-gateway --config gateway.yaml [--http <port>] [--host <addr>] [--hold <duration>]`
 * and `countersign mcp import --config gateway.yaml [--owner <group>] [--result-timeout <duration>]`.
 *
 * Exit codes: 0 done (the client disconnected, or a signal stopped the HTTP server); 1 the
 * gateway could not start (an upstream or Countersign unreachable, the token refused); 2 bad
 * usage or a malformed config. In stdio mode stdout carries MCP only: every message goes to stderr.
 */
import { parseDuration } from '../../policy/duration';
import { catalogEntries, catalogYaml } from '../../mcp/catalog-import';
import { GatewayConfigError, loadGatewayConfig } from '../../mcp/config';
import { Gateway, GatewayStartError } from '../../mcp/gateway';
import { reason, Upstream } from '../../mcp/upstream';
import { gatewayTools } from '../../mcp/tools';

/** Where the commands write; defaults to the process streams. */
export interface McpCommandIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

const GATEWAY_USAGE = `usage: countersign mcp-gateway --config <gateway.yaml> [--http <port>] [--host <addr>] [--hold <duration>]
  an MCP server in front of the config's upstream MCP servers; every tool call is governed by Countersign
  --http <port>   serve Streamable HTTP at http://<host>:<port>/mcp instead of stdio
  --host <addr>   address to listen on with --http (default 127.0.0.1)
  --hold <d>      how long a call waits for approval before it answers "still pending" (default 50s)
  token: COUNTERSIGN_TOKEN (an agent token), or countersign.token in the config
`;
const IMPORT_USAGE = `usage: countersign mcp import --config <gateway.yaml> [--owner <group>] [--result-timeout <duration>]
  prints catalog entries (action mcp.<upstream>.<tool>, params = the tool's input schema) for review
`;

/** Parse `--name value` flags; unknown flags and missing values are errors. */
function flags(argv: string[], known: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const name = a.startsWith('--') ? a.slice(2).split('=')[0] : undefined;
    if (!name || !known.includes(name)) throw new UsageError(`unknown argument ${a}`);
    const value = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
    if (value === undefined || value === '') throw new UsageError(`--${name} needs a value`);
    out[name] = value;
  }
  return out;
}

class UsageError extends Error {}

/** `50` (seconds) or a duration (`50s`, `2m`). */
function holdMs(text: string): number {
  const ms = /^\d+$/.test(text) ? Number(text) * 1000 : parseDuration(text);
  if (ms === undefined || ms <= 0) throw new UsageError(`--hold ${text}: write seconds (50) or a duration (50s, 2m)`);
  return ms;
}

/** `countersign mcp-gateway …`; resolves to the exit code. */
export async function runMcpGateway(argv: string[], io: McpCommandIo = process, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let opts: Record<string, string>;
  let hold: number | undefined;
  let port: number | undefined;
  try {
    opts = flags(argv, ['config', 'http', 'host', 'hold']);
    if (!opts.config) throw new UsageError('--config <gateway.yaml> is required');
    if (opts.hold) hold = holdMs(opts.hold);
    if (opts.http !== undefined) {
      port = Number(opts.http);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--http ${opts.http}: give a port number`);
    }
  } catch (err) {
    io.stderr.write(`${(err as Error).message}\n\n${GATEWAY_USAGE}`);
    return 2;
  }
  let gateway: Gateway;
  try {
    const config = loadGatewayConfig(opts.config, env);
    gateway = await Gateway.start(config, { holdMs: hold, log: (l) => io.stderr.write(`${l}\n`) });
  } catch (err) {
    if (err instanceof GatewayConfigError) {
      io.stderr.write(`${err.message}\n`);
      return 2;
    }
    io.stderr.write(`countersign mcp-gateway: ${err instanceof GatewayStartError ? err.message : reason(err)}\n`);
    return 1;
  }
  const names = [...gateway.tools.keys()];
  if (port === undefined) {
    io.stderr.write(`countersign mcp-gateway: serving ${names.length} tools over stdio\n`);
    await gateway.serveStdio();
    await gateway.close();
    return 0;
  }
  const { url } = await gateway.serveHttp(port, opts.host ?? '127.0.0.1');
  io.stderr.write(`countersign mcp-gateway: serving ${names.length} tools at ${url}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await gateway.close();
  return 0;
}

/** `countersign mcp import …`; resolves to the exit code. */
export async function runMcpCommand(argv: string[], io: McpCommandIo = process, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'import') {
    io.stderr.write(`${sub ? `unknown mcp command: ${sub}\n\n` : ''}${IMPORT_USAGE}`);
    return 2;
  }
  let opts: Record<string, string>;
  try {
    opts = flags(rest, ['config', 'owner', 'result-timeout']);
    if (!opts.config) throw new UsageError('--config <gateway.yaml> is required');
    if (opts['result-timeout'] && parseDuration(opts['result-timeout']) === undefined) throw new UsageError(`--result-timeout ${opts['result-timeout']}: write a duration (1h, 30m)`);
  } catch (err) {
    io.stderr.write(`${(err as Error).message}\n\n${IMPORT_USAGE}`);
    return 2;
  }
  let upstreams: Upstream[] = [];
  try {
    // Import needs no Countersign token: it only reads the upstreams.
    const config = loadGatewayConfig(opts.config, { COUNTERSIGN_TOKEN: 'unused-by-import', ...env });
    upstreams = config.upstreams.map((u) => new Upstream(u, (l) => io.stderr.write(`${l}\n`)));
    const failures = (await Promise.allSettled(upstreams.map((u) => u.connect()))).filter((r) => r.status === 'rejected');
    if (failures.length) {
      io.stderr.write(`countersign mcp import: ${failures.map((f) => reason((f as PromiseRejectedResult).reason)).join('\n')}\n`);
      return 1;
    }
    const { actions, problems } = catalogEntries(gatewayTools(upstreams).values(), { owner: opts.owner, resultTimeout: opts['result-timeout'] });
    io.stdout.write(catalogYaml(actions, opts.config));
    for (const p of problems) io.stderr.write(`countersign mcp import: skipped ${p}\n`);
    return problems.length ? 1 : 0;
  } catch (err) {
    io.stderr.write(err instanceof GatewayConfigError ? `${err.message}\n` : `countersign mcp import: ${reason(err)}\n`);
    return err instanceof GatewayConfigError ? 2 : 1;
  } finally {
    await Promise.all(upstreams.map((u) => u.close()));
  }
}
