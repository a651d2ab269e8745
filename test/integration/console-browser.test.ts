import fs from 'node:fs';
import path from 'node:path';
import AxeBuilder from '@axe-core/playwright';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transferAction } from '../fixtures/policy';
import { buildConsole, launchBrowser, newContext, signIn, signInLink, signedInPage } from '../helpers/browser';
import { eventually, startTestStack, type TestStack } from '../helpers/stack';
import { startTarget } from '../helpers/target';

/**
 * The reviewer console in a real browser (Debian's Chromium through playwright-core) against a
 * real stack: sign-in links and sessions, the live inbox, the action page, decisions, edits,
 * keyboard, sign-out, CSRF, and an accessibility scan.
 */
function consolePolicy(targetUrl: string): string {
  return `
defaults:
  decision: deny
  approval: { timeout: 1h, onTimeout: deny }
actions:
${transferAction(targetUrl)}
  accounts.update_card:
    owner: finance-ops
    category: account_change
    params:
      type: object
      required: [account, cardNumber]
      additionalProperties: false
      properties:
        account: { type: string }
        cardNumber: { type: string, x-sensitive: true }
    executor: { type: http, url: "${targetUrl}/cards" }
rules:
  - id: small-transfers
    action: payments.transfer
    when: params.amount <= 100
    decision: allow
  - id: medium-transfers
    action: payments.transfer
    when: params.amount > 100 && params.amount <= 10000
    decision: require_approval
    reason: Transfers over 100 need a finance approver
    approval:
      steps:
        - { group: finance, quorum: 1, timeout: 2h }
  - id: large-transfers
    action: payments.transfer
    when: params.amount > 10000 && params.amount <= 50000
    decision: require_approval
    reason: Transfers over 10,000 need two finance approvers
    approval:
      steps:
        - { group: finance, quorum: 2, timeout: 2h }
  - id: card-changes
    action: accounts.update_card
    decision: require_approval
    reason: Card changes need a finance approver
    approval:
      steps:
        - { group: finance, quorum: 1, timeout: 30m }
`;
}

/** Where the screenshots for docs/console.md go (written when CONSOLE_SCREENSHOTS=1). */
const IMAGES = path.resolve(__dirname, '..', '..', 'docs', 'images');

