import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_RATE_LIMITS } from '../../domain/rate-limits';
import { testPolicy } from '../fixtures/policy';
import { eventually, startTestStack, type Answer, type TestStack } from '../helpers/stack';
import { startTarget } from '../helpers/target';

// The limits of issue 20 item 4 against the real stack: each attack (a flood of proposals, of
// decisions, of held long polls, of bad tokens) is refused with 429 and Retry-After and changes
// nothing, while another principal (or address) at the same moment is served as usual.

/** A request from a chosen loopback address (127.0.0.0/8 is all local on Linux). */
function callFrom(localAddress: string, base: string, token: string, path: string): Promise<{ status: number; retryAfter?: string; body: any }> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port: url.port, path: url.pathname + url.search, method: 'GET', localAddress, headers: { authorization: `Bearer ${token}` } },
      (res) => {
        let raw = '';
        res.on('data', (c) => (raw += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] as string | undefined, body: raw ? JSON.parse(raw) : null }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const transfer = (amount: number) => ({ action: 'payments.transfer', params: { amount, currency: 'EUR', to: 'acme' } });

function expectRateLimited(r: Answer): void {
  expect(r.status).toBe(429);
  expect(r.headers.get('content-type')).toContain('application/problem+json');
  expect(r.body.type).toBe('https://countersign.dev/problems/rate-limited');
  expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
}

describe('rate limits', () => {
  let stack: TestStack;
  let target: Awaited<ReturnType<typeof startTarget>>;
  let flooder: string;
  let other: string;
  let reviewer: string;

  beforeAll(async () => {
    target = await startTarget();
    stack = await startTestStack(testPolicy(target.url), {
      rateLimits: { ...DEFAULT_RATE_LIMITS, proposalsPerSecond: 2, decisionsPerSecond: 1, longPollsPerSecond: 50, concurrentWaitsPerPrincipal: 2, concurrentWaits: 5, authFailuresPerSecond: 1 },
    });
    flooder = await stack.principal('flooder', 'agent', ['agent']);
    other = await stack.principal('other-agent', 'agent', ['agent']);
    reviewer = await stack.principal('rita', 'human', ['reviewer'], ['finance']);
  });
  afterAll(async () => {
    await stack?.stop();
    await target?.close();
  });

  it('when an agent proposes faster than its limit, then the excess is refused with 429 and Retry-After and creates nothing, while another agent is served', async () => {
    // A burst of twice the rate (4) is admitted; the rest of ten at once is refused (one more may
    // fit if the ten take over half a second to arrive on a busy machine: the bucket refills).
    await stack.call(flooder, 'GET', '/v1/actions'); // the token is checked once, then cached
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => stack.call(flooder, 'POST', '/v1/actions', transfer(1 + i), { 'idempotency-key': `flood-${i}` })));
    const admitted = answers.filter((a) => a.status === 201);
    const refused = answers.filter((a) => a.status === 429);
    expect(admitted.length).toBeGreaterThanOrEqual(4);
    expect(admitted.length).toBeLessThanOrEqual(5);
    expect(refused).toHaveLength(10 - admitted.length);
    for (const r of refused) expectRateLimited(r);
    // Nothing was created for a refused proposal.
    const mine = await stack.call(flooder, 'GET', '/v1/actions?limit=100');
    expect(mine.body.items).toHaveLength(admitted.length);
    // The other agent, at the same moment, is not limited by the flood.
    const theirs = await stack.call(other, 'POST', '/v1/actions', transfer(5), { 'idempotency-key': 'other-1' });
    expect(theirs.status).toBe(201);
    // After Retry-After, the flooder may propose again.
    await new Promise((r) => setTimeout(r, Number(refused[0].headers.get('retry-after')) * 1000));
    expect((await stack.call(flooder, 'POST', '/v1/actions', transfer(7), { 'idempotency-key': 'flood-later' })).status).toBe(201);
  });

  it('when a reviewer decides faster than the limit, then the excess decision is refused with 429 and the action stays pending', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await stack.call(other, 'POST', '/v1/actions?wait=5', transfer(500 + i), { 'idempotency-key': `needs-review-${i}` });
      expect(r.body.status).toBe('awaiting_approval');
      ids.push(r.body.id);
      await new Promise((res) => setTimeout(res, 600)); // stay under the agent's 2/s
    }
    const decide = (id: string) => stack.call(reviewer, 'POST', `/v1/actions/${id}/decisions`, { decision: 'approve' }, { 'idempotency-key': `d-${id}` });
    const answers = await Promise.all(ids.map(decide));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(2);
    const refused = answers.find((a) => a.status === 429) as Answer;
    expectRateLimited(refused);
    const stillPending = ids[answers.indexOf(refused)];
    expect((await stack.call(other, 'GET', `/v1/actions/${stillPending}`)).body.status).toBe('awaiting_approval');
    // Later, the same decision goes through.
    await new Promise((r) => setTimeout(r, Number(refused.headers.get('retry-after')) * 1000));
    expect((await decide(stillPending)).status).toBe(200);
  });

  it('when a principal holds more long polls than its cap, then the next ?wait is refused, other principals still wait, and a slot frees when one answers', async () => {
    await new Promise((r) => setTimeout(r, 1500));
    const pending = await stack.call(other, 'POST', '/v1/actions?wait=5', transfer(900), { 'idempotency-key': 'held' });
    expect(pending.body.status).toBe('awaiting_approval');
    const id = pending.body.id as string;
    // Two long polls held open by the agent (its cap), on an action nobody decides.
    const held = [stack.call(other, 'GET', `/v1/actions/${id}?wait=3&since=awaiting_approval`), stack.call(other, 'GET', `/v1/actions/${id}?wait=3&since=awaiting_approval`)];
    await new Promise((r) => setTimeout(r, 300));
    const third = await stack.call(other, 'GET', `/v1/actions/${id}?wait=3&since=awaiting_approval`);
    expectRateLimited(third);
    expect(third.body.detail).toContain('?wait');
    // Without ?wait, the same agent is still answered at once.
    expect((await stack.call(other, 'GET', `/v1/actions/${id}`)).status).toBe(200);
    // Another principal may hold its own long poll meanwhile (the process cap is 5).
    const reviewerPoll = stack.call(reviewer, 'GET', `/v1/actions/${id}?wait=1&since=awaiting_approval`);
    expect((await reviewerPoll).status).toBe(200);
    // When the held polls answer, the agent may wait again.
    for (const h of await Promise.all(held)) expect(h.status).toBe(200);
    expect((await stack.call(other, 'GET', `/v1/actions/${id}?wait=1&since=awaiting_approval`)).status).toBe(200);
  });

  it('when the process holds its cap of long polls, then one more from anyone is refused', async () => {
    const r = await stack.call(other, 'POST', '/v1/actions?wait=5', transfer(950), { 'idempotency-key': 'held-process' });
    const id = r.body.id as string;
    const agents = await Promise.all([1, 2, 3].map((i) => stack.principal(`poller-${i}`, 'human', ['reviewer'], ['finance'])));
    // Each token authenticates once first: this file lets an address have at most 4 credentials
    // not yet seen checked at once, and 5 polls with 3 new tokens and the agent's would be close.
    for (const t of agents) expect((await stack.call(t, 'GET', `/v1/actions/${id}`)).status).toBe(200);
    // 2 + 2 + 1 = 5 held open: the process cap.
    const held = [agents[0], agents[0], agents[1], agents[1], agents[2]].map((t) => stack.call(t, 'GET', `/v1/actions/${id}?wait=3&since=awaiting_approval`));
    await new Promise((res) => setTimeout(res, 300));
    const over = await stack.call(reviewer, 'GET', `/v1/actions/${id}?wait=3&since=awaiting_approval`);
    expectRateLimited(over);
    expect(over.body.detail).toContain('this API process');
    for (const h of await Promise.all(held)) expect(h.status).toBe(200);
  });

  it('when an address keeps presenting bad tokens, then it is refused before any check; a credential that authenticated lately and another address are still served', async () => {
    const bad = 'cs_0123456789abcdef_' + 'A'.repeat(43);
    // Burst 2: two failures are answered 401; then the address is refused with 429.
    expect((await callFrom('127.0.0.2', stack.url, bad, '/v1/actions')).status).toBe(401);
    expect((await callFrom('127.0.0.2', stack.url, bad, '/v1/actions')).status).toBe(401);
    const refused = await callFrom('127.0.0.2', stack.url, bad, '/v1/actions');
    expect(refused.status).toBe(429);
    expect(refused.body.type).toBe('https://countersign.dev/problems/rate-limited');
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
    // A token never seen to authenticate is refused too, unread (guessing with fresh tokens gains nothing)...
    const fresh = await stack.principal('fresh-agent', 'agent', ['agent']);
    expect((await callFrom('127.0.0.2', stack.url, fresh, '/v1/actions')).status).toBe(429);
    // ...but a client behind the same address whose token authenticated lately is not locked out.
    expect((await callFrom('127.0.0.2', stack.url, other, '/v1/actions')).status).toBe(200);
    // Another address is not affected.
    expect((await callFrom('127.0.0.3', stack.url, fresh, '/v1/actions')).status).toBe(200);
    // The refused address recovers after Retry-After.
    const fresh2 = await stack.principal('fresh-agent-2', 'agent', ['agent']);
    await eventually(async () => (await callFrom('127.0.0.2', stack.url, fresh2, '/v1/actions')).status === 200, 5000, 'the address to be served again');
  });

  it('when an address sends many bad tokens at once, then only a few are checked at a time and the rest are refused unread', async () => {
    const bad = (i: number) => `cs_${String(i).padStart(16, '0')}_${'B'.repeat(43)}`;
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => callFrom('127.0.0.4', stack.url, bad(i), '/v1/actions')));
    // This file allows 1 failure/s (burst 2): at most 4 distinct credentials are checked at once.
    // The twelve do not all arrive at once: a check that ends (401) before the last ones arrive
    // frees its place, and the address's bucket still holds its burst of 2 until the failures are
    // counted. So at most 4 + 2 are checked in all (one more if a second passes and the bucket
    // refills); unlimited, all twelve would be.
    expect(answers.filter((a) => a.status === 401).length).toBeLessThanOrEqual(7);
    expect(answers.filter((a) => a.status === 429).length).toBeGreaterThanOrEqual(5);
  });

  it('when one client sends many requests at once with a token not yet seen, then they are all served (one credential counts once)', async () => {
    const burst = await stack.principal('bursty-reviewer', 'human', ['reviewer'], ['finance']);
    const answers = await Promise.all(Array.from({ length: 12 }, () => callFrom('127.0.0.5', stack.url, burst, '/v1/approvals')));
    expect(answers.map((a) => a.status)).toEqual(Array(12).fill(200));
  });

  it('when an agent keeps proposing without waiting as Retry-After says, then its next refusals come only when that time is up, a body is never read, and another agent is served meanwhile', async () => {
    const flooding = await stack.principal('retry-after-ignorer', 'agent', ['agent']);
    await stack.call(flooding, 'GET', '/v1/actions'); // the token is checked once, then cached
    // Four connections, each proposing again as soon as it is answered, for 2.5 s.
    const until = Date.now() + 2500;
    const answers: { status: number; ms: number }[] = [];
    const loop = async (c: number) => {
      for (let n = 0; Date.now() < until; n++) {
        const t0 = Date.now();
        const r = await stack.call(flooding, 'POST', '/v1/actions', transfer(1 + (n % 50)), { 'idempotency-key': `ignorer-${c}-${n}` });
        answers.push({ status: r.status, ms: Date.now() - t0 });
      }
    };
    const flood = Promise.all([0, 1, 2, 3].map(loop));
    await new Promise((r) => setTimeout(r, 800));
    // Meanwhile another agent proposes and is admitted (its own bucket; nothing held for it).
    const theirs = await stack.call(other, 'POST', '/v1/actions', transfer(8), { 'idempotency-key': 'other-during-ignorer' });
    expect(theirs.status).toBe(201);
    await flood;
    const refused = answers.filter((a) => a.status === 429);
    const admitted = answers.filter((a) => a.status === 201);
    // Limit 2/s with a burst of 4: about 9 admitted in 2.5 s. Unheld, four loops would send
    // hundreds of refusals in that time; held, each connection gets about one a second.
    expect(admitted.length).toBeLessThanOrEqual(10);
    expect(refused.length).toBeGreaterThanOrEqual(4);
    expect(refused.length).toBeLessThanOrEqual(4 * 5);
    // Held refusals were answered when the Retry-After ended, not at once.
    expect(refused.filter((a) => a.ms >= 200).length).toBeGreaterThanOrEqual(refused.length - 6);
    // Nothing was created for a refused proposal.
    const mine = await stack.call(flooding, 'GET', '/v1/actions?limit=100');
    expect(mine.body.items).toHaveLength(admitted.length);
    // A refused proposal's body is not read: a malformed one is refused 429, not 400.
    await new Promise((r) => setTimeout(r, 1100));
    // The bucket holds at most its burst (4): of these six, two or more are refused, and the
    // malformed seventh, sent right after them, finds it empty.
    const burst = Array.from({ length: 6 }, (_, i) => stack.call(flooding, 'POST', '/v1/actions', transfer(2), { 'idempotency-key': `ignorer-again-${i}` }));
    await new Promise((r) => setTimeout(r, 100));
    const unread = await fetch(`${stack.url}/v1/actions`, { method: 'POST', headers: { authorization: `Bearer ${flooding}`, 'content-type': 'application/json' }, body: '{"not json' });
    expect(unread.status).toBe(429);
    expect((await Promise.all(burst)).some((a) => a.status === 429)).toBe(true);
    // After waiting as told, the agent is served at once again.
    await new Promise((r) => setTimeout(r, 2100));
    const t0 = Date.now();
    const later = await stack.call(flooding, 'POST', '/v1/actions', transfer(3), { 'idempotency-key': 'ignorer-waited' });
    expect(later.status).toBe(201);
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('when the proposal path is spelled with a trailing slash or another case, then the same limit applies', async () => {
    await new Promise((r) => setTimeout(r, 2500)); // the flooder's bucket refills to its burst (4)
    const paths = ['/v1/actions/', '/V1/Actions', '/v1/actions/', '/V1/ACTIONS/', '/v1/actions/', '/v1/Actions'];
    const answers = [];
    for (const [i, p] of paths.entries()) answers.push(await stack.call(flooder, 'POST', p, transfer(60 + i), { 'idempotency-key': `spelled-${i}` }));
    expect(answers.filter((a) => a.status === 201).length).toBeLessThanOrEqual(5);
    expect(answers.filter((a) => a.status === 429).length).toBeGreaterThanOrEqual(1);
  });
});
