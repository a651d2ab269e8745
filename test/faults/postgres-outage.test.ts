import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPolicy } from '../fixtures/policy';
import { eventually, type Answer } from '../helpers/stack';
import { FAULT_EXECUTOR_SECRET, printLogsOnFailure, sleep, startFaultStack, type FaultStack } from '../helpers/processes';
import { startIdempotentTarget, type IdempotentTarget } from './idempotent-target';
import { expectSoundLedger, typesOf } from './checks';

const OUTAGE_MS = 20_000;
/** "Quickly": an answer during the outage must come well before any client would give up. */
const QUICK_MS = 3_000;
const FINAL = ['succeeded', 'failed', 'denied', 'expired', 'cancelled'];

/** One request of the burst, as the agent saw it. */
interface Attempt {
  key: string;
  status: number | 'network-error';
  contentType: string | null;
  retryAfter: string | null;
  ms: number;
  startedAt: number;
  id?: string;
}

// Postgres crashes (an immediate shutdown: no checkpoint, crash recovery from the WAL when it
// starts again) and stays down for 20 s in the middle of a burst of proposals. While it is down
// the API must say so at once (503 problem+json, Retry-After), not hang and not answer 500;
// workflows in flight wait for it (ledger writes retry). Once it is back, the agents retry what
// was refused, with the same keys, and everything ends exactly once: one action per key, each
// final, each performed once by the target, each ledger chain whole and verifiable. The API's
// pool and its LISTEN connection come back without a restart.
describe('fault: Postgres goes away during a burst', () => {
  let stack: FaultStack;
  let target: IdempotentTarget;
  const agents: { id: string; token: string }[] = [];
  let alice: string;
  let late: string;

  beforeAll(async () => {
    // A hold at the target keeps executor calls in flight when Postgres stops: their
    // `executed` events can only be written once it is back.
    target = await startIdempotentTarget(FAULT_EXECUTOR_SECRET, () => ({ kind: 'perform', delayMs: 1500 }));
    stack = await startFaultStack({ policy: testPolicy(target.url) });
    for (const id of ['agent-1', 'agent-2']) agents.push({ id, token: await stack.principal(id, 'agent', ['agent']) });
    alice = await stack.principal('alice', 'human', ['reviewer'], ['finance']);
    // A token first used during the outage: it cannot be checked, so 503 (not 401).
    late = await stack.principal('late-agent', 'agent', ['agent']);
  });
  afterAll(async () => {
    await stack?.stop();
    await target?.close();
  });
  printLogsOnFailure(() => stack);

  it('when Postgres crashes and stays down for 20 s mid-burst, then the API answers 503 quickly meanwhile, and afterwards every proposal ends exactly once with a whole ledger', async () => {
    // Arrange: one action already pending (for decisions during the outage).
    const a0 = agents[0];
    const pending = await stack.call(a0.token, 'POST', '/v1/actions?wait=20', { action: 'payments.transfer', params: { amount: 900, currency: 'EUR', to: 'p-0' } });
    expect(pending.body.status).toBe('awaiting_approval');
    const attempts: Attempt[] = [];
    const probes: (Attempt & { what: string })[] = [];
    const outage = { stopping: 0, down: 0, starting: 0, up: 0 };
    let burstOver = false;

    const send = async (token: string, method: string, url: string, body: unknown, key?: string): Promise<Attempt> => {
      const startedAt = Date.now();
      let r: Answer | Error;
      try {
        r = await stack.call(token, method, url, body, key ? { 'idempotency-key': key } : {});
      } catch (err) {
        r = err as Error;
      }
      const ms = Date.now() - startedAt;
      if (r instanceof Error) return { key: key ?? '', status: 'network-error', contentType: null, retryAfter: null, ms, startedAt };
      return { key: key ?? '', status: r.status, contentType: r.headers.get('content-type'), retryAfter: r.headers.get('retry-after'), ms, startedAt, id: r.body?.id };
    };
    // Each agent proposes once a second; every fifth proposal needs an approval.
    const burst = async (agent: { id: string; token: string }) => {
      for (let i = 0; !burstOver; i++) {
        const amount = i % 5 === 4 ? 600 + i : 10 + i;
        const key = `${agent.id}-${i}`;
        attempts.push(await send(agent.token, 'POST', '/v1/actions', { action: 'payments.transfer', params: { amount, currency: 'EUR', to: `to-${i}` } }, key));
        await sleep(1000);
      }
    };
    // While Postgres is down, other calls are probed too.
    const probe = async () => {
      while (!outage.down) await sleep(100);
      let first = true;
      while (!outage.starting) {
        const batch: [string, Promise<Attempt>][] = [
          ['readyz', send('', 'GET', '/readyz', undefined)],
          ['get action', send(a0.token, 'GET', `/v1/actions/${pending.body.id}`, undefined)],
          ['list actions', send(a0.token, 'GET', '/v1/actions', undefined)],
          ['inbox', send(alice, 'GET', '/v1/approvals', undefined)],
          ['decision', send(alice, 'POST', `/v1/actions/${pending.body.id}/decisions`, { decision: 'approve' })],
          ['evidence', send(stack.admin, 'GET', `/v1/actions/${pending.body.id}/evidence`, undefined)],
        ];
        if (first) batch.push(['first use of a token', send(late, 'GET', '/v1/actions', undefined)]);
        first = false;
        for (const [what, p] of batch) probes.push({ what, ...(await p) });
        await sleep(2000);
      }
    };
    const fault = async () => {
      while (attempts.length < 8) await sleep(100);
      outage.stopping = Date.now();
      // A crash, not a shutdown: no checkpoint, so what was committed must come back from the WAL.
      await stack.postgres.crash();
      outage.down = Date.now();
      await sleep(OUTAGE_MS);
      outage.starting = Date.now();
      await stack.postgres.start();
      outage.up = Date.now();
      await sleep(5000);
      burstOver = true;
    };

    // Act
    await Promise.all([...agents.map(burst), probe(), fault()]);
    // The agents retry every refused proposal with its key until it is accepted.
    const refused = attempts.filter((a) => a.status !== 201 && a.status !== 200);
    const retries: Attempt[] = [];
    for (const a of refused) {
      const agent = agents.find((g) => a.key.startsWith(g.id))!;
      const i = Number(a.key.split('-').pop());
      const amount = i % 5 === 4 ? 600 + i : 10 + i;
      const retry = await eventually(
        async () => {
          const r = await send(agent.token, 'POST', '/v1/actions', { action: 'payments.transfer', params: { amount, currency: 'EUR', to: `to-${i}` } }, a.key);
          return (r.status === 201 || r.status === 200) && r;
        },
        30_000,
        `the retry of ${a.key}`,
      );
      retries.push(retry);
    }
    // Neither process may have died with Postgres (the checks at the end say so too; here the
    // failure names the cause instead of a later 503).
    expect(stack.worker.unexpectedExits, 'the worker exited during the outage').toEqual([]);
    expect(stack.api.unexpectedExits, 'the API exited during the outage').toEqual([]);
    // Reviewers approve what waits for them (the one pending from before included).
    const keys = [...new Set(attempts.map((a) => a.key))];
    const idOf = new Map<string, string>();
    for (const a of [...attempts, ...retries]) if (a.id && (a.status === 201 || a.status === 200)) idOf.set(a.key, a.id);
    const ids = [pending.body.id, ...keys.map((k) => idOf.get(k)!)];
    for (const id of ids) {
      const v = await stack.call(alice, 'GET', `/v1/actions/${id}?wait=20`);
      if (v.body.status === 'awaiting_approval') {
        const d = await stack.call(alice, 'POST', `/v1/actions/${id}/decisions`, { decision: 'approve' });
        expect(d.status, `approving ${id}`).toBe(200);
      }
    }
    const finals = new Map<string, string>();
    for (const id of ids) {
      const v = await eventually(
        async () => {
          const r = await stack.call(stack.admin, 'GET', `/v1/actions/${id}?wait=20`);
          return FINAL.includes(r.body.status) && r;
        },
        60_000,
        `${id} to reach a final status`,
      );
      finals.set(id, v.body.status);
    }
    // The LISTEN feed is back: a held proposal returns as soon as its outcome is recorded.
    const heldStart = Date.now();
    const held = await stack.call(a0.token, 'POST', '/v1/actions?wait=25', { action: 'payments.transfer', params: { amount: 7, currency: 'EUR', to: 'after' } });
    const heldMs = Date.now() - heldStart;

    const whileDown = (a: Attempt) => a.startedAt >= outage.down && a.startedAt + a.ms <= outage.starting;
    const during = attempts.filter(whileDown);
    const probesDuring = probes.filter(whileDown);
    const statuses = [...attempts, ...retries, ...probes].map((a) => a.status);
    console.info(
      `postgres outage: ${attempts.length} proposals (${during.length} while down, all ${[...new Set(during.map((a) => a.status))].join('/')}, ` +
        `slowest ${Math.max(0, ...during.map((a) => a.ms))} ms); ${retries.length} retried after (${retries.filter((r) => r.status === 201).length} new, ` +
        `${retries.filter((r) => r.status === 200).length} already recorded); ${probesDuring.length} probes while down, slowest ${Math.max(0, ...probesDuring.map((p) => p.ms))} ms; ` +
        `${ids.length} actions; held proposal answered in ${heldMs} ms; ${target.deliveries.length} deliveries for ${target.performedKeys().length} performed actions`,
    );

    // Assert: it was a crash: Postgres recovered from its WAL when it came back.
    expect(stack.logs()).toMatch(/automatic recovery in progress/);
    // During the outage, quick 503 problems everywhere; never a 500 (or a dropped connection).
    expect(during.length).toBeGreaterThanOrEqual(10);
    expect(probesDuring.length).toBeGreaterThanOrEqual(20);
    for (const a of [...during, ...probesDuring]) {
      expect(a, JSON.stringify(a)).toMatchObject({ status: 503, contentType: expect.stringMatching(/application\/problem\+json/), retryAfter: expect.any(String) });
      expect(a.ms, JSON.stringify(a)).toBeLessThan(QUICK_MS);
    }
    expect(probesDuring.map((p) => p.what)).toContain('first use of a token');
    expect(statuses.filter((s) => s !== 200 && s !== 201 && s !== 503)).toEqual([]);
    // Nothing lost, nothing doubled: one action per key, every one final and succeeded, performed once.
    const { rows } = await stack.pool.query<{ idempotency_key: string; n: number }>(
      `SELECT idempotency_key, count(*)::int AS n FROM actions WHERE idempotency_key IS NOT NULL GROUP BY idempotency_key ORDER BY 1`,
    );
    expect(rows.map((r) => r.idempotency_key)).toEqual([...keys].sort());
    expect(rows.every((r) => r.n === 1)).toBe(true);
    expect(new Set(finals.values())).toEqual(new Set(['succeeded']));
    for (const id of ids) {
      expect(target.performedCount(id), `performs of ${id}`).toBe(1);
      const events = await expectSoundLedger(stack, id);
      expect(typesOf(events).filter((t) => t === 'proposed' || t === 'executed')).toEqual(['proposed', 'executed']);
    }
    expect(target.performedKeys().sort()).toEqual(expect.arrayContaining([...ids].sort()));
    const verify = await stack.call(stack.admin, 'GET', '/v1/ledger/verify');
    expect(verify.body).toMatchObject({ ok: true });
    // Some workflows were mid-way when Postgres stopped and wrote their next events after it came back.
    const straddling = await stack.pool.query(
      `SELECT DISTINCT a.id FROM actions a JOIN ledger_events e ON e.action_id = a.id
        WHERE a.created_at < to_timestamp($1 / 1000.0) AND e.recorded_at > to_timestamp($2 / 1000.0)`,
      [outage.stopping, outage.up],
    );
    expect(straddling.rowCount).toBeGreaterThan(0);
    // The API came through without a restart, its change feed included.
    expect(held.status).toBe(201);
    expect(held.body.status).toBe('succeeded');
    expect(heldMs).toBeLessThan(10_000);
    expect(stack.api.unexpectedExits).toEqual([]);
    expect(stack.worker.unexpectedExits).toEqual([]);
  });
});
