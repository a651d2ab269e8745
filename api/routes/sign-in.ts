/**
 * The console's sign-in pages, rendered here as plain HTML (no script): the sign-in page, the
 * sign-in link page (a **Sign in** button, so link previews and mail scanners that open the link
 * do not use it up), and the OIDC redirect and callback. Each successful sign-in starts a console
 * session (cookies `countersign_session`, HttpOnly, and `countersign_csrf`) and lands on
 * `/console`. docs/sign-in.md describes it for users.
 */
import express, { Router, type Request, type Response } from 'express';
import { CountersignError } from '../../domain/errors';
import { cookieOptions, cookieValue, CSRF_COOKIE, newSecret, secretHash, SESSION_COOKIE, type Principal, type PrincipalStore } from '../auth';
import { OidcSignInError, type OidcSignIn } from '../oidc';
import type { Logger } from '../../runtime/logger';

/** What the sign-in pages need. */
export interface SignInDeps {
  principals: PrincipalStore;
  /** The public base URL (links, redirects, the expected Origin of the form). */
  publicUrl: () => string;
  /** How long a console session lasts (`COUNTERSIGN_SESSION_TTL`). */
  sessionTtlMs: number;
  /** The OpenID provider, when one is configured. */
  oidc?: OidcSignIn;
  log: Logger;
}

