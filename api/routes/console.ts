/**
 * The reviewer console's side of the API process: its static files at /console (with the
 * single-page app's fallback), the inbox's live stream of changes (server-sent events), and
 * the few reads the console's pages need that the agent-facing API does not give a reviewer:
 * one call with everything the action page shows, the dry-run of an edit, and the source of a
 * policy version (for the operators' diff).
 */
import fs from 'node:fs';
import path from 'node:path';
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import type { Pool } from 'pg';
import { z } from 'zod';
import { holdsRole, mayReadAction } from '../../domain/access-rules';
import { actionViewSchema, type ActionView } from '../../domain/api-schemas';
import { CountersignError } from '../../domain/errors';
import { unmaskEdit } from '../../domain/sensitive-params';
import { evaluatePolicy, validateActionParams, type CompiledPolicyBundle } from '../../policy';
import { accessSubjectOf, ActionRepository, type ActionRow } from '../../ledger/action-repository';
import type { PolicyStore } from '../../ledger/policy-store';
import { sensitivePatternsOfRow } from '../../ledger/sensitive-patterns';
import { readActionEvents } from '../../ledger/store';
import type { LedgerEvent } from '../../ledger/chain';
import type { ApprovalStepPlan } from '../../domain/policy-types';
import type { Logger } from '../../runtime/logger';
import type { ActionService } from '../action-service';
import { requireRole, type Principal, type PrincipalStore } from '../auth';
import type { ChangeFeed } from '../change-feed';
import { couldDecide, decisionProblem } from '../decision-refusal';
import { parseBody } from '../validate';

// ---------------------------------------------------------------------------------------------
// Static files

/** Where `npm install` (console/build.ts) puts the built console. */
export const CONSOLE_DIST = path.resolve(__dirname, '..', '..', 'console', 'dist');

/**
 * What the console's pages may load: only their own files and the API on the same origin (no
 * inline script, no third party), and no page may frame them (clickjacking an Approve button).
 */
const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Paths under /console that the server's sign-in pages answer (api/routes: sign-in), never the app. */
const SIGN_IN = /^\/console\/sign-in(\/|$)/i;

/**
 * Serve the built console: hashed assets for a year, and `index.html` (no-cache) for /console
 * and every client route below it, except the sign-in pages. Plain middleware, not routes: the
 * console is not part of the API's OpenAPI document.
 */
export function consoleStatic(distDir = CONSOLE_DIST) {
  const assets = express.static(path.join(distDir, 'assets'), { index: false, immutable: true, maxAge: '365d', fallthrough: false });
  const indexFile = path.join(distDir, 'index.html');
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    if (!/^\/console(\/|$)/i.test(req.path) || SIGN_IN.test(req.path)) return next();
    res.setHeader('Content-Security-Policy', CONSOLE_CSP);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'same-origin');
    if (/^\/console\/assets\//i.test(req.path)) {
      req.url = req.url.replace(/^\/console\/assets/i, '');
      return assets(req, res, (err?: unknown) => {
        if (err) res.status(404).type('text/plain').send('not found');
      });
    }
    // A file at the root of dist (favicon): served as is; anything else is a client route.
    const rootFile = /^\/console\/([\w.-]+\.(?:svg|ico|png|txt|webmanifest))$/i.exec(req.path);
    const file = rootFile ? path.join(distDir, rootFile[1]) : indexFile;
    fs.stat(file, (err, stat) => {
      if (err || !stat.isFile()) {
        if (rootFile) return res.status(404).type('text/plain').send('not found');
        // Built at `npm install` (the prepare script) or by `npm start`; say how, in the page's language.
        return res
          .status(503)
          .type('text/html')
          .send('<!doctype html><title>Countersign console</title><p>The console has not been built. Run <code>npm run build:console</code> (or <code>npm install</code>) and reload.</p>');
      }
      res.setHeader('Cache-Control', rootFile ? 'public, max-age=3600' : 'no-cache');
      res.sendFile(file);
    });
  };
}

