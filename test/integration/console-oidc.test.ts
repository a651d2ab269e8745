import type { Server } from 'node:http';
import Provider from 'oidc-provider';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPolicy } from '../fixtures/policy';
import { buildConsole, launchBrowser, newContext } from '../helpers/browser';
import { freePorts } from '../helpers/ports';
import { eventually, startTestStack, type TestStack } from '../helpers/stack';

/**
 * Signing in to the console with SSO, in a real browser, against a real OpenID provider (the
 * `oidc-provider` package run in this test, with its development login and consent pages):
 * the reviewer presses "Sign in with SSO", logs in at the provider, lands on the inbox, and
 * decides; the evidence names the provider and the subject. The HTTP-level details of the flow
 * (PKCE, state, nonce, unverified emails) are tested in oidc.test.ts.
 */
describe('console sign-in with SSO, in a browser', () => {
  let stack: TestStack;
  let issuer: string;
  let server: Server;
  let browser: Browser;
  let agent: string;

  beforeAll(async () => {
    await buildConsole();
    const [port] = await freePorts(1);
    issuer = `http://127.0.0.1:${port}`;
    stack = await startTestStack(testPolicy('http://127.0.0.1:9'), {
      oidc: { issuer, clientId: 'countersign-console', clientSecret: 'a-client-secret-for-the-browser-test', groupsClaim: 'groups' },
    });
    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: 'countersign-console',
          client_secret: 'a-client-secret-for-the-browser-test',
          redirect_uris: [`${stack.url}/console/sign-in/oidc/callback`],
          grant_types: ['authorization_code'],
          response_types: ['code'],
          token_endpoint_auth_method: 'client_secret_post',
        },
      ],
      pkce: { required: () => true },
      claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['groups'] },
      features: { devInteractions: { enabled: true } },
      async findAccount(_ctx, id) {
        if (id !== 'alice-sub') return undefined;
        return { accountId: id, claims: async () => ({ sub: id, email: 'alice@corp.example', email_verified: true, groups: ['finance'] }) };
      },
    });
    await new Promise<void>((resolve) => {
      server = provider.listen(port, '127.0.0.1', resolve);
    });
    agent = await stack.principal('pay-bot', 'agent', ['agent']);
    await stack.principal('alice', 'human', ['reviewer'], ['finance']);
    expect((await stack.call(stack.admin, 'PATCH', '/v1/principals/alice', { oidcSubject: 'alice-sub' })).status).toBe(200);
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
    await stack?.stop();
  });

  it('when a reviewer signs in with SSO at the provider, then the console opens on their inbox and their approval records the provider and subject', async () => {
    const r = await stack.call(agent, 'POST', '/v1/actions?wait=20', { action: 'payments.transfer', params: { amount: 500, currency: 'EUR', to: 'acct-1' } });
    expect(r.body.status).toBe('awaiting_approval');

    const page = await (await newContext(browser)).newPage();
    // Not signed in: the console sends the browser to the sign-in page.
    await page.goto(`${stack.url}/console`);
    await page.waitForURL(/\/console\/sign-in$/);
    await page.getByRole('link', { name: 'Sign in with SSO' }).click();
    // The provider's own login page (oidc-provider's development pages), then its consent page.
    await page.waitForURL((u) => u.toString().startsWith(issuer));
    await page.locator('input[name="login"]').fill('alice-sub');
    await page.locator('input[name="password"]').fill('any');
    await page.locator('button[type="submit"]').click();
    await page.locator('button[type="submit"]').filter({ hasText: /continue/i }).click();
    await page.waitForURL(/\/console\/?$/, { waitUntil: 'commit' });
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    expect(await page.locator('header .who').innerText()).toContain('alice');

    const row = page.locator(`li[data-action-id="${r.body.id}"]`);
    await row.waitFor();
    await row.click();
    await page.keyboard.press('a');
    await page.getByRole('button', { name: 'Confirm', exact: true }).click();
    await row.waitFor({ state: 'detached' });
    const recorded = await eventually(async () => {
      const { rows } = await stack.pool.query("SELECT data FROM ledger_events WHERE action_id = $1 AND type = 'decision_recorded'", [r.body.id]);
      return rows[0]?.data;
    });
    expect(recorded).toMatchObject({ reviewer: 'alice', decision: 'approve', via: 'console', identity: { method: 'oidc', issuer, subject: 'alice-sub' } });
    await page.context().close();
  });
});
