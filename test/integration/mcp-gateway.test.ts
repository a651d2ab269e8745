import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CallToolResultSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, startTestStack, type TestStack } from '../helpers/stack';
import { connectStdioGateway, filesUpstream, localLog, localUpstream, mcpTestPolicy, startHttpGateway, textOf, writeGatewayConfig, type StdioGateway } from '../helpers/mcp-gateway';

// The MCP gateway against the real stack (Temporal, Postgres, API, worker), with the official
// SDK's Client on one side and the published filesystem MCP server on the other.
describe('MCP gateway', () => {
  let stack: TestStack;
  let gatewayToken: string;
  let reviewer: string;
  let dir: string;
  let share: string;
  let stdio: StdioGateway;

  beforeAll(async () => {
    stack = await startTestStack(mcpTestPolicy());
    gatewayToken = await stack.principal('mcp-gateway', 'agent', ['agent']);
    reviewer = await stack.principal('fiona', 'human', ['reviewer'], ['files', 'ops']);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-mcp-'));
    share = path.join(dir, 'share');
    fs.mkdirSync(share);
    fs.writeFileSync(path.join(share, 'hello.txt'), 'hello from the share\n');
    const config = writeGatewayConfig(dir, 'stdio.yaml', stack.url, [filesUpstream(share)]);
    stdio = await connectStdioGateway(config, gatewayToken, ['--hold', '2s']);
  });
  afterAll(async () => {
    await stdio?.close();
    await stack?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const actionsOf = async (action: string) =>
    (await stack.pool.query<{ id: string; status: string }>('SELECT id, status FROM actions WHERE action = $1 ORDER BY created_at', [action])).rows;
  const events = async (id: string) =>
    (await stack.pool.query<{ type: string }>('SELECT type FROM ledger_events WHERE action_id = $1 ORDER BY seq', [id])).rows.map((r) => r.type);
  const approve = (id: string) => stack.call(reviewer, 'POST', `/v1/actions/${id}/decisions`, { decision: 'approve', reason: 'looks right' });
  const actionIdIn = (r: CallToolResult): string => (r._meta?.['countersign/action'] as { id: string }).id;

  it('when a client lists tools through one upstream, then they keep their names and may run as tasks', async () => {
    const { tools } = await stdio.client.listTools();
    const read = tools.find((t) => t.name === 'read_file');
    expect(read?.inputSchema).toMatchObject({ type: 'object', properties: { path: { type: 'string' } } });
    expect(read?.execution).toMatchObject({ taskSupport: 'optional' });
    expect(tools.map((t) => t.name)).toContain('write_file');
  });

  it('when policy allows read_file, then the upstream runs once and its result is the call result and the action result', async () => {
    const before = (await actionsOf('mcp.files.read_file')).length;
    const r = (await stdio.client.callTool({ name: 'read_file', arguments: { path: path.join(share, 'hello.txt') } })) as CallToolResult;
    expect(r.isError).toBeFalsy();
    expect(textOf(r)).toContain('hello from the share');
    const rows = await actionsOf('mcp.files.read_file');
    expect(rows).toHaveLength(before + 1);
    const action = rows.at(-1)!;
    // The result is reported while it goes back to the client.
    await eventually(async () => (await actionsOf('mcp.files.read_file')).find((a) => a.id === action.id)?.status === 'succeeded');
    expect(await events(action.id)).toEqual(['proposed', 'policy_decided', 'executed']);
    const view = await stack.call(gatewayToken, 'GET', `/v1/actions/${action.id}`);
    expect(view.body).toMatchObject({ agent: 'mcp-gateway', params: { path: path.join(share, 'hello.txt') } });
    expect(textOf(view.body.result)).toContain('hello from the share');
  });

  it('when policy denies write_file, then the call is an error carrying the reason and nothing is written', async () => {
    const target = path.join(share, 'secret.txt');
    const r = (await stdio.client.callTool({ name: 'write_file', arguments: { path: target, content: 'x' } })) as CallToolResult;
    expect(r.isError).toBe(true);
    expect(textOf(r)).toContain('Nothing may be written to secret files');
    expect(textOf(r)).toMatch(/^Denied by Countersign/);
    expect(fs.existsSync(target)).toBe(false);
  });

  it('when write_file needs approval, then the call is held with progress, answers pending, and the same call picks the action up once approved', async () => {
    const target = path.join(share, 'approved.txt');
    const args = { path: target, content: 'written after approval' };
    const progress: string[] = [];
    const first = (await stdio.client.callTool({ name: 'write_file', arguments: args }, CallToolResultSchema, {
      onprogress: (p) => void progress.push(p.message ?? ''),
    })) as CallToolResult;
    expect(first.isError).toBe(true);
    expect(textOf(first)).toMatch(/^Waiting for approval: action act_[0-9a-f]+ \(mcp\.files\.write_file\) needs approval by files/);
    expect(textOf(first)).toContain('Writing files needs a reviewer from files');
    expect(progress.length).toBeGreaterThanOrEqual(1);
    expect(progress[0]).toMatch(/waiting for approval by files/);
    const id = actionIdIn(first);
    expect(fs.existsSync(target)).toBe(false);

    // Still pending: the same call picks the same action up (no second proposal).
    const again = (await stdio.client.callTool({ name: 'write_file', arguments: args })) as CallToolResult;
    expect(actionIdIn(again)).toBe(id);
    expect(await actionsOf('mcp.files.write_file').then((rows) => rows.filter((r) => r.status === 'awaiting_approval').length)).toBe(1);

    expect((await approve(id)).status).toBe(200);
    const picked = (await stdio.client.callTool({ name: 'write_file', arguments: args })) as CallToolResult;
    expect(picked.isError).toBeFalsy();
    expect(fs.readFileSync(target, 'utf8')).toBe('written after approval');
    const done = await eventually(async () => {
      const v = await stack.call(gatewayToken, 'GET', `/v1/actions/${id}`);
      return v.body.status === 'succeeded' && v.body;
    });
    expect(await events(done.id)).toEqual(['proposed', 'policy_decided', 'approval_requested', 'decision_recorded', 'executed']);

    // Its result has been returned once: the same call now proposes anew.
    const next = (await stdio.client.callTool({ name: 'write_file', arguments: args })) as CallToolResult;
    expect(textOf(next)).toMatch(/^Waiting for approval/);
    expect(actionIdIn(next)).not.toBe(id);
  });

  it('when a client runs write_file as a task, then the task is keyed by the action id and completes with the result once approved', async () => {
    const target = path.join(share, 'task.txt');
    const stream = stdio.client.experimental.tasks.callToolStream(
      { name: 'write_file', arguments: { path: target, content: 'written by a task' } },
      CallToolResultSchema,
      { task: { ttl: 600_000 } },
    );
    let taskId: string | undefined;
    let result: CallToolResult | undefined;
    const statuses: string[] = [];
    for await (const m of stream) {
      if (m.type === 'taskCreated') {
        taskId = m.task.taskId;
        expect(taskId).toMatch(/^act_[0-9a-f]+$/);
        await eventually(async () => (await stack.call(gatewayToken, 'GET', `/v1/actions/${taskId}`)).body.status === 'awaiting_approval');
        expect(fs.existsSync(target)).toBe(false);
        expect((await approve(taskId)).status).toBe(200);
      }
      if (m.type === 'taskStatus') statuses.push(m.task.status);
      if (m.type === 'result') result = m.result as CallToolResult;
      if (m.type === 'error') throw m.error;
    }
    expect(taskId).toBeDefined();
    expect(statuses.at(-1)).toBe('completed');
    expect(result?.isError).toBeFalsy();
    expect(fs.readFileSync(target, 'utf8')).toBe('written by a task');
    await eventually(async () => (await stack.call(gatewayToken, 'GET', `/v1/actions/${taskId}`)).body.status === 'succeeded');
  });

  it('when a client cancels a task whose action is pending, then the action is cancelled and the tool never runs', async () => {
    const target = path.join(share, 'cancelled.txt');
    const stream = stdio.client.experimental.tasks.callToolStream(
      { name: 'write_file', arguments: { path: target, content: 'never' } },
      CallToolResultSchema,
      { task: { ttl: 60_000 } },
    );
    let taskId: string | undefined;
    const ends: string[] = [];
    for await (const m of stream) {
      if (m.type === 'taskCreated') {
        taskId = m.task.taskId;
        const cancelled = await stdio.client.experimental.tasks.cancelTask(taskId);
        expect(cancelled.status).toBe('cancelled');
      }
      if (m.type === 'error') ends.push(m.error.message);
    }
    expect(ends.join()).toContain('cancelled');
    const v = await eventually(async () => {
      const r = await stack.call(gatewayToken, 'GET', `/v1/actions/${taskId}`);
      return r.body.status === 'cancelled' && r.body;
    });
    expect(v.outcome).toMatchObject({ by: 'agent', reason: 'the MCP client cancelled the task' });
    expect(fs.existsSync(target)).toBe(false);
  });

  it('when a denied call runs as a task, then the task completes with the reason as an error result', async () => {
    const stream = stdio.client.experimental.tasks.callToolStream(
      { name: 'write_file', arguments: { path: path.join(share, 'secret-2.txt'), content: 'x' } },
      CallToolResultSchema,
      { task: { ttl: 60_000 } },
    );
    let result: CallToolResult | undefined;
    for await (const m of stream) if (m.type === 'result') result = m.result as CallToolResult;
    expect(result?.isError).toBe(true);
    expect(textOf(result!)).toContain('Nothing may be written to secret files');
  });

  it('when the gateway serves Streamable HTTP with several upstreams, then tools are <upstream>_<tool> and an allowed call runs once', async () => {
    const log = path.join(dir, 'local-http.log');
    const config = writeGatewayConfig(dir, 'http.yaml', stack.url, [filesUpstream(share), localUpstream(log)]);
    const http = await startHttpGateway(config, gatewayToken, { holdMs: 2_000 });
    try {
      const client = await http.client();
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names).toEqual(expect.arrayContaining(['files_read_file', 'files_write_file', 'local_echo', 'local_count']));
      const read = (await client.callTool({ name: 'files_read_file', arguments: { path: path.join(share, 'hello.txt') } })) as CallToolResult;
      expect(textOf(read)).toContain('hello from the share');
      const counted = (await client.callTool({ name: 'local_count', arguments: { label: 'http-once' } })) as CallToolResult;
      expect(textOf(counted)).toBe('http-once: 1');
      expect(localLog(log).filter((l) => l === 'count http-once')).toHaveLength(1);
      await eventually(async () => (await actionsOf('mcp.local.count')).at(-1)?.status === 'succeeded');
    } finally {
      await http.close();
    }
  });
});
