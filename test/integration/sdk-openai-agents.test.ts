import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Agent, run, setTracingDisabled } from '@openai/agents';
import { ScriptedModel, assistantMessage, functionCall, modelResponder } from '@openai/agents/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Countersign } from '../../sdk/src/index';
import { governedTool } from '../../sdk/src/openai-agents';
import { sdkPolicy } from '../../sdk/test/policy';
import { eventually, startTestStack, type TestStack } from '../helpers/stack';
import { startTarget } from '../helpers/target';

setTracingDisabled(true);

/**
 * The real @openai/agents runner with the framework's own ScriptedModel (no network): the
 * model asks for `send_email` with `args`, then answers whatever the tool returned, so the
 * final output shows what the model's second turn saw.
 */
function scriptedAgent(tool: ReturnType<typeof governedTool>, args: Record<string, unknown>, callId: string) {
  const model = new ScriptedModel([
    [functionCall('send_email', args, { callId })],
    modelResponder((call) => {
      const input = call.request.input as unknown[];
      const result = input.find((i) => (i as { type?: string }).type === 'function_call_result') as { output?: unknown } | undefined;
      return [assistantMessage(`tool said: ${JSON.stringify(result?.output)}`)];
    }),
  ]);
  return { model, agent: new Agent({ name: 'mailer', instructions: 'Send emails when asked.', model, tools: [tool] }) };
}

