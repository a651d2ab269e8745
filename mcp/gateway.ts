/**
 * The MCP gateway: an MCP server (stdio, or Streamable HTTP) in front of upstream MCP servers,
 * where every `tools/call` is governed by Countersign (governed-calls.ts). Built on the official
 * SDK's low-level `Server`: the gateway handles `tools/list` and `tools/call` itself and forwards
 * approved calls through each upstream's `Client`.
 */
import { randomUUID } from 'node:crypto';
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMcpExpressApp } from '@modelcontextprotocol/sdk/server/express.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import {
  CallToolRequestSchema,
  ErrorCode,
  isInitializeRequest,
  ListToolsRequestSchema,
  McpError,
  type CallToolResult,
  type ServerNotification,
  type ServerRequest,
} from '@modelcontextprotocol/sdk/types.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import { Countersign, CountersignNetworkError, CountersignProblem, type ActionView } from '../sdk/src/index';
import { CallJournal } from './call-journal';
import type { GatewayConfig } from './config';
import { errorResult, GovernedCalls, waiting } from './governed-calls';
import { ActionTaskStore } from './task-store';
import { gatewayTools, listedTool, type GatewayTool } from './tools';
import { GATEWAY_INFO, reason, Upstream } from './upstream';

/** The default hold of a call waiting for approval (clients commonly time out at 60 s). */
export const DEFAULT_HOLD_MS = 50_000;

/** The gateway could not start; `message` says why (exit code 1). */
export class GatewayStartError extends Error {
  override readonly name = 'GatewayStartError';
}

/** How the gateway runs. */
export interface GatewayOptions {
  /** How long a call waits for approval before it answers "still pending". @default 50 s */
  holdMs?: number;
  /** Gap between progress notifications while a call is held. @default 5 s */
  progressEveryMs?: number;
  /** Lines for the operator (stderr; stdout carries MCP in stdio mode). */
  log?: (line: string) => void;
}

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** A running gateway: its upstreams, its tools and the governed path of every call. */
export class Gateway {
  readonly tasks = new ActionTaskStore();
  private readonly taskAborts = new Map<string, AbortController>();
  private http: HttpServer | undefined;
  private readonly sessions = new Map<string, StreamableHTTPServerTransport>();

  private constructor(
    readonly tools: Map<string, GatewayTool>,
    readonly upstreams: Upstream[],
    readonly countersign: Countersign,
    readonly calls: GovernedCalls,
    private readonly holdMs: number,
    private readonly log: (line: string) => void,
  ) {
    this.tasks.onCancel = (taskId) => void this.cancelTask(taskId);
  }

  /**
   * Connect every upstream, list their tools and check the Countersign token.
   *
   * @throws {@link GatewayStartError} when an upstream is unreachable, two tools clash, or
   *   Countersign refuses the token or cannot be reached
   */
  static async start(config: GatewayConfig, options: GatewayOptions = {}): Promise<Gateway> {
    const log = options.log ?? ((l: string) => process.stderr.write(`${l}\n`));
    const countersign = new Countersign({ url: config.countersign.url, token: config.countersign.token, retry: { attempts: 4, maxDelayMs: 2_000 } });
    const upstreams = config.upstreams.map((u) => new Upstream(u, log));
    const closeAll = () => Promise.all(upstreams.map((u) => u.close()));
    try {
      await checkToken(countersign);
      const failures = (await Promise.allSettled(upstreams.map((u) => u.connect()))).filter((r) => r.status === 'rejected');
      if (failures.length) throw new GatewayStartError(failures.map((f) => reason((f as PromiseRejectedResult).reason)).join('\n'));
      const tools = gatewayTools(upstreams);
      const journal = new CallJournal(config.stateDir);
      const calls = new GovernedCalls({ countersign, journal, log, progressEveryMs: options.progressEveryMs });
      calls.startPruningClaims();
      return new Gateway(tools, upstreams, countersign, calls, options.holdMs ?? config.holdMs ?? DEFAULT_HOLD_MS, log);
    } catch (err) {
      await closeAll();
      throw err instanceof GatewayStartError ? err : new GatewayStartError(reason(err));
    }
  }

