import { describe, expect, it } from 'vitest';
import { GatewayConfigError, parseGatewayConfig } from '../../mcp/config';
import { approvedArgs } from '../../mcp/governed-calls';
import { ActionTaskStore } from '../../mcp/task-store';
import { actionNameFor } from '../../mcp/tools';

describe('MCP gateway, pure parts', () => {
  it('when a tool name has characters action names refuse, then the action lower-cases them and writes them as _', () => {
    expect(actionNameFor('files', 'read_file')).toBe('mcp.files.read_file');
    expect(actionNameFor('github', 'createIssue')).toBe('mcp.github.createissue');
    expect(actionNameFor('k8s', 'apply-manifest.v2')).toBe('mcp.k8s.apply_manifest_v2');
  });

  it('when a config names variables, then they are replaced after parsing and an unset one is an error with its line', () => {
    const text = 'countersign: { url: "http://cs:3000" }\nupstreams:\n  billing: { url: "http://b/mcp", headers: { x: "${TOKEN_A}: ${TOKEN_B}" } }\n';
    const c = parseGatewayConfig(text, '/etc/gw.yaml', { TOKEN_A: 'a', TOKEN_B: 'b: [not, yaml]', COUNTERSIGN_TOKEN: 't' });
    expect(c.upstreams[0]).toMatchObject({ kind: 'url', headers: { x: 'a: b: [not, yaml]' } });
    expect(c.countersign).toEqual({ url: 'http://cs:3000', token: 't' });
    expect(c.stateDir).toBe('/etc/.countersign-gateway');
    expect(() => parseGatewayConfig(text, '/etc/gw.yaml', { COUNTERSIGN_TOKEN: 't' })).toThrow(
      new GatewayConfigError('/etc/gw.yaml:3:49: upstreams.billing.headers.x: environment variable TOKEN_A is not set'),
    );
  });

  it('when upstream names, durations or keys are wrong, then the message names the key', () => {
    const base = (u: string) => `countersign: { url: "http://cs" }\nupstreams:\n${u}\n`;
    const fails = (u: string) => () => parseGatewayConfig(base(u), 'g.yaml', { COUNTERSIGN_TOKEN: 't' });
    expect(fails('  Files: { command: x }')).toThrow(/upstreams\.Files: upstream names are lower-case/);
    expect(fails('  files: { command: x, timeout: soon }')).toThrow(/upstreams\.files/);
    expect(fails('  files: { command: x, args: "-y" }')).toThrow(/upstreams\.files/);
    expect(() => parseGatewayConfig('countersign: { url: "http://cs" }\nupstreams: {}\n', 'g.yaml', { COUNTERSIGN_TOKEN: 't' })).toThrow(/name at least one upstream/);
  });

  it('when the approved params mask sensitive values, then the call\'s own values go upstream, and edits win elsewhere', () => {
    const call = { to: 'a@x', card: { number: '4111', cvc: '123' }, items: [{ iban: 'DE1' }, { iban: 'DE2' }], note: 'hi' };
    const approved = { to: 'b@x', card: { number: '***', cvc: '***' }, items: [{ iban: '***' }, { iban: '***' }], note: 'hi' };
    expect(approvedArgs(approved, call)).toEqual({ to: 'b@x', card: { number: '4111', cvc: '123' }, items: [{ iban: 'DE1' }, { iban: 'DE2' }], note: 'hi' });
  });

  it('when a task belongs to another session, then it is not found there', async () => {
    const store = new ActionTaskStore();
    const req = { method: 'tools/call', params: {} };
    const t = await store.createTask({ ttl: 1000, context: { actionId: 'act_1' } }, 1, req, 'session-a');
    expect(t).toMatchObject({ taskId: 'act_1', status: 'working' });
    expect(await store.getTask('act_1', 'session-b')).toBeNull();
    await store.storeTaskResult('act_1', 'completed', { content: [] }, 'session-a');
    expect((await store.getTask('act_1', 'session-a'))?.status).toBe('completed');
    // A terminal task does not change again.
    await store.updateTaskStatus('act_1', 'working', undefined, 'session-a');
    expect((await store.getTask('act_1', 'session-a'))?.status).toBe('completed');
    expect((await store.listTasks(undefined, 'session-b')).tasks).toEqual([]);
  });
});