// ---------------------------------------------------------------------------------------------
// Answers (zod: the API validates nothing with them, /openapi.json and the console's types are generated from them)

const stepPlanSchema = z.object({
  group: z.string(),
  quorum: z.number().int(),
  timeoutMs: z.number(),
  escalateTo: z.array(z.object({ group: z.string(), timeoutMs: z.number() })),
  also: z.array(z.object({ group: z.string(), quorum: z.number().int() })).optional(),
});

/** One entry of an action's evidence timeline: what happened, when, by whom, in a line. */
export const timelineEntrySchema = z.object({
  seq: z.number().int(),
  type: z.string(),
  at: z.string(),
  actor: z.object({ id: z.string(), kind: z.string() }),
  summary: z.string(),
});

/** `GET /v1/actions/{id}/review`: everything the console's action page shows, in one answer. */
export const actionReviewSchema = z.object({
  action: actionViewSchema,
  model: z.object({ provider: z.string().optional(), name: z.string().optional(), traceId: z.string().optional() }).nullable(),
  /** The params JSON Schema of the action in the bundle it was decided under (the edit form is built from it). */
  paramsSchema: z.record(z.string(), z.unknown()).nullable(),
  /** JSON pointers of params that are masked ("***"). */
  sensitive: z.array(z.string()),
  plan: z.object({ steps: z.array(stepPlanSchema), onTimeout: z.enum(['deny', 'allow']) }).nullable(),
  timeline: z.array(timelineEntrySchema),
  /** Whether the caller may cast each decision now, and why not. */
  mayDecide: z.object({ approve: z.boolean(), deny: z.boolean(), why: z.string().nullable() }),
});
export type ActionReview = z.infer<typeof actionReviewSchema>;

/** `POST /v1/actions/{id}/edit-preview`: the edited params, exactly as a decision would send them. */
export const editPreviewRequestSchema = z.strictObject({ params: z.record(z.string(), z.unknown()) });

/** What policy says about edited params: the plan the edit would need (nothing is decided). */
export const editPreviewSchema = z.object({
  decision: z.enum(['allow', 'deny', 'require_approval']),
  ruleIds: z.array(z.string()),
  reasons: z.array(z.string()),
  reason: z.string(),
  plan: z.object({ steps: z.array(stepPlanSchema), onTimeout: z.enum(['deny', 'allow']) }).nullable(),
});
export type EditPreview = z.infer<typeof editPreviewSchema>;

/** `GET /v1/policy/versions/{version}`: the bundle text of one stored version. */
export const policySourceSchema = z.object({ version: z.string(), source: z.string(), sourceName: z.string().nullable() });

/** The events of `GET /v1/approvals/events`, documented in /openapi.json (each is one SSE `data:` line). */
export const inboxEventSchemas = {
  InboxUpsert: z.object({ action: actionViewSchema }),
  InboxRemove: z.object({ id: z.string(), status: z.string() }),
};

// ---------------------------------------------------------------------------------------------
// Routes behind authentication

/** What the console's API routes need. */
export interface ConsoleRouteDeps {
  pool: Pool;
  actions: ActionService;
  policies: PolicyStore;
  principals: PrincipalStore;
  feed: ChangeFeed;
  log: Logger;
  /** How long one event stream stays open before the browser reconnects (re-authenticating). @default 120000 */
  streamLifetimeMs?: number;
}

/** Heartbeat comment on an idle stream, so proxies and load balancers keep it open. */
const HEARTBEAT_MS = 20_000;

