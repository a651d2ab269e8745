import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNotificationActivities, type NotificationInput } from '../../activities/notify';
import type { PolicyStore } from '../../ledger/policy-store';
import { loadPolicyBundle } from '../../policy';
import { startTarget } from '../helpers/target';

const bundle = loadPolicyBundle(`
defaults: { decision: deny }
notifications:
  webhooks:
    finance: ["https://hooks.invalid/finance"]
actions:
  payments.transfer:
    owner: finance
    category: financial
    params:
      type: object
      properties:
        amount: { type: number }
        iban: { type: string, x-sensitive: true }
        payees: { type: array, items: { type: object, properties: { name: { type: string }, pin: { type: string, x-sensitive: true } } } }
        vault: { type: object, x-sensitive: true }
    executor: { type: agent }
rules: []
`);

describe('reviewer notifications', () => {
  let hook: Awaited<ReturnType<typeof startTarget>>;
  const policies = { byVersion: async () => bundle } as unknown as PolicyStore;
  const acts = createNotificationActivities({ policies, executorSecret: 'unit-secret-0123456789', publicUrl: 'https://cs.example' });
  const env = new MockActivityEnvironment();
  const notification: NotificationInput = {
    event: 'approval_requested',
    actionId: 'act_1',
    action: 'payments.transfer',
    agent: 'agent-1',
    status: 'awaiting_approval',
    groups: ['finance'],
    policyVersion: bundle.version,
    deadline: '2026-01-01T00:00:00.000Z',
    justification: 'invoice 7',
    params: { amount: 5, iban: 'DE-SECRET-IBAN', payees: [{ name: 'Ann', pin: 'PIN-SECRET-1' }], vault: { code: 'VAULT-SECRET' } },
    link: '/v1/actions/act_1',
  };

  beforeAll(async () => {
    hook = await startTarget();
  });
  afterAll(() => hook.close());

  it('when a group has webhooks, then their URLs come from the bundle', async () => {
    expect(await env.run(acts.notificationTargets, { policyVersion: bundle.version, groups: ['finance', 'nobody'] })).toEqual(['https://hooks.invalid/finance']);
  });

  it('when a notification is posted, then it is Slack-shaped, signed, linked, and sensitive params are masked', async () => {
    await env.run(acts.notifyWebhook, { url: `${hook.url}/finance`, notification });
    const got = hook.received.at(-1)!;
    expect(got.headers['x-countersign-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(got.headers['x-countersign-event']).toBe('approval_requested');
    expect(got.body.text).toContain('payments.transfer');
    expect(got.body.blocks.length).toBe(3);
    // Links open the console's action page, where the reviewer signs in.
    expect(got.rawBody).toContain('https://cs.example/console/actions/act_1');
    expect(got.rawBody).not.toMatch(/SECRET/);
    expect(got.body.blocks[1].text.text).toContain('{"amount":5,"iban":"***","payees":[{"name":"Ann","pin":"***"}],"vault":"***"}');
  });

  it('when the action is not in the bundle it names, then every param value is masked', async () => {
    await env.run(acts.notifyWebhook, { url: `${hook.url}/finance`, notification: { ...notification, action: 'gone.action' } });
    const got = hook.received.at(-1)!;
    expect(got.rawBody).not.toMatch(/SECRET|"Ann"/);
    expect(got.body.blocks[1].text.text).toContain('{"amount":"***","iban":"***","payees":"***","vault":"***"}');
  });
});
