import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ActionCancelled,
  ActionDenied,
  ActionExpired,
  Countersign,
  CountersignProblem,
  WaitTimeout,
  idempotencyKeyFor,
  type ActionView,
} from '../../sdk/src/index';
import { sdkPolicy } from '../../sdk/test/policy';
import { eventually, startTestStack, type TestStack } from '../helpers/stack';
import { startTarget } from '../helpers/target';

/**
 * A middlebox between the client and the real API: passes requests on, except that `tamper`
 * may answer one itself (a 503 from a load balancer) or forward it and then drop the
 * connection before the answer (the proposal landed, the agent never heard back).
 */
async function startMiddlebox(apiUrl: () => string, tamper: (req: http.IncomingMessage, n: number) => 'pass' | 'drop-after' | '503') {
  let n = 0;
  const seen: { method: string; url: string; key: string | undefined }[] = [];
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    seen.push({ method: req.method ?? '', url: req.url ?? '', key: req.headers['idempotency-key'] as string | undefined });
    const what = tamper(req, ++n);
    if (what === '503') {
      res.writeHead(503, { 'content-type': 'application/problem+json', 'retry-after': '0' });
      return res.end(JSON.stringify({ type: 'https://countersign.dev/problems/unavailable', title: 'Service Unavailable', status: 503, detail: 'try again' }));
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && k !== 'host' && k !== 'content-length') headers[k] = v;
    let answer: Response;
    let text: string;
    try {
      answer = await fetch(apiUrl() + (req.url ?? ''), { method: req.method, headers, body: chunks.length ? Buffer.concat(chunks) : undefined });
      text = await answer.text();
    } catch {
      // The API is down (restarting): what a load balancer answers then.
      res.writeHead(502, { 'content-type': 'text/html' });
      return res.end('<html>502 Bad Gateway</html>');
    }
    if (what === 'drop-after') return req.socket.destroy();
    res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
    res.end(text);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

// The SDK's client and governed() against the real stack: API, worker, Temporal dev server, Postgres.
describe('@countersign/sdk client', () => {
  let stack: TestStack;
  let target: Awaited<ReturnType<typeof startTarget>>;
  let agent: Countersign;
  let reviewer: Countersign;
  let reviewerToken: string;

  beforeAll(async () => {
    target = await startTarget();
    stack = await startTestStack(sdkPolicy(target.url));
    agent = new Countersign({ url: stack.url, token: await stack.principal('sdk-agent', 'agent', ['agent']) });
    reviewerToken = await stack.principal('rita', 'human', ['reviewer'], ['comms']);
    reviewer = new Countersign({ url: stack.url, token: reviewerToken });
  });
  afterAll(async () => {
    await stack?.stop();
    await target?.close();
  });

  /** The action the agent proposed with these params, once it awaits approval (as a reviewer finds it). */
  const pendingFor = (to: string) =>
    eventually(async () => (await reviewer.approvals()).items.find((a) => (a.params as { to?: string }).to === to), 20_000, `an approval for ${to}`);

  it('when an allowed action is proposed and waited for, then waitFor answers it succeeded with the executor result', async () => {
    const proposed = await agent.propose({ action: 'payments.transfer', params: { amount: 40, currency: 'EUR', to: 'acct-1' } });
    const done = await agent.waitFor(proposed, { until: 'final', timeoutMs: 30_000 });

    expect(done.id).toBe(proposed.id);
    expect(done.status).toBe('succeeded');
    expect(done.result).toMatchObject({ status: 200, body: { receipt: expect.any(String) } });
    expect(target.forAction(done.id)).toHaveLength(1);
  });

  it('when governed() wraps a call policy allows, then the function runs once with the params and its result is reported', async () => {
    const calls: unknown[] = [];
    const out = await agent.governed(
      async (params) => {
        calls.push(params);
        return { messageId: 'm-1' };
      },
      { action: 'email.send', params: { to: 'ops@example.com', subject: 'status' } },
    );

    expect(out).toEqual({ messageId: 'm-1' });
    expect(calls).toEqual([{ to: 'ops@example.com', subject: 'status' }]);
    const [view] = (await agent.list({ action: 'email.send', status: 'succeeded' })).items;
    expect(view).toMatchObject({ status: 'succeeded', result: { messageId: 'm-1' } });
  });

  it('when policy denies, then governed() throws ActionDenied with the rule reason and the function never runs', async () => {
    let ran = false;
    const err = await agent
      .governed(() => (ran = true), { action: 'email.send', params: { to: 'ceo@rival.test', subject: 'hi' } })
      .catch((e: unknown) => e);

    expect(err).toBeInstanceOf(ActionDenied);
    expect((err as ActionDenied).reason).toBe('Never email a competitor');
    expect((err as ActionDenied).by).toBe('policy');
    expect(ran).toBe(false);
  });

  it('when approval is required, then governed() waits until a reviewer approves, and only then runs the function', async () => {
    const calls: unknown[] = [];
    let pendingSeen: ActionView | undefined;
    const running = agent.governed(
      async (params) => {
        calls.push(params);
        return 'sent';
      },
      { action: 'email.send', params: { to: 'partner@else.test', subject: 'draft' }, onPending: (v) => (pendingSeen = v) },
    );
    const pending = await pendingFor('partner@else.test');
    expect(calls).toEqual([]);
    await reviewer.decide(pending.id, { decision: 'approve', reason: 'fine', expectedDigest: pending.approval?.digest });

    expect(await running).toBe('sent');
    expect(calls).toEqual([{ to: 'partner@else.test', subject: 'draft' }]);
    expect(pendingSeen?.id).toBe(pending.id);
    expect((await agent.get(pending.id)).status).toBe('succeeded');
  });

  it('when a reviewer denies, then governed() throws ActionDenied carrying the reviewer reason', async () => {
    const running = agent.governed(() => 'never', { action: 'email.send', params: { to: 'press@else.test', subject: 'leak' } }).catch((e: unknown) => e);
    const pending = await pendingFor('press@else.test');
    await reviewer.decide(pending.id, { decision: 'deny', reason: 'no press contact this week' });

    const err = (await running) as ActionDenied;
    expect(err).toBeInstanceOf(ActionDenied);
    expect(err).toMatchObject({ reason: 'no press contact this week', by: 'reviewer' });
  });

  it('when nobody decides before the deadline, then governed() throws ActionExpired, not a denial', async () => {
    const err = await agent.governed(() => 'never', { action: 'report.publish', params: { title: 'Q3' } }).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(ActionExpired);
    expect(err).not.toBeInstanceOf(ActionDenied);
    expect((err as ActionExpired).by).toBe('timeout');
  });

  it('when the agent cancels a pending action, then governed() throws ActionCancelled with the reason', async () => {
    const running = agent.governed(() => 'never', { action: 'email.send', params: { to: 'old@else.test', subject: 'x' } }).catch((e: unknown) => e);
    const pending = await pendingFor('old@else.test');
    const cancelled = await agent.cancel(pending.id, 'the user changed their mind');
    expect(cancelled.status).toBe('cancelled');

    const err = (await running) as ActionCancelled;
    expect(err).toBeInstanceOf(ActionCancelled);
    expect(err.reason).toBe('the user changed their mind');
  });

  it('when the API refuses, then CountersignProblem carries the code, status and detail of the problem+json', async () => {
    const unknown = (await agent.propose({ action: 'no.such', params: {} }).catch((e: unknown) => e)) as CountersignProblem;
    expect(unknown).toBeInstanceOf(CountersignProblem);
    expect(unknown).toMatchObject({ code: 'unknown-action', status: 422 });
    expect(unknown.detail).toContain('no.such');

    await agent.propose({ action: 'payments.transfer', params: { amount: 1, currency: 'EUR', to: 'a' } }, { idempotencyKey: 'sdk-conflict-1' });
    const conflict = (await agent
      .propose({ action: 'payments.transfer', params: { amount: 2, currency: 'EUR', to: 'a' } }, { idempotencyKey: 'sdk-conflict-1' })
      .catch((e: unknown) => e)) as CountersignProblem;
    expect(conflict).toMatchObject({ code: 'idempotency-conflict', status: 409 });

    const forbidden = (await reviewer.propose({ action: 'payments.transfer', params: { amount: 1, currency: 'EUR', to: 'a' } }).catch((e: unknown) => e)) as CountersignProblem;
    expect(forbidden).toMatchObject({ code: 'forbidden', status: 403 });
  });

  it('when the answer to a proposal is lost on the network, then the retry with the same key answers the same single action', async () => {
    const box = await startMiddlebox(() => stack.url, (req, n) => (n === 1 && req.method === 'POST' ? 'drop-after' : 'pass'));
    try {
      const viaBox = new Countersign({ url: box.url, token: await stack.principal('sdk-flaky', 'agent', ['agent']), retry: { baseDelayMs: 10 } });
      const view = await viaBox.propose({ action: 'payments.transfer', params: { amount: 7, currency: 'EUR', to: 'acct-net' } }, { wait: 10 });

      const posts = box.seen.filter((s) => s.method === 'POST');
      expect(posts).toHaveLength(2);
      expect(posts[0].key).toBeDefined();
      expect(posts[1].key).toBe(posts[0].key);
      const mine = (await viaBox.list({ agent: 'sdk-flaky' })).items;
      expect(mine.map((a) => a.id)).toEqual([view.id]);
      await eventually(async () => target.forAction(view.id).length === 1);
    } finally {
      await box.close();
    }
  });

  it('when the API answers 503, then the client retries the same request with the same key', async () => {
    const box = await startMiddlebox(() => stack.url, (req, n) => (n <= 2 && req.method === 'POST' ? '503' : 'pass'));
    try {
      const viaBox = new Countersign({ url: box.url, token: await stack.principal('sdk-503', 'agent', ['agent']), retry: { baseDelayMs: 10 } });
      const view = await viaBox.propose({ action: 'payments.transfer', params: { amount: 8, currency: 'EUR', to: 'acct-503' } });
      expect(view.action).toBe('payments.transfer');
      const keys = box.seen.filter((s) => s.method === 'POST').map((s) => s.key);
      expect(keys).toHaveLength(3);
      expect(new Set(keys).size).toBe(1);

      const stubborn = await startMiddlebox(() => stack.url, () => '503');
      try {
        const err = await new Countersign({ url: stubborn.url, token: 'x', retry: { attempts: 2, baseDelayMs: 1 } }).get('a').catch((e: unknown) => e);
        expect(err).toMatchObject({ code: 'unavailable', status: 503, retryAfterSeconds: 0 });
        expect(stubborn.seen).toHaveLength(2);
      } finally {
        await stubborn.close();
      }
    } finally {
      await box.close();
    }
  });

  it('when waitFor times out, then WaitTimeout carries the pending view and the action goes on', async () => {
    const proposed = await agent.propose({ action: 'email.send', params: { to: 'slow@else.test', subject: 'wait' } }, { wait: 10 });
    const started = Date.now();
    const err = (await agent.waitFor(proposed.id, { until: 'decided', timeoutMs: 1500 }).catch((e: unknown) => e)) as WaitTimeout;

    expect(err).toBeInstanceOf(WaitTimeout);
    expect(err.action).toMatchObject({ id: proposed.id, status: 'awaiting_approval' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
    expect(Date.now() - started).toBeLessThan(5000);
    await agent.cancel(proposed.id);
  });

  it('when governed() is called again with the same derived key after the work was done, then it returns the recorded result without running again', async () => {
    const key = await idempotencyKeyFor('restart-test', 'email.send', { to: 'team@example.com', subject: 'once' });
    let runs = 0;
    const opts = { action: 'email.send', params: { to: 'team@example.com', subject: 'once' }, idempotencyKey: key };
    const first = await agent.governed(() => ({ n: ++runs }), opts);
    const again = await agent.governed(() => ({ n: ++runs }), opts);

    expect(first).toEqual({ n: 1 });
    expect(again).toEqual({ n: 1 });
    expect(runs).toBe(1);
  });
  it('when the API restarts while an agent waits, then waitFor rides out the outage and answers the decision made after it', async () => {
    const box = await startMiddlebox(() => stack.url, () => 'pass');
    try {
      const viaBox = new Countersign({ url: box.url, token: await stack.principal('sdk-patient', 'agent', ['agent']), retry: { baseDelayMs: 50, maxDelayMs: 500 } });
      const proposed = await viaBox.propose({ action: 'email.send', params: { to: 'patient@else.test', subject: 'later' } }, { wait: 10 });
      expect(proposed.status).toBe('awaiting_approval');
      const waiting = viaBox.waitFor(proposed, { until: 'decided', timeoutMs: 90_000 });

      await stack.restart();
      const after = new Countersign({ url: stack.url, token: reviewerToken });
      await after.decide(proposed.id, { decision: 'approve', reason: 'back online' });

      const decided = await waiting;
      expect(decided).toMatchObject({ id: proposed.id, status: 'approved' });
      expect(box.seen.filter((s) => s.method === 'GET').length).toBeGreaterThan(1);
      await viaBox.reportResult(proposed.id, { ok: true });
    } finally {
      await box.close();
    }
  });
});
