import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CallJournal } from '../../mcp/call-journal';
import { GovernedCalls } from '../../mcp/governed-calls';
import { validatePolicyBundle } from '../../policy';
import { Countersign } from '../../sdk/src/index';
import { eventually, startTestStack, type TestStack } from '../helpers/stack';
import { freePort } from '../helpers/ports';
import {
  connectStdioGateway,
  filesUpstream,
  localLog,
  localUpstream,
  mcpTestPolicy,
  runCli,
  textOf,
  writeGatewayConfig,
  type StdioGateway,
} from '../helpers/mcp-gateway';

// What goes wrong around the MCP gateway: bad config, unreachable upstreams and Countersign,
// tools and arguments Countersign refuses, a token that expires, an upstream that crashes or
// hangs, and the gateway itself dying after an approval. Each gives a clear message and never a
// hang or a dead gateway; an upstream tool never runs twice for one action.
describe('MCP gateway failures', () => {
  let stack: TestStack;
  let token: string;
  let reviewer: string;
  let dir: string;
  let log: string;
  let gw: StdioGateway;

  beforeAll(async () => {
    stack = await startTestStack(mcpTestPolicy({ localResultTimeout: '20s' }));
    token = await stack.principal('mcp-gw', 'agent', ['agent']);
    reviewer = await stack.principal('otto', 'human', ['reviewer'], ['ops']);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-mcp-fail-'));
    log = path.join(dir, 'local.log');
    const config = writeGatewayConfig(dir, 'local.yaml', stack.url, [localUpstream(log, ', timeout: 3s')]);
    gw = await connectStdioGateway(config, token, ['--hold', '1s']);
  });
  afterAll(async () => {
    await gw?.close();
    await stack?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const call = (g: StdioGateway, name: string, args: Record<string, unknown>) => g.client.callTool({ name, arguments: args }) as Promise<CallToolResult>;
  const view = async (id: string) => (await stack.call(token, 'GET', `/v1/actions/${id}`)).body;
  const actionIdIn = (r: CallToolResult): string => (r._meta?.['countersign/action'] as { id: string }).id;
  const alive = async (g: StdioGateway) => expect(textOf(await call(g, 'echo', { text: 'still here' }))).toBe('still here');

  describe('config and start-up (CLI exit codes)', () => {
    it('when the config is not valid YAML, then the gateway exits 2 naming the line', async () => {
      const file = path.join(dir, 'broken.yaml');
      fs.writeFileSync(file, 'countersign: { url: "http://x"\nupstreams: [\n');
      const r = await runCli(['mcp-gateway', '--config', file], { COUNTERSIGN_TOKEN: token });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`${file.replace(/[.]/g, '\\.')}:\\d+:\\d+: not valid YAML`));
    });

    it('when an upstream has both a command and a url, or an unknown key, then exit 2 says what an upstream may be', async () => {
      const file = writeGatewayConfig(dir, 'both.yaml', stack.url, ['  files: { command: node, url: "http://127.0.0.1:1/mcp" }']);
      const r = await runCli(['mcp-gateway', '--config', file], { COUNTERSIGN_TOKEN: token });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('upstreams.files: an upstream is either { command, args?, env?, cwd? } or { url, headers? }');
      expect(r.stderr).toMatch(/both\.yaml:4:\d+/);
    });

    it('when the config names an unset variable, then exit 2 names it', async () => {
      const file = writeGatewayConfig(dir, 'env.yaml', stack.url, ['  billing: { url: "http://127.0.0.1:1/mcp", headers: { authorization: "Bearer ${BILLING_TOKEN_UNSET}" } }']);
      const r = await runCli(['mcp-gateway', '--config', file], { COUNTERSIGN_TOKEN: token });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('upstreams.billing.headers.authorization: environment variable BILLING_TOKEN_UNSET is not set');
    });

    it('when no token is given, then exit 2 says to set COUNTERSIGN_TOKEN', async () => {
      const file = writeGatewayConfig(dir, 'notoken.yaml', stack.url, [localUpstream(log)]);
      const r = await runCli(['mcp-gateway', '--config', file], { COUNTERSIGN_TOKEN: '' });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('set COUNTERSIGN_TOKEN');
    });

    it('when an upstream is unreachable (a closed port, a missing command), then exit 1 names it, quickly', async () => {
      const port = await freePort();
      const file = writeGatewayConfig(dir, 'down.yaml', stack.url, [`  billing: { url: "http://127.0.0.1:${port}/mcp" }`, '  ghost: { command: /nonexistent/mcp-server }']);
      const started = Date.now();
      const r = await runCli(['mcp-gateway', '--config', file], { COUNTERSIGN_TOKEN: token });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`upstream billing (http://127.0.0.1:${port}/mcp) is unreachable`);
      expect(r.stderr).toContain('upstream ghost (/nonexistent/mcp-server) is unreachable');
      expect(Date.now() - started).toBeLessThan(30_000);
      const imp = await runCli(['mcp', 'import', '--config', file]);
      expect(imp.code).toBe(1);
      expect(imp.stderr).toContain('upstream billing');
    });

    it('when Countersign refuses the token, then exit 1 says so before serving anyone', async () => {
      const file = writeGatewayConfig(dir, 'badtoken.yaml', stack.url, [localUpstream(log)]);
      const r = await runCli(['mcp-gateway', '--config', file], { COUNTERSIGN_TOKEN: 'not-a-token' });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("refused the gateway's token (401");
    });

    it('when mcp import reads the upstreams, then it prints catalog entries whose params are the tools\' input schemas and that load in a bundle', async () => {
      const share = path.join(dir, 'share');
      fs.mkdirSync(share, { recursive: true });
      const file = writeGatewayConfig(dir, 'import.yaml', stack.url, [filesUpstream(share), localUpstream(log)]);
      const r = await runCli(['mcp', 'import', '--config', file, '--owner', 'platform']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('mcp.files.write_file:');
      expect(r.stdout).toContain('mcp.local.echo:');
      const bundle = `defaults: { decision: deny }\n${r.stdout}`;
      const loaded = validatePolicyBundle(bundle);
      expect(loaded.ok).toBe(true);
      const write = loaded.ok ? loaded.bundle.actions.get('mcp.files.write_file') : undefined;
      expect(write?.paramsSchema).toMatchObject({ type: 'object', required: ['path', 'content'], properties: { path: { type: 'string' }, content: { type: 'string' } } });
      expect(write?.owner).toBe('platform');
      expect(loaded.ok && loaded.bundle.actions.get('mcp.local.echo')?.category).toBe('data_access');
    });
  });

  describe('calls Countersign refuses (MCP error results; the gateway lives on)', () => {
    it('when the tool has no catalog entry, then the call says so and the tool does not run', async () => {
      const r = await call(gw, 'unlisted', {});
      expect(r.isError).toBe(true);
      expect(textOf(r)).toContain("mcp.local.unlisted is not in Countersign's policy catalog");
      await alive(gw);
    });

    it('when the arguments fail the catalog schema, then the call lists the fields and nothing is proposed', async () => {
      const r = await call(gw, 'echo', { text: 'x'.repeat(101) });
      expect(r.isError).toBe(true);
      expect(textOf(r)).toMatch(/do not match mcp\.local\.echo's params schema: \/params\/text: .*100/);
      const missing = await call(gw, 'echo', {});
      expect(textOf(missing)).toContain('/params/text: is required');
      expect(localLog(log).filter((l) => l.startsWith('echo x'))).toHaveLength(0);
      await alive(gw);
    });

    it('when an unknown tool is called, then the client gets an MCP error and the gateway lives on', async () => {
      await expect(call(gw, 'no_such_tool', {})).rejects.toThrow(/Unknown tool: no_such_tool/);
      await alive(gw);
    });

    it('when the gateway token expires while it runs, then calls say the token was refused and nothing runs', async () => {
      const created = await stack.call(stack.admin, 'POST', '/v1/principals/mcp-gw/tokens', { expiresIn: '25s' });
      expect(created.status).toBe(201);
      const config = writeGatewayConfig(dir, 'expiring.yaml', stack.url, [localUpstream(log)]);
      const short = await connectStdioGateway(config, created.body.token, ['--hold', '1s']);
      try {
        // (On a machine too busy to start the gateway in time, the token may be gone already.)
        if (Date.now() < Date.parse(created.body.expiresAt) - 3_000) expect(textOf(await call(short, 'count', { label: 'before-expiry' }))).toBe('before-expiry: 1');
        await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(created.body.expiresAt) - Date.now()) + 1_500));
        const r = await call(short, 'count', { label: 'after-expiry' });
        expect(r.isError).toBe(true);
        expect(textOf(r)).toContain("Countersign refused the gateway's token (401");
        expect(localLog(log)).not.toContain('count after-expiry');
        expect((await short.client.listTools()).tools.length).toBeGreaterThan(0);
      } finally {
        await short.close();
      }
    });
  });

  describe('upstreams that fail', () => {
    it('when the upstream crashes mid-call, then the action fails with an unknown outcome, and the next call reconnects', async () => {
      const r = await call(gw, 'crash', { label: 'c1' });
      expect(r.isError).toBe(true);
      expect(textOf(r)).toMatch(/did not answer crash .*whether the tool ran is not known/);
      const failed = await eventually(async () => {
        const v = await view(actionIdIn(r));
        return v.status === 'failed' && v;
      });
      expect(failed.error).toContain('whether the tool ran is not known');
      await alive(gw);
    });

    it('when the upstream does not answer within its timeout, then the call ends with an unknown outcome instead of hanging', async () => {
      const started = Date.now();
      const r = await call(gw, 'slow', { label: 'too-slow', ms: 10_000 });
      expect(Date.now() - started).toBeLessThan(9_000);
      expect(r.isError).toBe(true);
      expect(textOf(r)).toMatch(/did not answer slow .*whether the tool ran is not known/);
      await alive(gw);
    });
  });

  describe('the gateway dies', () => {
    it('when it dies while a call waits for approval, then a new gateway picks the call up and runs it once after approval', async () => {
      const config = writeGatewayConfig(dir, 'restart.yaml', stack.url, [localUpstream(log)]);
      const first = await connectStdioGateway(config, token, ['--hold', '1s']);
      const args = { label: 'approve-restart', ms: 10 };
      const pending = await call(first, 'slow', args);
      expect(textOf(pending)).toMatch(/^Waiting for approval/);
      const id = actionIdIn(pending);
      process.kill(first.pid, 'SIGKILL');
      await first.close();
      expect((await stack.call(reviewer, 'POST', `/v1/actions/${id}/decisions`, { decision: 'approve' })).status).toBe(200);

      const second = await connectStdioGateway(config, token, ['--hold', '5s']);
      try {
        const r = await call(second, 'slow', args);
        expect(r.isError).toBeFalsy();
        expect(textOf(r)).toBe('slept 10 ms');
        expect(localLog(log).filter((l) => l === 'start approve-restart')).toHaveLength(1);
        await eventually(async () => (await view(id)).status === 'succeeded');
      } finally {
        await second.close();
      }
    });

    it('when an operator pauses an approved call, then the gateway does not run it until the pause is lifted', async () => {
      const operator = await stack.principal('opal', 'human', ['operator']);
      const config = writeGatewayConfig(dir, 'paused.yaml', stack.url, [localUpstream(log)]);
      const first = await connectStdioGateway(config, token, ['--hold', '1s']);
      const args = { label: 'approve-paused', ms: 10 };
      const id = actionIdIn(await call(first, 'slow', args));
      // Nobody is watching when the approval and the pause come in.
      process.kill(first.pid, 'SIGKILL');
      await first.close();
      expect((await stack.call(reviewer, 'POST', `/v1/actions/${id}/decisions`, { decision: 'approve' })).status).toBe(200);
      const pause = await stack.call(operator, 'POST', '/v1/controls/pauses', { scope: { action: 'mcp.local.slow' }, reason: 'incident: slow tool' });
      expect(pause.status).toBe(201);
      await eventually(async () => (await view(id)).paused === true, 10_000, 'the pause to show');

      const second = await connectStdioGateway(config, token, ['--hold', '2s']);
      try {
        const held = await call(second, 'slow', args);
        expect(held.isError).toBe(true);
        expect(textOf(held)).toMatch(new RegExp(`^Paused: action ${id} \\(mcp\\.local\\.slow\\) is approved, but an operator has paused it`));
        expect(localLog(log)).not.toContain('start approve-paused');

        expect((await stack.call(operator, 'DELETE', `/v1/controls/pauses/${pause.body.id}`)).status).toBe(200);
        await eventually(async () => (await view(id)).paused !== true, 10_000, 'the pause to lift');
        const r = await call(second, 'slow', args);
        expect(textOf(r)).toBe('slept 10 ms');
        expect(localLog(log).filter((l) => l === 'start approve-paused')).toHaveLength(1);
      } finally {
        await second.close();
      }
    });

    it('when it dies after approval while the upstream runs, then the tool is not run again and the action ends failed with outcome-unknown at its resultTimeout', async () => {
      const config = writeGatewayConfig(dir, 'killed.yaml', stack.url, [localUpstream(log, ', timeout: 1m')]);
      const first = await connectStdioGateway(config, token, ['--hold', '1s']);
      const args = { label: 'approve-kill', ms: 15_000 };
      const pending = await call(first, 'slow', args);
      const id = actionIdIn(pending);
      expect((await stack.call(reviewer, 'POST', `/v1/actions/${id}/decisions`, { decision: 'approve' })).status).toBe(200);
      // The gateway, still watching, runs the approved call; kill it while the upstream works.
      await eventually(async () => localLog(log).includes('start approve-kill'), 20_000, 'the upstream to start');
      process.kill(first.pid, 'SIGKILL');
      await first.close();

      const second = await connectStdioGateway(config, token, ['--hold', '1s']);
      try {
        const r = await call(second, 'slow', args);
        expect(r.isError).toBe(true);
        expect(textOf(r)).toContain(`Action ${id} (mcp.local.slow) was approved and handed to upstream local by a gateway that has not reported its outcome`);
        expect(textOf(r)).toContain('It is not run again');
        expect(localLog(log).filter((l) => l === 'start approve-kill')).toHaveLength(1);

        const ended = await eventually(async () => {
          const v = await view(id);
          return v.status === 'failed' && v;
        }, 40_000, 'the result deadline');
        expect(ended.error).toMatch(/^outcome-unknown: no result was reported within 20s of approval/);
        // The outcome (unknown) has been told: the same call now proposes anew.
        const again = await call(second, 'slow', args);
        expect(actionIdIn(again)).not.toBe(id);
        expect(localLog(log).filter((l) => l === 'start approve-kill')).toHaveLength(1);
      } finally {
        await second.close();
      }
    });
  });

  describe('claims on disk', () => {
    it('when claims are an hour old, then those of ended or unknown actions are removed and those of actions still approved are kept, so nothing can run twice', async () => {
      const state = fs.mkdtempSync(path.join(dir, 'claims-'));
      const journal = new CallJournal(state);
      const calls = new GovernedCalls({ countersign: new Countersign({ url: stack.url, token }), journal, log: () => {} });
      // Ended: an allowed call, reported.
      const ended = (await stack.call(token, 'POST', '/v1/actions?wait=10', { action: 'mcp.local.echo', params: { text: 'ended' } })).body;
      expect(ended.status).toBe('approved');
      expect((await stack.call(token, 'POST', `/v1/actions/${ended.id}/result`, { ok: true, output: { text: 'ended' } })).body.status).toBe('succeeded');
      // Still approved: waiting for the report of a call that needed approval.
      const waiting = (await stack.call(token, 'POST', '/v1/actions?wait=10', { action: 'mcp.local.slow', params: { label: 'approve-claim', ms: 1 } })).body;
      expect(waiting.status).toBe('awaiting_approval');
      expect((await stack.call(reviewer, 'POST', `/v1/actions/${waiting.id}/decisions`, { decision: 'approve' })).status).toBe(200);
      expect((await view(waiting.id)).status).toBe('approved');
      // Ended but claimed lately: kept until it is an hour old.
      const recent = (await stack.call(token, 'POST', '/v1/actions?wait=10', { action: 'mcp.local.echo', params: { text: 'recent' } })).body;
      await stack.call(token, 'POST', `/v1/actions/${recent.id}/result`, { ok: true });
      const unknown = 'act_000000000000000000000000';
      for (const id of [ended.id, waiting.id, unknown, recent.id]) expect(journal.claim(id)).toBe(true);
      const hoursAgo = new Date(Date.now() - 2 * 3_600_000);
      for (const id of [ended.id, waiting.id, unknown]) fs.utimesSync(path.join(state, 'claims', id), hoursAgo, hoursAgo);

      expect(await calls.pruneClaims()).toBe(2);
      expect(fs.readdirSync(path.join(state, 'claims')).sort()).toEqual([waiting.id, recent.id].sort());
      // The approved action's claim still stands: no second run can take it.
      expect(journal.claim(waiting.id)).toBe(false);
      await calls.stop();
    });
  });
});