  /** A new MCP server for one client connection (one per Streamable HTTP session). */
  createServer(): Server {
    const server = new Server(GATEWAY_INFO, {
      capabilities: { tools: {}, tasks: { list: {}, cancel: {}, requests: { tools: { call: {} } } } },
      taskStore: this.tasks,
      instructions:
        'Every tool call is governed by Countersign: it may run at once, be denied (the result says why), or wait for a human approval. ' +
        'When a result says it is waiting for approval, call the same tool again with the same arguments later to pick it up.',
    });
    server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: [...this.tools.values()].map(listedTool) }));
    server.setRequestHandler(CallToolRequestSchema, (request, extra) => {
      const tool = this.tools.get(request.params.name);
      if (!tool) throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${request.params.name}`);
      const args = (request.params.arguments ?? {}) as Record<string, unknown>;
      if (request.params.task && extra.taskStore) return this.startTask(tool, args, extra);
      const progressToken = request.params._meta?.progressToken;
      let progress = 0;
      return this.calls.call(tool, args, {
        holdMs: this.holdMs,
        signal: extra.signal,
        onWaiting:
          progressToken === undefined
            ? undefined
            : (view, elapsedMs) =>
                extra.sendNotification({
                  method: 'notifications/progress',
                  params: { progressToken, progress: ++progress, message: waitingMessage(view, elapsedMs) },
                }),
      });
    });
    return server;
  }

  /** Serve one client over stdin/stdout; resolves when it disconnects. */
  async serveStdio(): Promise<void> {
    const server = this.createServer();
    const closed = new Promise<void>((resolve) => {
      server.onclose = () => resolve();
    });
    await server.connect(new StdioServerTransport());
    process.stdin.on('end', () => void server.close());
    await closed;
  }

  /** Serve Streamable HTTP at `http://<host>:<port>/mcp` (one session per client). */
  async serveHttp(port: number, host = '127.0.0.1'): Promise<{ url: string }> {
    const app = createMcpExpressApp({ host });
    const handle = async (req: import('express').Request, res: import('express').Response) => {
      const sessionId = req.header('mcp-session-id');
      let transport = sessionId ? this.sessions.get(sessionId) : undefined;
      if (!transport) {
        if (sessionId || req.method !== 'POST' || !isInitializeRequest(req.body)) {
          res.status(sessionId ? 404 : 400).json({ jsonrpc: '2.0', error: { code: -32000, message: sessionId ? 'Unknown session' : 'Start with an initialize request' }, id: null });
          return;
        }
        const created = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (id) => void this.sessions.set(id, created),
        });
        created.onclose = () => {
          if (created.sessionId) this.sessions.delete(created.sessionId);
        };
        await this.createServer().connect(created);
        transport = created;
      }
      await transport.handleRequest(req, res, req.body);
    };
    app.post('/mcp', handle);
    app.get('/mcp', handle);
    app.delete('/mcp', handle);
    await new Promise<void>((resolve, reject) => {
      this.http = app.listen(port, host, (err?: Error) => (err ? reject(err) : resolve()));
      this.http.once('error', reject);
    });
    const addr = this.http!.address() as AddressInfo;
    return { url: `http://${host.includes(':') ? `[${host}]` : host}:${addr.port}/mcp` };
  }

  /** Stop serving, stop watching, and close the upstreams. */
  async close(): Promise<void> {
    await this.calls.stop();
    for (const t of this.sessions.values()) await t.close().catch(() => undefined);
    await new Promise<void>((resolve) => (this.http ? this.http.close(() => resolve()) : resolve()));
    this.http?.closeAllConnections?.();
    await Promise.all(this.upstreams.map((u) => u.close()));
  }

  /**
   * A call the client asked to run as a task: propose (or pick up) now, answer the task (keyed
   * by the action id), and carry the call through in the background, without a hold limit.
   */
  private async startTask(tool: GatewayTool, args: Record<string, unknown>, extra: Extra) {
    const store = extra.taskStore!;
    const started = await this.calls.start(tool, args);
    const view = 'content' in started ? undefined : started.view;
    const task = await store.createTask({ ttl: extra.taskRequestedTtl, pollInterval: 1_000, context: view ? { actionId: view.id } : {} });
    const abort = new AbortController();
    this.taskAborts.set(task.taskId, abort);
    void (async () => {
      let result: CallToolResult;
      if ('content' in started) {
        result = started;
      } else {
        let current = started.view;
        if (waiting(current)) {
          await store.updateTaskStatus(task.taskId, 'working', waitingMessage(current, 0)).catch(() => undefined);
          current = await this.calls.hold(current, { holdMs: Infinity, signal: abort.signal });
          if (abort.signal.aborted) return;
        }
        result = await this.calls.finish(tool, args, { view: current, digest: started.digest });
      }
      await store.storeTaskResult(task.taskId, 'completed', result);
    })()
      .catch(async (err) => {
        this.log(`countersign-mcp-gateway: task ${task.taskId} failed: ${reason(err)}`);
        await store.storeTaskResult(task.taskId, 'completed', errorResult(`The gateway could not complete ${tool.name}: ${reason(err)}`, view)).catch(() => undefined);
      })
      .finally(() => this.taskAborts.delete(task.taskId));
    return { task };
  }

  /** The client cancelled a task: stop waiting and, while nobody has decided yet, cancel its action. */
  private async cancelTask(taskId: string): Promise<void> {
    this.taskAborts.get(taskId)?.abort();
    if (!taskId.startsWith('act_')) return;
    try {
      await this.countersign.cancel(taskId, 'the MCP client cancelled the task');
    } catch (err) {
      if (!(err instanceof CountersignProblem && err.code === 'not-cancellable')) this.log(`countersign-mcp-gateway: could not cancel action ${taskId}: ${reason(err)}`);
    }
  }
}

/** A progress line for a call waiting for approval. */
function waitingMessage(view: ActionView, elapsedMs: number): string {
  const a = view.approval;
  const who = a ? ` by ${a.group} (${a.approvals.filter((v) => v.decision === 'approve').length}/${a.quorum})` : '';
  return `waiting for approval${who} of action ${view.id}, ${Math.round(elapsedMs / 1000)} s`;
}

/** Countersign must take the gateway's token before the gateway serves anyone. */
async function checkToken(countersign: Countersign): Promise<void> {
  try {
    await countersign.list({ limit: 1 });
  } catch (err) {
    if (err instanceof CountersignProblem && err.status === 401) {
      throw new GatewayStartError(`Countersign at ${countersign.url} refused the gateway's token (401: ${err.detail ?? err.title}): set COUNTERSIGN_TOKEN to a valid agent token`);
    }
    if (err instanceof CountersignNetworkError) throw new GatewayStartError(`Countersign at ${countersign.url} is unreachable: ${err.message}`);
    throw new GatewayStartError(`Countersign at ${countersign.url} answered ${reason(err)}`);
  }
}
