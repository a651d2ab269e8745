import type { Server } from 'node:http';
import Provider from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPolicy } from '../fixtures/policy';
import { freePorts } from '../helpers/ports';
import { startTestStack, type TestStack } from '../helpers/stack';

/**
 * Console sign-in through a real OpenID provider (the `oidc-provider` package, certified, run in
 * this test with its development login and consent pages), driven at HTTP level: redirects are
 * followed with fetch and a cookie jar per host, the provider's forms are filled in and posted as
 * a browser would.
 */

/** The provider's accounts: login name -> claims. */
const ACCOUNTS: Record<string, Record<string, unknown>> = {
  'alice-sub': { email: 'alice@corp.example', email_verified: true, groups: ['finance', 'ops'] },
  'erin-sub': { email: 'Erin@Corp.example', email_verified: true, groups: [] },
  'mallory-sub': { email: 'erin@corp.example', email_verified: false },
  'nobody-sub': { email: 'nobody@corp.example', email_verified: true },
  'dora-sub': { email: 'dora@corp.example', email_verified: true },
};

/** Cookies per host:port, as a browser keeps them for each site. */
class Browser {
  private readonly jars = new Map<string, Map<string, string>>();
  private jar(url: URL) {
    let j = this.jars.get(url.host);
    if (!j) this.jars.set(url.host, (j = new Map()));
    return j;
  }
  cookies(url: string): string {
    return [...this.jar(new URL(url))].map(([k, v]) => `${k}=${v}`).join('; ');
  }
  value(url: string, name: string): string | undefined {
    return this.jar(new URL(url)).get(name);
  }
  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const res = await fetch(url, { ...init, redirect: 'manual', headers: { ...(init.headers as Record<string, string>), cookie: this.cookies(url) } });
    const jar = this.jar(new URL(url));
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a) || /^\s*max-age=0$/i.test(a));
      if (!value || expired) jar.delete(name);
      else jar.set(name, value);
    }
    return res;
  }
}

/** The first form of an HTML page: its action and its fields' values. */
function firstForm(html: string, base: string): { action: string; fields: Record<string, string> } {
  const form = /<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/i.exec(html);
  if (!form) throw new Error(`no form in the page: ${html.slice(0, 300)}`);
  const fields: Record<string, string> = {};
  for (const [tag] of form[2]!.matchAll(/<input[^>]*>/gi)) {
    const name = /name="([^"]+)"/.exec(tag)?.[1];
    if (name) fields[name] = /value="([^"]*)"/.exec(tag)?.[1] ?? '';
  }
  return { action: new URL(form[1]!.replace(/&amp;/g, '&'), base).toString(), fields };
}

