import { Router, type Request } from 'express';
import { holdsRole } from '../../domain/access-rules';
import { createPrincipalSchema, createTokenSchema, updatePrincipalSchema } from '../../domain/api-schemas';
import { CountersignError } from '../../domain/errors';
import { parseDuration } from '../../policy/duration';
import { requireRole, type Principal, type PrincipalStore } from '../auth';
import { parseBody } from '../validate';
import { GOVERNED_ACTIONS } from '../../domain/controls';
import type { PolicyStore } from '../../ledger/policy-store';
import type { ActionService } from '../action-service';
import { governsGrants, type GrantParams } from '../governors';

/** A principal as the API shows it (no token, no hash). */
export function principalView(p: Principal) {
  return {
    id: p.id,
    kind: p.kind,
    roles: p.roles,
    groups: p.groups,
    attributes: p.attributes,
    delegates: p.delegates,
    disabled: p.disabled ?? false,
    email: p.email ?? null,
    oidcSubject: p.oidcSubject ?? null,
    slackUserId: p.slackUserId ?? null,
  };
}

const caller = (req: Request) => req.principal as Principal;
const idOf = (req: Request) => String(req.params.id);

/** Admins manage every principal's tokens; any principal lists and revokes its own. */
function mayManageTokensOf(req: Request): boolean {
  return holdsRole(caller(req), 'admin') || caller(req).id === idOf(req);
}

/**
 * Principals, their tokens and sign-in links. Admins create and change principals; nobody
 * changes their own roles, groups, delegates or disabled flag (403). Every change is a ledger
 * event (ledger/principal-repository.ts).
 */
