import { Router } from 'express';
import type { Pool } from 'pg';
import { CountersignError } from '../../domain/errors';
import { buildEvidenceBundle } from '../../ledger/evidence';
import type { LedgerSigner, TrustedKey } from '../../ledger/signing';
import { LedgerNotFoundError, verifyLedger } from '../../ledger/store';
import type { ActionService } from '../action-service';
import { holdsRole } from '../../domain/access-rules';
import { requireRole, type Principal } from '../auth';
import type { CheckpointWitness } from '../../ledger/witness';

/** Evidence of one action, its delegation tree, and whole-ledger verification. */
export function evidenceRoutes(deps: {
  pool: Pool;
  actions: ActionService;
  signer: LedgerSigner;
  trustedKeys: () => TrustedKey[];
  /** Copies of the checkpoints outside Postgres that verification compares with (ledger/witness.ts). */
  ledgerWitnesses?: () => CheckpointWitness[];
  /** Events older than two of these must be covered by a checkpoint. @default 60 */
  checkpointIntervalSeconds?: number;
}): Router {
  const r = Router();

  // Operators, and the proposing agent for its own actions: narrower than reading the action
  // (a reviewer who may read it does not get its ledger), and 404 alike.
  r.get('/v1/actions/:id/evidence', async (req, res) => {
    const caller = req.principal as Principal;
    const row = await deps.actions.getVisible(caller, String(req.params.id));
    if (!holdsRole(caller, 'operator') && row.agent !== caller.id) throw new CountersignError('not-found', `no action ${req.params.id}`);
    try {
      const bundle = await buildEvidenceBundle(deps.pool, deps.signer, row.id, {
        workflowId: row.workflow_id,
        runId: row.run_id,
        policyVersion: row.policy?.version ?? '',
        temporalUiUrl: deps.actions.linksOf(row).temporalUi,
      });
      res.json(bundle);
    } catch (err) {
      if (err instanceof LedgerNotFoundError) throw new CountersignError('not-found', `action ${row.id} has no evidence yet`);
      throw err;
    }
  });

  r.get('/v1/actions/:id/lineage', async (req, res) => {
    res.json(await deps.actions.lineage(req.principal as Principal, String(req.params.id)));
  });

  r.get('/v1/ledger/verify', requireRole('operator'), async (_req, res) => {
    const result = await verifyLedger(deps.pool, deps.trustedKeys(), {
      witnesses: deps.ledgerWitnesses?.() ?? [],
      checkpointIntervalSeconds: deps.checkpointIntervalSeconds ?? 60,
    });
    res.json(result);
  });

  return r;
}
