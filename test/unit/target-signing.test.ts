import crypto, { createHmac } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExecutorActivities, ExecutorHealth } from '../../activities/http-executor';
import { createNotificationActivities, type NotificationInput } from '../../activities/notify';
import { signatureHeader, verifySignature } from '../../activities/request-signing';
import type { PolicyStore } from '../../ledger/policy-store';
import { loadPolicyBundle, PolicyValidationError, validatePolicyBundle } from '../../policy';
import { startTarget } from '../helpers/target';

/*
 * Executor targets and webhooks with a secret of their own (`secret: env:NAME`) get
 * `X-Countersign-Signature: t=<unix>,v1=<hex>` over the timestamp, the URL, the idempotency key
 * and the body. Each attack replays or reuses a real signed request the way the review described,
 * and the receiver's documented check (verifySignature) refuses it; the fresh request passes.
 */

const PAYMENTS_SECRET = 'payments-secret-0123456789';
const FINANCE_HOOK_SECRET = 'finance-hook-secret-0123456789';
const INSTALLATION_SECRET = 'installation-secret-0123456789';
const env = { PAYMENTS_SECRET, FINANCE_HOOK_SECRET };

const bundleFor = (targetUrl: string, extra = '') =>
  loadPolicyBundle(`
defaults: { decision: allow }
actions:
  payments.transfer:
    owner: finance
    category: financial
    params: { type: object, properties: { amount: { type: number } } }
    executor: { type: http, url: "${targetUrl}/transfers", secret: "env:PAYMENTS_SECRET" }
  payments.refund:
    owner: finance
    category: financial
    params: { type: object, properties: { amount: { type: number } } }
    executor: { type: http, url: "${targetUrl}/refunds" }
notifications:
  webhooks:
    finance:
      - { url: "${targetUrl}/hooks/finance", secret: "env:FINANCE_HOOK_SECRET" }
      - "${targetUrl}/hooks/legacy"
${extra}`);