export function principalRoutes(
  principals: PrincipalStore,
  options: { publicUrl: () => string; governed?: { policies: PolicyStore; actions: ActionService } },
): Router {
  const r = Router();
  // Governing the governors (docs/controls.md): while the active bundle has rules for
  // countersign.principal.grant, roles, groups and delegations are granted by a governed action.
  const governedGrants = async () => {
    const g = options.governed;
    const active = g ? await g.policies.active().catch(() => undefined) : undefined;
    return g && active && governsGrants(active.bundle) ? g.actions : undefined;
  };
  const proposeGrant = async (actions: ActionService, req: Request, params: GrantParams) => {
    const { view } = await actions.propose(caller(req), { action: GOVERNED_ACTIONS.principalGrant, params: { ...params }, justification: `${req.method} ${req.path} by ${caller(req).id}` }, undefined);
    return actions.toView(await actions.settle(view, 10));
  };

  r.post('/v1/principals', requireRole('admin'), async (req, res) => {
    const body = parseBody(createPrincipalSchema, req.body);
    // Agents hold only the agent role and delegate nobody: the body schema refuses that (422).
    if (body.id === 'admin') throw new CountersignError('conflict', 'the id "admin" is reserved for the bootstrap admin');
    const grants = body.roles.some((role) => role !== 'agent') || body.groups.length > 0 || body.delegates.length > 0;
    const governed = grants ? await governedGrants() : undefined;
    if (governed) {
      // Created disabled (its token answers 401) until the grant of its roles, groups and
      // delegates is approved by someone other than the caller.
      const created = await principals.create(body, caller(req));
      await principals.update(created.id, { disabled: true }, caller(req));
      const action = await proposeGrant(governed, req, { principal: created.id, roles: body.roles, groups: body.groups, delegates: body.delegates, enable: true });
      res.status(202).location(`/v1/actions/${action.id}`).json({ id: created.id, token: created.token, action });
      return;
    }
    const created = await principals.create(body, caller(req));
    res.status(201).location(`/v1/principals/${created.id}`).json({ id: created.id, token: created.token });
  });

  r.get('/v1/principals', requireRole('admin', 'operator'), async (_req, res) => {
    res.json({ items: (await principals.list()).map(principalView) });
  });

  r.get('/v1/principals/:id', async (req, res) => {
    // Operators and admins read every principal; anyone else only itself (as if no other existed).
    if (!holdsRole(caller(req), 'operator') && caller(req).id !== idOf(req)) throw new CountersignError('not-found', `no principal ${idOf(req)}`);
    const p = await principals.get(idOf(req));
    if (!p) throw new CountersignError('not-found', `no principal ${idOf(req)}`);
    res.json(principalView(p));
  });

  r.patch('/v1/principals/:id', requireRole('admin'), async (req, res) => {
    const body = parseBody(updatePrincipalSchema, req.body);
    if (idOf(req) === 'admin') throw new CountersignError('conflict', 'the bootstrap admin lives in the environment (COUNTERSIGN_ADMIN_TOKEN): it cannot be changed here');
    const { roles, groups, delegates, ...rest } = body;
    const governed = roles !== undefined || groups !== undefined || delegates !== undefined ? await governedGrants() : undefined;
    if (governed) {
      if (caller(req).id === idOf(req)) throw new CountersignError('forbidden', 'nobody changes their own roles, groups or delegates: ask another admin');
      if (!(await principals.get(idOf(req)))) throw new CountersignError('not-found', `no principal ${idOf(req)}`);
      // What is not a grant takes effect now; the grant once approved.
      if (Object.keys(rest).length > 0) await principals.update(idOf(req), rest, caller(req));
      const action = await proposeGrant(governed, req, { principal: idOf(req), ...(roles ? { roles } : {}), ...(groups ? { groups } : {}), ...(delegates ? { delegates } : {}) });
      res.status(202).location(`/v1/actions/${action.id}`).json(action);
      return;
    }
    const updated = await principals.update(idOf(req), body, caller(req));
    if (!updated) throw new CountersignError('not-found', `no principal ${idOf(req)}`);
    res.json(principalView(updated));
  });

  r.post('/v1/principals/:id/tokens', requireRole('admin'), async (req, res) => {
    // The body is optional; a JSON `null` is a body, and not an object.
    const body = parseBody(createTokenSchema, req.body === undefined ? {} : req.body);
    let ms: number | undefined;
    if (body.expiresIn !== undefined) {
      ms = parseDuration(body.expiresIn);
      if (ms === undefined) throw new CountersignError('validation', 'expiresIn must be a positive duration', [{ path: '/expiresIn', message: 'a positive duration like 1h, 90d or 1h30m' }]);
    }
    if (idOf(req) === 'admin') throw new CountersignError('conflict', 'the bootstrap admin token lives in the environment (COUNTERSIGN_ADMIN_TOKEN): rotate it there');
    const created = await principals.createToken(idOf(req), ms, caller(req));
    if (!created) throw new CountersignError('not-found', `no principal ${idOf(req)}`);
    res.status(201).location(`/v1/principals/${idOf(req)}/tokens/${created.tokenId}`).json(created);
  });

  r.get('/v1/principals/:id/tokens', async (req, res) => {
    if (!mayManageTokensOf(req)) throw new CountersignError('not-found', `no principal ${idOf(req)}`);
    if (!(await principals.get(idOf(req)))) throw new CountersignError('not-found', `no principal ${idOf(req)}`);
    const items = await principals.listTokens(idOf(req));
    res.json({ items: items.map(({ principalId: _p, ...t }) => t) });
  });

  r.delete('/v1/principals/:id/tokens/:tokenId', async (req, res) => {
    if (!mayManageTokensOf(req)) throw new CountersignError('not-found', `no principal ${idOf(req)}`);
    const revoked = await principals.revokeToken(idOf(req), String(req.params.tokenId), caller(req));
    if (!revoked) throw new CountersignError('not-found', `${idOf(req)} has no token ${String(req.params.tokenId)}`);
    res.status(204).end();
  });

  r.post('/v1/principals/:id/sign-in-links', requireRole('admin'), async (req, res) => {
    if (req.body !== undefined && req.body !== null && (typeof req.body !== 'object' || Array.isArray(req.body) || Object.keys(req.body).length > 0)) {
      throw new CountersignError('validation', 'send no body, or {}', [{ path: '', message: 'no fields are accepted' }]);
    }
    const link = await principals.createSignInLink(idOf(req), options.publicUrl(), caller(req));
    if (!link) throw new CountersignError('not-found', `no principal ${idOf(req)}`);
    res.status(201).setHeader('Cache-Control', 'no-store');
    res.json(link);
  });
  return r;
}
