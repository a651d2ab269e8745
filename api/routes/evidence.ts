import { Router } from 'express';
import type { Pool } from 'pg';
import { CountersignError } from '../../domain/errors';
import { buildEvidenceBundle } from '../../ledger/evidence';
import type { LedgerSigner, TrustedKey } from '../../ledger/signing';
import { LedgerNotFoundError, verifyLedger } from '../../ledger/store';
import type { ActionService } from '../action-service';
import { hasRole, requireRole, type Principal } from '../auth';

/** Evidence of one action, its delegation tree, and whole-ledger verification. */
export function evidenceRoutes(deps: { pool: Pool; actions: ActionService; signer: LedgerSigner; trustedKeys: () => TrustedKey[] }): Router {
  const r = Router();

  // Operators, and the proposing agent for its own actions.
  r.get('/v1/actions/:id/evidence', async (req, res) => {
    const caller = req.principal as Principal;
    const row = await deps.actions.find(String(req.params.id));
    if (!row || !(hasRole(caller, 'operator') || row.agent === caller.id)) throw new CountersignError('not-found', `no action ${req.params.id}`);
    try {
      const bundle = await buildEvidenceBundle(deps.pool, deps.signer, row.id, {
        workflowId: row.workflow_id,
        runId: row.run_id,
        policyVersion: row.policy?.version ?? '',
        temporalUiUrl: deps.actions.toView(row).links.temporalUi,
      });
      res.json(bundle);
    } catch (err) {
      if (err instanceof LedgerNotFoundError) throw new CountersignError('not-found', `action ${row.id} has no evidence yet`);
      throw err;
    }
  });

  r.get('/v1/actions/:id/lineage', async (req, res) => {
    const caller = req.principal as Principal;
    const row = await deps.actions.find(String(req.params.id));
    if (!row || !deps.actions.mayRead(caller, row)) throw new CountersignError('not-found', `no action ${req.params.id}`);
    res.json(await deps.actions.lineage(row.id));
  });

  r.get('/v1/ledger/verify', requireRole('operator'), async (_req, res) => {
    const result = await verifyLedger(deps.pool, deps.trustedKeys());
    res.json(result);
  });

  return r;
}
