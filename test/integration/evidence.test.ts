import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runEvidenceCommand } from '../../cli/commands/evidence';
import { testPolicy } from '../fixtures/policy';
import { startTestStack, type TestStack } from '../helpers/stack';
import { startTarget } from '../helpers/target';

// Evidence through the API: complete for every outcome, signed, verifiable offline, and the
// ledger agrees with the workflow on the final status.
describe('evidence', () => {
  let stack: TestStack;
  let target: Awaited<ReturnType<typeof startTarget>>;
  let agent: string;
  let alice: string;
  let operator: string;
  let failNext = false;

  beforeAll(async () => {
    target = await startTarget(() => (failNext ? { status: 400, body: { error: 'account closed' } } : { status: 200, body: { ok: true } }));
    stack = await startTestStack(testPolicy(target.url).replace('to: { type: string }', 'to: { type: string, x-sensitive: true }'));
    agent = await stack.principal('agent-e', 'agent', ['agent']);
    alice = await stack.principal('alice', 'human', ['reviewer'], ['finance']);
    operator = await stack.principal('olga', 'human', ['operator']);
  });
  afterAll(async () => {
    await stack?.stop();
    await target?.close();
  });

  const propose = async (amount: number, currency = 'EUR', extra: Record<string, unknown> = {}) =>
    (await stack.call(agent, 'POST', '/v1/actions?wait=20', { action: 'payments.transfer', params: { amount, currency, to: 'DE-secret-iban' }, ...extra })).body;
  const evidence = async (id: string, token = operator) => stack.call(token, 'GET', `/v1/actions/${id}/evidence`);
  const finalStatus = async (id: string) => {
    for (let i = 0; i < 200; i++) {
      const r = await stack.call(operator, 'GET', `/v1/actions/${id}?wait=10`);
      if (!['evaluating', 'awaiting_approval', 'approved', 'executing'].includes(r.body.status)) return r.body.status as string;
    }
    throw new Error('never finished');
  };

  it('when an action ends in any outcome, then its evidence holds the whole story and the ledger agrees with the workflow', async () => {
    const allowed = await propose(10, 'EUR', { model: { provider: 'acme', name: 'm-1', output: 'pay 10', traceId: 't-1' } });
    const policyDenied = await propose(10, 'XXX');
    const reviewerDenied = await propose(300);
    await stack.call(alice, 'POST', `/v1/actions/${reviewerDenied.id}/decisions`, { decision: 'deny', reason: 'no' });
    const edited = await propose(400);
    await stack.call(alice, 'POST', `/v1/actions/${edited.id}/decisions`, { decision: 'approve', params: { amount: 350, currency: 'EUR', to: 'DE-secret-iban' } });
    const cancelled = await propose(500);
    await stack.call(agent, 'POST', `/v1/actions/${cancelled.id}/cancel`, { reason: 'stop' });
    failNext = true;
    const failed = await propose(20);
    const expectations: [string, string, string[]][] = [
      [allowed.id, 'succeeded', ['proposed', 'policy_decided', 'execution_started', 'executed']],
      [policyDenied.id, 'denied', ['proposed', 'policy_decided']],
      [reviewerDenied.id, 'denied', ['proposed', 'policy_decided', 'approval_requested', 'decision_recorded']],
      // An edit re-plans: the edited params' plan is requested from step 1 (here the editor's own approval meets it).
      [edited.id, 'succeeded', ['proposed', 'policy_decided', 'approval_requested', 'edited', 'decision_recorded', 'approval_requested', 'execution_started', 'executed']],
      [cancelled.id, 'cancelled', ['proposed', 'policy_decided', 'approval_requested', 'cancelled']],
      [failed.id, 'failed', ['proposed', 'policy_decided', 'execution_started', 'execution_failed']],
    ];
    for (const [id, status, types] of expectations) {
      expect(await finalStatus(id)).toBe(status);
      const result = await stack.services.temporal.workflow.getHandle(`action-${id}`).result();
      expect(result.status).toBe(status);
      const b = await evidence(id);
      expect(b.status).toBe(200);
      expect(b.body.events.map((e: { type: string }) => e.type)).toEqual(types);
      expect(b.body).toMatchObject({ actionId: id, workflowId: `action-${id}`, signature: { alg: 'Ed25519' } });
    }
    failNext = false;

    const a = (await evidence(allowed.id)).body;
    expect(a.events[0].data.model).toEqual({ provider: 'acme', name: 'm-1', output: 'pay 10', traceId: 't-1' });
    expect(a.events[1].data).toMatchObject({ decision: 'allow', ruleIds: ['small-transfers'], version: a.policyVersion });
    // The action has a sensitive param: what the executor sent is digested under the digest key.
    expect(a.events[3].data.requestDigest).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    // x-sensitive params are keyed digests in the ledger, never values.
    expect(JSON.stringify(a)).not.toContain('DE-secret-iban');
    expect(a.events[0].data.params.to).toEqual({ $digest: expect.stringMatching(/^hmac-sha256:[0-9a-f]{64}$/) });
    const f = (await evidence(failed.id)).body;
    expect(f.events.at(-1).data.response).toMatchObject({ status: 400, body: { error: 'account closed' } });
    const e = (await evidence(edited.id)).body;
    expect(e.events.find((x: { type: string }) => x.type === 'decision_recorded').data).toMatchObject({ reviewer: 'alice', edited: true, digest: expect.any(String) });
  });

  it('when a bundle is saved and verified offline, then it holds; when tampered with, then the CLI names the first bad seq', async () => {
    const a = await propose(15);
    await finalStatus(a.id);
    const bundle = (await evidence(a.id)).body;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'evidence-'));
    const file = path.join(dir, 'bundle.json');
    fs.writeFileSync(file, JSON.stringify(bundle));
    const keyFile = path.join(dir, 'key.pem');
    fs.writeFileSync(keyFile, bundle.publicKey);
    const out: string[] = [];
    const io = { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => out.push(s) } };
    const deps = { getPool: async () => stack.pool, dataDir: dir, io } as never;
    expect(await runEvidenceCommand(['verify', file, '--public-key', keyFile], deps)).toBe(0);

    bundle.events[1].data.decision = 'deny';
    fs.writeFileSync(file, JSON.stringify(bundle));
    out.length = 0;
    expect(await runEvidenceCommand(['verify', file, '--public-key', keyFile], deps)).toBe(1);
    expect(out.join('')).toMatch(/seq 2/);
  });

  it('when another agent or a reviewer asks for evidence, then 404; the proposing agent may read its own', async () => {
    const a = await propose(12);
    await finalStatus(a.id);
    const other = await stack.principal('agent-x', 'agent', ['agent']);
    expect((await evidence(a.id, other)).status).toBe(404);
    expect((await evidence(a.id, alice)).status).toBe(404);
    expect((await evidence(a.id, agent)).status).toBe(200);
  });

  it('when the ledger is verified through the API, then every chain holds', async () => {
    const r = await stack.call(operator, 'GET', '/v1/ledger/verify');
    expect(r.status).toBe(200);
    expect(r.body.ok).toBe(true);
    expect(r.body.events).toBeGreaterThan(10);
    expect((await stack.call(agent, 'GET', '/v1/ledger/verify')).status).toBe(403);
  });

  it('when actions delegate to child actions, then lineage shows the whole tree from any node', async () => {
    const root = await propose(5);
    const child = await propose(6, 'EUR', { parentActionId: root.id });
    const grandchild = await propose(7, 'EUR', { parentActionId: child.id });
    const r = await stack.call(operator, 'GET', `/v1/actions/${grandchild.id}/lineage`);
    expect(r.status).toBe(200);
    expect(r.body.root.id).toBe(root.id);
    expect(r.body.root.children[0].id).toBe(child.id);
    expect(r.body.root.children[0].children[0].id).toBe(grandchild.id);
    const bad = await stack.call(agent, 'POST', '/v1/actions', { action: 'payments.transfer', params: { amount: 1, currency: 'EUR', to: 'x' }, parentActionId: 'act_nope' });
    expect(bad.status).toBe(422);
  });
});
