/**
 * `GET /v1/reports/reviewers?since=&until=` (operator): reviewer metrics over a period, by
 * default the last 30 days (docs/reviewer-metrics.md defines every figure).
 */
import { Router } from 'express';
import type { Pool } from 'pg';
import { reviewerReportQuerySchema } from '../../domain/controls';
import { CountersignError } from '../../domain/errors';
import { reviewerReport } from '../../ledger/reviewer-report';
import { requireRole } from '../auth';
import { parseQuery } from '../validate';

/** The default period of the report. */
const DEFAULT_PERIOD_MS = 30 * 86_400_000;

export function reportRoutes(deps: { pool: Pool; fastDecisionMs: number }): Router {
  const r = Router();
  r.get('/v1/reports/reviewers', requireRole('operator'), async (req, res) => {
    const q = parseQuery(reviewerReportQuerySchema, req.query);
    const until = q.until ? new Date(q.until) : new Date();
    const since = q.since ? new Date(q.since) : new Date(until.getTime() - DEFAULT_PERIOD_MS);
    if (since.getTime() > until.getTime()) {
      throw new CountersignError('validation', `since (${since.toISOString()}) is after until (${until.toISOString()})`, [
        { path: 'since', message: 'must not be after until' },
      ]);
    }
    res.json(await reviewerReport(deps.pool, since, until, deps.fastDecisionMs));
  });
  return r;
}
