/**
 * A small local MCP server (stdio) for the gateway's failure cases, built on the official SDK.
 * Every call it starts and finishes is appended to the file in MCP_LOCAL_LOG, so a test can
 * count how often a tool really ran. Tools:
 *
 * - `echo { text }`: answers the text.
 * - `count { label }`: records the label; answers how often it has seen it.
 * - `slow { label, ms }`: records `start <label>`, waits `ms`, records `end <label>`, answers.
 * - `crash { label }`: records `crash <label>` and exits mid-call (code 3).
 * - `unlisted {}`: a tool no catalog entry names.
 *
 * Run: node --import tsx test/helpers/mcp-local-server.ts
 */
import fs from 'node:fs';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { CallToolRequestSchema, ListToolsRequestSchema, McpError, ErrorCode } from '@modelcontextprotocol/sdk/types.js';

const logFile = process.env.MCP_LOCAL_LOG;
const record = (line: string) => {
  if (logFile) fs.appendFileSync(logFile, `${line}\n`);
};
const seen = (line: string) => (logFile && fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8').split('\n').filter((l) => l === line).length : 0);

const obj = (properties: Record<string, unknown>, required: string[] = []) => ({ type: 'object' as const, properties, required });
const TOOLS = [
  { name: 'echo', description: 'Answer the text', inputSchema: obj({ text: { type: 'string' } }, ['text']), annotations: { readOnlyHint: true } },
  { name: 'count', description: 'Count calls per label', inputSchema: obj({ label: { type: 'string' } }, ['label']) },
  { name: 'slow', description: 'Answer after ms milliseconds', inputSchema: obj({ label: { type: 'string' }, ms: { type: 'number' } }, ['label', 'ms']) },
  { name: 'crash', description: 'Exit in the middle of the call', inputSchema: obj({ label: { type: 'string' } }, ['label']) },
  { name: 'unlisted', description: 'A tool no catalog names', inputSchema: obj({}) },
];

const server = new Server({ name: 'countersign-test-local', version: '1.0.0' }, { capabilities: { tools: {} } });
server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: TOOLS }));
server.setRequestHandler(CallToolRequestSchema, async (request) => {
  const args = (request.params.arguments ?? {}) as Record<string, any>;
  switch (request.params.name) {
    case 'echo':
      record(`echo ${args.text}`);
      return { content: [{ type: 'text', text: String(args.text) }] };
    case 'count':
      record(`count ${args.label}`);
      return { content: [{ type: 'text', text: `${args.label}: ${seen(`count ${args.label}`)}` }] };
    case 'slow':
      record(`start ${args.label}`);
      await new Promise((r) => setTimeout(r, Number(args.ms)));
      record(`end ${args.label}`);
      return { content: [{ type: 'text', text: `slept ${args.ms} ms` }] };
    case 'crash':
      record(`crash ${args.label}`);
      process.exit(3);
    case 'unlisted':
      return { content: [{ type: 'text', text: 'ran' }] };
    default:
      throw new McpError(ErrorCode.InvalidParams, `Unknown tool: ${request.params.name}`);
  }
});
void server.connect(new StdioServerTransport());
