import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLogger } from '../../runtime/logger';
import { startServices, type Services, type ServicesOptions } from '../../runtime/stack';
import { call, eventually, saveReplayFixtures, type TestStack } from '../helpers/stack';
import { startTarget } from '../helpers/target';

// Pauses (docs/controls.md) across two API processes on one database: one with the worker (A),
// one API only (B), as behind a load balancer.
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
  emails.send:
    owner: comms
    category: external_communication
    params: { type: object, properties: { to: { type: string } } }
    executor: { type: agent }
rules:
  - id: small
    action: payments.transfer
    when: params.amount <= 100
    decision: allow
  - id: reviewed
    action: payments.transfer
    when: params.amount > 100 && params.amount < 1000
    decision: require_approval
    approval: { steps: [ { group: finance, quorum: 1, timeout: 1h } ], onTimeout: deny }
  - id: auto-after-wait
    action: payments.transfer
    when: params.amount >= 1000
    decision: require_approval
    approval: { steps: [ { group: finance, quorum: 1, timeout: 3s } ], onTimeout: allow }
  - id: emails
    action: emails.send
    decision: allow
`;

describe('pauses', () => {
  let a: Services;
  let b: Services;
  let dataDir: string;
  let target: Awaited<ReturnType<typeof startTarget>>;
  let agent: string;
  let agent2: string;
  let reviewer: string;
  let operator: string;
  const A = (token: string | undefined, method: string, p: string, body?: unknown) => call(a.url, token, method, p, body);
  const B = (token: string | undefined, method: string, p: string, body?: unknown) => call(b.url, token, method, p, body);

  beforeAll(async () => {
    target = await startTarget();
    const suffix = randomBytes(4).toString('hex');
    const baseUrl = inject('databaseUrl');
    const admin = new pg.Client({ connectionString: baseUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE t_${suffix}`);
    await admin.end();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-pauses-'));
    const policyFile = path.join(dataDir, 'policy.yaml');
    fs.writeFileSync(policyFile, policy(target.url));
    const options: ServicesOptions = {
      databaseUrl: baseUrl.replace(/\/[^/]+$/, `/t_${suffix}`),
      temporalAddress: inject('temporalAddress'),
      namespace: 'default',
      taskQueue: `test-${suffix}`,
      dataDir,
      port: 0,
      policyFile,
      adminToken: randomBytes(24).toString('base64url'),
      executorSecret: 'test-executor-secret-0123456789',
      temporalUiUrl: 'http://localhost:8233',
      maxBodyBytes: 1024 * 1024,
      log: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
      workflowBundle: { code: fs.readFileSync(inject('workflowBundlePath'), 'utf8') },
    };
    a = await startServices(options);
    b = await startServices({ ...options, worker: false });
    const principal = async (id: string, kind: string, roles: string[], groups: string[] = []) => {
      const r = await A(options.adminToken, 'POST', '/v1/principals', { id, kind, roles, groups });
      expect(r.status).toBe(201);
      return r.body.token as string;
    };
    agent = await principal('bot-1', 'agent', ['agent']);
    agent2 = await principal('bot-2', 'agent', ['agent']);
    reviewer = await principal('rita', 'human', ['reviewer'], ['finance']);
    operator = await principal('otto', 'human', ['operator']);
  }, 60_000);

  // Histories of the held paths, for the replay test (RECORD_REPLAY_FIXTURES=<generation>).
  const recorded: string[] = [];
  afterAll(async () => {
    if (a) await saveReplayFixtures({ services: a } as unknown as TestStack, recorded);
    await b?.stop();
    await a?.stop();
    await target?.close();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const liftAll = async () => {
    const list = await A(operator, 'GET', '/v1/controls/pauses');
    for (const p of list.body.items) await A(operator, 'DELETE', `/v1/controls/pauses/${p.id}`);
  };
  const ledger = async (id: string) => (await a.pool.query<{ type: string; data: any }>('SELECT type, data FROM ledger_events WHERE action_id = $1 ORDER BY seq', [id])).rows;

  it('when a pause names an unknown scope field, is empty, or has no reason, then 422 problem+json and nothing is paused', async () => {
    const bad = [
      { scope: { agent: 'bot-1', agnet: 'x' }, reason: 'typo' },
      { scope: {}, reason: 'empty' },
      { scope: 'everything', reason: 'not a scope' },
      { scope: 'all' },
      { scope: 'all', reason: 'x', extra: true },
    ];
    for (const body of bad) {
      const r = await A(operator, 'POST', '/v1/controls/pauses', body);
      expect(r.status, JSON.stringify(body)).toBe(422);
      expect(r.headers.get('content-type')).toContain('application/problem+json');
      expect(r.body.errors.length).toBeGreaterThan(0);
    }
    const typo = await A(operator, 'POST', '/v1/controls/pauses', bad[0]);
    expect(typo.body.errors[0].path).toBe('/scope');
    expect(JSON.stringify(typo.body.errors)).toContain('agnet');
    expect((await A(operator, 'GET', '/v1/controls/pauses')).body.items).toEqual([]);
    expect((await a.pool.query('SELECT count(*)::int AS n FROM pauses')).rows[0].n).toBe(0);
  });

  it('when a reviewer or an agent tries to pause, then 403', async () => {
    expect((await A(reviewer, 'POST', '/v1/controls/pauses', { scope: 'all', reason: 'x' })).status).toBe(403);
    expect((await A(agent, 'POST', '/v1/controls/pauses', { scope: 'all', reason: 'x' })).status).toBe(403);
  });

  it('when an operator pauses an agent in API process A, then within 1 s a proposal through API process B ends denied by the control, and other agents go on', async () => {
    const t0 = Date.now();
    const p = await A(operator, 'POST', '/v1/controls/pauses', { scope: { agent: 'bot-1' }, reason: 'incident 42' });
    expect(p.status).toBe(201);
    expect(p.body).toMatchObject({ id: expect.stringMatching(/^pau_/), scope: { agent: 'bot-1' }, reason: 'incident 42', by: 'otto' });
    const denied = await B(agent, 'POST', '/v1/actions?wait=10', { action: 'payments.transfer', params: { amount: 5, to: 'x' } });
    expect(denied.status).toBe(201);
    expect(Date.now() - t0).toBeLessThan(1000 + 2000); // the refusal itself is immediate; the wait covers the workflow
    expect(denied.body.status).toBe('denied');
    expect(denied.body.outcome).toEqual({ by: 'control', actor: 'otto', reason: 'incident 42' });
    const other = await B(agent2, 'POST', '/v1/actions?wait=10', { action: 'payments.transfer', params: { amount: 5, to: 'x' } });
    expect(other.body.status).toBe('succeeded');
    // The pause and the denial are evidence.
    const events = await ledger(p.body.id);
    expect(events.map((e) => e.type)).toEqual(['paused']);
    expect(events[0].data).toMatchObject({ scope: { agent: 'bot-1' }, reason: 'incident 42' });
    const decided = (await ledger(denied.body.id)).find((e) => e.type === 'policy_decided');
    expect(decided?.data.control).toMatchObject({ pauseId: p.body.id, by: 'otto' });
    await liftAll();
  });

  it('when a pause lands, then the other API process refuses decisions on the pending action within 1 s (409 paused), the deadline keeps running, and after the lift the decision counts', async () => {
    const pending = await A(agent, 'POST', '/v1/actions?wait=10', { action: 'payments.transfer', params: { amount: 500, to: 'x' } });
    expect(pending.body.status).toBe('awaiting_approval');
    const deadline = pending.body.approval.deadline;
    const p = await A(operator, 'POST', '/v1/controls/pauses', { scope: { action: 'payments.transfer', agent: 'bot-1' }, reason: 'audit' });
    const t0 = Date.now();
    const refused = await eventually(async () => {
      const r = await B(reviewer, 'POST', `/v1/actions/${pending.body.id}/decisions`, { decision: 'approve' });
      return r.status === 409 && r;
    }, 1000, 'B to refuse the decision');
    const propagationMs = Date.now() - t0;
    expect(propagationMs).toBeLessThan(1000);
    expect(refused.body.type).toMatch(/paused$/);
    const still = await B(operator, 'GET', `/v1/actions/${pending.body.id}`);
    expect(still.body.status).toBe('awaiting_approval');
    expect(still.body.approval.deadline).toBe(deadline);
    // Lifted in B: A accepts the decision at once.
    const lifted = await B(operator, 'DELETE', `/v1/controls/pauses/${p.body.id}`);
    expect(lifted.status).toBe(200);
    expect(lifted.body.liftedBy).toBe('otto');
    expect((await ledger(p.body.id)).map((e) => e.type)).toEqual(['paused', 'resumed']);
    const ok = await eventually(async () => {
      const r = await A(reviewer, 'POST', `/v1/actions/${pending.body.id}/decisions`, { decision: 'approve' });
      return r.status === 200 && r;
    }, 1000, 'A to accept the decision');
    expect(ok.status).toBe(200);
    expect((await B(operator, 'DELETE', `/v1/controls/pauses/${p.body.id}`)).status).toBe(404);
  });

  it('when an approved action would execute while paused, then it waits in approved with paused: true (filterable in Temporal), and after the lift it executes exactly once', async () => {
    const r = await A(agent, 'POST', '/v1/actions?wait=10', { action: 'payments.transfer', params: { amount: 2000, to: 'held' } });
    expect(r.body.status).toBe('awaiting_approval');
    const p = await A(operator, 'POST', '/v1/controls/pauses', { scope: 'all', reason: 'freeze' });
    // The step times out after 3 s with onTimeout: allow; the pause holds it.
    const held = await eventually(async () => {
      const v = await B(operator, 'GET', `/v1/actions/${r.body.id}`);
      return v.body.status === 'approved' && v.body.paused === true && (await ledger(r.body.id)).some((e) => e.type === 'execution_held') && v;
    }, 15_000, 'the action to be held');
    expect(held.body.paused).toBe(true);
    expect(target.forAction(r.body.id)).toHaveLength(0);
    const handle = a.temporal.workflow.getHandle(`action-${r.body.id}`);
    // The ledger write comes before the workflow task that upserts the attribute completes.
    await eventually(async () => JSON.stringify((await handle.describe()).searchAttributes.CountersignPaused) === '[true]', 10_000, 'CountersignPaused in Temporal');
    await new Promise((res) => setTimeout(res, 500));
    expect(target.forAction(r.body.id)).toHaveLength(0);

    expect((await A(operator, 'DELETE', `/v1/controls/pauses/${p.body.id}`)).status).toBe(200);
    const done = await eventually(async () => {
      const v = await A(agent, 'GET', `/v1/actions/${r.body.id}?wait=5`);
      return v.body.status === 'succeeded' && v;
    }, 15_000, 'the held action to execute');
    expect(done.body.paused).toBeUndefined();
    await new Promise((res) => setTimeout(res, 500));
    expect(target.forAction(r.body.id)).toHaveLength(1);
    const types = (await ledger(r.body.id)).map((e) => e.type);
    expect(types.filter((t) => t === 'execution_held')).toHaveLength(1);
    expect(types.slice(types.indexOf('execution_held'))).toEqual(['execution_held', 'execution_resumed', 'execution_started', 'executed']);
    recorded.push(`paused-held=action-${r.body.id}`);
    expect((await handle.describe()).searchAttributes.CountersignPaused).toBeUndefined();
  });

  it('when a held action is cancelled, then it ends cancelled and never executes', async () => {
    const r = await A(agent, 'POST', '/v1/actions?wait=10', { action: 'payments.transfer', params: { amount: 3000, to: 'cancel-me' } });
    const p = await A(operator, 'POST', '/v1/controls/pauses', { scope: { agent: 'bot-1' }, reason: 'hold' });
    await eventually(async () => (await ledger(r.body.id)).some((e) => e.type === 'execution_held'), 15_000, 'the action to be held');
    const cancelled = await B(operator, 'POST', `/v1/actions/${r.body.id}/cancel`, { reason: 'not while frozen' });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    await A(operator, 'DELETE', `/v1/controls/pauses/${p.body.id}`);
    await new Promise((res) => setTimeout(res, 1000));
    expect(target.forAction(r.body.id)).toHaveLength(0);
    expect((await A(operator, 'GET', `/v1/actions/${r.body.id}`)).body.status).toBe('cancelled');
    recorded.push(`paused-cancelled=action-${r.body.id}`);
  });

  it('when pauses are listed, then active ones show by default and lifted ones with all=true', async () => {
    const p = await A(operator, 'POST', '/v1/controls/pauses', { scope: { action: 'emails.send' }, reason: 'spam wave' });
    const active = await A(operator, 'GET', '/v1/controls/pauses');
    expect(active.body.items.map((x: { id: string }) => x.id)).toEqual([p.body.id]);
    const email = await B(agent2, 'POST', '/v1/actions?wait=10', { action: 'emails.send', params: { to: 'a@b.c' } });
    expect(email.body.outcome?.by).toBe('control');
    await A(operator, 'DELETE', `/v1/controls/pauses/${p.body.id}`);
    const all = await A(operator, 'GET', '/v1/controls/pauses?all=true');
    expect(all.body.items.length).toBeGreaterThanOrEqual(4);
    expect(all.body.items.every((x: { liftedAt?: string }) => x.liftedAt)).toBe(true);
    const verify = await A(operator, 'GET', '/v1/ledger/verify');
    expect(verify.body.ok).toBe(true);
  });
});
