import type { MessageSigner } from '../runtime/message-keys';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Client, Connection } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import type { Pool } from 'pg';
import { CountersignError } from '../domain/errors';
import { countActionFaults } from '../ledger/action-faults';
import { ActionRepository } from '../ledger/action-repository';
import type { PolicyStore } from '../ledger/policy-store';
import type { Logger } from '../runtime/logger';
import { ActionService } from './action-service';
import { authenticate, type PrincipalStore } from './auth';
import type { ChangeFeed } from './change-feed';
import { checkRequestInput, keepJsonSource } from './input-guard';
import { createMetrics, observeDecision, serveMetrics, type Metrics } from './metrics';
import { buildOpenApi, rejectUndeclaredMethods } from './openapi';
import { problemHandler, sendProblem } from './problem';
import { DEFAULT_RATE_LIMITS, type RateLimits } from '../domain/rate-limits';
import { authFailureLimit, principalLimits } from './rate-limit';
import { actionRoutes } from './routes/actions';
import { policyRoutes } from './routes/policy';
import { principalRoutes } from './routes/principals';
import { evidenceRoutes } from './routes/evidence';
import { controlRoutes } from './routes/controls';
import { reportRoutes } from './routes/reports';
import { PolicyGovernor } from './governors';
import { PauseRegistry } from '../ledger/pause-store';
import { codecCors, codecRoutes, type ConsoleSessionAuthenticator } from './routes/codec';
import { signInRoutes } from './routes/sign-in';
import { slackRoutes } from './routes/slack';
import type { SlackSettings } from '../activities/slack';
import { sessionRoutes } from './routes/session';
import { OidcSignIn, type OidcSettings } from './oidc';
import { cookieValue, SESSION_COOKIE } from './auth';
import { consoleRoutes, consoleStatic } from './routes/console';
import type { LedgerSigner, TrustedKey } from '../ledger/signing';
import type { CheckpointWitness } from '../ledger/witness';
import type { Tracing } from '../runtime/tracing';
import { traceRequests } from './request-tracing';

/** Everything the HTTP API needs; built once per process by the stack. */
export interface ApiDeps {
  pool: Pool;
  temporal: Client;
  /** Ask for eager workflow starts (a worker shares the client's connection). @default false */
  eagerStart?: boolean;
  taskQueue: string;
  namespace: string;
  temporalUiUrl: string;
  /** The browser origin (the Temporal UI's) allowed to call /codec with credentials. */
  temporalUiOrigin?: string;
  /** The payload codec the workers and clients use; /codec serves it to the Temporal UI. */
  payloadCodec: PayloadCodec;
  /** Console session cookies on /codec (api/routes/codec.ts). @default the principal store's console sessions */
  consoleSession?: ConsoleSessionAuthenticator;
  /**
   * The API's public base URL (`COUNTERSIGN_PUBLIC_URL`), for sign-in links, OIDC redirects and
   * the cookies' Secure flag; a function when it is known only once the listener is up.
   * @default http://localhost:3000
   */
  publicUrl?: string | (() => string);
  /** How long a console session lasts. @default 12 h */
  sessionTtlMs?: number;
  /** The OpenID provider of console sign-in; undefined: sign-in links only. */
  oidc?: OidcSettings;
  /** Slack approvals: the signing secret verifies clicks, the bot token answers them. */
  slack?: SlackSettings;
  policies: PolicyStore;
  principals: PrincipalStore;
  feed: ChangeFeed;
  signer: LedgerSigner;
  /** Signs what the API sends to workflows (starts and Updates). */
  messages: MessageSigner;
  /** Public keys evidence is verified against (the data dir's keys, including rotated ones). */
  trustedKeys: () => TrustedKey[];
  /** The checkpoint witnesses `GET /v1/ledger/verify` compares with (ledger/witness.ts). @default none */
  ledgerWitnesses?: () => CheckpointWitness[];
  /** Seconds between checkpoints: verify wants events older than two intervals covered. @default 60 */
  checkpointIntervalSeconds?: number;
  log: Logger;
  maxBodyBytes: number;
  /** False while draining: /readyz answers 503 so load balancers stop sending traffic. */
  isReady?: () => boolean;
  /** This process's metrics (shared with a metrics listener); created here when absent. */
  metrics?: Metrics;
  /** The active pauses (docs/controls.md); without it every check reads the table. */
  pauses?: PauseRegistry;
  /** Reviewer metrics: decisions faster than this count as fast. @default 5000 */
  fastDecisionMs?: number;
  /**
   * True when /metrics has its own listener (`COUNTERSIGN_METRICS_PORT`, api/metrics.ts
   * `metricsApp`): this app then neither serves nor declares it, and answers 404. @default false
   */
  metricsOnOwnPort?: boolean;
  /** Where the built console is (api/routes/console.ts). @default console/dist */
  consoleDist?: string;
  /** Per-principal rate limits and long-poll caps of this process (api/rate-limit.ts). @default DEFAULT_RATE_LIMITS */
  rateLimits?: RateLimits;
  /** express "trust proxy": whose X-Forwarded-For gives the client address. @default the socket's address */
  trustProxy?: boolean | number | string;
  /** OpenTelemetry (runtime/tracing.ts): a span per request. Undefined: no tracing. */
  tracing?: Tracing;
}

