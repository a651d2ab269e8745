import { trace } from '@opentelemetry/api';
import { Router } from 'express';
import {
  IDEMPOTENCY_KEY_RE,
  cancelSchema,
  decisionSchema,
  inboxQuerySchema,
  listActionsQuerySchema,
  proposeActionSchema,
  resultSchema,
  waitQuerySchema,
} from '../../domain/api-schemas';
import { CountersignError } from '../../domain/errors';
import type { ActionService } from '../action-service';
import { humanOriginOf, requireRole, type Principal } from '../auth';
import { parseBody, parseQuery } from '../validate';
import type { Metrics } from '../metrics';

function idempotencyKey(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (!IDEMPOTENCY_KEY_RE.test(header)) {
    throw new CountersignError('validation', 'Idempotency-Key must be 1-200 visible ASCII characters', [{ path: 'Idempotency-Key', message: 'invalid header' }]);
  }
  return header;
}

/** Agents propose and follow actions; reviewers decide them. */
export function actionRoutes(actions: ActionService, metrics: Metrics): Router {
  const r = Router();

  r.post('/v1/actions', requireRole('agent'), async (req, res) => {
    const { wait } = parseQuery(waitQuerySchema.pick({ wait: true }), req.query);
    const body = parseBody(proposeActionSchema, req.body);
    // The agent's own trace id, on the request's span (runtime/tracing.ts; a no-op when tracing is off).
    if (body.model?.traceId) trace.getActiveSpan()?.setAttribute('countersign.model.trace_id', body.model.traceId);
    const key = idempotencyKey(req.get('idempotency-key'));
    let { view, created } = await actions.propose(req.principal as Principal, body, key);
    if (created) metrics.actionsProposed.inc({ action: body.action });
    if (wait) view = await actions.settle(view, wait);
    res.status(created ? 201 : 200).location(`/v1/actions/${view.id}`).json(await actions.toView(view));
  });

  r.get('/v1/actions', async (req, res) => {
    const q = parseQuery(listActionsQuerySchema, req.query);
    const page = await actions.list(req.principal as Principal, q);
    res.json({ items: await actions.toViews(page.items), nextCursor: page.nextCursor });
  });

  r.get('/v1/actions/:id', async (req, res) => {
    const { wait, since } = parseQuery(waitQuerySchema, req.query);
    const row = await actions.get(req.principal as Principal, String(req.params.id), wait, since);
    res.json(await actions.toView(row));
  });

  r.post('/v1/actions/:id/cancel', async (req, res) => {
    // The body is optional; a JSON `null` is a body, and not an object.
    const body = parseBody(cancelSchema, req.body === undefined ? {} : req.body);
    res.json(await actions.toView(await actions.cancel(req.principal as Principal, String(req.params.id), body.reason, humanOriginOf(req))));
  });

  r.post('/v1/actions/:id/result', async (req, res) => {
    const body = parseBody(resultSchema, req.body);
    res.json(await actions.toView(await actions.reportResult(req.principal as Principal, String(req.params.id), body)));
  });

  r.post('/v1/actions/:id/decisions', requireRole('reviewer'), async (req, res) => {
    const body = parseBody(decisionSchema, req.body);
    const key = idempotencyKey(req.get('idempotency-key'));
    // The evidence records how the reviewer was identified (token, sign-in link, OIDC) and through what (api, console).
    const row = await actions.decide(req.principal as Principal, String(req.params.id), body, key, humanOriginOf(req));
    metrics.decisions.inc({ decision: body.decision });
    res.json(await actions.toView(row));
  });

  r.get('/v1/approvals', requireRole('reviewer'), async (req, res) => {
    const q = parseQuery(inboxQuerySchema, req.query);
    const page = await actions.inbox(req.principal as Principal, q);
    res.json({ items: await actions.toViews(page.items), nextCursor: page.nextCursor });
  });

  return r;
}