describe('@countersign/sdk/openai-agents', () => {
  let stack: TestStack;
  let target: Awaited<ReturnType<typeof startTarget>>;
  let cs: Countersign;
  let agentToken: string;
  let reviewer: Countersign;
  const sent: { to: string; subject: string }[] = [];

  const sendEmail = () =>
    governedTool({
      client: cs,
      action: 'email.send',
      name: 'send_email',
      description: 'Send an email',
      parameters: z.object({ to: z.string(), subject: z.string() }),
      execute: async (input: { to: string; subject: string }) => {
        sent.push(input);
        return `sent to ${input.to}`;
      },
    });

  beforeAll(async () => {
    target = await startTarget();
    stack = await startTestStack(sdkPolicy(target.url));
    agentToken = await stack.principal('oa-agent', 'agent', ['agent']);
    cs = new Countersign({ url: stack.url, token: agentToken });
    reviewer = new Countersign({ url: stack.url, token: await stack.principal('rhea', 'human', ['reviewer'], ['comms']) });
  });
  afterAll(async () => {
    await stack?.stop();
    await target?.close();
  });

  const pendingFor = (to: string) =>
    eventually(async () => (await reviewer.approvals()).items.find((a) => (a.params as { to?: string }).to === to), 20_000, `an approval for ${to}`);
  const sentTo = (to: string) => sent.filter((s) => s.to === to);

  it('when policy allows the call, then the tool runs exactly once and the model sees its output', async () => {
    const { agent, model } = scriptedAgent(sendEmail(), { to: 'ops@example.com', subject: 'hi' }, 'call_allowed');
    const result = await run(agent, 'email ops');

    expect(sentTo('ops@example.com')).toEqual([{ to: 'ops@example.com', subject: 'hi' }]);
    expect(result.finalOutput).toContain('sent to ops@example.com');
    expect(model.calls).toHaveLength(2);
    const [action] = (await cs.list({ action: 'email.send', status: 'succeeded' })).items;
    expect(action).toMatchObject({ params: { to: 'ops@example.com' }, result: 'sent to ops@example.com' });
  });

  it('when policy denies the call, then the tool does not run and the model next turn sees the reason', async () => {
    const { agent } = scriptedAgent(sendEmail(), { to: 'boss@rival.test', subject: 'offer' }, 'call_denied');
    const result = await run(agent, 'email the rival');

    expect(sentTo('boss@rival.test')).toEqual([]);
    expect(result.finalOutput).toContain('denied');
    expect(result.finalOutput).toContain('Never email a competitor');
  });

  it('when approval is required, then the run waits until a reviewer decides, and a denial reason reaches the model', async () => {
    const { agent } = scriptedAgent(sendEmail(), { to: 'client@else.test', subject: 'quote' }, 'call_review_deny');
    let finished = false;
    const running = run(agent, 'send the quote').then((r) => ((finished = true), r));
    const pending = await pendingFor('client@else.test');
    await new Promise((r) => setTimeout(r, 300));
    expect(finished).toBe(false);
    expect(sentTo('client@else.test')).toEqual([]);

    await reviewer.decide(pending.id, { decision: 'deny', reason: 'quotes go out from sales, not from the bot' });
    const result = await running;
    expect(sentTo('client@else.test')).toEqual([]);
    expect(result.finalOutput).toContain('quotes go out from sales, not from the bot');
  });

  it('when the agent crashes while waiting and restarts on the same call, then it picks up the same action and the approval given meanwhile runs the tool once', async () => {
    // First life: the run waits for a reviewer, then the process dies (its run is aborted mid-wait).
    const first = scriptedAgent(sendEmail(), { to: 'vendor@else.test', subject: 'order' }, 'call_crash_1');
    const dying = new AbortController();
    const firstRun = run(first.agent, 'place the order', { signal: dying.signal }).catch((e: unknown) => e);
    const pending = await pendingFor('vendor@else.test');
    dying.abort(new Error('agent process killed'));
    await firstRun;
    expect(sentTo('vendor@else.test')).toEqual([]);

    // While no agent is running, the reviewer approves.
    await reviewer.decide(pending.id, { decision: 'approve', reason: 'ok' });

    // Second life: a new client and agent resume the same run (the model's recorded call, same call id).
    const revived = new Countersign({ url: stack.url, token: agentToken });
    const second = scriptedAgent(
      governedTool({
        client: revived,
        action: 'email.send',
        name: 'send_email',
        description: 'Send an email',
        parameters: z.object({ to: z.string(), subject: z.string() }),
        execute: async (input: { to: string; subject: string }) => {
          sent.push(input);
          return `sent to ${input.to}`;
        },
      }),
      { to: 'vendor@else.test', subject: 'order' },
      'call_crash_1',
    );
    const result = await run(second.agent, 'place the order');

    expect(result.finalOutput).toContain('sent to vendor@else.test');
    expect(sentTo('vendor@else.test')).toHaveLength(1);
    const mine = (await cs.list({ action: 'email.send' })).items.filter((a) => (a.params as { to: string }).to === 'vendor@else.test');
    expect(mine.map((a) => a.id)).toEqual([pending.id]);
    expect(mine[0].status).toBe('succeeded');
  });
  it('when the agent process is killed (SIGKILL) while waiting and started again, then the new process picks up the same action and runs the tool once', async () => {
    const markFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-agent-')), 'sent.log');
    const script = path.join(__dirname, '..', '..', 'sdk', 'test', 'agents', 'openai-agent-process.ts');
    const start = () => {
      const child = spawn(process.execPath, ['--import', 'tsx', script], {
        env: { ...process.env, COUNTERSIGN_URL: stack.url, COUNTERSIGN_TOKEN: agentToken, TO: 'killed@else.test', CALL_ID: 'call_killed', MARK_FILE: markFile },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (c) => (out += c));
      child.stderr.on('data', (c) => (err += c));
      const exited = new Promise<{ code: number | null; signal: string | null; out: string; err: string }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, out, err })));
      return { child, exited };
    };

    const first = start();
    const pending = await pendingFor('killed@else.test');
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    expect(fs.existsSync(markFile)).toBe(false);

    await reviewer.decide(pending.id, { decision: 'approve', reason: 'ok' });

    const second = await start().exited;
    expect(second.code, second.err).toBe(0);
    expect(JSON.parse(second.out.trim()).finalOutput).toContain('sent to killed@else.test');
    expect(fs.readFileSync(markFile, 'utf8')).toBe('sent to killed@else.test\n');
    const mine = (await cs.list({ action: 'email.send' })).items.filter((a) => (a.params as { to: string }).to === 'killed@else.test');
    expect(mine.map((a) => [a.id, a.status])).toEqual([[pending.id, 'succeeded']]);
  });
});
