import express, { type RequestHandler } from 'express';
import client from 'prom-client';
import type { Pool } from 'pg';
import { decisionTiming } from '../ledger/reviewer-report';
import { sendProblem } from './problem';

/** Where the metrics that are read at scrape time come from. */
export interface MetricSources {
  /**
   * How many actions are stopped by a write Postgres refused for good and not yet acknowledged
   * (ledger/action-faults.ts countActionFaults). Read from the database at each scrape, so every
   * API process reports the same number whichever worker hit the fault.
   */
  openFaults?: () => Promise<number>;
}

/** Prometheus metrics of one API process. */
export function createMetrics(sources: MetricSources = {}) {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'countersign_' });
  const { openFaults } = sources;
  if (openFaults) {
    new client.Gauge({
      name: 'countersign_action_faults',
      help: 'Actions stopped because Postgres refused one of their writes permanently, not yet acknowledged (alert when > 0)',
      registers: [registry],
      async collect() {
        // Postgres unreachable at this scrape: keep the last value rather than fail the whole scrape.
        const n = await openFaults().catch(() => undefined);
        if (n !== undefined) this.set(n);
      },
    });
  }
  return {
    registry,
    httpRequests: new client.Counter({
      name: 'countersign_http_requests_total',
      help: 'HTTP requests by method, route and status',
      labelNames: ['method', 'route', 'status'] as const,
      registers: [registry],
    }),
    httpDuration: new client.Histogram({
      name: 'countersign_http_request_duration_seconds',
      help: 'HTTP request duration by method and route',
      labelNames: ['method', 'route'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    actionsProposed: new client.Counter({
      name: 'countersign_actions_proposed_total',
      help: 'Actions proposed, by action name',
      labelNames: ['action'] as const,
      registers: [registry],
    }),
    decisions: new client.Counter({
      name: 'countersign_decisions_total',
      help: 'Reviewer decisions accepted, by decision',
      labelNames: ['decision'] as const,
      registers: [registry],
    }),
    // Reviewer metrics (docs/reviewer-metrics.md): one label value per human reviewer.
    reviewerDecisions: new client.Counter({
      name: 'countersign_reviewer_decisions_total',
      help: 'Decisions recorded through this API process, by reviewer and outcome (approve, deny, edit = approve with edits)',
      labelNames: ['reviewer', 'outcome'] as const,
      registers: [registry],
    }),
    timeToDecision: new client.Histogram({
      name: 'countersign_time_to_decision_seconds',
      help: 'From the approval request a decision answered to the decision, by outcome',
      labelNames: ['outcome'] as const,
      buckets: [1, 2, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600],
      registers: [registry],
    }),
    fastDecisions: new client.Counter({
      name: 'countersign_fast_decisions_total',
      help: 'Decisions made faster than COUNTERSIGN_FAST_DECISION_MS after their approval request, by reviewer',
      labelNames: ['reviewer'] as const,
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** `GET /metrics`: the registry in Prometheus text format. */
export function serveMetrics(metrics: Metrics): RequestHandler {
  return async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  };
}

/**
 * The app of the metrics listener (`COUNTERSIGN_METRICS_PORT`): `GET /metrics` and nothing else,
 * so the port can be opened to a scraper without opening the API, and the API's port without
 * the metrics.
 */
export function metricsApp(metrics: Metrics) {
  const app = express();
  app.disable('x-powered-by');
  app.get('/metrics', serveMetrics(metrics));
  app.use((req: express.Request, res: express.Response) => sendProblem(res, 'not-found', `no route ${req.method} ${req.path} (this port serves only GET /metrics)`));
  return app;
}

/**
 * Count one recorded decision in the reviewer metrics: outcome, time to decide and whether it was
 * fast, as the report defines them (ledger/reviewer-report.ts). Never throws: a failed read is
 * only logged by the caller.
 */
export async function observeDecision(metrics: Metrics, pool: Pool, actionId: string, reviewer: string, fastMs: number): Promise<void> {
  const timing = await decisionTiming(pool, actionId, reviewer);
  if (!timing) return;
  metrics.reviewerDecisions.inc({ reviewer, outcome: timing.outcome });
  if (timing.seconds === null) return;
  metrics.timeToDecision.observe({ outcome: timing.outcome }, timing.seconds);
  if (timing.seconds * 1000 < fastMs) metrics.fastDecisions.inc({ reviewer });
}
