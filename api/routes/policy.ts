import express, { Router } from 'express';
import { backtestQuerySchema, evaluateSchema } from '../../domain/api-schemas';
import { CountersignError } from '../../domain/errors';
import { compileOr422, evaluatePolicy, UnknownActionError } from '../../policy';
import type { Pool } from 'pg';
import { backtestPolicy } from '../../ledger/backtest';
import { readUsage } from '../../ledger/usage-store';
import { GOVERNED_ACTIONS } from '../../domain/controls';
import type { ActionService } from '../action-service';
import { governsActivation } from '../governors';
import type { PolicyStore } from '../../ledger/policy-store';
import { loadFacts, PrincipalRepository } from '../../ledger/principal-repository';
import { requireRole, type Principal } from '../auth';
import { parseBody, parseQuery } from '../validate';

/** Operators read, dry-run and activate policy. */
export function policyRoutes(policies: PolicyStore, pool: Pool, maxBodyBytes: number, governed?: { actions: ActionService }): Router {
  const r = Router();
  const principals = new PrincipalRepository(pool);

  r.get('/v1/policy', requireRole('operator'), async (_req, res) => {
    const active = await policies.active();
    res.json({ version: active.version, loadedAt: active.loadedAt, source: active.source, activatedBy: active.activatedBy });
  });

  r.get('/v1/policy/versions', requireRole('operator'), async (_req, res) => {
    res.json({ items: await policies.versions() });
  });

  // The bundle is YAML or JSON text: read it raw, whatever the content type says.
  r.put('/v1/policy', requireRole('operator'), express.text({ type: () => true, limit: maxBodyBytes }), async (req, res) => {
    const source = typeof req.body === 'string' ? req.body : '';
    if (!source.trim()) throw new CountersignError('validation', 'send the policy bundle (YAML or JSON) as the request body', [{ path: '/', message: 'empty body' }]);
    const bundle = compileOr422(source, 'request body');
    const requester = req.principal as Principal;
    // Governing the governors: the active bundle has rules for countersign.policy.activate, so the
    // activation is a governed action, performed once someone else approves it (api/governors.ts).
    const current = await policies.active().catch(() => undefined);
    if (governed && current && governsActivation(current.bundle)) {
      await policies.store(bundle, source, requester.id, 'api');
      const { view } = await governed.actions.propose(
        requester,
        { action: GOVERNED_ACTIONS.policyActivate, params: { version: bundle.version, previousVersion: current.version }, justification: `PUT /v1/policy by ${requester.id}` },
        undefined,
      );
      const settled = await governed.actions.settle(view, 10);
      res.status(202).location(`/v1/actions/${settled.id}`).json(await governed.actions.toView(settled));
      return;
    }
    const active = await policies.activate(bundle, source, requester.id, 'api');
    res.json({ version: active.version, loadedAt: active.loadedAt, source: active.source, activatedBy: active.activatedBy });
  });

  // A candidate bundle (raw YAML/JSON like PUT) against the actions recorded so far; nothing changes.
  r.post('/v1/policy/backtest', requireRole('operator'), express.text({ type: () => true, limit: maxBodyBytes }), async (req, res) => {
    const source = typeof req.body === 'string' ? req.body : '';
    if (!source.trim()) throw new CountersignError('validation', 'send the candidate bundle (YAML or JSON) as the request body', [{ path: '/', message: 'empty body' }]);
    const { limit } = parseQuery(backtestQuerySchema, req.query);
    res.json(await backtestPolicy(pool, compileOr422(source, 'candidate'), { limit }));
  });

  // Decided as the worker would: with the facts stored for the agent and the onBehalfOf human
  // (422 not-delegated when that human does not delegate to the agent, as for a proposal).
  r.post('/v1/policy/evaluate', requireRole('operator'), async (req, res) => {
    const body = parseBody(evaluateSchema, req.body);
    const bundle = body.bundle !== undefined ? compileOr422(body.bundle, 'bundle') : (await policies.active()).bundle;
    const agent = body.agent ?? (req.principal as Principal).id;
    const facts = await loadFacts(principals, agent, body.onBehalfOf);
    // Budgets: the agent's usage as recorded now (ledger/usage-store.ts), as the worker would count it.
    const calls = bundle.actions.get(body.action)?.usage ?? [];
    const usage = calls.length > 0 ? await readUsage(pool, calls, { agent, action: body.action }) : undefined;
    try {
      const decision = evaluatePolicy(bundle, {
        ...(usage ? { usage } : {}),
        action: body.action,
        params: body.params,
        resource: body.resource,
        context: body.context ?? {},
        agent,
        onBehalfOf: body.onBehalfOf ?? null,
        facts,
      });
      res.json(decision);
    } catch (err) {
      if (err instanceof UnknownActionError) {
        throw new CountersignError('unknown-action', `action ${body.action} is not in the catalog of policy ${bundle.version}`, [
          { path: '/action', message: 'unknown action' },
        ]);
      }
      throw err;
    }
  });

  return r;
}
