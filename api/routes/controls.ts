/**
 * Pauses, the stop button (docs/controls.md): `POST /v1/controls/pauses` pauses one agent, one
 * action name, both (AND), or everything; `GET` lists them; `DELETE …/:id` lifts one. Operators
 * only. The store writes the row, its ledger event and the notification every process listens
 * for in one transaction (ledger/pause-store.ts).
 */
import { Router } from 'express';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import { createPauseSchema, liftPauseSchema, listPausesQuerySchema } from '../../domain/controls';
import { heldCandidates, PauseStore, type Pause } from '../../ledger/pause-store';
import type { Logger } from '../../runtime/logger';
import { pausesChangedSignal } from '../../workflows/pause-hold';
import { requireRole, type Principal } from '../auth';
import { parseBody, parseQuery } from '../validate';

/** What the pause routes need. */
export interface ControlRouteDeps {
  pool: Pool;
  temporal: Client;
  log: Logger;
}

/** How many held actions are told at once that a pause was lifted. */
const NUDGE_CONCURRENCY = 16;

export function controlRoutes(deps: ControlRouteDeps): Router {
  const r = Router();
  const store = new PauseStore(deps.pool);

  r.post('/v1/controls/pauses', requireRole('operator'), async (req, res) => {
    const body = parseBody(createPauseSchema, req.body);
    const pause = await store.create(body.scope, body.reason, (req.principal as Principal).id);
    res.status(201).location(`/v1/controls/pauses/${pause.id}`).json(pause);
  });

  r.get('/v1/controls/pauses', requireRole('operator'), async (req, res) => {
    const q = parseQuery(listPausesQuerySchema, req.query);
    res.json({ items: q.all === 'true' ? await store.all(q.limit) : (await store.active()).slice(0, q.limit) });
  });

  r.delete('/v1/controls/pauses/:id', requireRole('operator'), async (req, res) => {
    const body = req.body === undefined ? {} : parseBody(liftPauseSchema, req.body);
    const pause = await store.lift(String(req.params.id), (req.principal as Principal).id, body.reason ?? null);
    res.json(pause);
    // The actions this pause may have held ask again now instead of at their next re-check.
    // After answering: the lift is recorded and in force either way.
    nudgeHeld(deps, pause).catch((err) => deps.log.warn({ err: (err as Error).message, pause: pause.id }, 'could not tell held actions that a pause was lifted; they ask again within 10 minutes'));
  });

  return r;
}

/** Signal every approved action the lifted pause covered (a signal that only makes it ask again). */
async function nudgeHeld(deps: ControlRouteDeps, pause: Pause): Promise<void> {
  const ids = await heldCandidates(deps.pool, pause.scope);
  for (let i = 0; i < ids.length; i += NUDGE_CONCURRENCY) {
    await Promise.allSettled(ids.slice(i, i + NUDGE_CONCURRENCY).map((workflowId) => deps.temporal.workflow.getHandle(workflowId).signal(pausesChangedSignal)));
  }
}
