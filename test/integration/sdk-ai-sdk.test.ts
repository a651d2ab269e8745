import { generateText, isStepCount } from 'ai';
import { MockLanguageModelV4 } from 'ai/test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { countersignToolApproval, governedTool } from '../../sdk/src/ai-sdk';
import { Countersign } from '../../sdk/src/index';
import { sdkPolicy } from '../../sdk/test/policy';
import { eventually, startTestStack, type TestStack } from '../helpers/stack';
import { startTarget } from '../helpers/target';

const usage = {
  inputTokens: { total: 1, noCache: 1, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 1, text: 1, reasoning: undefined },
};

/**
 * The AI SDK's own MockLanguageModelV4 (no network), scripted: until it has a tool result it
 * calls `send_email` with `args`; then it answers with what the tool result said, so the final
 * text shows what the model's next turn saw.
 */
function scriptedModel(args: Record<string, unknown>, toolCallId: string) {
  return new MockLanguageModelV4({
    doGenerate: async (options) => {
      const toolMessage = options.prompt.filter((m) => m.role === 'tool').at(-1);
      if (!toolMessage) {
        return { content: [{ type: 'tool-call', toolCallId, toolName: 'send_email', input: JSON.stringify(args) }], finishReason: { unified: 'tool-calls', raw: undefined }, usage, warnings: [] };
      }
      return { content: [{ type: 'text', text: `tool said: ${JSON.stringify(toolMessage.content)}` }], finishReason: { unified: 'stop', raw: undefined }, usage, warnings: [] };
    },
  });
}

