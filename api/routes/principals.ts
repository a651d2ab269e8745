import { Router } from 'express';
import { createPrincipalSchema } from '../../domain/api-schemas';
import { CountersignError } from '../../domain/errors';
import { requireRole, type Principal, type PrincipalStore } from '../auth';
import { parseBody } from '../validate';

/**
 * Admins create principals; the token is shown once. There is no route that changes a principal
 * yet: when one comes, nobody may change their own roles, groups, delegates or disabled flag (403).
 */
export function principalRoutes(principals: PrincipalStore): Router {
  const r = Router();
  r.post('/v1/principals', requireRole('admin'), async (req, res) => {
    const body = parseBody(createPrincipalSchema, req.body);
    // Agents hold only the agent role and delegate nobody: the body schema refuses that (422).
    if (body.id === 'admin') throw new CountersignError('conflict', 'the id "admin" is reserved for the bootstrap admin');
    const created = await principals.create(body, (req.principal as Principal).id);
    res.status(201).location(`/v1/principals/${created.id}`).json({ id: created.id, token: created.token });
  });
  r.get('/v1/principals/:id', requireRole('admin', 'operator'), async (req, res) => {
    const p = await principals.get(String(req.params.id));
    if (!p) throw new CountersignError('not-found', `no principal ${String(req.params.id)}`);
    res.json({ id: p.id, kind: p.kind, roles: p.roles, groups: p.groups, attributes: p.attributes, delegates: p.delegates });
  });
  return r;
}
