import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack';
import { startTarget } from '../helpers/target';

// Budgets and rate limits in policy (docs/controls.md): usage figures gathered by the policy
// activity under a per-agent lock, against the real worker, Temporal and Postgres.
const policy = (targetUrl: string) => `
defaults: { decision: deny, approval: { timeout: 1h, onTimeout: deny } }
actions:
  payments.transfer:
    owner: finance
    category: financial
    params:
      type: object
      required: [amount, to]
      properties: { amount: { type: number }, to: { type: string } }
    executor: { type: http, url: "${targetUrl}/transfers" }
  email.send:
    owner: comms
    category: external_communication
    params: { type: object, properties: { to: { type: string } } }
    executor: { type: http, url: "${targetUrl}/email" }
rules:
  - id: daily-cap
    action: payments.transfer
    when: usage.sum("amount", "24h") + params.amount > 1000
    decision: deny
    reason: over the daily cap of 1000
  - id: big
    action: payments.transfer
    when: params.amount > 400
    decision: require_approval
    approval: { steps: [ { group: finance, quorum: 1, timeout: 1h } ] }
  - id: small
    action: payments.transfer
    when: params.amount <= 400
    decision: allow
  - id: email-rate
    action: email.send
    when: usage.count("1h") >= 3
    decision: deny
  - id: agent-rate
    action: email.send
    when: usage.agent.count("1h") >= 4
    decision: deny
  - id: emails
    action: email.send
    decision: allow
`;

