import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPolicy } from '../fixtures/policy';
import { startTestStack, type TestStack } from '../helpers/stack';
import { runSignInLinkCommand } from '../../cli/commands/sign-in-link';

/** The cookies a browser would keep from Set-Cookie answers (name -> value), and their raw attributes. */
class CookieJar {
  readonly values = new Map<string, string>();
  readonly raw = new Map<string, string>();
  take(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      this.raw.set(name, line);
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(line)) this.values.delete(name);
      else this.values.set(name, value);
    }
  }
  header(): string {
    return [...this.values].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

describe('sign-in links and console sessions', () => {
  let stack: TestStack;
  let reviewerToken: string;

  beforeAll(async () => {
    stack = await startTestStack(testPolicy('http://127.0.0.1:9'));
    reviewerToken = await stack.principal('alice', 'human', ['reviewer'], ['finance']);
    await stack.principal('bot', 'agent', ['agent']);
    await stack.principal('olga', 'human', ['operator'], []);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const link = async (who: string) => {
    const r = await stack.call(stack.admin, 'POST', `/v1/principals/${who}/sign-in-links`);
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body as { url: string; expiresAt: string };
  };
  /** Open a link and press Sign in, as a browser would. */
  const useLink = async (url: string, jar = new CookieJar(), headers: Record<string, string> = {}) => {
    const token = new URL(url).searchParams.get('token')!;
    const res = await fetch(`${stack.url}/console/sign-in/link`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jar.header(), ...headers },
      body: new URLSearchParams({ token }).toString(),
      redirect: 'manual',
    });
    jar.take(res);
    return { res, jar, text: await res.text() };
  };
  const api = (jar: CookieJar, method: string, path: string, headers: Record<string, string> = {}, body?: unknown) =>
    fetch(stack.url + path, {
      method,
      headers: { cookie: jar.header(), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  it('when an admin asks for a sign-in link for a human, then 201 with a URL on the public URL that expires in 15 minutes', async () => {
    const before = Date.now();
    const { url, expiresAt } = await link('alice');
    expect(url.startsWith(`${stack.url}/console/sign-in/link?token=`)).toBe(true);
    const ms = Date.parse(expiresAt) - before;
    expect(ms).toBeGreaterThan(14.5 * 60_000);
    expect(ms).toBeLessThanOrEqual(15 * 60_000 + 1000);
    // Stored hashed: the token itself is nowhere in Postgres.
    const token = new URL(url).searchParams.get('token')!;
    const { rows } = await stack.pool.query("SELECT count(*)::int AS n FROM sign_in_links WHERE link_hash = $1 OR link_hash LIKE '%' || $1 || '%'", [token]);
    expect(rows[0].n).toBe(0);
    // The ledger records that a link was issued (never the link).
    const events = await stack.pool.query("SELECT type, actor_id, data::text AS data FROM ledger_events WHERE action_id = 'principal:alice' ORDER BY seq");
    expect(events.rows.map((e) => e.type)).toContain('sign_in_link_created');
    expect(events.rows.map((e) => e.data).join('')).not.toContain(token);
  });

  it('when a link is asked for an agent, an unknown principal, or by a non-admin, then 422, 404 and 403', async () => {
    expect((await stack.call(stack.admin, 'POST', '/v1/principals/bot/sign-in-links')).status).toBe(422);
    expect((await stack.call(stack.admin, 'POST', '/v1/principals/nobody/sign-in-links')).status).toBe(404);
    expect((await stack.call(reviewerToken, 'POST', '/v1/principals/alice/sign-in-links')).status).toBe(403);
  });

  it('when the link is opened, then a page with a Sign in button, and opening it again does not use it up', async () => {
    const { url } = await link('alice');
    for (let i = 0; i < 2; i++) {
      const res = await fetch(url);
      expect(res.status).toBe(200);
      const html = await res.text();
      expect(html).toMatch(/<button type="submit">Sign in<\/button>/);
      // The link (in the URL) never goes to another site; the form's POST keeps its real Origin.
      expect(res.headers.get('referrer-policy')).toBe('same-origin');
      expect(res.headers.getSetCookie()).toEqual([]);
    }
    const { res } = await useLink(url);
    expect(res.status).toBe(303);
  });

  it('when Sign in is pressed, then 303 to /console with an HttpOnly SameSite=Lax session cookie and a readable CSRF cookie, and the cookie authenticates /v1', async () => {
    const { url } = await link('alice');
    const { res, jar } = await useLink(url);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/console');
    const session = jar.raw.get('countersign_session')!;
    const csrf = jar.raw.get('countersign_csrf')!;
    expect(session).toMatch(/HttpOnly/i);
    expect(session).toMatch(/SameSite=Lax/i);
    expect(session).toMatch(/Path=\//);
    expect(session).not.toMatch(/Secure/i); // http public URL
    expect(csrf).not.toMatch(/HttpOnly/i);
    expect(csrf).toMatch(/SameSite=Lax/i);

    const me = await api(jar, 'GET', '/v1/session');
    expect(me.status).toBe(200);
    const body = (await me.json()) as { principal: unknown; expiresAt: string };
    expect(body.principal).toEqual({ id: 'alice', name: 'alice', kind: 'human', roles: ['reviewer'], groups: ['finance'] });
    const ttl = Date.parse(body.expiresAt) - Date.now();
    expect(ttl).toBeGreaterThan(11.9 * 3_600_000);
    expect(ttl).toBeLessThanOrEqual(12 * 3_600_000);
    // Any /v1 endpoint, with the principal's own roles: the inbox yes, principal management no.
    expect((await api(jar, 'GET', '/v1/approvals')).status).toBe(200);
    expect((await api(jar, 'GET', '/v1/principals')).status).toBe(403);
    // Sessions are stored hashed.
    const { rows } = await stack.pool.query('SELECT count(*)::int AS n FROM console_sessions WHERE session_hash = $1', [jar.values.get('countersign_session')]);
    expect(rows[0].n).toBe(0);
  });

  it('when a used link is pressed again, then 410 and no session (attack: reuse)', async () => {
    const { url } = await link('alice');
    expect((await useLink(url)).res.status).toBe(303);
    const again = await useLink(url);
    expect(again.res.status).toBe(410);
    expect(again.text).toMatch(/expired or has already been used/);
    expect(again.jar.values.size).toBe(0);
    expect((await fetch(url)).status).toBe(410);
  });

  it('when two presses of one link race, then exactly one signs in', async () => {
    const { url } = await link('alice');
    const results = await Promise.all([useLink(url), useLink(url), useLink(url)]);
    expect(results.map((r) => r.res.status).sort()).toEqual([303, 410, 410]);
  });

  it('when a link has expired, then 410 and no session (attack: expired link)', async () => {
    const { url } = await link('alice');
    await stack.pool.query("UPDATE sign_in_links SET expires_at = now() - interval '1 second' WHERE used_at IS NULL");
    const r = await useLink(url);
    expect(r.res.status).toBe(410);
    expect(r.jar.values.size).toBe(0);
  });

  it('when a made-up token is pressed, then 410', async () => {
    const r = await useLink(`${stack.url}/console/sign-in/link?token=${'A'.repeat(43)}`);
    expect(r.res.status).toBe(410);
  });

  it('when the sign-in form is posted from another site, then 403 and the link still works from here (attack: login CSRF)', async () => {
    const { url } = await link('alice');
    const forged = await useLink(url, new CookieJar(), { origin: 'https://evil.example' });
    expect(forged.res.status).toBe(403);
    expect(forged.jar.values.size).toBe(0);
    // A page that hides its origin (no-referrer, sandboxed frames) sends Origin: null: refused too.
    expect((await useLink(url, new CookieJar(), { origin: 'null' })).res.status).toBe(403);
    const own = await useLink(url, new CookieJar(), { origin: stack.url });
    expect(own.res.status).toBe(303);
  });

  it('when a cookie-authenticated write has no X-CSRF-Token or a wrong one, then 403 csrf and nothing changes; with it, the write goes through', async () => {
    const { jar } = await useLink((await link('alice')).url);
    const missing = await api(jar, 'POST', '/v1/session/sign-out');
    expect(missing.status).toBe(403);
    expect(((await missing.json()) as { type: string }).type).toMatch(/\/csrf$/);
    const wrong = await api(jar, 'POST', '/v1/session/sign-out', { 'x-csrf-token': 'A'.repeat(43) });
    expect(wrong.status).toBe(403);
    // Another session's CSRF token is wrong too.
    const other = await useLink((await link('alice')).url);
    expect((await api(jar, 'POST', '/v1/session/sign-out', { 'x-csrf-token': other.jar.values.get('countersign_csrf')! })).status).toBe(403);
    // A cookie-authenticated decision without the token is refused before it reaches anything.
    const decision = await api(jar, 'POST', '/v1/actions/act_000000000000000000000000/decisions', {}, { decision: 'approve' });
    expect(decision.status).toBe(403);
    expect((await api(jar, 'GET', '/v1/session')).status).toBe(200);

    const out = await api(jar, 'POST', '/v1/session/sign-out', { 'x-csrf-token': jar.values.get('countersign_csrf')! });
    expect(out.status).toBe(204);
    jar.take(out);
    expect(jar.values.size).toBe(0);
  });

  it('when a reviewer decides with the session cookie, then without X-CSRF-Token nothing is decided, and with it the evidence records a console decision by a human signed in with a link', async () => {
    const agent = await stack.principal('agent-1', 'agent', ['agent']);
    const proposed = await stack.call(agent, 'POST', '/v1/actions?wait=20', { action: 'payments.transfer', params: { amount: 500, currency: 'EUR', to: 'acct' } });
    expect(proposed.body.status).toBe('awaiting_approval');
    const id = proposed.body.id as string;
    const { jar } = await useLink((await link('alice')).url);
    const refused = await api(jar, 'POST', `/v1/actions/${id}/decisions`, {}, { decision: 'approve' });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { type: string }).type).toMatch(/\/csrf$/);
    expect((await stack.call(stack.admin, 'GET', `/v1/actions/${id}`)).body.approval.approvals).toEqual([]);
    const decided = await api(jar, 'POST', `/v1/actions/${id}/decisions`, { 'x-csrf-token': jar.values.get('countersign_csrf')! }, { decision: 'approve' });
    expect(decided.status).toBe(200);
    const { rows } = await stack.pool.query("SELECT actor_id, data FROM ledger_events WHERE action_id = $1 AND type = 'decision_recorded'", [id]);
    expect(rows[0].actor_id).toBe('alice');
    expect(rows[0].data).toMatchObject({ via: 'console', identity: { method: 'sign-in-link' } });
  });

  it('when signed out, then the old cookie answers 401 (ended server-side, not just forgotten by the browser)', async () => {
    const { jar } = await useLink((await link('alice')).url);
    const stolen = jar.header();
    const out = await api(jar, 'POST', '/v1/session/sign-out', { 'x-csrf-token': jar.values.get('countersign_csrf')! });
    expect(out.status).toBe(204);
    const replay = await fetch(`${stack.url}/v1/session`, { headers: { cookie: stolen } });
    expect(replay.status).toBe(401);
    // The stale cookies are cleared.
    expect(replay.headers.getSetCookie().join('\n')).toMatch(/countersign_session=;/);
  });

  it('when a bearer token and a session cookie come together, then the token decides and needs no CSRF token', async () => {
    const { jar } = await useLink((await link('alice')).url);
    const r = await fetch(`${stack.url}/v1/session/sign-out`, { method: 'POST', headers: { cookie: jar.header(), authorization: `Bearer ${stack.admin}` } });
    expect(r.status).toBe(204);
    // The session was not the caller, so it was not ended.
    expect((await api(jar, 'GET', '/v1/session')).status).toBe(200);
    const me = await stack.call(reviewerToken, 'GET', '/v1/session');
    expect(me.status).toBe(200);
    expect(me.body).toEqual({ principal: { id: 'alice', name: 'alice', kind: 'human', roles: ['reviewer'], groups: ['finance'] }, expiresAt: null });
    expect((await fetch(`${stack.url}/v1/session`)).status).toBe(401);
  });

  it('when the principal is disabled, then its sessions end at once and its links no longer sign in', async () => {
    await stack.principal('dora', 'human', ['reviewer'], ['finance']);
    const { jar } = await useLink((await link('dora')).url);
    const pending = await link('dora');
    expect((await api(jar, 'GET', '/v1/session')).status).toBe(200);
    expect((await stack.call(stack.admin, 'PATCH', '/v1/principals/dora', { disabled: true })).status).toBe(200);
    expect((await api(jar, 'GET', '/v1/session')).status).toBe(401);
    expect((await useLink(pending.url)).res.status).toBe(410);
    expect((await stack.call(stack.admin, 'POST', '/v1/principals/dora/sign-in-links')).status).toBe(422);
  });

  it('when an operator signed in to the console calls /codec from the Temporal UI origin, then the cookie works there; from another origin or as a reviewer it does not', async () => {
    const operator = await useLink((await link('olga')).url);
    const reviewer = await useLink((await link('alice')).url);
    const decode = (jar: CookieJar, origin: string) =>
      fetch(`${stack.url}/codec/decode`, { method: 'POST', headers: { cookie: jar.header(), origin, 'content-type': 'application/json' }, body: JSON.stringify({ payloads: [] }) });
    const ok = await decode(operator.jar, 'http://localhost:8233');
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-credentials')).toBe('true');
    expect((await decode(operator.jar, 'https://evil.example')).status).toBe(401);
    expect((await decode(reviewer.jar, 'http://localhost:8233')).status).toBe(403);
  });

  it('when `countersign sign-in-link alice` runs, then it prints a working link, recorded in the ledger as issued by the shell user; for an agent it refuses', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) } } as never;
    const deps = { getPool: async () => stack.pool, publicUrl: stack.url, io, env: { USER: 'ops-jo' } };
    expect(await runSignInLinkCommand(['alice'], deps)).toBe(0);
    const url = out.join('').trim();
    expect(url).toMatch(/\/console\/sign-in\/link\?token=[A-Za-z0-9_-]{43}$/);
    expect((await useLink(url)).res.status).toBe(303);
    const { rows } = await stack.pool.query("SELECT actor_id FROM ledger_events WHERE action_id = 'principal:alice' AND type = 'sign_in_link_created' ORDER BY seq DESC LIMIT 1");
    expect(rows[0].actor_id).toBe('cli:ops-jo');
    expect(await runSignInLinkCommand(['bot'], deps)).toBe(1);
    expect(err.join('')).toMatch(/agent/);
    expect(await runSignInLinkCommand([], deps)).toBe(2);
  });

  it('when the sign-in page is opened without SSO configured, then it says to ask an admin for a link and offers no SSO button', async () => {
    const res = await fetch(`${stack.url}/console/sign-in`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toMatch(/Ask an admin for a sign-in link/);
    expect(html).not.toMatch(/Sign in with SSO/);
    expect((await fetch(`${stack.url}/console/sign-in/oidc`, { redirect: 'manual' })).status).toBe(404);
  });
});

