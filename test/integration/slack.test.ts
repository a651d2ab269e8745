import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transferAction } from '../fixtures/policy';
import { eventually, startTestStack, type TestStack } from '../helpers/stack';
import { startTarget } from '../helpers/target';

const SIGNING_SECRET = 'slack-signing-secret-for-the-test';
const BOT_TOKEN = 'xoxb-test-bot-token';

describe('Slack approvals', () => {
  let stack: TestStack;
  let target: Awaited<ReturnType<typeof startTarget>>;
  /** A local stand-in for Slack's Web API (chat.postMessage, chat.update, chat.postEphemeral). */
  let slackApi: Awaited<ReturnType<typeof startTarget>>;
  let agent: string;
  let operator: string;

  beforeAll(async () => {
    target = await startTarget();
    let n = 0;
    slackApi = await startTarget((req) => {
      if (req.path === '/chat.postMessage') return { status: 200, body: { ok: true, channel: req.body.channel, ts: `1700000000.${String(++n).padStart(6, '0')}` } };
      if (req.path === '/chat.update') return { status: 200, body: { ok: true, channel: req.body.channel, ts: req.body.ts } };
      if (req.path === '/chat.postEphemeral') return { status: 200, body: { ok: true, message_ts: '1700000001.000001' } };
      return { status: 200, body: { ok: false, error: 'unknown_method' } };
    });
    stack = await startTestStack(
      `
defaults:
  decision: deny
  approval: { timeout: 1h, onTimeout: deny }
actions:
${transferAction(target.url)}
rules:
  - id: big-needs-leads-soon
    action: payments.transfer
    when: params.amount > 5000
    decision: require_approval
    approval:
      steps:
        - { group: finance, quorum: 1, timeout: 2s, escalateTo: [ { group: finance-leads, timeout: 1h } ] }
  - id: needs-finance
    action: payments.transfer
    when: params.amount > 100
    decision: require_approval
    reason: Transfers over 100 need a finance approver
    approval:
      steps:
        - { group: finance, quorum: 1, timeout: 1h, remindEvery: 3s }
notifications:
  slack:
    finance: { channel: C0FINANCE }
    finance-leads: { channel: C0LEADS }
`,
      { slack: { botToken: BOT_TOKEN, signingSecret: SIGNING_SECRET, apiUrl: slackApi.url } },
    );
    agent = await stack.principal('agent-1', 'agent', ['agent']);
    operator = await stack.principal('olga', 'human', ['operator']);
    await stack.principal('alice', 'human', ['reviewer'], ['finance']);
    await stack.principal('lena', 'human', ['reviewer'], ['legal']);
    expect((await stack.call(stack.admin, 'PATCH', '/v1/principals/alice', { slackUserId: 'U0ALICE' })).status).toBe(200);
    expect((await stack.call(stack.admin, 'PATCH', '/v1/principals/lena', { slackUserId: 'U0LENA' })).status).toBe(200);
  });
  afterAll(async () => {
    await stack?.stop();
    await target?.close();
    await slackApi?.close();
  });

  const propose = async (amount: number) => {
    const r = await stack.call(agent, 'POST', '/v1/actions?wait=20', { action: 'payments.transfer', params: { amount, currency: 'EUR', to: 'acct' } });
    expect(r.status).toBe(201);
    expect(r.body.status).toBe('awaiting_approval');
    return r.body as { id: string };
  };
  const status = async (id: string) => (await stack.call(operator, 'GET', `/v1/actions/${id}`)).body.status as string;
  const calls = (method: string, actionId?: string) =>
    slackApi.received.filter((r) => r.path === `/${method}` && (actionId === undefined || JSON.stringify(r.body).includes(actionId)));
  const posted = (actionId: string) => eventually(async () => calls('chat.postMessage', actionId)[0], 20_000, 'the Slack message');

  /** A click on a button, as Slack sends it: a form with a JSON payload, signed. */
  function interaction(opts: { user: string; actionId: string; decision: 'approve' | 'deny'; ts?: number; secret?: string; messageTs?: string; value?: string }) {
    const payload = {
      type: 'block_actions',
      user: { id: opts.user, username: opts.user.toLowerCase(), team_id: 'T0TEAM' },
      team: { id: 'T0TEAM', domain: 'corp' },
      api_app_id: 'A0APP',
      container: { type: 'message', message_ts: opts.messageTs ?? '1700000000.000001', channel_id: 'C0FINANCE', is_ephemeral: false },
      channel: { id: 'C0FINANCE', name: 'finance' },
      message: { ts: opts.messageTs ?? '1700000000.000001' },
      trigger_id: '1234.5678.abcd',
      response_url: 'https://hooks.slack.invalid/actions/T0TEAM/1/abc',
      actions: [{ type: 'button', action_id: `countersign_${opts.decision}`, block_id: 'countersign_decision', value: opts.value ?? opts.actionId, action_ts: `${Date.now() / 1000}` }],
    };
    const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
    const ts = String(opts.ts ?? Math.floor(Date.now() / 1000));
    const signature = `v0=${createHmac('sha256', opts.secret ?? SIGNING_SECRET).update(`v0:${ts}:${body}`).digest('hex')}`;
    return { body, headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': ts, 'x-slack-signature': signature } };
  }
  const send = (i: { body: string; headers: Record<string, string> }) => fetch(`${stack.url}/v1/integrations/slack/interactions`, { method: 'POST', headers: i.headers, body: i.body });

  it('when an action needs the finance group, then a message with Approve and Deny buttons is posted to its channel with the bot token, and reminders update it', async () => {
    const { id } = await propose(500);
    const post = await posted(id);
    expect(post.headers.authorization).toBe(`Bearer ${BOT_TOKEN}`);
    expect(post.body.channel).toBe('C0FINANCE');
    const buttons = post.body.blocks.find((b: { type: string }) => b.type === 'actions').elements;
    // Each button carries the action and the digest of the params the message shows.
    const digest = (await stack.call(operator, 'GET', `/v1/actions/${id}`)).body.approval.digest;
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(buttons.map((b: { text: { text: string }; value: string }) => [b.text.text, JSON.parse(b.value)])).toEqual([
      ['Approve', { actionId: id, digest }],
      ['Deny', { actionId: id, digest }],
    ]);
    expect(JSON.stringify(post.body)).toContain('payments.transfer');
    // The reminder (every 3 s) updates the same message instead of posting another.
    const update = await eventually(async () => calls('chat.update', id)[0], 20_000, 'a reminder update');
    const first = (await stack.pool.query('SELECT ts FROM slack_messages WHERE action_id = $1', [id])).rows[0].ts;
    expect(update.body).toMatchObject({ channel: 'C0FINANCE', ts: first });
    expect(update.body.text).toMatch(/Reminder/);
    expect(calls('chat.postMessage', id)).toHaveLength(1);
  });

  it('when the approval escalates, then the new group\'s channel gets the message with buttons and the first channel\'s message is updated', async () => {
    const { id } = await propose(6000);
    await posted(id);
    const leads = await eventually(async () => calls('chat.postMessage', id).find((c) => c.body.channel === 'C0LEADS'), 20_000, 'the post to the leads channel');
    expect(leads.body.text).toMatch(/Escalated/);
    expect(leads.body.blocks.some((b: { type: string }) => b.type === 'actions')).toBe(true);
    const financeTs = (await stack.pool.query("SELECT ts FROM slack_messages WHERE action_id = $1 AND channel = 'C0FINANCE'", [id])).rows[0].ts;
    await eventually(async () => calls('chat.update', id).find((c) => c.body.ts === financeTs && /Escalated/.test(c.body.text)), 20_000, 'the finance message updated');
    expect((await stack.pool.query('SELECT channel FROM slack_messages WHERE action_id = $1 ORDER BY channel', [id])).rows.map((r) => r.channel)).toEqual(['C0FINANCE', 'C0LEADS']);
  });

  it('when the signature is forged, or the body altered, then 401 and nothing is decided (attack: forged Slack signature)', async () => {
    const { id } = await propose(600);
    const forged = interaction({ user: 'U0ALICE', actionId: id, decision: 'approve', secret: 'not-the-signing-secret' });
    expect((await send(forged)).status).toBe(401);
    const genuine = interaction({ user: 'U0ALICE', actionId: id, decision: 'deny' });
    const altered = { ...genuine, body: genuine.body.replace('countersign_deny', 'countersign_approve') };
    expect((await send(altered)).status).toBe(401);
    expect((await send({ ...genuine, headers: { 'content-type': genuine.headers['content-type'] } })).status).toBe(401);
    await new Promise((r) => setTimeout(r, 500));
    expect(await status(id)).toBe('awaiting_approval');
  });

  it('when a correctly signed request is more than 5 minutes old, then 401 and nothing is decided (attack: replayed request)', async () => {
    const { id } = await propose(700);
    const stale = interaction({ user: 'U0ALICE', actionId: id, decision: 'approve', ts: Math.floor(Date.now() / 1000) - 6 * 60 });
    const r = await send(stale);
    expect(r.status).toBe(401);
    expect(((await r.json()) as { type: string }).type).toMatch(/unauthorized$/);
    await new Promise((r) => setTimeout(r, 500));
    expect(await status(id)).toBe('awaiting_approval');
  });

  it('when a Slack user linked to no principal clicks Approve, then Slack gets an ephemeral explanation and nothing is decided', async () => {
    const { id } = await propose(800);
    const r = await send(interaction({ user: 'U0STRANGER', actionId: id, decision: 'approve' }));
    expect(r.status).toBe(200);
    const ephemeral = await eventually(async () => calls('chat.postEphemeral').find((c) => c.body.user === 'U0STRANGER'), 5000, 'the ephemeral note');
    expect(ephemeral.body.text).toMatch(/not linked/);
    expect(await status(id)).toBe('awaiting_approval');
  });

  it('when a linked reviewer outside the eligible group clicks Approve, then the same eligibility rules refuse it, with an ephemeral explanation', async () => {
    const { id } = await propose(900);
    expect((await send(interaction({ user: 'U0LENA', actionId: id, decision: 'approve' }))).status).toBe(200);
    const ephemeral = await eventually(async () => calls('chat.postEphemeral').find((c) => c.body.user === 'U0LENA'), 5000, 'the ephemeral note');
    expect(ephemeral.body.text).toMatch(/Nothing was decided/);
    expect(await status(id)).toBe('awaiting_approval');
  });

  it('when a disabled principal clicks, then it is treated as unlinked', async () => {
    await stack.principal('dan', 'human', ['reviewer'], ['finance']);
    await stack.call(stack.admin, 'PATCH', '/v1/principals/dan', { slackUserId: 'U0DAN', disabled: true });
    const { id } = await propose(950);
    expect((await send(interaction({ user: 'U0DAN', actionId: id, decision: 'approve' }))).status).toBe(200);
    await eventually(async () => calls('chat.postEphemeral').find((c) => c.body.user === 'U0DAN'), 5000, 'the ephemeral note');
    expect(await status(id)).toBe('awaiting_approval');
  });

  it('when a click carries the digest of params that are no longer the action\'s, then nothing is decided and an ephemeral says the message is stale (attack: outdated message)', async () => {
    const { id } = await propose(990);
    await posted(id);
    const stale = JSON.stringify({ actionId: id, digest: `sha256:${'0'.repeat(64)}` });
    expect((await send(interaction({ user: 'U0ALICE', actionId: id, decision: 'approve', value: stale }))).status).toBe(200);
    const ephemeral = await eventually(async () => calls('chat.postEphemeral').find((c) => c.body.user === 'U0ALICE' && /changed/.test(c.body.text)), 5000, 'the stale note');
    expect(ephemeral.body.text).toMatch(/Nothing was decided/);
    expect(await status(id)).toBe('awaiting_approval');
  });

  it('when the linked eligible reviewer clicks Approve, then Slack is answered at once, the action is approved and executes, the evidence says slack, and the message shows the outcome without buttons', async () => {
    const { id } = await propose(1000);
    const post = await posted(id);
    const approve = post.body.blocks.find((b: { type: string }) => b.type === 'actions').elements[0].value as string;
    const started = Date.now();
    const r = await send(interaction({ user: 'U0ALICE', actionId: id, decision: 'approve', value: approve }));
    expect(r.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(3000);
    await eventually(async () => (await status(id)) === 'succeeded', 30_000, 'the action to succeed');
    const { rows } = await stack.pool.query("SELECT actor_id, data FROM ledger_events WHERE action_id = $1 AND type = 'decision_recorded'", [id]);
    expect(rows[0].actor_id).toBe('alice');
    expect(rows[0].data).toMatchObject({ decision: 'approve', via: 'slack', identity: { method: 'slack', subject: 'U0ALICE', issuer: 'slack:T0TEAM' } });
    const final = await eventually(
      async () => calls('chat.update', id).find((c) => !c.body.blocks.some((b: { type: string }) => b.type === 'actions') && /succeeded/.test(c.body.text)),
      20_000,
      'the outcome update',
    );
    const stored = await stack.pool.query('SELECT channel_id, ts FROM slack_messages WHERE action_id = $1', [id]);
    expect(stored.rows).toEqual([{ channel_id: 'C0FINANCE', ts: final.body.ts }]);
    // A second click on the decided action decides nothing more: an ephemeral says why.
    await send(interaction({ user: 'U0ALICE', actionId: id, decision: 'deny' }));
    await eventually(async () => calls('chat.postEphemeral').filter((c) => c.body.user === 'U0ALICE').length > 0, 5000, 'the refusal note');
    expect(await status(id)).toBe('succeeded');
  });

  it('when the linked eligible reviewer clicks Deny, then the action is denied with a reason the agent sees', async () => {
    const { id } = await propose(1100);
    await posted(id);
    expect((await send(interaction({ user: 'U0ALICE', actionId: id, decision: 'deny' }))).status).toBe(200);
    await eventually(async () => (await status(id)) === 'denied', 20_000, 'the action to be denied');
    const view = (await stack.call(agent, 'GET', `/v1/actions/${id}`)).body;
    expect(JSON.stringify(view)).toContain('denied in Slack');
  });
});
