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
    res.json(await lineage(deps.pool, row.id));
  });

  r.get('/v1/ledger/verify', requireRole('operator'), async (_req, res) => {
    const result = await verifyLedger(deps.pool, deps.trustedKeys());
    res.json(result);
  });

  return r;
}

interface LineageNode {
  id: string;
  action: string;
  status: string;
  agent: string;
  onBehalfOf: string | null;
  createdAt: string;
  children: LineageNode[];
}

/** The whole delegation tree (via `parentActionId`) that contains `actionId`, from its root. */
async function lineage(pool: Pool, actionId: string): Promise<{ root: LineageNode; actionId: string }> {
  const { rows: up } = await pool.query<{ id: string }>(
    `WITH RECURSIVE up AS (
       SELECT id, parent_action_id, 0 AS depth FROM actions WHERE id = $1
       UNION ALL
       SELECT a.id, a.parent_action_id, up.depth + 1 FROM actions a JOIN up ON a.id = up.parent_action_id WHERE up.depth < 100
     ) SELECT id FROM up ORDER BY depth DESC LIMIT 1`,
    [actionId],
  );
  const rootId = up[0].id;
  const { rows } = await pool.query<{ id: string; parent_action_id: string | null; action: string; status: string; agent: string; on_behalf_of: string | null; created_at: Date }>(
    `WITH RECURSIVE down AS (
       SELECT id, parent_action_id, action, status, agent, on_behalf_of, created_at, 0 AS depth FROM actions WHERE id = $1
       UNION ALL
       SELECT a.id, a.parent_action_id, a.action, a.status, a.agent, a.on_behalf_of, a.created_at, down.depth + 1
         FROM actions a JOIN down ON a.parent_action_id = down.id WHERE down.depth < 100
     ) SELECT * FROM down ORDER BY created_at, id LIMIT 10000`,
    [rootId],
  );
  const nodes = new Map<string, LineageNode>();
  for (const r of rows) {
    nodes.set(r.id, { id: r.id, action: r.action, status: r.status, agent: r.agent, onBehalfOf: r.on_behalf_of, createdAt: r.created_at.toISOString(), children: [] });
  }
  for (const r of rows) if (r.parent_action_id && r.id !== rootId) nodes.get(r.parent_action_id)?.children.push(nodes.get(r.id) as LineageNode);
  return { root: nodes.get(rootId) as LineageNode, actionId };
}
