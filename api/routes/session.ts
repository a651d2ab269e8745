import { Router } from 'express';
import { clearSessionCookies, type Principal, type PrincipalStore } from '../auth';

/**
 * `GET /v1/session` (who the console is signed in as) and `POST /v1/session/sign-out`. Both
 * sit behind /v1 authentication, so sign-out, a write, needs the CSRF header like any other.
 */
export function sessionRoutes(principals: PrincipalStore, options: { publicUrl: () => string }): Router {
  const r = Router();
  r.get('/v1/session', (req, res) => {
    const p = req.principal as Principal;
    res.setHeader('Cache-Control', 'no-store');
    res.json({
      principal: { id: p.id, name: p.id, kind: p.kind, roles: p.roles, groups: p.groups },
      // A bearer token has no session: its expiry is not this endpoint's business.
      expiresAt: req.consoleSession ? req.consoleSession.expiresAt.toISOString() : null,
    });
  });
  r.post('/v1/session/sign-out', async (req, res) => {
    if (req.consoleSession) await principals.endSession(req.consoleSession);
    clearSessionCookies(res, options.publicUrl());
    res.status(204).end();
  });
  return r;
}
