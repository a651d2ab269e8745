import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPolicy } from '../fixtures/policy';
import { eventually, startTestStack, type Answer, type TestStack } from '../helpers/stack';
import { startTarget } from '../helpers/target';

// Input that Postgres cannot store or that would silently change on the way: each is refused at
// the edge with a precise 422/400, changes nothing, and leaves the action decidable.
describe('input that could wedge an action', () => {
  let stack: TestStack;
  let target: Awaited<ReturnType<typeof startTarget>>;
  let agent: string;
  let rita: string;
  let ravi: string;
  let carl: string;
  let operator: string;

  const transfer = (amount: number, extra: Record<string, unknown> = {}) => ({ action: 'payments.transfer', params: { amount, currency: 'EUR', to: 'acct-1' }, ...extra });
  const countActions = async () => Number((await stack.pool.query('SELECT count(*) FROM actions')).rows[0].count);
  const raw = (token: string, method: string, path: string, text: string, headers: Record<string, string> = {}) =>
    stack.call(token, method, path, text, { 'content-type': 'application/json', ...headers });

  async function pending(amount = 500): Promise<string> {
    const r = await stack.call(agent, 'POST', '/v1/actions?wait=10', transfer(amount));
    expect(r.body.status).toBe('awaiting_approval');
    return r.body.id as string;
  }

  function expectRefused(r: Answer, status: number, path?: string): void {
    expect(r.status, JSON.stringify(r.body)).toBe(status);
    expect(r.headers.get('content-type')).toMatch(/application\/problem\+json/);
    if (!path) return;
    const paths: string[] = r.body.errors.map((e: { path: string }) => e.path);
    // `/x/*`: a path below /x (how deep depends on where the nesting limit cuts in).
    if (path.endsWith('/*')) expect(paths.some((p) => p.startsWith(path.slice(0, -1)))).toBe(true);
    else expect(paths).toContain(path);
  }

  beforeAll(async () => {
    target = await startTarget();
    stack = await startTestStack(testPolicy(target.url));
    agent = await stack.principal('agent-a', 'agent', ['agent']);
    rita = await stack.principal('rita', 'human', ['reviewer'], ['finance']);
    ravi = await stack.principal('ravi', 'human', ['reviewer'], ['finance']);
    carl = await stack.principal('carl', 'human', ['reviewer'], ['comms']);
    operator = await stack.principal('otto', 'human', ['operator']);
  });
  afterAll(async () => {
    await stack?.stop();
    await target?.close();
  });

  it('when a reviewer approves with a NUL in the reason, then 422 names /reason and another approval still executes the action', async () => {
    const id = await pending();
    expectRefused(await stack.call(rita, 'POST', `/v1/actions/${id}/decisions`, { decision: 'approve', reason: 'ok\u0000evil' }), 422, '/reason');
    // Nothing was recorded: the same reviewer may still vote, and the action ends normally.
    const ok = await stack.call(rita, 'POST', `/v1/actions/${id}/decisions`, { decision: 'approve', reason: 'ok' });
    expect(ok.status).toBe(200);
    const done = await stack.call(agent, 'GET', `/v1/actions/${id}?wait=10`);
    expect(done.body.status).toBe('succeeded');
    expect(done.body.approval.approvals).toHaveLength(1);
  });

  it('when approve-with-edits params hold a lone surrogate, then 422 names the field and the action is still decidable', async () => {
    const id = await pending();
    const r = await stack.call(rita, 'POST', `/v1/actions/${id}/decisions`, { decision: 'approve', params: { amount: 500, currency: 'EUR', to: 'x\ud800' } });
    expectRefused(r, 422, '/params/to');
    const deny = await stack.call(ravi, 'POST', `/v1/actions/${id}/decisions`, { decision: 'deny', reason: 'no' });
    expect(deny.status).toBe(200);
    expect(deny.body.status).toBe('denied');
  });

  it('when an agent cancels with a NUL in the reason, then 422 and a clean cancel still works', async () => {
    const id = await pending();
    expectRefused(await stack.call(agent, 'POST', `/v1/actions/${id}/cancel`, { reason: 'stop\u0000' }), 422, '/reason');
    const ok = await stack.call(agent, 'POST', `/v1/actions/${id}/cancel`, { reason: 'stop' });
    expect(ok.status).toBe(200);
    expect(ok.body.status).toBe('cancelled');
  });

  it("when an agent reports a result whose error holds a NUL or whose output holds a lone surrogate, then 422 and a clean report still ends the action", async () => {
    const r = await stack.call(agent, 'POST', '/v1/actions?wait=10', { action: 'email.send', params: { to: 'a@example.com', subject: 'hi' } });
    const id = r.body.id as string;
    expect((await stack.call(carl, 'POST', `/v1/actions/${id}/decisions`, { decision: 'approve' })).status).toBe(200);
    await eventually(async () => (await stack.call(agent, 'GET', `/v1/actions/${id}`)).body.status === 'approved', 10_000, 'approved');
    expectRefused(await stack.call(agent, 'POST', `/v1/actions/${id}/result`, { ok: false, error: 'boom\u0000' }), 422, '/error');
    expectRefused(await stack.call(agent, 'POST', `/v1/actions/${id}/result`, { ok: true, output: { list: ['\udc00'] } }), 422, '/output/list/0');
    const ok = await stack.call(agent, 'POST', `/v1/actions/${id}/result`, { ok: true, output: { sent: 1 } });
    expect(ok.status).toBe(200);
    expect(ok.body.status).toBe('succeeded');
  });

  const badProposals: { name: string; text: string; path: string }[] = [
    { name: 'a NUL in a param', text: JSON.stringify(transfer(5, { params: { amount: 5, currency: 'EUR', to: 'a\u0000' } })), path: '/params/to' },
    { name: 'a NUL deep in context', text: JSON.stringify(transfer(5, { context: { a: [{ b: 'x\u0000' }] } })), path: '/context/a/0/b' },
    { name: 'a NUL in a context key', text: JSON.stringify(transfer(5, { context: { 'k\u0000': 1 } })), path: '/context/k\\u0000' },
    { name: 'a lone surrogate in resource', text: JSON.stringify(transfer(5, { resource: { id: '\ud800' } })), path: '/resource/id' },
    { name: 'a lone surrogate in the justification', text: JSON.stringify(transfer(5, { justification: 'why \udfff' })), path: '/justification' },
    { name: 'a NUL in the model output', text: JSON.stringify(transfer(5, { model: { output: '\u0000' } })), path: '/model/output' },
    { name: 'a number JSON reads as Infinity', text: '{"action":"payments.transfer","params":{"amount":1e309,"currency":"EUR","to":"x"}}', path: '/params/amount' },
    { name: 'a number that loses digits', text: '{"action":"payments.transfer","params":{"amount":100.0000000000000001,"currency":"EUR","to":"x"}}', path: '/params/amount' },
    { name: 'an integer past 2^53', text: '{"action":"payments.transfer","params":{"amount":5,"currency":"EUR","to":"x"},"context":{"n":9007199254740993}}', path: '/context/n' },
    { name: 'a 50,000-deep array in params', text: `{"action":"payments.transfer","params":{"amount":5,"currency":"EUR","to":"x","deep":${'['.repeat(50_000)}${']'.repeat(50_000)}}}`, path: '/params/deep/*' },
    { name: 'a body idempotency key with a space', text: JSON.stringify(transfer(5, { idempotencyKey: 'a b' })), path: '/idempotencyKey' },
  ];
  for (const c of badProposals) {
    it(`when a proposal holds ${c.name}, then 422 names the path and no action is recorded`, async () => {
      const before = await countActions();
      expectRefused(await raw(agent, 'POST', '/v1/actions', c.text), 422, c.path);
      expect(await countActions()).toBe(before);
    });
  }

  it('when a proposal carries 640 KB of lists for a quadratic rule, then it is refused at the limit at once and other requests are not held up', async () => {
    const columns = Array.from({ length: 40_000 }, (_, i) => `col_${i}`);
    const before = await countActions();
    const started = Date.now();
    const [big, ping] = await Promise.all([
      stack.call(agent, 'POST', '/v1/actions', transfer(5, { params: { amount: 5, currency: 'EUR', to: 'x', columns, blocked: columns } })),
      stack.call(undefined, 'GET', '/healthz'),
    ]);
    expectRefused(big, 422, '/params/columns');
    expect(big.body.errors[0].message).toMatch(/limits\.listItems/);
    expect(ping.status).toBe(200);
    // Seconds of slack on a busy CI machine; the old path took about a minute.
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await countActions()).toBe(before);
  });

  it('when context or resource is over the evaluation limits, then 422 names it and nothing is recorded', async () => {
    const before = await countActions();
    expectRefused(await stack.call(agent, 'POST', '/v1/actions', transfer(5, { context: { tags: Array.from({ length: 5000 }, () => 't') } })), 422, '/context/tags');
    expectRefused(await stack.call(agent, 'POST', '/v1/actions', transfer(5, { resource: { blob: 'x'.repeat(100_000) } })), 422);
    expect(await countActions()).toBe(before);
  });

  it('when an edit or a dry run is over the evaluation limits, then the edit is refused and the dry run is a deny naming the limit', async () => {
    const id = await pending();
    const list = Array.from({ length: 5000 }, (_, i) => i);
    const edit = await stack.call(rita, 'POST', `/v1/actions/${id}/decisions`, { decision: 'approve', params: { amount: 500, currency: 'EUR', to: 'x', list } });
    expectRefused(edit, 422, '/params/list');
    const dry = await stack.call(operator, 'POST', '/v1/policy/evaluate', { action: 'payments.transfer', params: { amount: 5, currency: 'EUR', to: 'x' }, context: { list } });
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ decision: 'deny', ruleIds: [], limitBreach: { path: '/context/list', limit: 'listItems' } });
    // The action itself is untouched and still decidable.
    expect((await stack.call(rita, 'POST', `/v1/actions/${id}/decisions`, { decision: 'approve' })).status).toBe(200);
  });

  it('when a number is written with more zeros but the same value, then it is accepted', async () => {
    const r = await raw(agent, 'POST', '/v1/actions?wait=10', '{"action":"payments.transfer","params":{"amount":5.000000000000000000,"currency":"EUR","to":"x"},"context":{"n":9007199254740991,"f":0.30000000000000004,"e":1.5e3}}');
    expect(r.status).toBe(201);
    expect(r.body.status).toBe('succeeded');
  });

  it('when list and inbox cursors parse as dates in JavaScript but not in Postgres, then 422, never 500', async () => {
    for (const c of [['2024-02-30', 'x'], ['+275760-09-13T00:00:00Z', 'x'], ['Tue 1', 'a'], ['2024-01-01T00:00:00.000Z', 'a\u0000b']]) {
      const cursor = Buffer.from(JSON.stringify(c)).toString('base64url');
      expectRefused(await stack.call(operator, 'GET', `/v1/actions?cursor=${cursor}`), 422, 'cursor');
      expectRefused(await stack.call(rita, 'GET', `/v1/approvals?cursor=${cursor}`), 422, 'cursor');
    }
  });

  it('when a path or query holds bytes that are not UTF-8 text or hold NUL, then 400/422, never 500', async () => {
    expectRefused(await stack.call(operator, 'GET', '/v1/actions/%ff%fe'), 400, 'path');
    expectRefused(await stack.call(operator, 'GET', '/v1/actions/a%00b'), 422, 'path');
    expectRefused(await stack.call(operator, 'GET', '/v1/actions?action=%00'), 422, 'action');
    // URL decoding turns bytes that are not UTF-8 into U+FFFD, which can be stored: a plain miss.
    expect((await stack.call(operator, 'GET', '/v1/actions?agent=%ED%A0%80')).status).toBe(200);
    expectRefused(await stack.call(operator, 'GET', '/v1/actions/act_zzz'), 404);
    // A well-formed path still works.
    expect((await stack.call(operator, 'GET', '/v1/actions?action=payments.transfer')).status).toBe(200);
  });

  it('when a JSON body comes in UTF-16 or UTF-32, then 415, never 500', async () => {
    for (const charset of ['utf-16be', 'utf-32le']) {
      const r = await stack.call(agent, 'POST', '/v1/actions', '{}', { 'content-type': `application/json; charset=${charset}` });
      expectRefused(r, 415);
    }
  });

  it('when a policy bundle holds a NUL, then 422 and the active policy is unchanged', async () => {
    const before = (await stack.call(operator, 'GET', '/v1/policy')).body.version;
    const r = await stack.call(operator, 'PUT', '/v1/policy', `${testPolicy(target.url)}\n# \u0000\n`, { 'content-type': 'application/yaml' });
    expectRefused(r, 422);
    // The same text written as YAML escapes, in a rule reason that would reach the ledger.
    const escaped = testPolicy(target.url).replace('reason: Currency XXX is not allowed', 'reason: "Currency \\0 and \\uD800"');
    expect(escaped).toContain('\\0');
    expectRefused(await stack.call(operator, 'PUT', '/v1/policy', escaped, { 'content-type': 'application/yaml' }), 422, '/rules/0/reason');
    expect((await stack.call(operator, 'GET', '/v1/policy')).body.version).toBe(before);
  });

  it('when a decision reuses its Idempotency-Key with another body, then 409 idempotency-conflict; with the same body, 200 and one vote', async () => {
    const id = await pending(20_000); // two approvals needed: the first leaves it pending
    const key = { 'idempotency-key': `vote-${id}` };
    const first = await stack.call(rita, 'POST', `/v1/actions/${id}/decisions`, { decision: 'approve', reason: 'fine' }, key);
    expect(first.status).toBe(200);
    const again = await stack.call(rita, 'POST', `/v1/actions/${id}/decisions`, { decision: 'approve', reason: 'fine' }, key);
    expect(again.status).toBe(200);
    const other = await stack.call(rita, 'POST', `/v1/actions/${id}/decisions`, { decision: 'deny', reason: 'changed my mind' }, key);
    expectRefused(other, 409);
    expect(other.body.type).toMatch(/idempotency-conflict$/);
    const view = await stack.call(operator, 'GET', `/v1/actions/${id}`);
    expect(view.body.status).toBe('awaiting_approval');
    expect(view.body.approval.approvals).toHaveLength(1);
    expect(view.body.approval.approvals[0]).not.toHaveProperty('requestHash');
  });

  it('when two decisions race with one Idempotency-Key and different bodies, then one is 200 and the other 409', async () => {
    const id = await pending(20_000);
    const key = { 'idempotency-key': `race-${id}` };
    const answers = await Promise.all([
      stack.call(ravi, 'POST', `/v1/actions/${id}/decisions`, { decision: 'approve', reason: 'a' }, key),
      stack.call(ravi, 'POST', `/v1/actions/${id}/decisions`, { decision: 'approve', reason: 'b' }, key),
    ]);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    const view = await stack.call(operator, 'GET', `/v1/actions/${id}`);
    expect(view.body.approval.approvals).toHaveLength(1);
  });

  it('when generated strings and numbers go through propose, decide, cancel and result, then no answer is 5xx and no action is left stuck', async () => {
    const nasty = fc.oneof(
      fc.string(),
      fc.string({ unit: 'binary' }),
      fc.constantFrom('\u0000', 'a\u0000b', '\ud800', '\udc00x', 'x\ud83d', '\ud83d\ude00', '\uffff', ''),
    );
    const numberToken = fc.oneof(
      fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
      fc.constantFrom('1e309', '-1e309', '100.0000000000000001', '9007199254740993', '123456789012345678901234567890', '0.1', '1e-400', '5'),
    );
    const ids: string[] = [];
    await fc.assert(
      fc.asyncProperty(nasty, nasty, numberToken, fc.constantFrom('decide', 'cancel', 'edit'), async (text, reason, amount, step) => {
        const body = `{"action":"payments.transfer","params":{"amount":${amount},"currency":${JSON.stringify(text)},"to":"x"},"justification":${JSON.stringify(reason)}}`;
        const p = await raw(agent, 'POST', '/v1/actions?wait=5', body);
        expect(p.status, JSON.stringify(p.body)).toBeLessThan(500);
        if (p.status !== 201) return;
        ids.push(p.body.id);
        if (p.body.status !== 'awaiting_approval') return;
        const path = `/v1/actions/${p.body.id}`;
        const r =
          step === 'cancel'
            ? await stack.call(agent, 'POST', `${path}/cancel`, { reason })
            : step === 'edit'
              ? await raw(rita, 'POST', `${path}/decisions`, `{"decision":"approve","params":{"amount":${amount},"currency":${JSON.stringify(reason)},"to":"y"}}`)
              : await stack.call(rita, 'POST', `${path}/decisions`, { decision: 'deny', reason });
        expect(r.status, JSON.stringify(r.body)).toBeLessThan(500);
      }),
      { numRuns: 80 },
    );
    // Every action that got in is still alive: pending ones can be decided and everything ends.
    for (const id of ids) {
      const v = await stack.call(operator, 'GET', `/v1/actions/${id}?wait=10`);
      if (v.body.status === 'awaiting_approval') {
        const d = await stack.call(ravi, 'POST', `/v1/actions/${id}/decisions`, { decision: 'deny', reason: 'cleanup' });
        expect([200, 403]).toContain(d.status);
        if (d.status === 403) expect((await stack.call(agent, 'POST', `/v1/actions/${id}/cancel`, { reason: 'cleanup' })).status).toBe(200);
      }
      const end = await eventually(async () => {
        const s = (await stack.call(operator, 'GET', `/v1/actions/${id}`)).body.status as string;
        return ['succeeded', 'failed', 'denied', 'cancelled', 'expired'].includes(s) ? s : undefined;
      }, 20_000, `action ${id} to end`);
      expect(end).toBeDefined();
    }
    const verify = await stack.call(operator, 'GET', '/v1/ledger/verify');
    expect(verify.body.ok).toBe(true);
  });
});