describe('executor and webhook requests signed per target', () => {
  let target: Awaited<ReturnType<typeof startTarget>>;
  let bundle: ReturnType<typeof loadPolicyBundle>;
  let policies: PolicyStore;
  const activity = new MockActivityEnvironment();
  beforeAll(async () => {
    target = await startTarget();
    bundle = bundleFor(target.url);
    policies = { byVersion: async () => bundle, active: async () => ({ bundle }) } as unknown as PolicyStore;
  });
  afterAll(() => target.close());

  const transfer = (extra: Record<string, unknown> = {}) => ({
    actionId: `act_${Math.random().toString(16).slice(2)}`,
    action: 'payments.transfer',
    params: { amount: 5 },
    url: `${target.url}/transfers`,
    policyVersion: bundle.version,
    ...extra,
  });
  const executor = () => createExecutorActivities({ executorSecret: INSTALLATION_SECRET, policies, secretEnv: env, health: new ExecutorHealth() });

  it('when a target has its own secret, then the request carries t=,v1= under that secret, and the receiver verifies it (the legitimate path)', async () => {
    const req = transfer();
    await activity.run(executor().executeHttp, req);
    const [got] = target.forAction(req.actionId);
    const header = got.headers['x-countersign-signature'] as string;
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    const t = Number(/t=(\d+)/.exec(header)![1]);
    expect(Math.abs(t - Date.now() / 1000)).toBeLessThan(5);
    const expected = createHmac('sha256', PAYMENTS_SECRET).update(`${t}\n${req.url}\n${req.actionId}\n${got.rawBody}`).digest('hex');
    expect(header).toBe(`t=${t},v1=${expected}`);
    expect(verifySignature(header, [PAYMENTS_SECRET], { url: req.url, idempotencyKey: got.headers['idempotency-key'] as string, body: got.rawBody })).toBe('ok');
  });

  it('when a receiver runs the recipe in docs/security-model.md, then a real request verifies and a replay after five minutes does not', async () => {
    const doc = fs.readFileSync(path.join(__dirname, '..', '..', 'docs', 'security-model.md'), 'utf8');
    const code = /\*\*Verifying \(receiver's recipe\)\.\*\*[\s\S]*?```js\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(code, 'the recipe in docs/security-model.md').toBeDefined();
    const verifyCountersign = new Function('require', `${code}\nreturn verifyCountersign;`)((id: string) => (id === 'node:crypto' ? crypto : undefined)) as (h: string, s: string[], r: object, now?: number) => boolean;
    const req = transfer();
    await activity.run(executor().executeHttp, req);
    const [got] = target.forAction(req.actionId);
    const received = { url: req.url, idempotencyKey: got.headers['idempotency-key'], rawBody: got.rawBody };
    expect(verifyCountersign(got.headers['x-countersign-signature'] as string, [PAYMENTS_SECRET], received)).toBe(true);
    expect(verifyCountersign(got.headers['x-countersign-signature'] as string, [PAYMENTS_SECRET], received, Date.now() + 301_000)).toBe(false);
    expect(verifyCountersign(got.headers['x-countersign-signature'] as string, [PAYMENTS_SECRET], { ...received, url: `${target.url}/refunds` })).toBe(false);
  });

  it('when a captured request is replayed more than five minutes later, then the receiver refuses it; within the window it passes', async () => {
    const req = transfer();
    await activity.run(executor().executeHttp, req);
    const [got] = target.forAction(req.actionId);
    const received = { url: req.url, idempotencyKey: req.actionId, body: got.rawBody };
    const header = got.headers['x-countersign-signature'] as string;
    expect(verifySignature(header, [PAYMENTS_SECRET], received, Date.now() + 299_000)).toBe('ok');
    expect(verifySignature(header, [PAYMENTS_SECRET], received, Date.now() + 301_000)).toBe('expired');
  });

  it('when a captured request is sent to another target, another action or with another body, then the receiver refuses it', async () => {
    const req = transfer();
    await activity.run(executor().executeHttp, req);
    const [got] = target.forAction(req.actionId);
    const header = got.headers['x-countersign-signature'] as string;
    const received = { url: req.url, idempotencyKey: req.actionId, body: got.rawBody };
    // Same secret (one payments service behind two paths), other URL: refused.
    expect(verifySignature(header, [PAYMENTS_SECRET], { ...received, url: `${target.url}/refunds` })).toBe('mismatch');
    // The same body under another action's idempotency key: refused.
    expect(verifySignature(header, [PAYMENTS_SECRET], { ...received, idempotencyKey: 'act_other' })).toBe('mismatch');
    expect(verifySignature(header, [PAYMENTS_SECRET], { ...received, body: got.rawBody.replace('"amount":5', '"amount":5000') })).toBe('mismatch');
  });

  it('when a webhook receiver signs with its own secret, or the installation secret is used, then an executor target that checks its own secret refuses it', async () => {
    const notify = createNotificationActivities({ policies, executorSecret: INSTALLATION_SECRET, secretEnv: env });
    const notification: NotificationInput = {
      event: 'approval_requested', actionId: 'act_hook', action: 'payments.transfer', agent: 'a', status: 'awaiting_approval',
      groups: ['finance'], policyVersion: bundle.version, deadline: null, justification: null, params: { amount: 5 }, link: '/v1/actions/act_hook',
    };
    await activity.run(notify.notifyWebhook, { url: `${target.url}/hooks/finance`, notification });
    const hook = target.received.filter((r) => r.path === '/hooks/finance').at(-1)!;
    const hookHeader = hook.headers['x-countersign-signature'] as string;
    const hookKey = hook.headers['idempotency-key'] as string;
    expect(hookKey).toMatch(/^act_hook:approval_requested:/);
    // The webhook verifies under its own secret...
    expect(verifySignature(hookHeader, [FINANCE_HOOK_SECRET], { url: `${target.url}/hooks/finance`, idempotencyKey: hookKey, body: hook.rawBody })).toBe('ok');
    // ...and what its holder can sign is refused by the payments target, as is anything under the installation secret.
    const forged = signatureHeader(FINANCE_HOOK_SECRET, { url: `${target.url}/transfers`, idempotencyKey: 'act_x', body: '{"actionId":"act_x"}' });
    expect(verifySignature(forged, [PAYMENTS_SECRET], { url: `${target.url}/transfers`, idempotencyKey: 'act_x', body: '{"actionId":"act_x"}' })).toBe('mismatch');
    const legacy = signatureHeader(INSTALLATION_SECRET, { url: `${target.url}/transfers`, idempotencyKey: 'act_x', body: '{"actionId":"act_x"}' });
    expect(verifySignature(legacy, [PAYMENTS_SECRET], { url: `${target.url}/transfers`, idempotencyKey: 'act_x', body: '{"actionId":"act_x"}' })).toBe('mismatch');
  });

  it('when a target without a secret of its own is called, then it keeps the legacy sha256= body signature (so existing receivers keep working)', async () => {
    const req = { ...transfer(), action: 'payments.refund', url: `${target.url}/refunds` };
    await activity.run(executor().executeHttp, req);
    const [got] = target.forAction(req.actionId);
    expect(got.headers['x-countersign-signature']).toBe(`sha256=${createHmac('sha256', INSTALLATION_SECRET).update(got.rawBody).digest('hex')}`);
  });

  it("when the target's secret is not in the worker's environment, then nothing is sent, retryably", async () => {
    const req = transfer();
    const bare = createExecutorActivities({ executorSecret: INSTALLATION_SECRET, policies, secretEnv: {}, health: new ExecutorHealth() });
    const err: any = await activity.run(bare.executeHttp, req).catch((e: unknown) => e);
    expect(err.type).toBe('ExecutorUnavailable');
    expect(err.nonRetryable).toBe(false);
    expect(err.message).toContain('refusing to send');
    expect(err.message).toContain('PAYMENTS_SECRET is not set');
    expect(target.forAction(req.actionId)).toHaveLength(0);
  });
});

describe('bundles: secrets are references, and requests leave over https', () => {
  const bundle = (executor: string, webhooks = '') => `
actions:
  payments.transfer:
    owner: finance
    category: financial
    params: { type: object }
    executor: ${executor}
${webhooks}`;
  const errors = (text: string, opts = {}) => {
    const r = validatePolicyBundle(text, opts);
    return r.ok ? [] : r.errors.map((e) => `${e.path}: ${e.message}`);
  };

  it('when a bundle writes a secret value instead of env:NAME, then it does not load', () => {
    expect(errors(bundle('{ type: http, url: "https://pay.example/t", secret: "s3cr3t-value-0123456789" }'))).toEqual([
      expect.stringContaining('secret must name an environment variable (env:NAME), not hold a value'),
    ]);
    expect(errors(bundle('{ type: http, url: "https://pay.example/t" }', 'notifications: { webhooks: { finance: [{ url: "https://h.example/f", secret: "plain" }] } }'))).toEqual([
      expect.stringContaining('not hold a value'),
    ]);
  });

  it('when an executor or webhook URL is plain http to another host, then the bundle does not load, unless the target says insecure', () => {
    expect(errors(bundle('{ type: http, url: "http://pay.example/t" }'))).toEqual([expect.stringContaining('executor url http://pay.example/t is plain http to another host')]);
    expect(errors(bundle('{ type: http, url: "https://pay.example/t" }', 'notifications: { webhooks: { finance: ["http://hooks.example/f"] } }'))).toEqual([
      expect.stringContaining('webhook http://hooks.example/f is plain http to another host'),
    ]);
    // The legitimate paths: https, loopback, or an explicit opt-out.
    expect(errors(bundle('{ type: http, url: "https://pay.example/t", secret: "env:PAYMENTS_SECRET" }'))).toEqual([]);
    for (const host of ['127.0.0.1:9000', 'localhost', '[::1]:8080']) expect(errors(bundle(`{ type: http, url: "http://${host}/t" }`)), host).toEqual([]);
    expect(errors(bundle('{ type: http, url: "http://pay.internal/t", insecure: true }', 'notifications: { webhooks: { finance: [{ url: "http://hooks.internal/f", insecure: true }] } }'))).toEqual([]);
  });

  it('when a stored version from before this rule is read back, then its http URLs still load (actions decided under it keep running)', () => {
    expect(() => loadPolicyBundle(bundle('{ type: http, url: "http://pay.example/t" }'))).toThrow(PolicyValidationError);
    expect(loadPolicyBundle(bundle('{ type: http, url: "http://pay.example/t" }'), { admitted: true }).actions.get('payments.transfer')?.executor).toEqual({
      type: 'http',
      url: 'http://pay.example/t',
    });
  });

  it('when one webhook URL is listed twice with different secrets, then the bundle does not load', () => {
    const hooks = 'notifications: { webhooks: { finance: [{ url: "https://h.example/f", secret: "env:A_SECRET" }], ops: [{ url: "https://h.example/f", secret: "env:B_SECRET" }] } }';
    expect(errors(bundle('{ type: http, url: "https://pay.example/t" }', hooks))).toEqual([expect.stringContaining('is also listed at notifications.webhooks.finance[0] with another secret')]);
  });
});
