import { Command, MemorySaver } from '@langchain/langgraph';
import { FakeToolCallingModel, createAgent, humanInTheLoopMiddleware } from 'langchain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Countersign } from '../../sdk/src/index';
import { governedTool, hitlDecisions, type HitlRequestLike } from '../../sdk/src/langchain';
import { sdkPolicy } from '../../sdk/test/policy';
import { eventually, startTestStack, type TestStack } from '../helpers/stack';
import { startTarget } from '../helpers/target';

/** The last message of an agent run, as text (LangChain's fake model echoes what it was given). */
function lastText(state: { messages: { content: unknown }[] }): string {
  const c = state.messages.at(-1)?.content;
  return typeof c === 'string' ? c : JSON.stringify(c);
}

describe('@countersign/sdk/langchain', () => {
  let stack: TestStack;
  let target: Awaited<ReturnType<typeof startTarget>>;
  let agentToken: string;
  let reviewer: Countersign;
  const sent: { to: string; subject: string }[] = [];

  const sendEmail = (client: Countersign, keyFrom?: 'call' | 'arguments') =>
    governedTool({
      client,
      action: 'email.send',
      name: 'send_email',
      description: 'Send an email',
      schema: z.object({ to: z.string(), subject: z.string() }),
      keyFrom,
      execute: async (input: { to: string; subject: string }) => {
        sent.push(input);
        return `sent to ${input.to}`;
      },
    });
  /**
   * LangChain's own FakeToolCallingModel (no network): it asks for `send_email` with `args`, then
   * answers with the text of every message it was given (so the tool's output shows up in it).
   */
  const scriptedModel = (args: Record<string, unknown>, id: string) => new FakeToolCallingModel({ toolCalls: [[{ name: 'send_email', args, id }], []] });
  const client = () => new Countersign({ url: stack.url, token: agentToken });

  beforeAll(async () => {
    target = await startTarget();
    stack = await startTestStack(sdkPolicy(target.url));
    agentToken = await stack.principal('lc-agent', 'agent', ['agent']);
    reviewer = new Countersign({ url: stack.url, token: await stack.principal('rosa', 'human', ['reviewer'], ['comms']) });
  });
  afterAll(async () => {
    await stack?.stop();
    await target?.close();
  });

  const pendingFor = (to: string) =>
    eventually(async () => (await reviewer.approvals()).items.find((a) => (a.params as { to?: string }).to === to), 20_000, `an approval for ${to}`);
  const sentTo = (to: string) => sent.filter((s) => s.to === to);
  const actionsTo = async (to: string) => (await client().list({ action: 'email.send' })).items.filter((a) => (a.params as { to: string }).to === to);

  describe('governed tools', () => {
    it('when policy allows the call, then the tool runs exactly once and the model sees its output', async () => {
      const agent = createAgent({ model: scriptedModel({ to: 'ops@example.com', subject: 'hi' }, 'lc-allowed'), tools: [sendEmail(client())] });
      const state = await agent.invoke({ messages: [{ role: 'user', content: 'email ops' }] });

      expect(sentTo('ops@example.com')).toHaveLength(1);
      expect(lastText(state)).toContain('sent to ops@example.com');
      expect((await actionsTo('ops@example.com')).map((a) => a.status)).toEqual(['succeeded']);
    });

    it('when policy denies the call, then the tool does not run and the model next turn sees the reason', async () => {
      const agent = createAgent({ model: scriptedModel({ to: 'boss@rival.test', subject: 'offer' }, 'lc-denied'), tools: [sendEmail(client())] });
      const state = await agent.invoke({ messages: [{ role: 'user', content: 'email the rival' }] });

      expect(sentTo('boss@rival.test')).toEqual([]);
      expect(lastText(state)).toContain('Never email a competitor');
    });

    it('when approval is required, then the run waits until a reviewer approves, and the tool runs once', async () => {
      const agent = createAgent({ model: scriptedModel({ to: 'client@else.test', subject: 'quote' }, 'lc-review'), tools: [sendEmail(client())] });
      let finished = false;
      const running = agent.invoke({ messages: [{ role: 'user', content: 'send the quote' }] }).then((s) => ((finished = true), s));
      const pending = await pendingFor('client@else.test');
      await new Promise((r) => setTimeout(r, 300));
      expect(finished).toBe(false);

      await reviewer.decide(pending.id, { decision: 'approve', reason: 'fine' });
      expect(lastText(await running)).toContain('sent to client@else.test');
      expect(sentTo('client@else.test')).toHaveLength(1);
    });
  });

  describe('the human-in-the-loop middleware, decided in Countersign', () => {
    const hitlAgent = (model: FakeToolCallingModel, checkpointer: MemorySaver, c: Countersign) =>
      createAgent({
        model,
        tools: [sendEmail(c, 'arguments')],
        middleware: [humanInTheLoopMiddleware({ interruptOn: { send_email: true } })],
        checkpointer,
      });
    const interruptOf = (state: unknown) => ((state as { __interrupt__?: { value: HitlRequestLike }[] }).__interrupt__ ?? [])[0]?.value;

    it('when a reviewer denies, then the middleware rejects the call with the reason and the model sees it', async () => {
      const config = { configurable: { thread_id: 'thread-deny' } };
      const c = client();
      const agent = hitlAgent(scriptedModel({ to: 'press@else.test', subject: 'scoop' }, 'lc-h1'), new MemorySaver(), c);
      const interrupted = await agent.invoke({ messages: [{ role: 'user', content: 'tell the press' }] }, config);
      const request = interruptOf(interrupted);
      expect(request.actionRequests).toMatchObject([{ name: 'send_email', args: { to: 'press@else.test' } }]);

      const deciding = hitlDecisions(request, { tools: agent.options.tools ?? [], threadId: 'thread-deny' });
      const pending = await pendingFor('press@else.test');
      await reviewer.decide(pending.id, { decision: 'deny', reason: 'not before the launch' });
      const response = await deciding;
      expect(response.decisions).toMatchObject([{ type: 'reject', message: expect.stringContaining('not before the launch') }]);

      const state = await agent.invoke(new Command({ resume: response }), config);
      expect(sentTo('press@else.test')).toEqual([]);
      expect(lastText(state)).toContain('not before the launch');
    });

    it('when the agent process restarts while the decision is pending, then the new process picks up the same action from its checkpoint and the approval runs the tool once', async () => {
      const config = { configurable: { thread_id: 'thread-crash' } };
      // The checkpoint store outlives the process (in production: a Postgres or SQLite saver).
      const checkpointer = new MemorySaver();
      const first = hitlAgent(scriptedModel({ to: 'vendor@else.test', subject: 'order' }, 'lc-h2'), checkpointer, client());
      const interrupted = await first.invoke({ messages: [{ role: 'user', content: 'place the order' }] }, config);
      const dying = new AbortController();
      const firstWait = hitlDecisions(interruptOf(interrupted), { tools: first.options.tools ?? [], threadId: 'thread-crash', signal: dying.signal }).catch((e: unknown) => e);
      const pending = await pendingFor('vendor@else.test');
      dying.abort(new Error('agent process killed'));
      await firstWait;
      await reviewer.decide(pending.id, { decision: 'approve', reason: 'ok' });

      // The new process: new client, new agent, the interrupt read back from the checkpoint.
      const second = hitlAgent(scriptedModel({ to: 'vendor@else.test', subject: 'order' }, 'lc-h2'), checkpointer, client());
      const snapshot = await second.graph.getState(config);
      const request = snapshot.tasks.flatMap((t) => t.interrupts)[0]?.value as HitlRequestLike;
      const response = await hitlDecisions(request, { tools: second.options.tools ?? [], threadId: 'thread-crash' });
      expect(response.decisions).toEqual([{ type: 'approve' }]);

      const state = await second.invoke(new Command({ resume: response }), config);
      expect(lastText(state)).toContain('sent to vendor@else.test');
      expect(sentTo('vendor@else.test')).toHaveLength(1);
      expect((await actionsTo('vendor@else.test')).map((a) => [a.id, a.status])).toEqual([[pending.id, 'succeeded']]);
    });
  });
});