describe('usage: budgets and rate limits in policy', () => {
  let stack: TestStack;
  let target: Awaited<ReturnType<typeof startTarget>>;
  let operator: string;
  let reviewer: string;
  const agents: Record<string, string> = {};

  beforeAll(async () => {
    target = await startTarget();
    stack = await startTestStack(policy(target.url));
    operator = await stack.principal('olga', 'human', ['operator']);
    reviewer = await stack.principal('rita', 'human', ['reviewer'], ['finance']);
    for (const id of ['racer', 'editor', 'editor2', 'mailer', 'raceeditor', 'noter', 'wide']) agents[id] = await stack.principal(id, 'agent', ['agent']);
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
    await target?.close();
  });

  const propose = (agent: string, action: string, params: Record<string, unknown>) => stack.call(agents[agent], 'POST', '/v1/actions?wait=20', { action, params });

  it('when 30 proposals of 100 race under a cap of 1000, then exactly 10 fit and 20 are denied by the cap', async () => {
    // A token used once is known good: its first burst is not counted against the address's budget of failed authentications.
    expect((await stack.call(agents.racer, 'GET', '/v1/actions?limit=1')).status).toBe(200);
    // All at once, without ?wait (an agent may hold only 20 long polls open), then read each outcome.
    const started = await Promise.all(
      Array.from({ length: 30 }, (_, i) => stack.call(agents.racer, 'POST', '/v1/actions', { action: 'payments.transfer', params: { amount: 100, to: `p${i}` } })),
    );
    expect(started.map((a) => (a.status === 201 ? 201 : `${a.status} ${JSON.stringify(a.body)}`))).toEqual(started.map(() => 201));
    const answers = [];
    for (const a of started) answers.push(await stack.call(agents.racer, 'GET', `/v1/actions/${a.body.id}?wait=20`));
    const statuses = answers.map((a) => a.body.status);
    expect(statuses.filter((s) => s === 'succeeded')).toHaveLength(10);
    expect(statuses.filter((s) => s === 'denied')).toHaveLength(20);
    for (const a of answers.filter((x) => x.body.status === 'denied')) expect(a.body.policy.ruleIds).toContain('daily-cap');
    // The figures each decision saw are evidence: ten distinct sums 0..900 were seen by the ones that fit.
    const { rows } = await stack.pool.query<{ data: { decision: string; usage: Record<string, number> } }>(
      "SELECT e.data FROM ledger_events e JOIN actions a ON a.id = e.action_id WHERE a.agent = 'racer' AND e.type = 'policy_decided'",
    );
    const fitted = rows.filter((r) => r.data.decision === 'allow').map((r) => r.data.usage['sum:amount:24h']).sort((x, y) => x - y);
    expect(fitted).toEqual([0, 100, 200, 300, 400, 500, 600, 700, 800, 900]);
  });

  it('when an action is pending, then it counts; when a reviewer edits it, then the edited params count', async () => {
    const pending = await propose('editor', 'payments.transfer', { amount: 600, to: 'x' });
    expect(pending.body.status).toBe('awaiting_approval');
    expect((await propose('editor', 'payments.transfer', { amount: 300, to: 'y' })).body.status).toBe('succeeded'); // 600 + 300
    expect((await propose('editor', 'payments.transfer', { amount: 250, to: 'z' })).body.status).toBe('denied'); // 900 + 250
    // Approve with edits: 600 -> 450; the edit is checked against the budget too (300 + 450 fits).
    const edited = await stack.call(reviewer, 'POST', `/v1/actions/${pending.body.id}/decisions`, { decision: 'approve', params: { amount: 450, to: 'x' } });
    expect(edited.status).toBe(200);
    // 450 + 300 + 250 = 1000: fits now, where the 600 did not leave room.
    expect((await propose('editor', 'payments.transfer', { amount: 250, to: 'z' })).body.status).toBe('succeeded');
  });

  it('when an edit would break the budget, then it is refused (422 edit-denied) and changes nothing', async () => {
    const pending = await propose('editor2', 'payments.transfer', { amount: 500, to: 'q' });
    expect(pending.body.status).toBe('awaiting_approval');
    expect((await propose('editor2', 'payments.transfer', { amount: 400, to: 'r' })).body.status).toBe('succeeded'); // 500 + 400
    // 400 + 700 would pass 1000: the edit is denied by the cap and the pending action keeps its params.
    const refused = await stack.call(reviewer, 'POST', `/v1/actions/${pending.body.id}/decisions`, { decision: 'approve', params: { amount: 700, to: 'q' } });
    expect(refused.status).toBe(422);
    expect(refused.body.type).toMatch(/edit-denied$/);
    const after = await stack.call(operator, 'GET', `/v1/actions/${pending.body.id}`);
    expect(after.body).toMatchObject({ status: 'awaiting_approval', params: { amount: 500 } });
  });

  it('when an agent sends mail, then usage.count counts this action name and usage.agent.count every action of the agent', async () => {
    expect((await propose('mailer', 'payments.transfer', { amount: 10, to: 'a' })).body.status).toBe('succeeded');
    expect((await propose('mailer', 'email.send', { to: 'a' })).body.status).toBe('succeeded'); // agent 1
    expect((await propose('mailer', 'email.send', { to: 'b' })).body.status).toBe('succeeded'); // agent 2
    expect((await propose('mailer', 'email.send', { to: 'c' })).body.status).toBe('succeeded'); // agent 3, email 2
    const fourth = await propose('mailer', 'email.send', { to: 'd' }); // agent 4 -> agent-rate; email 3 -> email-rate
    expect(fourth.body.status).toBe('denied');
    expect(fourth.body.policy.ruleIds).toEqual(['email-rate', 'agent-rate', 'emails']);
  });

  it('when an operator dry-runs a proposal, then the figures come from the recorded actions', async () => {
    const r = await stack.call(operator, 'POST', '/v1/policy/evaluate', { action: 'payments.transfer', params: { amount: 100, to: 'x' }, agent: 'racer' });
    expect(r.status).toBe(200);
    expect(r.body.usage).toEqual({ 'sum:amount:24h': 1000 });
    expect(r.body.decision).toBe('deny');
    const other = await stack.call(operator, 'POST', '/v1/policy/evaluate', { action: 'payments.transfer', params: { amount: 100, to: 'x' }, agent: 'nobody-yet' });
    expect(other.body).toMatchObject({ decision: 'allow', usage: { 'sum:amount:24h': 0 } });
  });

  it('when a candidate bundle with a budget is backtested, then each recorded action is decided with the usage recorded before it', async () => {
    const tighter = policy(target.url).replace('usage.sum("amount", "24h") + params.amount > 1000', 'usage.sum("amount", "24h") + params.amount > 500');
    const r = await stack.call(operator, 'POST', '/v1/policy/backtest', tighter, { 'content-type': 'application/yaml' });
    expect(r.status).toBe(200);
    // The racer's 6th..10th allowed transfers (sums 500..900 before them) would be denied now.
    const toDeny = r.body.changes.filter((c: { from: string; to: string }) => c.from === 'allow' && c.to === 'deny');
    expect(toDeny.reduce((n: number, c: { count: number }) => n + c.count, 0)).toBeGreaterThanOrEqual(5);
  });

  it('when a bundle has a bad window or a params path the schema lacks, then PUT /v1/policy answers 422 with line and column and the active bundle stays', async () => {
    const before = (await stack.call(operator, 'GET', '/v1/policy')).body.version;
    const bad = policy(target.url).replace('usage.sum("amount", "24h")', 'usage.sum("amount", "1 fortnight")').replace('usage.count("1h")', 'usage.count("2h")').replace('usage.agent.count("1h")', 'usage.sum("amont", "1h") > 1.0 || usage.agent.count("1h")');
    const r = await stack.call(operator, 'PUT', '/v1/policy', bad, { 'content-type': 'application/yaml' });
    expect(r.status).toBe(422);
    expect(r.headers.get('content-type')).toContain('application/problem+json');
    const messages = r.body.errors.map((e: { message: string; line: number; column: number }) => `${e.line}:${e.column} ${e.message}`);
    expect(messages, JSON.stringify(messages)).toEqual([
      expect.stringMatching(/^20:31 CEL: usage.sum: window "1 fortnight" is not a duration/),
      expect.stringMatching(/^38:21 CEL: usage.sum\("amont", "1h"\): params has no amont \(it has to\) in the params schema of email.send/),
    ]);
    expect((await stack.call(operator, 'GET', '/v1/policy')).body.version).toBe(before);
  });

  it('when two reviewers edit two pending actions at once and each edit fits alone but not both, then exactly one is taken', async () => {
    // 401 + 401: both pending (over 400), both under the cap of 1000.
    const a = await propose('raceeditor', 'payments.transfer', { amount: 401, to: 'a' });
    const b = await propose('raceeditor', 'payments.transfer', { amount: 401, to: 'b' });
    expect([a.body.status, b.body.status]).toEqual(['awaiting_approval', 'awaiting_approval']);
    // Each alone: 401 + 599 = 1000 fits. Both: 1198 does not.
    const [ea, eb] = await Promise.all([
      stack.call(reviewer, 'POST', `/v1/actions/${a.body.id}/decisions`, { decision: 'approve', params: { amount: 599, to: 'a' } }),
      stack.call(reviewer, 'POST', `/v1/actions/${b.body.id}/decisions`, { decision: 'approve', params: { amount: 599, to: 'b' } }),
    ]);
    expect([ea.status, eb.status].sort()).toEqual([200, 422]);
    expect([ea, eb].find((r) => r.status === 422)?.body.type).toMatch(/edit-denied$/);
    const amounts = [];
    for (const id of [a.body.id, b.body.id]) amounts.push((await stack.call(operator, 'GET', `/v1/actions/${id}?wait=20`)).body.params.amount);
    expect(amounts.sort()).toEqual([401, 599]);
  });

  it('when a rule reads usage.agent.count, then a proposal of an action without usage rules is counted while it is evaluated', async () => {
    const withNotes = policy(target.url)
      .replace('rules:\n', '  notes.write:\n    owner: comms\n    category: data_access\n    params: { type: object }\n    executor: { type: agent }\nrules:\n')
      .concat('  - id: notes\n    action: notes.write\n    decision: allow\n');
    expect((await stack.call(operator, 'PUT', '/v1/policy', withNotes, { 'content-type': 'application/yaml' })).status).toBe(200);
    const note = await propose('noter', 'notes.write', { text: 'hi' });
    expect(note.status).toBe(201);
    // Marked under the agent's usage lock by its own evaluation, so a concurrent usage.agent.count sees it while it is still evaluating.
    const { rows } = await stack.pool.query('SELECT usage_counted_at FROM actions WHERE id = $1', [note.body.id]);
    expect(rows[0].usage_counted_at).not.toBeNull();
    expect((await stack.call(operator, 'POST', '/v1/policy/evaluate', { action: 'email.send', params: { to: 'x' }, agent: 'noter' })).body.usage).toEqual({ 'count:1h': 0, 'agent.count:1h': 1 });
  });

  it('when params hold more numbers than are kept per action, then their sums are read from params and still count', async () => {
    const params: Record<string, unknown> = { amount: 30, to: 'w' };
    for (let i = 0; i < 70; i++) params[`n${i}`] = i;
    expect((await propose('wide', 'payments.transfer', params)).body.status).toBe('succeeded');
    expect((await propose('wide', 'payments.transfer', { amount: 20, to: 'w', nested: { amount: 5 } })).body.status).toBe('succeeded');
    const r = await stack.call(operator, 'POST', '/v1/policy/evaluate', { action: 'payments.transfer', params: { amount: 1, to: 'x' }, agent: 'wide' });
    expect(r.body.usage).toEqual({ 'sum:amount:24h': 50 });
    const { rows } = await stack.pool.query("SELECT count(*)::int AS n FROM usage_entries WHERE agent = 'wide'");
    expect(rows[0].n).toBe(1 + 3); // the wide one: its own row only; the other: its row, amount and nested.amount
  });
});
