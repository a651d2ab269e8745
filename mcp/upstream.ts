/**
 * One upstream MCP server, reached with the official SDK's `Client`: a command the gateway
 * starts (stdio) or a Streamable HTTP URL. It connects with a deadline, lists its tools, and
 * calls one tool at a time per request, never retrying a call (a retried call could run a tool
 * twice; the gateway promises at most once per action). A server that went away is connected
 * again on the next call.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { CallToolResultSchema, type CallToolResult, type Tool } from '@modelcontextprotocol/sdk/types.js';
import type { UpstreamConfig } from './config';

/** The gateway's name and version as MCP implementation info. */
export const GATEWAY_INFO = { name: 'countersign-mcp-gateway', version: '0.1.0' } as const;

/** The upstream could not be reached, started or listed; `message` names it and says why. */
export class UpstreamUnavailable extends Error {
  override readonly name = 'UpstreamUnavailable';
}

/** A connected upstream MCP server. */
export class Upstream {
  private client: Client | undefined;
  private connecting: Promise<Client> | undefined;
  /** The tools the upstream listed when it was last connected. */
  tools: Tool[] = [];

  constructor(
    readonly config: UpstreamConfig,
    private readonly log: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
  ) {}

  get name(): string {
    return this.config.name;
  }

  /** Where the upstream is, for messages. */
  get describe(): string {
    const c = this.config;
    return c.kind === 'url' ? `${c.name} (${c.url})` : `${c.name} (${[c.command, ...c.args].join(' ')})`;
  }

  /**
   * Connect and list the tools (once at a time; a connected upstream answers at once).
   *
   * @throws {@link UpstreamUnavailable} when it does not answer within `connectTimeout`
   */
  connect(): Promise<Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= this.open().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async open(): Promise<Client> {
    const c = this.config;
    const client = new Client(GATEWAY_INFO, { capabilities: {} });
    const transport: Transport =
      c.kind === 'command'
        ? new StdioClientTransport({ command: c.command, args: c.args, env: { ...getDefaultEnvironment(), ...c.env }, cwd: c.cwd, stderr: 'pipe' })
        : new StreamableHTTPClientTransport(new URL(c.url), { requestInit: { headers: c.headers } });
    if (transport instanceof StdioClientTransport) {
      // The upstream's own log goes to the gateway's stderr, each line marked (stdout is MCP's).
      transport.stderr?.on('data', (chunk: Buffer) => {
        for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) this.log(`[upstream ${c.name}] ${line}`);
      });
    }
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${c.connectTimeoutMs / 1000} s`)), c.connectTimeoutMs);
    });
    try {
      await Promise.race([client.connect(transport, { timeout: c.connectTimeoutMs }), deadline]);
      const tools: Tool[] = [];
      let cursor: string | undefined;
      do {
        const page = await Promise.race([client.listTools(cursor ? { cursor } : undefined, { timeout: c.connectTimeoutMs }), deadline]);
        tools.push(...page.tools);
        cursor = page.nextCursor;
      } while (cursor);
      this.tools = tools;
    } catch (err) {
      await client.close().catch(() => undefined);
      throw new UpstreamUnavailable(`upstream ${this.describe} is unreachable: ${reason(err)}`);
    } finally {
      clearTimeout(timer);
    }
    client.onclose = () => {
      if (this.client === client) this.client = undefined;
    };
    this.client = client;
    return client;
  }

  /**
   * Call one tool, once. Rejects with {@link UpstreamUnavailable} when the upstream cannot be
   * reached before the call is sent (the tool did not run), and with the transport's error when
   * the call was sent and no answer came (the tool may or may not have run).
   */
  async callTool(tool: string, args: Record<string, unknown>, opts: { signal?: AbortSignal } = {}): Promise<CallToolResult> {
    const client = await this.connect();
    const result = await client.callTool({ name: tool, arguments: args }, CallToolResultSchema, {
      timeout: this.config.callTimeoutMs,
      signal: opts.signal,
    });
    return result as CallToolResult;
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.close().catch(() => undefined);
  }
}

/** An error's message, without a stack. */
export function reason(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error && !err.message.includes(cause.message) ? `${err.message} (${cause.message})` : err.message;
  }
  return String(err);
}