describe('@countersign/sdk/ai-sdk', () => {
  let stack: TestStack;
  let target: Awaited<ReturnType<typeof startTarget>>;
  let agentToken: string;
  let reviewer: Countersign;
  const sent: { to: string; subject: string }[] = [];

  /** The tools as an agent process builds them (a new client per process). */
  const toolsFor = (client: Countersign) => ({
    send_email: governedTool({
      client,
      action: 'email.send',
      description: 'Send an email',
      inputSchema: z.object({ to: z.string(), subject: z.string() }),
      execute: async (input: { to: string; subject: string }) => {
        sent.push(input);
        return `sent to ${input.to}`;
      },
    }),
  });
  const agentRun = (args: Record<string, unknown>, toolCallId: string, abortSignal?: AbortSignal) =>
    generateText({
      model: scriptedModel(args, toolCallId),
      tools: toolsFor(new Countersign({ url: stack.url, token: agentToken })),
      toolApproval: countersignToolApproval({ signal: abortSignal }),
      stopWhen: isStepCount(3),
      prompt: 'do the task',
      abortSignal,
    });

  beforeAll(async () => {
    target = await startTarget();
    stack = await startTestStack(sdkPolicy(target.url));
    agentToken = await stack.principal('ai-agent', 'agent', ['agent']);
    reviewer = new Countersign({ url: stack.url, token: await stack.principal('ravi', 'human', ['reviewer'], ['comms']) });
  });
  afterAll(async () => {
    await stack?.stop();
    await target?.close();
  });

  const agentClient = () => new Countersign({ url: stack.url, token: agentToken });
  const pendingFor = (to: string) =>
    eventually(async () => (await reviewer.approvals()).items.find((a) => (a.params as { to?: string }).to === to), 20_000, `an approval for ${to}`);
  const sentTo = (to: string) => sent.filter((s) => s.to === to);
  const actionsTo = async (to: string) => (await agentClient().list({ action: 'email.send' })).items.filter((a) => (a.params as { to: string }).to === to);

  it('when policy allows the call, then the tool runs exactly once, its result is reported, and the model sees it', async () => {
    const result = await agentRun({ to: 'ops@example.com', subject: 'hi' }, 'tc-allowed');

    expect(sentTo('ops@example.com')).toEqual([{ to: 'ops@example.com', subject: 'hi' }]);
    expect(result.text).toContain('sent to ops@example.com');
    const actions = await actionsTo('ops@example.com');
    expect(actions).toHaveLength(1);
    expect(actions[0]).toMatchObject({ status: 'succeeded', result: 'sent to ops@example.com' });
  });

  it('when policy denies the call, then the approval step denies it and the model next turn sees the reason', async () => {
    const result = await agentRun({ to: 'boss@rival.test', subject: 'offer' }, 'tc-denied');

    expect(sentTo('boss@rival.test')).toEqual([]);
    expect(result.text).toContain('Never email a competitor');
    // The SDK's own denied tool result carried it.
    expect(result.text).toContain('execution-denied');
  });

  it('when approval is required, then the step waits until a reviewer approves, and the tool runs once', async () => {
    let finished = false;
    const running = agentRun({ to: 'client@else.test', subject: 'quote' }, 'tc-review').then((r) => ((finished = true), r));
    const pending = await pendingFor('client@else.test');
    await new Promise((r) => setTimeout(r, 300));
    expect(finished).toBe(false);
    expect(sentTo('client@else.test')).toEqual([]);

    await reviewer.decide(pending.id, { decision: 'approve', reason: 'fine' });
    const result = await running;
    expect(result.text).toContain('sent to client@else.test');
    expect(sentTo('client@else.test')).toHaveLength(1);
    expect((await actionsTo('client@else.test')).map((a) => [a.id, a.status])).toEqual([[pending.id, 'succeeded']]);
  });

  it('when a reviewer denies, then the model next turn sees the reviewer reason', async () => {
    const running = agentRun({ to: 'press@else.test', subject: 'scoop' }, 'tc-review-deny');
    const pending = await pendingFor('press@else.test');
    await reviewer.decide(pending.id, { decision: 'deny', reason: 'no press contact before the launch' });

    const result = await running;
    expect(sentTo('press@else.test')).toEqual([]);
    expect(result.text).toContain('no press contact before the launch');
  });

  it('when the agent crashes while waiting and restarts on the same call, then it picks up the same action and the approval given meanwhile runs the tool once', async () => {
    const dying = new AbortController();
    const firstLife = agentRun({ to: 'vendor@else.test', subject: 'order' }, 'tc-crash', dying.signal).catch((e: unknown) => e);
    const pending = await pendingFor('vendor@else.test');
    dying.abort(new Error('agent process killed'));
    expect(await firstLife).toBeInstanceOf(Error);
    await reviewer.decide(pending.id, { decision: 'approve', reason: 'ok' });

    // A new process: new client, new tools, the same recorded tool call (same id and arguments).
    const result = await agentRun({ to: 'vendor@else.test', subject: 'order' }, 'tc-crash');
    expect(result.text).toContain('sent to vendor@else.test');
    expect(sentTo('vendor@else.test')).toHaveLength(1);
    expect((await actionsTo('vendor@else.test')).map((a) => [a.id, a.status])).toEqual([[pending.id, 'succeeded']]);
  });

  it('when the approval step holds only briefly, then the run ends with a tool-approval-request naming the action, and resuming after the decision runs the tool once', async () => {
    const model = scriptedModel({ to: 'later@else.test', subject: 'follow-up' }, 'tc-hold');
    const tools = toolsFor(agentClient());
    const toolApproval = countersignToolApproval<typeof tools>({ holdMs: 500 });
    const first = await generateText({ model, tools, toolApproval, stopWhen: isStepCount(3), prompt: 'follow up later' });
    const request = first.content.find((p) => p.type === 'tool-approval-request');
    expect(request).toBeDefined();
    expect((request as { reason?: string }).reason).toMatch(/^PENDING\. email\.send \(Countersign action act_/);
    expect(sentTo('later@else.test')).toEqual([]);

    const pending = await pendingFor('later@else.test');
    await reviewer.decide(pending.id, { decision: 'approve', reason: 'go ahead' });
    // The application answers the request; the approval step asks Countersign again and the tool runs.
    const resumed = await generateText({
      model,
      tools,
      toolApproval,
      stopWhen: isStepCount(3),
      messages: [
        { role: 'user', content: 'follow up later' },
        ...first.response.messages,
        { role: 'tool', content: [{ type: 'tool-approval-response', approvalId: (request as { approvalId: string }).approvalId, approved: true }] },
      ],
    });
    expect(resumed.text).toContain('sent to later@else.test');
    expect(sentTo('later@else.test')).toHaveLength(1);
    expect((await actionsTo('later@else.test')).map((a) => [a.id, a.status])).toEqual([[pending.id, 'succeeded']]);
  });

  it('when used without the approval hook, then a denial is the tool output with the reason', async () => {
    const result = await generateText({
      model: scriptedModel({ to: 'cfo@rival.test', subject: 'x' }, 'tc-plain'),
      tools: toolsFor(agentClient()),
      stopWhen: isStepCount(3),
      prompt: 'do the task',
    });
    expect(sentTo('cfo@rival.test')).toEqual([]);
    expect(result.text).toContain('NOT DONE');
    expect(result.text).toContain('Never email a competitor');
  });
});