/** Build the express app (no listening here, so tests can run it in-process). */
export function createApp(deps: ApiDeps) {
  const app = express();
  const metrics = deps.metrics ?? createMetrics({ openFaults: () => countActionFaults(deps.pool) });
  const fastDecisionMs = deps.fastDecisionMs ?? 5000;
  // Performs approved governed policy activations (api/governors.ts).
  const governor = new PolicyGovernor({ pool: deps.pool, temporal: deps.temporal, messages: deps.messages, log: deps.log, principals: deps.principals });
  governor.start();
  const actions = new ActionService({
    ...deps,
    pauses: deps.pauses ?? new PauseRegistry(deps.pool, deps.log),
    actions: new ActionRepository(deps.pool),
    onDecided: (actionId, reviewer) => {
      observeDecision(metrics, deps.pool, actionId, reviewer, fastDecisionMs).catch((err) => deps.log.warn({ err: (err as Error).message, actionId }, 'reviewer metrics: decision not counted'));
      governor.kick();
    },
  });
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  if (deps.trustProxy !== undefined) app.set('trust proxy', deps.trustProxy);
  if (deps.tracing) app.use(traceRequests(deps.tracing.tracer));

  // Metrics and one access-log line per request: never headers or bodies (tokens, params).
  app.use((req, res, next) => {
    const end = metrics.httpDuration.startTimer({ method: req.method });
    res.on('finish', () => {
      const route = (req.route?.path as string | undefined) ?? 'unmatched';
      const seconds = end({ route });
      metrics.httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
      deps.log.info({ method: req.method, route, path: req.path, status: res.statusCode, ms: Math.round(seconds * 1000), principal: req.principal?.id }, 'request');
    });
    next();
  });

  // A method /openapi.json does not declare on a path it does: 405 with Allow, before any body is read.
  const openapi = buildOpenApi({ metrics: !deps.metricsOnOwnPort });
  // CORS for the Temporal UI comes first: a preflight carries no credentials, and is then answered by the method check.
  app.use(codecCors(deps.temporalUiOrigin));
  app.use(rejectUndeclaredMethods(openapi));

  // JSON bodies everywhere except the raw policy upload. A body in another media type is 415.
  const json = express.json({ limit: deps.maxBodyBytes, type: ['application/json', 'application/*+json'], strict: false, verify: keepJsonSource });
  // The codec's bodies are encrypted proposals and results in base64 (a third larger): give them room.
  const codecJson = express.json({ limit: CODEC_BODY_FACTOR * deps.maxBodyBytes, type: ['application/json', 'application/*+json'], strict: false, verify: keepJsonSource });
  /** The JSON parser a request's body goes through, or none (its route reads it, or no route does). */
  const parserFor = (req: Request) => {
    // Policy bundles arrive as raw YAML or JSON text.
    if ((req.method === 'PUT' && req.path === '/v1/policy') || (req.method === 'POST' && req.path === '/v1/policy/backtest')) return undefined;
    // The sign-in link page posts an HTML form; its route reads it (api/routes/sign-in.ts).
    if (/^\/console\/sign-in\//i.test(req.path)) return undefined;
    // Slack's interaction callbacks are verified over their exact bytes (api/routes/slack.ts).
    if (/^\/v1\/integrations\/slack\//i.test(req.path)) return undefined;
    // No route reads a GET body, so none is parsed (nor refused).
    if (req.method === 'GET' || req.method === 'HEAD') return undefined;
    return /^\/codec\//i.test(req.path) ? { parse: codecJson, limit: CODEC_BODY_FACTOR * deps.maxBodyBytes } : { parse: json, limit: deps.maxBodyBytes };
  };
  // Mounted twice below: before the codec's routes, and for /v1 after authentication and the
  // per-principal limits, so that neither an anonymous caller nor a refused one gets its body read.
  const parseBody = (req: Request, res: Response, next: NextFunction) => {
    const parser = parserFor(req);
    if (!parser) return next();
    const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
    if (hasBody && !req.is(['application/json', 'application/*+json'])) {
      return sendProblem(res, 'unsupported-media-type', `send JSON (Content-Type: application/json), not ${req.headers['content-type'] ?? 'no content type'}`);
    }
    parser.parse(req, res, next);
  };
  // A body declared larger than its parser takes is refused at once, before anything else, with
  // the connection closed. A body still arriving when its request has been answered unread (401,
  // 429) closes its connection too: nobody, authenticated or not, makes this process take in
  // more than the limit.
  app.use((req: Request, res: Response, next: NextFunction) => {
    const limit = parserFor(req)?.limit;
    if (limit === undefined) return next();
    if (Number(req.headers['content-length'] ?? 0) > limit) {
      res.setHeader('Connection', 'close');
      return sendProblem(res, 'payload-too-large', `request body exceeds the limit of ${limit} bytes`);
    }
    res.once('finish', () => {
      if (!req.complete) req.socket.destroySoon();
    });
    next();
  });

  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });
  app.get('/readyz', async (_req, res) => {
    if (deps.isReady && !deps.isReady()) return sendProblem(res, 'unavailable', 'draining: this process is shutting down');
    const checks = await Promise.allSettled([
      withTimeout(deps.pool.query('SELECT 1'), READY_CHECK_MS),
      withTimeout((deps.temporal.connection as unknown as Pick<Connection, 'healthService'>).healthService.check({}), READY_CHECK_MS),
    ]);
    // Anyone may call /readyz: the answer says which dependency failed, in fixed words; what the
    // driver said (addresses, user names, TLS details) goes to the log only.
    const [pg, temporal] = checks.map((c, i) => (c.status === 'fulfilled' ? 'ok' : NOT_READY[i === 0 ? 'postgres' : 'temporal'](c.reason)));
    if (pg !== 'ok' || temporal !== 'ok') {
      deps.log.warn(
        Object.fromEntries(checks.flatMap((c, i) => (c.status === 'rejected' ? [[i === 0 ? 'postgres' : 'temporal', (c.reason as Error)?.message ?? String(c.reason)]] : []))),
        'not ready',
      );
      return sendProblem(res, 'unavailable', `not ready: postgres: ${pg}; temporal: ${temporal}`);
    }
    res.json({ ok: true, postgres: 'ok', temporal: 'ok' });
  });
  if (!deps.metricsOnOwnPort) app.get('/metrics', serveMetrics(metrics));
  app.get('/openapi.json', (_req, res) => {
    res.json(openapi);
  });
  // Console sign-in pages (server-rendered) and the OIDC flow; they start console sessions.
  const publicUrl = typeof deps.publicUrl === 'function' ? deps.publicUrl : () => (deps.publicUrl as string | undefined) ?? 'http://localhost:3000';
  const oidc = deps.oidc ? new OidcSignIn(deps.oidc, () => `${publicUrl().replace(/\/+$/, '')}/console/sign-in/oidc/callback`) : undefined;
  app.use(signInRoutes({ principals: deps.principals, publicUrl, sessionTtlMs: deps.sessionTtlMs ?? 12 * 3_600_000, oidc, log: deps.log }));
  // The reviewer console's files (console/dist); its pages call /v1 with the session cookie.
  app.use(consoleStatic(deps.consoleDist));

  // An address that keeps failing authentication is refused before its token is checked.
  const limits = deps.rateLimits ?? DEFAULT_RATE_LIMITS;
  const failedAuthLimit = authFailureLimit(limits);
  app.use(['/v1', '/codec'], failedAuthLimit);
  // Its own authentication (bearer token, or the console's session cookie from the UI's origin).
  const consoleSession: ConsoleSessionAuthenticator =
    deps.consoleSession ??
    (async (req) => {
      const cookie = cookieValue(req, SESSION_COOKIE);
      return cookie ? (await deps.principals.authenticateSession(cookie))?.principal : undefined;
    });
  app.use((req: Request, res: Response, next: NextFunction) => (/^\/codec\//i.test(req.path) ? parseBody(req, res, next) : next()));
  app.use(codecRoutes({ codec: deps.payloadCodec, principals: deps.principals, uiOrigin: deps.temporalUiOrigin, consoleSession }));
  // Slack authenticates its callbacks with a signature, not a principal's token.
  app.use(slackRoutes({ settings: deps.slack, principals: deps.principals, actions, pool: deps.pool, publicUrl, log: deps.log, maxBodyBytes: deps.maxBodyBytes }));
  // A bearer token, or the console's session cookie (with X-CSRF-Token on writes).
  app.use('/v1', authenticate(deps.principals, { sessions: true, publicUrl }));
  // Per principal, before any route reads input or does work.
  app.use(principalLimits(limits));
  app.use(parseBody);
  // After authentication (an anonymous caller learns nothing), before any route reads input.
  app.use(checkRequestInput);
  app.use(principalRoutes(deps.principals, { publicUrl, governed: { policies: deps.policies, actions } }));
  app.use(sessionRoutes(deps.principals, { publicUrl }));
  app.use(actionRoutes(actions, metrics));
  app.use(policyRoutes(deps.policies, deps.pool, deps.maxBodyBytes, { actions }));
  app.use(consoleRoutes({ pool: deps.pool, actions, policies: deps.policies, principals: deps.principals, feed: deps.feed, log: deps.log }));
  app.use(evidenceRoutes({ pool: deps.pool, actions, signer: deps.signer, trustedKeys: deps.trustedKeys, ledgerWitnesses: deps.ledgerWitnesses, checkpointIntervalSeconds: deps.checkpointIntervalSeconds }));
  app.use(controlRoutes({ pool: deps.pool, temporal: deps.temporal, log: deps.log }));
  app.use(reportRoutes({ pool: deps.pool, fastDecisionMs }));

  app.use((req: Request) => {
    throw new CountersignError('not-found', `no route ${req.method} ${req.path}`);
  });
  app.use(problemHandler(deps.log));
  return app;
}

/** /codec bodies may be this many times COUNTERSIGN_MAX_BODY_BYTES. */
export const CODEC_BODY_FACTOR = 4;

/** How long each /readyz check may take. */
const READY_CHECK_MS = 3000;

/** Raised by {@link withTimeout}. */
class CheckTimeout extends Error {
  override name = 'CheckTimeout';
}

/** What /readyz says about a failed check: fixed words per dependency, never the error's own text. */
const NOT_READY = {
  postgres: (err: unknown) => (err instanceof CheckTimeout ? `no answer to SELECT 1 within ${READY_CHECK_MS / 1000} s` : 'SELECT 1 failed (the reason is in this process\'s log)'),
  temporal: (err: unknown) => (err instanceof CheckTimeout ? `no answer to the health check within ${READY_CHECK_MS / 1000} s` : 'the health check failed (the reason is in this process\'s log)'),
};

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new CheckTimeout(`no answer within ${ms} ms`)), ms).unref())]);
}