/** The cookie that ties an OIDC login under way to this browser (its id; the row holds state, nonce, verifier). */
const OIDC_COOKIE = 'countersign_oidc';

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** A small, calm page: no script, no external resources. */
function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Countersign</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; margin: 0; background: #f6f7f9; color: #1d2330; }
  main { max-width: 26rem; margin: 12vh auto; padding: 2rem; background: #fff; border-radius: 10px; box-shadow: 0 1px 4px rgba(0,0,0,.08); }
  h1 { font-size: 1.35rem; margin: 0 0 1rem; }
  p { margin: 0 0 1rem; }
  .button, button { display: inline-block; font: inherit; padding: .6rem 1.2rem; border: 0; border-radius: 6px; background: #1f5fd6; color: #fff; text-decoration: none; cursor: pointer; }
  .button:focus, button:focus { outline: 3px solid #9cc0ff; outline-offset: 2px; }
  .note { color: #4a5366; font-size: .95rem; }
</style>
</head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
${body}
</main>
</body>
</html>
`;
}

function sendPage(res: Response, status: number, title: string, body: string): void {
  res
    .status(status)
    .set({
      'Content-Type': 'text/html; charset=utf-8',
      'Cache-Control': 'no-store',
      // Not no-referrer: under it a browser sends `Origin: null` with the form's POST, and the
      // login-CSRF check below needs the real origin. same-origin still keeps the link (in the
      // page's URL) from leaving for any other site.
      'Referrer-Policy': 'same-origin',
      'X-Frame-Options': 'DENY',
      'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    })
    .send(page(title, body));
}

const LINK_REFUSED = '<p>This sign-in link has expired or has already been used. Ask an admin for a new one.</p><p><a class="button" href="/console/sign-in">Back to sign-in</a></p>';

/** The sign-in pages and the OIDC flow (mounted before /v1 authentication). */
export function signInRoutes(deps: SignInDeps): Router {
  const r = Router();
  const form = express.urlencoded({ extended: false, limit: 4096, parameterLimit: 10 });

  /** Start a session for `principal` and land on the inbox. */
  async function startSession(req: Request, res: Response, principal: Principal, how: { method: 'sign-in-link' | 'oidc'; issuer?: string; subject?: string }) {
    // A browser that was signed in as someone else ends that session first.
    const previous = cookieValue(req, SESSION_COOKIE);
    if (previous) {
      const old = await deps.principals.authenticateSession(previous);
      if (old) await deps.principals.endSession(old);
    }
    const { session, csrf, expiresAt } = await deps.principals.startSession(principal, how, deps.sessionTtlMs);
    const publicUrl = deps.publicUrl();
    res.cookie(SESSION_COOKIE, session, cookieOptions(publicUrl, true, expiresAt));
    res.cookie(CSRF_COOKIE, csrf, cookieOptions(publicUrl, false, expiresAt));
    res.setHeader('Cache-Control', 'no-store');
    res.redirect(303, '/console');
  }

  /**
   * A form POST from another site (login CSRF: signing the victim in as the attacker) carries
   * that site's Origin: only this server's own origin is accepted. Browsers send Origin on
   * every form POST; a request without one (not a browser) is not a cross-site attack.
   */
  function sameOrigin(req: Request): boolean {
    const origin = req.get('origin');
    if (origin === undefined) return true;
    const own = [new URL(deps.publicUrl()).origin, `${req.protocol}://${req.get('host')}`];
    return own.includes(origin);
  }

  r.get('/console/sign-in', (_req, res) => {
    const sso = deps.oidc ? '<p><a class="button" href="/console/sign-in/oidc">Sign in with SSO</a></p>' : '';
    sendPage(res, 200, 'Sign in to Countersign', `${sso}<p class="note">No SSO account? Ask an admin for a sign-in link (<code>npx countersign sign-in-link &lt;your id&gt;</code>).</p>`);
  });

  r.get('/console/sign-in/link', async (req, res) => {
    const token = typeof req.query.token === 'string' ? req.query.token : '';
    // Looking does not use the link up: only the button below does.
    const principal = token ? await deps.principals.peekSignInLink(token) : undefined;
    if (!principal) return sendPage(res, 410, 'Sign-in link not valid', LINK_REFUSED);
    sendPage(
      res,
      200,
      'Sign in to Countersign',
      `<p>Sign in as <strong>${escapeHtml(principal.id)}</strong>.</p>
<form method="post" action="/console/sign-in/link">
<input type="hidden" name="token" value="${escapeHtml(token)}">
<button type="submit">Sign in</button>
</form>
<p class="note">This link works once. If you did not ask for it, close this page.</p>`,
    );
  });

  const readForm = (req: Request, res: Response, next: (err?: unknown) => void) => {
    if (!req.is('application/x-www-form-urlencoded')) {
      throw new CountersignError('unsupported-media-type', 'send the sign-in form (application/x-www-form-urlencoded)');
    }
    form(req, res, next);
  };
  r.post('/console/sign-in/link', readForm, async (req, res) => {
    if (!sameOrigin(req)) return sendPage(res, 403, 'Sign-in refused', '<p>This sign-in came from another site and was refused. Open your sign-in link again.</p>');
    const token = typeof req.body?.token === 'string' ? req.body.token : '';
    const principal = token ? await deps.principals.useSignInLink(token) : undefined;
    if (!principal) return sendPage(res, 410, 'Sign-in link not valid', LINK_REFUSED);
    deps.log.info({ principal: principal.id, method: 'sign-in-link' }, 'console sign-in');
    await startSession(req, res, principal, { method: 'sign-in-link' });
  });

  r.get('/console/sign-in/oidc', async (_req, res) => {
    if (!deps.oidc) return sendPage(res, 404, 'SSO is not configured', '<p>This Countersign has no identity provider configured. Ask an admin for a sign-in link.</p>');
    let started: Awaited<ReturnType<OidcSignIn['start']>>;
    try {
      started = await deps.oidc.start();
    } catch (err) {
      deps.log.warn({ err: (err as Error).message }, 'OIDC discovery failed');
      return sendPage(res, 503, 'SSO unavailable', '<p>The identity provider cannot be reached right now. Try again in a moment.</p>');
    }
    const loginId = newSecret();
    await deps.principals.sessions.createOidcLogin(secretHash(loginId), { state: started.state, nonce: started.nonce, codeVerifier: started.codeVerifier });
    // Lax: the provider's redirect back is a top-level GET, which carries it.
    res.cookie(OIDC_COOKIE, loginId, { ...cookieOptions(deps.publicUrl(), true), maxAge: 10 * 60_000, path: '/console/sign-in/oidc' });
    res.setHeader('Cache-Control', 'no-store');
    res.redirect(303, started.url.toString());
  });

  r.get('/console/sign-in/oidc/callback', async (req, res) => {
    if (!deps.oidc) return sendPage(res, 404, 'SSO is not configured', '<p>This Countersign has no identity provider configured.</p>');
    const loginId = cookieValue(req, OIDC_COOKIE);
    res.clearCookie(OIDC_COOKIE, { ...cookieOptions(deps.publicUrl(), true), path: '/console/sign-in/oidc' });
    const login = loginId ? await deps.principals.sessions.takeOidcLogin(secretHash(loginId)) : undefined;
    const retry = '<p><a class="button" href="/console/sign-in">Back to sign-in</a></p>';
    if (!login) return sendPage(res, 400, 'Sign-in not completed', `<p>This sign-in was not started in this browser, or took too long. Start again.</p>${retry}`);
    const currentUrl = new URL(req.originalUrl, deps.publicUrl());
    try {
      const { principal, issuer, subject } = await deps.oidc.finish(currentUrl, login, deps.principals);
      deps.log.info({ principal: principal.id, method: 'oidc', issuer }, 'console sign-in');
      await startSession(req, res, principal, { method: 'oidc', issuer, subject });
    } catch (err) {
      if (!(err instanceof OidcSignInError)) throw err;
      deps.log.warn({ reason: err.message }, 'OIDC sign-in refused');
      sendPage(res, 403, 'Sign-in refused', `<p>${escapeHtml(err.message)}.</p>${retry}`);
    }
  });
  return r;
}