/** Reads for the console's pages, and the inbox's event stream. */
export function consoleRoutes(deps: ConsoleRouteDeps): Router {
  const r = Router();
  const repo = new ActionRepository(deps.pool);
  const changes = new SharedChangeLoader(deps.actions);
  const lifetime = deps.streamLifetimeMs ?? 120_000;

  /*
   * The inbox, live. Each change of an action (the change feed: one LISTEN per process) is read
   * once for every stream open in this process, and sent to a reviewer only as far as that
   * reviewer may see it: `upsert` with the masked ActionView when they may decide it now;
   * `remove` (id and status) when they cannot now but could have had it in their inbox (its
   * approval plan names one of their groups, or they may read it: they voted); nothing
   * otherwise, not even the id. `resync` after the feed
   * reconnected (changes may have been missed: reload the inbox).
   */
  r.get('/v1/approvals/events', requireRole('reviewer'), (req, res) => {
    const caller = req.principal as Principal;
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Accel-Buffering', 'no');
    // HEAD (express runs GET routes for it): the headers, and no stream to hold open.
    if (req.method === 'HEAD') return void res.end();
    res.flushHeaders();
    // Reconnect after a second; the stream ends after `lifetime` so a revoked session or token
    // stops receiving within that time (the reconnect authenticates again).
    res.write('retry: 1000\n\nevent: ready\ndata: {}\n\n');
    const lastSeq = new Map<string, number>();
    const send = (event: string, data: unknown) => {
      if (!res.writableEnded) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    const onChange = (id: string) => {
      if (id === '*') return send('resync', {});
      changes
        .load(id)
        .then(async (loaded) => {
          if (!loaded || res.writableEnded) return;
          const { row } = loaded;
          // Two changes in quick succession may be read out of order: never send an older state.
          if ((lastSeq.get(id) ?? -1) > row.last_seq) return;
          if (!decisionProblem(caller, row, 'approve')) {
            lastSeq.set(id, row.last_seq);
            return send('upsert', { action: await loaded.view() });
          }
          // Not decidable by them now: tell only a reviewer who could have had it in their inbox.
          if (!mayReadAction(caller, accessSubjectOf(row)) && !couldDecide(caller, row)) return;
          lastSeq.set(id, row.last_seq);
          send('remove', { id: row.id, status: row.status });
        })
        .catch((err) => deps.log.warn({ err: (err as Error).message, actionId: id }, 'inbox event not sent'));
    };
    const unsubscribe = deps.feed.subscribe(onChange);
    const heartbeat = setInterval(() => res.write(': ping\n\n'), HEARTBEAT_MS);
    const end = setTimeout(() => res.end(), lifetime);
    heartbeat.unref();
    end.unref();
    res.on('close', () => {
      unsubscribe();
      clearInterval(heartbeat);
      clearTimeout(end);
    });
  });

  r.get('/v1/actions/:id/review', async (req, res) => {
    const caller = req.principal as Principal;
    const row = await deps.actions.getVisible(caller, String(req.params.id));
    const [view, recorded, bundle, events, sensitive] = await Promise.all([
      deps.actions.toView(row),
      repo.proposalInputs(row.id),
      bundleOf(deps.policies, row),
      readActionEvents(deps.pool, row.id),
      sensitivePatternsOfRow(deps.policies, row),
    ]);
    const model = recorded?.model ? pick(recorded.model, ['provider', 'name', 'traceId']) : null;
    const refusal = holdsRole(caller, 'reviewer') ? decisionProblem(caller, row, 'approve') : new CountersignError('forbidden', `${caller.id} does not hold the reviewer role`);
    const denyRefusal = holdsRole(caller, 'reviewer') ? decisionProblem(caller, row, 'deny') : refusal;
    const answer: ActionReview = {
      action: view,
      model,
      paramsSchema: bundle?.actions.get(row.action)?.paramsSchema ?? null,
      sensitive: [...sensitive],
      plan: row.approval ? { steps: row.approval.plan.steps.map(stepPlan), onTimeout: row.approval.plan.onTimeout } : null,
      timeline: events.map(timelineEntry),
      mayDecide: { approve: !refusal, deny: !denyRefusal, why: refusal?.message ?? denyRefusal?.message ?? null },
    };
    res.json(answer);
  });

  /*
   * Approve with edits, before it is sent: the plan policy gives the edited params (as the
   * decision would evaluate them: masked values the reviewer kept are put back, the schema is
   * checked, the stored facts are used). Only for a reviewer who may approve it now.
   */
  r.post('/v1/actions/:id/edit-preview', requireRole('reviewer'), async (req, res) => {
    const caller = req.principal as Principal;
    const body = parseBody(editPreviewRequestSchema, req.body);
    const row = await deps.actions.find(String(req.params.id));
    if (!row) throw new CountersignError('not-found', `no action ${String(req.params.id)}`);
    const refused = decisionProblem(caller, row, 'approve');
    if (refused) throw refused;
    const bundle = await bundleOf(deps.policies, row);
    if (!bundle) throw new CountersignError('unavailable', `the policy version ${row.policy?.version ?? '(active)'} of this action cannot be read now; retry shortly`);
    const unmasked = unmaskEdit(row.params, body.params, await sensitivePatternsOfRow(deps.policies, row));
    if (!unmasked.ok) {
      throw new CountersignError('validation', 'the edited params hold "***" where no hidden value can be kept', unmasked.errors.map((e) => ({ path: `/params${e.path}`, message: e.message })));
    }
    const check = validateActionParams(bundle, row.action, unmasked.params);
    if (!check.ok) {
      throw new CountersignError('invalid-params', `edited params do not match the schema of ${row.action}`, check.errors.map((e) => ({ path: `/params${e.path}`, message: e.message })));
    }
    const recorded = await repo.proposalInputs(row.id);
    const decision = evaluatePolicy(bundle, {
      action: row.action,
      params: unmasked.params,
      resource: row.resource ?? undefined,
      context: recorded?.context ?? {},
      agent: row.agent,
      onBehalfOf: row.on_behalf_of,
      facts: await deps.principals.facts(row.agent, row.on_behalf_of),
    });
    const answer: EditPreview = {
      decision: decision.decision,
      ruleIds: decision.ruleIds,
      reasons: decision.reasons,
      reason: decision.reason,
      plan: decision.plan ? { steps: decision.plan.steps.map(stepPlan), onTimeout: decision.plan.onTimeout } : null,
    };
    res.json(answer);
  });

  // The text of a stored bundle, for the operators' diff between two versions (GET /v1/policy gives only the active one).
  r.get('/v1/policy/versions/:version', requireRole('operator'), async (req, res) => {
    const version = String(req.params.version);
    // Read-only, by primary key, of the table PolicyStore writes (it keeps no text accessor).
    const { rows } = await deps.pool.query<{ version: string; source: string; source_name: string | null }>(
      'SELECT version, source, source_name FROM policy_versions WHERE version = $1',
      [version],
    );
    if (!rows[0]) throw new CountersignError('not-found', `no policy version ${version}`);
    res.json({ version: rows[0].version, source: rows[0].source, sourceName: rows[0].source_name });
  });

  return r;
}

/**
 * Reads each changed action once for all the streams a notification reaches: every stream's
 * listener runs in the same tick of the change feed's emitter, so a read started in that tick
 * is shared; the next notification of the same action starts a new read (it may see more).
 */
class SharedChangeLoader {
  private readonly reads = new Map<string, Promise<{ row: ActionRow; view: () => Promise<ActionView> } | undefined>>();

  constructor(private readonly actions: ActionService) {}

  load(id: string) {
    let read = this.reads.get(id);
    if (!read) {
      read = this.actions.find(id).then((row) => {
        if (!row) return undefined;
        let view: Promise<ActionView> | undefined;
        return { row, view: () => (view ??= this.actions.toView(row)) };
      });
      this.reads.set(id, read);
      queueMicrotask(() => this.reads.delete(id));
    }
    return read;
  }
}

/** The bundle an action was decided under (the active one before it was decided). */
async function bundleOf(policies: PolicyStore, row: ActionRow): Promise<CompiledPolicyBundle | undefined> {
  const version = row.policy?.version;
  try {
    return version ? await policies.byVersion(version) : (await policies.active()).bundle;
  } catch {
    return undefined;
  }
}

function stepPlan(s: ApprovalStepPlan): z.infer<typeof stepPlanSchema> {
  return {
    group: s.group,
    quorum: s.quorum,
    timeoutMs: s.timeoutMs,
    escalateTo: s.escalateTo.map((e) => ({ group: e.group, timeoutMs: e.timeoutMs })),
    ...(s.also ? { also: s.also.map((a) => ({ group: a.group, quorum: a.quorum })) } : {}),
  };
}

function pick<T extends object, K extends keyof T>(o: T, keys: K[]): Pick<T, K> {
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined && o[k] !== null).map((k) => [k, o[k]])) as Pick<T, K>;
}