describe('console sign-in with OIDC (authorization code + PKCE) against a real OpenID provider', () => {
  let stack: TestStack;
  let issuer: string;
  let provider: Provider;
  let server: Server;
  /** What the provider saw at its authorization endpoint. */
  const authorizationRequests: URLSearchParams[] = [];

  beforeAll(async () => {
    const [port] = await freePorts(1);
    issuer = `http://127.0.0.1:${port}`;
    stack = await startTestStack(testPolicy('http://127.0.0.1:9'), {
      oidc: { issuer, clientId: 'countersign', clientSecret: 'a-client-secret-for-the-test', groupsClaim: 'groups' },
    });
    provider = new Provider(issuer, {
      clients: [
        {
          client_id: 'countersign',
          client_secret: 'a-client-secret-for-the-test',
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
        const claims = ACCOUNTS[id];
        if (!claims) return undefined;
        return { accountId: id, claims: async () => ({ sub: id, ...claims }) };
      },
    });
    provider.use(async (ctx, next) => {
      if (ctx.path === '/auth') authorizationRequests.push(new URLSearchParams(ctx.querystring));
      await next();
    });
    await new Promise<void>((resolve) => {
      server = provider.listen(port, '127.0.0.1', resolve);
    });

    await stack.principal('alice', 'human', ['reviewer'], ['finance']);
    await stack.principal('erin', 'human', ['reviewer'], ['finance']);
    await stack.principal('dora', 'human', ['reviewer'], ['finance']);
    expect((await stack.call(stack.admin, 'PATCH', '/v1/principals/alice', { oidcSubject: 'alice-sub' })).status).toBe(200);
    expect((await stack.call(stack.admin, 'PATCH', '/v1/principals/erin', { email: 'erin@corp.example' })).status).toBe(200);
    expect((await stack.call(stack.admin, 'PATCH', '/v1/principals/dora', { oidcSubject: 'dora-sub', disabled: true })).status).toBe(200);
  });
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await stack?.stop();
  });

  /**
   * Press "Sign in with SSO", log in at the provider as `login`, consent, and follow the redirects
   * back. Stops at the first answer from Countersign's callback (or an unexpected page).
   */
  async function signIn(login: string, browser = new Browser(), opts: { stopAtCallback?: boolean } = {}) {
    let res = await browser.fetch(`${stack.url}/console/sign-in/oidc`);
    expect(res.status).toBe(303);
    let url = res.headers.get('location')!;
    for (let hops = 0; hops < 20; hops++) {
      if (url.startsWith(`${stack.url}/console/sign-in/oidc/callback`)) {
        if (opts.stopAtCallback) return { browser, callbackUrl: url, res: undefined as unknown as Response };
        res = await browser.fetch(url);
        return { browser, callbackUrl: url, res };
      }
      res = await browser.fetch(url);
      if (res.status >= 300 && res.status < 400) {
        url = new URL(res.headers.get('location')!, url).toString();
        continue;
      }
      const html = await res.text();
      expect(res.status, html.slice(0, 500)).toBe(200);
      const form = firstForm(html, url);
      const fields = form.fields.prompt === 'login' ? { ...form.fields, login, password: 'any' } : form.fields;
      res = await browser.fetch(form.action, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
      if (![302, 303].includes(res.status)) throw new Error(`${form.action} ${JSON.stringify(fields)} answered ${res.status}: ${(await res.text()).slice(0, 800)}`);
      url = new URL(res.headers.get('location')!, form.action).toString();
    }
    throw new Error('too many redirects');
  }

  it('when the sign-in page is opened with OIDC configured, then it offers Sign in with SSO', async () => {
    const html = await (await fetch(`${stack.url}/console/sign-in`)).text();
    expect(html).toMatch(/href="\/console\/sign-in\/oidc">Sign in with SSO/);
  });

  it('when a human whose subject is linked signs in, then 303 to /console with a session, asked for with PKCE (S256), state and nonce', async () => {
    const { browser, res } = await signIn('alice-sub');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/console');
    const asked = authorizationRequests.at(-1)!;
    expect(asked.get('code_challenge_method')).toBe('S256');
    expect(asked.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(asked.get('state')).toBeTruthy();
    expect(asked.get('nonce')).toBeTruthy();
    expect(asked.get('redirect_uri')).toBe(`${stack.url}/console/sign-in/oidc/callback`);
    const me = await browser.fetch(`${stack.url}/v1/session`);
    expect(me.status).toBe(200);
    const body = (await me.json()) as { principal: { id: string; groups: string[] } };
    expect(body.principal.id).toBe('alice');
    // COUNTERSIGN_OIDC_GROUPS_CLAIM: the provider's groups are the principal's now, recorded as the provider's change.
    expect(body.principal.groups).toEqual(['finance', 'ops']);
    const { rows } = await stack.pool.query("SELECT actor_id, actor_kind, data FROM ledger_events WHERE action_id = 'principal:alice' AND type = 'principal_updated' ORDER BY seq DESC LIMIT 1");
    expect(rows[0]).toMatchObject({ actor_id: `oidc:${issuer}`, actor_kind: 'system' });
    expect(rows[0].data.changes.groups).toEqual({ from: ['finance'], to: ['finance', 'ops'] });
    // The session records how the human was identified.
    const session = await stack.pool.query("SELECT method, issuer, subject FROM console_sessions WHERE principal_id = 'alice'");
    expect(session.rows).toEqual([{ method: 'oidc', issuer, subject: 'alice-sub' }]);
  });

  it('when a verified email matches a principal, then it signs in as that principal (case-insensitively)', async () => {
    const { browser, res } = await signIn('erin-sub');
    expect(res.status).toBe(303);
    const me = (await (await browser.fetch(`${stack.url}/v1/session`)).json()) as { principal: { id: string } };
    expect(me.principal.id).toBe('erin');
  });

  it('when the email matches but the provider has not verified it, then 403 and no session (attack: unverified email)', async () => {
    const { browser, res } = await signIn('mallory-sub');
    expect(res.status).toBe(403);
    expect(await res.text()).toMatch(/no Countersign principal is linked/);
    expect(browser.value(stack.url, 'countersign_session')).toBeUndefined();
  });

  it('when the account maps to no principal, or to a disabled one, then 403 and no session', async () => {
    for (const login of ['nobody-sub', 'dora-sub']) {
      const { browser, res } = await signIn(login);
      expect(res.status, login).toBe(403);
      expect(browser.value(stack.url, 'countersign_session')).toBeUndefined();
    }
  });

  it('when the callback reaches another browser (no login cookie), then 400 and no session (attack: injected authorization response)', async () => {
    const { callbackUrl } = await signIn('alice-sub', new Browser(), { stopAtCallback: true });
    const other = new Browser();
    const res = await other.fetch(callbackUrl);
    expect(res.status).toBe(400);
    expect(other.value(stack.url, 'countersign_session')).toBeUndefined();
  });

  it('when the state in the callback was altered, then 403 (state check), and the same login cannot be finished again', async () => {
    const { browser, callbackUrl } = await signIn('alice-sub', new Browser(), { stopAtCallback: true });
    const tampered = new URL(callbackUrl);
    tampered.searchParams.set('state', 'not-the-state');
    const loginCookie = browser.value(stack.url, 'countersign_oidc');
    const res = await browser.fetch(tampered.toString());
    expect(res.status).toBe(403);
    expect(browser.value(stack.url, 'countersign_session')).toBeUndefined();
    // Replaying the genuine callback with the old login cookie: the login was used up.
    const replay = await fetch(callbackUrl, { redirect: 'manual', headers: { cookie: `countersign_oidc=${loginCookie}` } });
    expect(replay.status).toBe(400);
  });

  it('when a genuine callback is replayed after it signed in, then 400 (the code and the login are used once)', async () => {
    const { browser, callbackUrl } = await signIn('alice-sub', new Browser(), { stopAtCallback: true });
    const loginCookie = browser.value(stack.url, 'countersign_oidc');
    const first = await browser.fetch(callbackUrl);
    expect(first.status).toBe(303);
    const replay = await fetch(callbackUrl, { redirect: 'manual', headers: { cookie: `countersign_oidc=${loginCookie}` } });
    expect(replay.status).toBe(400);
  });
});