describe('the reviewer console, in a browser', () => {
  let stack: TestStack;
  let target: Awaited<ReturnType<typeof startTarget>>;
  let browser: Browser;
  let agent: string;
  let bob: string;

  beforeAll(async () => {
    await buildConsole();
    target = await startTarget();
    stack = await startTestStack(consolePolicy(target.url));
    agent = await stack.principal('pay-bot', 'agent', ['agent']);
    await stack.principal('alice', 'human', ['reviewer'], ['finance']);
    bob = await stack.principal('bob', 'human', ['reviewer'], ['finance']);
    await stack.principal('carol', 'human', ['reviewer'], ['comms']);
    await stack.principal('dave', 'human', ['reviewer'], ['finance']);
    await stack.principal('erin', 'human', ['reviewer'], ['finance']);
    await stack.principal('olga', 'human', ['operator'], []);
    await stack.principal('ada', 'human', ['admin'], []);
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
    await target?.close();
  });

  let n = 0;
  /** Propose a transfer of `amount`; resolves with its view once it waits for approval. */
  const propose = async (amount: number, extra: Record<string, unknown> = {}) => {
    n++;
    const r = await stack.call(agent, 'POST', '/v1/actions?wait=20', {
      action: 'payments.transfer',
      params: { amount, currency: 'EUR', to: `acct-${n}` },
      justification: `Invoice ${1000 + n} from the supplier`,
      model: { provider: 'openai', name: 'gpt-test', traceId: `trace-${n}` },
      ...extra,
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body.status).toBe('awaiting_approval');
    return r.body as { id: string; approval: { digest: string } };
  };
  const get = async (id: string) => (await stack.call(agent, 'GET', `/v1/actions/${id}`)).body;
  const row = (page: Page, id: string) => page.locator(`li[data-action-id="${id}"]`);

  it('when a reviewer signs in with a link, then the inbox shows a pending action with its agent, params, reasons, step, votes and a live countdown', async () => {
    const a = await propose(500);
    const page = await signedInPage(browser, stack, 'alice');
    await expect.poll(() => page.title()).toBe('Inbox · Countersign');
    const r = row(page, a.id);
    await r.waitFor();
    const text = await r.innerText();
    expect(text).toContain('payments.transfer');
    expect(text).toContain('pay-bot');
    expect(text).toContain('amount: 500');
    expect(text).toContain('Transfers over 100 need a finance approver');
    expect(text).toMatch(/step 1\/1 · finance · 0\/1 votes/);
    expect(await r.locator('time.countdown').innerText()).toMatch(/^(1h 59m|2h 00m)/);
    // Under an hour the countdown shows seconds, and it runs: readings 2.5 s apart differ (the
    // shared clock ticks every second, so 1.5 s could fall within one displayed second).
    const card = await stack.call(agent, 'POST', '/v1/actions?wait=20', { action: 'accounts.update_card', params: { account: 'acct-1', cardNumber: '4000000000000002' } });
    const countdown = row(page, card.body.id).locator('time.countdown');
    await countdown.waitFor();
    const first = await countdown.innerText();
    expect(first).toMatch(/^(29m \d\ds|30m 00s)/);
    await page.waitForTimeout(2500);
    expect(await countdown.innerText()).not.toBe(first);
    await page.context().close();
  });

  it('when another reviewer decides elsewhere, then the row leaves the open inbox without a reload, and a new proposal appears', async () => {
    const a = await propose(600);
    const page = await signedInPage(browser, stack, 'alice');
    await row(page, a.id).waitFor();
    await page.locator('.live.live').waitFor();
    const navigations: string[] = [];
    page.on('framenavigated', (f) => navigations.push(f.url()));

    const decided = await stack.call(bob, 'POST', `/v1/actions/${a.id}/decisions`, { decision: 'approve' });
    expect(decided.status).toBe(200);
    await row(page, a.id).waitFor({ state: 'detached', timeout: 5000 });

    const b = await propose(700);
    await row(page, b.id).waitFor({ timeout: 5000 });
    expect(navigations).toEqual([]);
    await page.context().close();
  });

  it('when a reviewer approves on the action page and confirms, then the action executes and succeeds', async () => {
    const a = await propose(800);
    const page = await signedInPage(browser, stack, 'alice');
    await page.goto(`${stack.url}/console/actions/${a.id}`);
    await page.getByRole('heading', { name: 'payments.transfer' }).waitFor();
    // What the reviewer reads before deciding.
    const body = await page.locator('article').innerText();
    expect(body).toContain('Invoice');
    expect(body).toContain('gpt-test');
    expect(body).toContain('trace-');
    expect(body).toContain('medium-transfers');
    expect(body).toContain('Evidence timeline');
    expect(body).toMatch(/approval requested from finance/);
    expect(await page.getByRole('link', { name: /Temporal UI/ }).getAttribute('href')).toContain(`action-${a.id}`);

    await page.getByRole('button', { name: 'Approve', exact: true }).click();
    await page.getByRole('button', { name: 'Confirm', exact: true }).click();
    await page.getByText(/You approved\. The action is now/).waitFor();
    const done = await eventually(async () => {
      const v = await get(a.id);
      return v.status === 'succeeded' && v;
    }, 20_000, 'the approved action to succeed');
    expect(done.approval.approvals[0]).toMatchObject({ reviewer: 'alice', decision: 'approve' });
    expect(target.forAction(a.id)).toHaveLength(1);
    // The evidence says the decision came from the console, by a human signed in with a link.
    const { rows } = await stack.pool.query("SELECT data FROM ledger_events WHERE action_id = $1 AND type = 'decision_recorded'", [a.id]);
    expect(rows[0].data).toMatchObject({ via: 'console', identity: { method: 'sign-in-link' } });
    await page.context().close();
  });

  it('when a reviewer denies without a reason, then nothing is sent; with a reason, the action is denied and the agent reads the reason', async () => {
    const a = await propose(900);
    const page = await signedInPage(browser, stack, 'alice');
    await page.goto(`${stack.url}/console/actions/${a.id}`);
    await page.getByRole('button', { name: 'Deny', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: 'Give a reason to deny' }).waitFor();
    expect(await page.getByLabel('Reason (required to deny)').getAttribute('aria-invalid')).toBe('true');
    expect((await get(a.id)).status).toBe('awaiting_approval');

    await page.getByLabel('Reason (required to deny)').fill('Supplier bank details are not verified');
    await page.getByRole('button', { name: 'Deny', exact: true }).click();
    await page.getByText(/You denied\. The action is now denied/).waitFor();
    const v = await get(a.id);
    expect(v.status).toBe('denied');
    expect(v.outcome).toEqual({ by: 'reviewer', actor: 'alice', reason: 'Supplier bank details are not verified' });
    await page.context().close();
  });

  it('when a reviewer approves with edits, then the form shows the diff and the stricter plan before sending, and the edit re-plans the action', async () => {
    const a = await propose(1000);
    const page = await signedInPage(browser, stack, 'alice');
    await page.goto(`${stack.url}/console/actions/${a.id}`);
    await page.getByRole('button', { name: 'Approve with edits' }).click();
    // The form is built from the params schema: a number field for amount.
    const amount = page.getByLabel('amount');
    expect(await amount.getAttribute('type')).toBe('number');
    await amount.fill('20000');
    const diff = page.getByRole('table', { name: 'Changed params' });
    await diff.waitFor();
    expect(await diff.innerText()).toMatch(/\/amount\s+1000\s+20000/);
    const plan = page.locator('.plan-preview');
    await plan.waitFor();
    expect(await plan.innerText()).toMatch(/large-transfers/);
    expect(await plan.innerText()).toMatch(/Step 1: 2 approvals from finance/);
    await page.getByRole('button', { name: 'Send approval with edits' }).click();
    await page.getByText(/You approved with edits/).waitFor();
    const v = await get(a.id);
    expect(v.params.amount).toBe(20000);
    expect(v.status).toBe('awaiting_approval');
    expect(v.approval.approvals.find((x: { reviewer: string }) => x.reviewer === 'alice').edits).toEqual({ '/amount': { from: 1000, to: 20000 } });
    await page.context().close();
  });

  it('when an edit would be denied by policy, then the form says so and cannot send it', async () => {
    const a = await propose(1100);
    const page = await signedInPage(browser, stack, 'alice');
    await page.goto(`${stack.url}/console/actions/${a.id}`);
    await page.getByRole('button', { name: 'Approve with edits' }).click();
    await page.getByLabel('amount').fill('90000');
    await page.getByText(/Policy would deny this edit/).waitFor();
    expect(await page.getByRole('button', { name: 'Send approval with edits' }).isDisabled()).toBe(true);
    await page.context().close();
  });

  it('when an action has a sensitive param, then the page masks it and an edit keeps it without showing it', async () => {
    const r = await stack.call(agent, 'POST', '/v1/actions?wait=20', { action: 'accounts.update_card', params: { account: 'acct-9', cardNumber: '4111111111111111' } });
    expect(r.status).toBe(201);
    const page = await signedInPage(browser, stack, 'alice');
    await row(page, r.body.id).waitFor();
    expect(await page.content()).not.toContain('4111111111111111');
    await page.goto(`${stack.url}/console/actions/${r.body.id}`);
    await page.getByText('•••• hidden').waitFor();
    expect(await page.content()).not.toContain('4111111111111111');
    await page.context().close();
  });

  it('when a reviewer outside the eligible group signs in, then there is nothing to decide and the action page is not found', async () => {
    const a = await propose(1200);
    const page = await signedInPage(browser, stack, 'carol');
    await page.getByText('Nothing to decide').waitFor();
    expect(await page.locator('ol.inbox').count()).toBe(0);
    await page.goto(`${stack.url}/console/actions/${a.id}`);
    await page.getByRole('alert').filter({ hasText: `no action ${a.id}` }).waitFor();
    expect(await page.getByRole('button', { name: 'Approve', exact: true }).count()).toBe(0);
    await page.context().close();
  });

  it('when a reviewer selects a row with j/k and presses a, then Confirm approves it from the keyboard', async () => {
    await propose(1250);
    await propose(1260);
    const page = await signedInPage(browser, stack, 'dave');
    await page.locator('ol.inbox li').nth(1).waitFor();
    const ids = await page.locator('ol.inbox li').evaluateAll((els) => els.map((e) => e.getAttribute('data-action-id') as string));
    expect(ids.length).toBeGreaterThan(1);
    await page.keyboard.press('j');
    await page.keyboard.press('k');
    expect(await row(page, ids[0]).getAttribute('aria-current')).toBe('true');
    await page.keyboard.press('j');
    const chosen = ids[1];
    expect(await row(page, chosen).getAttribute('aria-current')).toBe('true');
    await page.keyboard.press('?');
    await page.getByRole('dialog', { name: 'Keyboard shortcuts' }).waitFor();
    await page.keyboard.press('Escape');
    await page.keyboard.press('a');
    const dialog = page.getByRole('dialog', { name: /^Approve [a-z_.]+\?$/ });
    await dialog.waitFor();
    await page.keyboard.press('Enter');
    await row(page, chosen).waitFor({ state: 'detached' });
    const v = await get(chosen);
    expect(v.approval.approvals.map((x: { reviewer: string }) => x.reviewer)).toContain('dave');
    await page.context().close();
  });

  it('when a reviewer signs out, then the session ends: the API answers 401 to its cookie and /console leads to sign-in', async () => {
    const page = await signedInPage(browser, stack, 'erin');
    const cookies = await page.context().cookies();
    const cookieHeader = cookies.map((c) => `${c.name}=${c.value}`).join('; ');
    expect((await fetch(`${stack.url}/v1/session`, { headers: { cookie: cookieHeader } })).status).toBe(200);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/console\/sign-in$/);
    expect((await fetch(`${stack.url}/v1/session`, { headers: { cookie: cookieHeader } })).status).toBe(401);
    await page.goto(`${stack.url}/console`);
    await page.waitForURL(/\/console\/sign-in$/);
    await page.context().close();
  });

  it('when a link is used a second time, or after it expired, then it is refused and no session starts', async () => {
    const url = await signInLink(stack, 'erin');
    const first = await (await newContext(browser)).newPage();
    await signIn(first, url);
    await first.context().close();

    const again = await (await newContext(browser)).newPage();
    await again.goto(url);
    const button = again.getByRole('button', { name: 'Sign in', exact: true });
    if (await button.count()) await button.click();
    await again.waitForLoadState();
    expect(again.url()).not.toMatch(/\/console\/?$/);
    expect((await again.context().cookies()).map((c) => c.name)).not.toContain('countersign_session');
    await again.context().close();

    const late = await signInLink(stack, 'erin');
    await stack.pool.query("UPDATE sign_in_links SET expires_at = now() - interval '1 second' WHERE principal_id = 'erin' AND used_at IS NULL");
    const expired = await (await newContext(browser)).newPage();
    await expired.goto(late);
    const button2 = expired.getByRole('button', { name: 'Sign in', exact: true });
    if (await button2.count()) await button2.click();
    await expired.waitForLoadState();
    expect(expired.url()).not.toMatch(/\/console\/?$/);
    expect((await expired.context().cookies()).map((c) => c.name)).not.toContain('countersign_session');
    await expired.context().close();
  });

  it('when a page sends a decision without the CSRF token, then 403 csrf and nothing is decided; the console itself sends it and succeeds', async () => {
    const a = await propose(1300);
    const page = await signedInPage(browser, stack, 'bob');
    const send = (withToken: boolean) =>
      page.evaluate(
        async ({ id, withToken }) => {
          // Runs in the page: its document, typed loosely (the test's tsconfig has no DOM lib).
          const cookies = (globalThis as unknown as { document: { cookie: string } }).document.cookie;
          const csrf = cookies.split('; ').find((c: string) => c.startsWith('countersign_csrf='))?.split('=')[1];
          const res = await fetch(`/v1/actions/${id}/decisions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...(withToken && csrf ? { 'x-csrf-token': decodeURIComponent(csrf) } : {}) },
            body: JSON.stringify({ decision: 'approve' }),
          });
          return { status: res.status, body: (await res.json()) as { type?: string } };
        },
        { id: a.id, withToken },
      );
    const refused = await send(false);
    expect(refused.status).toBe(403);
    expect(refused.body.type).toMatch(/csrf$/);
    expect((await get(a.id)).approval.approvals).toEqual([]);
    const accepted = await send(true);
    expect(accepted.status).toBe(200);
    await page.context().close();
  });

  it('when axe scans the inbox and the action page (laptop and phone widths), then there are no serious or critical violations', async () => {
    const a = await propose(1400);
    for (const size of [
      { width: 1280, height: 800, name: 'laptop' },
      { width: 390, height: 844, name: 'phone' },
    ]) {
      const page = await signedInPage(browser, stack, 'bob', size);
      await row(page, a.id).waitFor();
      const inbox = await new AxeBuilder({ page }).analyze();
      const bad = (r: typeof inbox) => r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.help} (${v.nodes.map((x) => x.target.join(' ')).join(', ')})`);
      expect(bad(inbox), `inbox at ${size.name} width`).toEqual([]);
      if (process.env.CONSOLE_SCREENSHOTS && size.name === 'laptop') {
        fs.mkdirSync(IMAGES, { recursive: true });
        await page.screenshot({ path: path.join(IMAGES, 'console-inbox.png') });
      }
      await page.goto(`${stack.url}/console/actions/${a.id}`);
      await page.getByRole('button', { name: 'Approve', exact: true }).waitFor();
      await page.getByText('Evidence timeline').waitFor();
      const action = await new AxeBuilder({ page }).analyze();
      expect(bad(action), `action page at ${size.name} width`).toEqual([]);
      if (process.env.CONSOLE_SCREENSHOTS) {
        fs.mkdirSync(IMAGES, { recursive: true });
        await page.screenshot({ path: path.join(IMAGES, `console-action${size.name === 'phone' ? '-phone' : ''}.png`), fullPage: true });
      }
      await page.context().close();
    }
  });

  it('when an operator signs in, then all actions, policy versions with a diff, and the dry-run form work', async () => {
    const page = await signedInPage(browser, stack, 'olga');
    await page.getByRole('link', { name: 'All actions' }).click();
    await page.locator('table.list tbody tr').first().waitFor();
    await page.getByLabel('Status').selectOption('denied');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/status=denied/);
    await page.locator('table.list tbody tr').first().waitFor();
    const statuses = await page.locator('table.list tbody tr .badge').allInnerTexts();
    expect(statuses.length).toBeGreaterThan(0);
    expect(new Set(statuses)).toEqual(new Set(['Denied']));

    // A second policy version, so there is something to compare.
    const source = (await stack.pool.query('SELECT source FROM policy_versions LIMIT 1')).rows[0].source as string;
    const olgaPut = await fetch(`${stack.url}/v1/policy`, { method: 'PUT', headers: { authorization: `Bearer ${stack.admin}`, 'content-type': 'application/yaml' }, body: source.replace('Card changes need a finance approver', 'Card changes need one finance approver') });
    expect(olgaPut.status).toBe(200);
    await page.getByRole('link', { name: 'Policy' }).click();
    await page.getByRole('button', { name: 'Compare' }).click();
    const diff = page.locator('pre.line-diff');
    await diff.waitFor();
    expect(await diff.locator('del').innerText()).toContain('Card changes need a finance approver');
    expect(await diff.locator('ins').innerText()).toContain('Card changes need one finance approver');

    await page.getByLabel('Action', { exact: true }).fill('payments.transfer');
    await page.getByLabel('Params (JSON)').fill('{"amount": 20000, "currency": "EUR", "to": "x"}');
    await page.getByLabel(/^Agent/).fill('pay-bot');
    await page.getByRole('button', { name: 'Evaluate' }).click();
    await page.getByText(/Decision: require approval by large-transfers/).waitFor();
    await page.context().close();
  });

  it('when an operator pauses an agent and reads reviewer metrics, then the pause is listed until resumed, and the metrics show the reviewers who decided', async () => {
    const page = await signedInPage(browser, stack, 'olga');
    await page.getByRole('link', { name: 'Pauses' }).click();
    await page.getByLabel('Agent').fill('pay-bot');
    await page.getByLabel('Reason').fill('Investigating duplicate invoices');
    await page.getByRole('button', { name: 'Pause', exact: true }).click();
    await page.getByText('Investigating duplicate invoices').waitFor();
    const active = await stack.call(stack.admin, 'GET', '/v1/controls/pauses');
    expect(active.body.items).toEqual([expect.objectContaining({ scope: { agent: 'pay-bot' }, by: 'olga' })]);
    await page.getByRole('button', { name: /^Resume/ }).click();
    await page.getByText('Nothing is paused.').waitFor();
    expect((await stack.call(stack.admin, 'GET', '/v1/controls/pauses')).body.items).toEqual([]);

    const decided = await propose(1500);
    expect((await stack.call(bob, 'POST', `/v1/actions/${decided.id}/decisions`, { decision: 'deny', reason: 'duplicate' })).status).toBe(200);
    await page.getByRole('link', { name: 'Metrics' }).click();
    const table = page.locator('table.metrics');
    await table.waitFor();
    const bobRow = table.locator('tbody tr').filter({ hasText: 'bob' });
    expect(await bobRow.innerText()).toMatch(/\d+%.*\/.*\d+%.*\/.*\d+%/);
    await page.context().close();
  });

  it('when an admin manages principals, then they create one (token shown once), issue and revoke a token, make a sign-in link and disable it', async () => {
    const page = await signedInPage(browser, stack, 'ada');
    await page.getByRole('link', { name: 'Principals' }).click();
    await page.getByLabel('Id').fill('newbie');
    await page.getByLabel('Groups (comma-separated)').fill('finance');
    await page.getByRole('button', { name: 'Create' }).click();
    const created = page.locator('.secret').filter({ hasText: 'Token for newbie' });
    await created.waitFor();
    const token = await created.locator('code').innerText();
    expect((await stack.call(token, 'GET', '/v1/approvals')).status).toBe(200);

    await page.getByRole('button', { name: 'Manage newbie' }).click();
    await page.getByRole('button', { name: 'Issue a token' }).click();
    const issued = page.locator('.secret').filter({ hasText: /New token [0-9a-f]+ for newbie/ });
    await issued.waitFor();
    const second = await issued.locator('code').innerText();
    expect((await stack.call(second, 'GET', '/v1/approvals')).status).toBe(200);
    const tokenId = /New token ([0-9a-f]+)/.exec(await issued.innerText())![1];
    await page.getByRole('button', { name: `Revoke token ${tokenId}` }).click();
    await page.locator('ul.tokens li').filter({ hasText: tokenId }).getByText('revoked').waitFor();
    await eventually(async () => (await stack.call(second, 'GET', '/v1/approvals')).status === 401, 5000, 'the revoked token to be refused');

    await page.getByRole('button', { name: 'Create a sign-in link' }).click();
    const link = page.locator('.secret').filter({ hasText: 'Sign-in link for newbie' });
    await link.waitFor();
    expect(await link.locator('code').innerText()).toMatch(/\/console\/sign-in\/link\?token=/);

    await page.getByRole('button', { name: 'Disable newbie' }).click();
    await page.locator('tr').filter({ hasText: 'newbie' }).getByText('disabled').waitFor();
    await eventually(async () => (await stack.call(token, 'GET', '/v1/approvals')).status === 401, 5000, 'the disabled principal\'s token to be refused');
    await page.context().close();
  });
});
