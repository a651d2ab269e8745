/**
 * A real browser for the console tests: Debian's Chromium (/usr/bin/chromium, installed by
 * .ci/run) driven by playwright-core. Playwright's own browser download cannot work here, so the
 * executable is given; CHROMIUM_PATH overrides it.
 */
import fs from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ensureConsoleBuilt } from '../../console/build';
import type { TestStack } from './stack';

/** Where the browser is. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Build the console if its sources changed (tests and benchmarks run against the built files). */
export async function buildConsole(): Promise<void> {
  await ensureConsoleBuilt({ log: () => {} });
}

/** Start headless Chromium. */
export async function launchBrowser(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // As root in a container Chromium's sandbox cannot start; the pages are our own.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
}

/** A fresh browser profile (its own cookies) with the given viewport. */
export async function newContext(browser: Browser, opts: { width?: number; height?: number } = {}): Promise<BrowserContext> {
  return browser.newContext({ viewport: { width: opts.width ?? 1280, height: opts.height ?? 800 }, locale: 'en-GB', timezoneId: 'UTC', reducedMotion: 'reduce' });
}

/** A sign-in link for `principalId`, made by the stack's admin. */
export async function signInLink(stack: TestStack, principalId: string): Promise<string> {
  const r = await stack.call(stack.admin, 'POST', `/v1/principals/${encodeURIComponent(principalId)}/sign-in-links`);
  if (r.status !== 201) throw new Error(`sign-in link for ${principalId}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.url as string;
}

/** Open a sign-in link and press **Sign in**, as a reviewer does; resolves on the inbox. */
export async function signIn(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  // The inbox keeps an event stream open: wait for the page to show, not for a load event.
  await page.waitForURL(/\/console\/?$/, { waitUntil: 'commit' });
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/** A page signed in as `principalId` in a context of its own. */
export async function signedInPage(browser: Browser, stack: TestStack, principalId: string, opts: { width?: number; height?: number } = {}): Promise<Page> {
  const context = await newContext(browser, opts);
  const page = await context.newPage();
  await signIn(page, await signInLink(stack, principalId));
  return page;
}