describe('an https public URL', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack(testPolicy('http://127.0.0.1:9'), { publicUrl: 'https://countersign.example' });
    await stack.principal('alice', 'human', ['reviewer'], ['finance']);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('when COUNTERSIGN_PUBLIC_URL is https, then links are on it and both cookies are Secure', async () => {
    const r = await stack.call(stack.admin, 'POST', '/v1/principals/alice/sign-in-links');
    expect(r.body.url.startsWith('https://countersign.example/console/sign-in/link?token=')).toBe(true);
    const token = new URL(r.body.url).searchParams.get('token')!;
    const res = await fetch(`${stack.url}/console/sign-in/link`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://countersign.example' },
      body: `token=${token}`,
      redirect: 'manual',
    });
    expect(res.status).toBe(303);
    const cookies = res.headers.getSetCookie();
    expect(cookies).toHaveLength(2);
    for (const c of cookies) expect(c).toMatch(/;\s*Secure/i);
  });
});

describe('session expiry', () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack(testPolicy('http://127.0.0.1:9'), { sessionTtlMs: 2000 });
    await stack.principal('alice', 'human', ['reviewer'], ['finance']);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('when a session outlives COUNTERSIGN_SESSION_TTL, then its cookie answers 401', async () => {
    const r = await stack.call(stack.admin, 'POST', '/v1/principals/alice/sign-in-links');
    const token = new URL(r.body.url).searchParams.get('token')!;
    const res = await fetch(`${stack.url}/console/sign-in/link`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${token}`,
      redirect: 'manual',
    });
    expect(res.status).toBe(303);
    const cookie = res.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    expect((await fetch(`${stack.url}/v1/session`, { headers: { cookie } })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 2100));
    expect((await fetch(`${stack.url}/v1/session`, { headers: { cookie } })).status).toBe(401);
  });
});