/**
 * A ledger event as the timeline shows it: type, time, actor and one line made from fields that
 * hold no params (decisions, reasons, groups, rule ids, statuses). The evidence bundle is the
 * full record; this is for reading.
 */
function timelineEntry(e: LedgerEvent): z.infer<typeof timelineEntrySchema> {
  const d = (e.data ?? {}) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v));
  const list = (v: unknown) => (Array.isArray(v) ? v.map(str).join(', ') : str(v));
  let summary = '';
  switch (e.type) {
    case 'proposed':
      summary = `proposed ${str(d.action)}${d.onBehalfOf ? ` on behalf of ${str(d.onBehalfOf)}` : ''}`;
      break;
    case 'policy_decided':
      summary = `policy: ${str(d.decision)}${Array.isArray(d.ruleIds) && d.ruleIds.length ? ` (${list(d.ruleIds)})` : ''}${d.reason ? ` — ${str(d.reason)}` : ''}`;
      break;
    case 'approval_requested':
      summary = `approval requested${d.group ? ` from ${str(d.group)}` : ''}${d.quorum ? `, quorum ${str(d.quorum)}` : ''}`;
      break;
    case 'reminded':
      summary = `reviewers reminded${d.groups ? ` (${list(d.groups)})` : ''}`;
      break;
    case 'escalated':
      summary = `escalated${d.group ? ` to ${str(d.group)}` : ''}`;
      break;
    case 'decision_recorded':
      summary = `${str(d.decision) === 'approve' ? 'approved' : str(d.decision) === 'deny' ? 'denied' : str(d.decision)} by ${e.actor.id}${d.edits ? ' with edits' : ''}${d.reason ? `: ${str(d.reason)}` : ''}${d.via ? ` (via ${str(d.via)})` : ''}`;
      break;
    case 'edited':
      summary = `params edited by ${e.actor.id}${d.edits && typeof d.edits === 'object' ? `: ${Object.keys(d.edits).join(', ')}` : ''}`;
      break;
    case 'execution_started':
      summary = 'execution started';
      break;
    case 'executed':
      summary = 'executed';
      break;
    case 'execution_failed':
      summary = `execution failed${d.error ? `: ${str(d.error).slice(0, 300)}` : ''}`;
      break;
    case 'cancelled':
      summary = `cancelled by ${e.actor.id}${d.reason ? `: ${str(d.reason)}` : ''}`;
      break;
    case 'expired':
      summary = `deadline passed${d.onTimeout ? ` (on timeout: ${str(d.onTimeout)})` : ''}`;
      break;
    default:
      summary = e.type;
  }
  return { seq: e.seq, type: e.type, at: toIso(e.at), actor: { id: e.actor.id, kind: e.actor.kind }, summary };
}

function toIso(at: unknown): string {
  return at instanceof Date ? at.toISOString() : String(at);
}
