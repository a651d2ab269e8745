import type { NextFunction, Request, Response } from 'express';
import { z } from 'zod';
import {
  IDEMPOTENCY_KEY_RE,
  actionPageSchema,
  actionViewSchema,
  activePolicySchema,
  backtestQuerySchema,
  backtestReportSchema,
  cancelSchema,
  createPrincipalSchema,
  createTokenSchema,
  principalListSchema,
  sessionSchema,
  signInLinkSchema,
  tokenCreatedSchema,
  tokenListSchema,
  updatePrincipalSchema,
  decisionSchema,
  evaluateSchema,
  evidenceBundleSchema,
  healthSchema,
  inboxQuerySchema,
  ledgerVerificationSchema,
  lineageNodeSchema,
  lineageSchema,
  listActionsQuerySchema,
  policyDecisionSchema,
  policyVersionsSchema,
  principalCreatedSchema,
  principalSchema,
  problemSchema,
  proposeActionSchema,
  readinessSchema,
  resultSchema,
  waitQuerySchema,
} from '../domain/api-schemas';
import { codecPayloadsSchema } from '../domain/codec-schemas';
import { createPauseSchema, liftPauseSchema, listPausesQuerySchema, pauseListSchema, pauseSchema, principalGrantProposedSchema, reviewerReportQuerySchema, reviewerReportSchema } from '../domain/controls';
import { actionReviewSchema, editPreviewRequestSchema, editPreviewSchema, inboxEventSchemas, policySourceSchema } from './routes/console';
import { sendProblem } from './problem';

/*
 * /openapi.json: OpenAPI 3.1, whose schema dialect is JSON Schema 2020-12, the zod default
 * target. Every request and answer body is generated from the zod schemas in
 * domain/api-schemas.ts (requests as zod parses them, answers as the API writes them), and each
 * operation lists every status it can answer. test/contract runs Schemathesis against it.
 */

type JsonSchema = Record<string, unknown>;

/** Named schemas, by the direction they travel: requests are read as input, answers as output. */
const REQUEST_SCHEMAS = {
  ProposeAction: proposeActionSchema,
  Decision: decisionSchema,
  Cancel: cancelSchema,
  Result: resultSchema,
  CreatePrincipal: createPrincipalSchema,
  UpdatePrincipal: updatePrincipalSchema,
  CreateToken: createTokenSchema,
  Evaluate: evaluateSchema,
  CodecRequest: codecPayloadsSchema,
  EditPreviewRequest: editPreviewRequestSchema,
  CreatePause: createPauseSchema,
  LiftPause: liftPauseSchema,
};
const ANSWER_SCHEMAS = {
  Problem: problemSchema,
  ActionView: actionViewSchema,
  ActionPage: actionPageSchema,
  Principal: principalSchema,
  PrincipalCreated: principalCreatedSchema,
  PrincipalList: principalListSchema,
  TokenCreated: tokenCreatedSchema,
  TokenList: tokenListSchema,
  SignInLink: signInLinkSchema,
  Session: sessionSchema,
  ActivePolicy: activePolicySchema,
  PolicyVersions: policyVersionsSchema,
  BacktestReport: backtestReportSchema,
  PolicyDecision: policyDecisionSchema,
  LineageNode: lineageNodeSchema,
  Lineage: lineageSchema,
  LedgerVerification: ledgerVerificationSchema,
  EvidenceBundle: evidenceBundleSchema,
  Health: healthSchema,
  Readiness: readinessSchema,
  CodecAnswer: codecPayloadsSchema,
  ActionReview: actionReviewSchema,
  EditPreview: editPreviewSchema,
  PolicySource: policySourceSchema,
  Pause: pauseSchema,
  PauseList: pauseListSchema,
  ReviewerReport: reviewerReportSchema,
  PrincipalGrantProposed: principalGrantProposedSchema,
  ...inboxEventSchemas,
};

/** The schemas of one direction as components, referring to each other by `#/components/schemas/<name>`. */
function components(schemas: Record<string, z.ZodType>, io: 'input' | 'output'): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [id, s] of Object.entries(schemas)) registry.add(s, { id });
  const out = z.toJSONSchema(registry, { io, unrepresentable: 'any', uri: (id) => `#/components/schemas/${id}` }).schemas;
  // `$schema` and `$id` belong to standalone documents; inside OpenAPI 3.1 they would only mislead resolvers.
  return Object.fromEntries(Object.entries(out).map(([id, { $schema: _s, $id: _i, ...rest }]) => [id, rest as JsonSchema]));
}

/** Query parameters from a query schema: one per property, each optional with its own JSON schema. */
function queryParams(schema: z.ZodType): JsonSchema[] {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as { properties?: Record<string, JsonSchema> };
  // `default` is what the API uses when a parameter is absent; the parameter itself stays optional.
  // allowEmptyValue: `?limit=` counts as absent (api/validate.ts parseQuery).
  return Object.entries(json.properties ?? {}).map(([name, s]) => ({ name, in: 'query', required: false, allowEmptyValue: true, schema: s }));
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (description: string, schema: string, headers?: JsonSchema) => ({ description, ...(headers ? { headers } : {}), content: { 'application/json': { schema: ref(schema) } } });
const problem = (description: string, headers?: JsonSchema) => ({ description, ...(headers ? { headers } : {}), content: { 'application/problem+json': { schema: ref('Problem') } } });
/** A server-rendered page (the console's sign-in pages). */
const html = (description: string, headers?: JsonSchema) => ({ description, ...(headers ? { headers } : {}), content: { 'text/html': { schema: { type: 'string' } } } });
const body = (schema: string, required = true) => ({ required, content: { 'application/json': { schema: ref(schema) } } });
/** Policy bundles are uploaded as their text, YAML or JSON, whatever the content type says. */
const bundleBody = { required: true, content: { 'application/yaml': { schema: { type: 'string' } }, 'application/json': { schema: { type: 'object' } }, 'text/plain': { schema: { type: 'string' } } } };
const location = { Location: { description: 'URL of the resource', required: true, schema: { type: 'string' } } };
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
const idempotencyHeader = { name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', pattern: IDEMPOTENCY_KEY_RE.source } };

/*
 * The answers, grouped by what causes them. Every /v1 operation can answer `v1`; add `withId`
 * when the path names a resource, `withBody` when it reads a body, `role` when it needs a role.
 */
const v1 = {
  '401': problem('missing or invalid token', { 'WWW-Authenticate': { required: true, schema: { type: 'string' } } }),
  '422': problem('invalid input: a body or query that fails its schema, text Postgres cannot store (U+0000, unpaired surrogates), numbers that are not finite or not exact, nesting past 64 levels'),
  '429': problem('rate limited: too many proposals, decisions or long polls from this principal, too many ?wait requests held open, or too many failed authentications from this address; retry after the given seconds', { 'Retry-After': { required: true, schema: { type: 'string' } } }),
  '500': problem('internal error (logged)'),
  '503': problem('Postgres or Temporal is unavailable; retry after the given seconds', { 'Retry-After': { required: true, schema: { type: 'string' } } }),
};
const withId = {
  '400': problem('malformed request: a path segment that is not percent-encoded UTF-8, or a body that is not JSON'),
  '404': problem('not found, or not visible to the caller'),
};
const withBody = {
  '400': problem('malformed request: the body is not JSON, or a path segment is not percent-encoded UTF-8'),
  '413': problem('the body is larger than COUNTERSIGN_MAX_BODY_BYTES'),
  '415': problem('the body is not JSON (application/json or application/*+json), or its charset is not supported'),
};
const role = (who: string) => ({ '403': problem(`the caller does not hold the role ${who}`) });
/** The codec endpoint (Temporal's remote codec protocol): the same body and answers for encode and decode. */
const codecOperation = (summary: string) => ({
  summary,
  requestBody: body('CodecRequest'),
  responses: {
    '200': json('the payloads, in order; a payload the codec cannot convert comes back as it was sent', 'CodecAnswer'),
    ...v1,
    ...withBody,
    '413': problem('the body is larger than 4 × COUNTERSIGN_MAX_BODY_BYTES'),
    ...role('operator or admin'),
  },
});

/** Options of {@link buildOpenApi}. */
export interface OpenApiOptions {
  /** Whether the port the document describes serves `/metrics` (not when COUNTERSIGN_METRICS_PORT is set). @default true */
  metrics?: boolean;
}

/** The OpenAPI 3.1 document, generated from the same zod schemas the API validates with. */
export function buildOpenApi(options: OpenApiOptions = {}): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: { title: 'Countersign API', version: '1.0.0', description: 'Durable approval workflows for AI-agent actions.' },
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: { ...components(REQUEST_SCHEMAS, 'input'), ...components(ANSWER_SCHEMAS, 'output') },
    },
    security: [{ bearer: [] }],
    paths: {
      '/v1/principals': {
        post: {
          summary: 'Create a principal (admin); the token is shown once',
          requestBody: body('CreatePrincipal'),
          responses: {
            '201': json('created; the token is shown only here', 'PrincipalCreated', location),
            '202': json('the active bundle governs grants (rules for countersign.principal.grant): created disabled, its roles, groups and delegates proposed as this action; it is enabled once approved by someone else. The token is shown only here', 'PrincipalGrantProposed', location),
            '409': problem('the id is taken (or reserved: "admin")'),
            ...v1,
            '422': problem('invalid input (as every /v1 operation); an agent given a role other than agent; delegates on an agent, or naming no agent principal; attributes over their bounds'),
            ...withBody,
            ...role('admin'),
          },
        },
        get: { summary: 'Every principal (admin or operator)', responses: { '200': json('the principals, by id', 'PrincipalList'), ...v1, ...role('admin or operator') } },
      },
      '/v1/principals/{id}': {
        get: { summary: 'Read a principal (admin or operator; anyone itself)', parameters: [idParam], responses: { '200': json('the principal', 'Principal'), ...v1, ...withId } },
        patch: {
          summary: 'Change a principal (admin): roles, groups, attributes, delegates, disabled, email, oidcSubject, slackUserId; a ledger event records each change',
          parameters: [idParam],
          requestBody: body('UpdatePrincipal'),
          responses: {
            '200': json('the principal as it is now', 'Principal'),
            '202': json('the active bundle governs grants: the roles, groups and delegates are proposed as this action (other fields took effect now) and take effect once approved by someone else', 'ActionView', location),
            '403': problem('not an admin; or the caller changing its own roles, groups, delegates or disabled flag; csrf (a console session without X-CSRF-Token)'),
            '409': problem('the bootstrap admin cannot be changed here; another principal has this email, oidcSubject or slackUserId'),
            ...v1,
            '422': problem('invalid input (as every /v1 operation); an agent given a role other than agent, delegates or sign-in identities; delegates naming no agent principal'),
            ...withId,
            ...withBody,
          },
        },
      },
      '/v1/principals/{id}/tokens': {
        post: {
          summary: 'Another bearer token for a principal (admin), with an optional expiry; shown once',
          parameters: [idParam],
          requestBody: body('CreateToken', false),
          responses: {
            '201': json('created; the token is shown only here', 'TokenCreated', location),
            '409': problem('the bootstrap admin token lives in the environment'),
            ...v1,
            '422': problem('invalid input (as every /v1 operation); expiresIn not a positive duration'),
            ...withId,
            ...withBody,
            ...role('admin'),
          },
        },
        get: { summary: "A principal's tokens, metadata only (admin, or the principal itself)", parameters: [idParam], responses: { '200': json('the tokens, oldest first', 'TokenList'), ...v1, ...withId } },
      },
      '/v1/principals/{id}/tokens/{tokenId}': {
        delete: {
          summary: 'Revoke a token (admin, or the principal itself): it answers 401 everywhere within a second',
          parameters: [idParam, { name: 'tokenId', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { '204': { description: 'revoked (also when it already was); no body' }, ...v1, ...withId, '403': problem('csrf') },
        },
      },
      '/v1/principals/{id}/sign-in-links': {
        post: {
          summary: 'A one-use, 15-minute console sign-in link for a human principal (admin)',
          parameters: [idParam],
          responses: {
            '201': json('the link (on COUNTERSIGN_PUBLIC_URL) and when it expires', 'SignInLink'),
            ...v1,
            '422': problem('a body with fields; the principal is an agent or disabled'),
            ...withId,
            ...withBody,
            ...role('admin'),
          },
        },
      },
      '/v1/session': {
        get: { summary: 'Who the console (or the bearer token) is signed in as, and until when', responses: { '200': json('the signed-in principal', 'Session'), ...v1 } },
      },
      '/v1/session/sign-out': {
        post: {
          summary: 'End the console session (X-CSRF-Token required) and clear its cookies',
          responses: {
            '204': { description: 'signed out; both cookies cleared; no body' },
            '403': problem('csrf: X-CSRF-Token missing or not this session\'s'),
            ...v1,
            ...withBody,
          },
        },
      },
      '/v1/integrations/slack/interactions': {
        post: {
          summary: "Slack's interaction callback (Approve / Deny buttons): authenticated by X-Slack-Signature, not a token; answered at once, decided after",
          security: [],
          parameters: [
            { name: 'X-Slack-Signature', in: 'header', required: true, schema: { type: 'string' } },
            { name: 'X-Slack-Request-Timestamp', in: 'header', required: true, schema: { type: 'string' } },
          ],
          requestBody: { required: true, content: { 'application/x-www-form-urlencoded': { schema: { type: 'object', properties: { payload: { type: 'string' } } } } } },
          responses: {
            '200': { description: 'acknowledged (the decision, or an ephemeral explanation, follows in Slack)', content: { 'text/plain': { schema: { type: 'string', maxLength: 0 } } } },
            '401': problem('X-Slack-Signature missing or wrong, or the timestamp more than 5 minutes off'),
            '429': problem('too many failed signature checks from this address; retry after the given seconds', { 'Retry-After': { required: true, schema: { type: 'string' } } }),
            '404': problem('Slack is not configured (COUNTERSIGN_SLACK_SIGNING_SECRET)'),
            '413': withBody['413'],
            '415': problem('never: any body is verified as sent'),
            '422': problem('a verified body without a JSON payload'),
            '500': v1['500'],
            '503': v1['503'],
          },
        },
      },
      '/console/sign-in': { get: { summary: 'Console sign-in page (HTML)', security: [], responses: { '200': html('the page') } } },
      '/console/sign-in/link': {
        get: {
          summary: 'Sign-in link page (HTML): a Sign in button; opening it does not use the link up',
          security: [],
          parameters: [{ name: 'token', in: 'query', required: false, schema: { type: 'string' } }],
          responses: { '200': html('the page with the Sign in button'), '410': html('the link is unknown, used or expired') },
        },
        post: {
          summary: 'Use a sign-in link (the form of the page above): starts a session, 303 to /console',
          security: [],
          requestBody: { required: true, content: { 'application/x-www-form-urlencoded': { schema: { type: 'object', properties: { token: { type: 'string' } } } } } },
          responses: {
            '303': html('signed in: session cookies set, on to /console', location),
            '403': html('the form was posted from another site'),
            '410': html('the link is unknown, used or expired'),
            '413': problem('the form is larger than 4 KiB'),
            '415': problem('not a form (application/x-www-form-urlencoded)'),
          },
        },
      },
      '/console/sign-in/oidc': {
        get: {
          summary: 'Sign in with the OpenID provider: 303 to it (authorization code + PKCE)',
          security: [],
          responses: { '303': html('on to the identity provider', location), '404': html('no provider configured'), '503': html('the provider cannot be reached') },
        },
      },
      '/console/sign-in/oidc/callback': {
        get: {
          summary: "The OpenID provider's redirect back: starts a session, 303 to /console",
          security: [],
          responses: {
            '303': html('signed in: session cookies set, on to /console', location),
            '400': html('no login under way in this browser'),
            '403': html('the answer did not check out, or no principal is linked to the account'),
            '404': html('no provider configured'),
          },
        },
      },
      '/v1/actions': {
        post: {
          summary: 'Propose an action (agent)',
          parameters: [idempotencyHeader, ...queryParams(waitQuerySchema.pick({ wait: true }))],
          requestBody: body('ProposeAction'),
          responses: {
            '201': json('created', 'ActionView', location),
            '200': json('same idempotency key and body as an earlier proposal: that action', 'ActionView', location),
            '409': problem('idempotency-conflict: same key, different body'),
            ...v1,
            ...withBody,
            ...role('agent'),
            '422': problem('invalid input (as every /v1 operation); unknown-action; invalid-params; not-delegated: onBehalfOf names no human who delegated to this agent'),
          },
        },
        get: { summary: 'List actions visible to the caller, newest first', parameters: queryParams(listActionsQuerySchema), responses: { '200': json('a page of actions', 'ActionPage'), ...v1 } },
      },
      '/v1/actions/{id}': {
        get: {
          summary: 'Read an action; ?wait=&since= long-polls for a change',
          parameters: [idParam, ...queryParams(waitQuerySchema)],
          responses: { '200': json('the action', 'ActionView'), ...v1, ...withId },
        },
      },
      '/v1/actions/{id}/cancel': {
        post: {
          summary: 'Cancel before execution (proposing agent or operator)',
          parameters: [idParam],
          requestBody: body('Cancel', false),
          responses: {
            '200': json('cancelled', 'ActionView'),
            '403': problem('neither the proposing agent nor an operator'),
            '409': problem('not-cancellable; action-stopped'),
            ...v1,
            ...withId,
            ...withBody,
          },
        },
      },
      '/v1/actions/{id}/result': {
        post: {
          summary: 'Executor agent: report the outcome',
          parameters: [idParam],
          requestBody: body('Result'),
          responses: {
            '200': json('recorded', 'ActionView'),
            '403': problem('not the proposing agent'),
            '409': problem('not-awaiting-result; action-stopped'),
            ...v1,
            ...withId,
            ...withBody,
          },
        },
      },
      '/v1/actions/{id}/decisions': {
        post: {
          summary: 'Approve or deny (reviewer); approve with params = approve with edits',
          parameters: [idParam, idempotencyHeader],
          requestBody: body('Decision'),
          responses: {
            '200': json('accepted', 'ActionView'),
            '403': problem('not a reviewer; not-eligible; self-approval; already-voted'),
            '409': problem('not-pending; idempotency-conflict (same Idempotency-Key, different body); action-stopped (a write Countersign could not record stopped the action)'),
            ...v1,
            ...withId,
            ...withBody,
          },
        },
      },
      '/v1/approvals': {
        get: { summary: 'What the caller may decide now, oldest deadline first', parameters: queryParams(inboxQuerySchema), responses: { '200': json('a page of actions', 'ActionPage'), ...v1, ...role('reviewer') } },
      },
      '/v1/approvals/events': {
        get: {
          summary: 'The inbox, live (reviewer): server-sent events `upsert` (data: InboxUpsert, an action the caller may decide now), `remove` (data: InboxRemove, one they could decide and no longer can), `resync` (reload the inbox); the stream ends after two minutes and the browser reconnects',
          responses: {
            '200': { description: 'an event stream (text/event-stream)', content: { 'text/event-stream': { schema: { type: 'string' } } } },
            ...v1,
            ...role('reviewer'),
          },
        },
      },
      '/v1/actions/{id}/review': {
        get: {
          summary: 'Everything the console shows about an action: its view, model, params schema, approval plan, evidence timeline and whether the caller may decide it',
          parameters: [idParam],
          responses: { '200': json('the action, for review', 'ActionReview'), ...v1, ...withId },
        },
      },
      '/v1/actions/{id}/edit-preview': {
        post: {
          summary: 'Approve with edits, before it is sent (reviewer who may approve now): the plan policy gives the edited params; nothing is decided',
          parameters: [idParam],
          requestBody: body('EditPreviewRequest'),
          responses: {
            '200': json('the decision policy would make for the edited params', 'EditPreview'),
            '403': problem('not a reviewer; not-eligible; self-approval; already-voted'),
            '409': problem('not-pending'),
            ...v1,
            '422': problem('invalid input (as every /v1 operation); invalid-params: the edited params fail the schema; "***" where no hidden value can be kept'),
            ...withId,
            ...withBody,
          },
        },
      },
      '/v1/policy/versions/{version}': {
        get: {
          summary: 'The text of one stored policy version (operator)',
          parameters: [{ name: 'version', in: 'path', required: true, schema: { type: 'string' } }],
          responses: { '200': json('the bundle text', 'PolicySource'), ...v1, ...withId, ...role('operator') },
        },
      },
      '/v1/policy': {
        get: { summary: 'Active policy version (operator)', responses: { '200': json('the active version', 'ActivePolicy'), ...v1, ...role('operator') } },
        put: {
          summary: 'Validate and activate a bundle (YAML or JSON text) (operator)',
          requestBody: bundleBody,
          responses: {
            '200': json('activated', 'ActivePolicy'),
            '202': json('the active bundle governs policy changes (rules for countersign.policy.activate): the activation was proposed as this action and takes effect once approved', 'ActionView', location),
            ...v1,
            '413': withBody['413'],
            '415': problem('the body names a charset that is not supported'),
            '422': problem('invalid-policy: errors with path, line, column and hint; empty body; text Postgres cannot store'),
            ...role('operator'),
          },
        },
      },
      '/v1/policy/versions': { get: { summary: 'Stored policy versions (operator)', responses: { '200': json('every stored version', 'PolicyVersions'), ...v1, ...role('operator') } } },
      '/v1/policy/backtest': {
        post: {
          summary: 'Replay recorded actions against a candidate bundle (YAML or JSON text); nothing changes (operator)',
          parameters: queryParams(backtestQuerySchema),
          requestBody: bundleBody,
          responses: {
            '200': json('what the candidate would change', 'BacktestReport'),
            ...v1,
            '413': withBody['413'],
            '415': problem('the body names a charset that is not supported'),
            '422': problem('invalid-policy: errors with path, line, column and hint; empty body; limit out of range'),
            ...role('operator'),
          },
        },
      },
      '/v1/policy/evaluate': {
        post: {
          summary: 'Dry-run a decision against the active or a candidate bundle; nothing is started (operator)',
          requestBody: body('Evaluate'),
          responses: {
            '200': json('the decision, with the stored facts it was made with', 'PolicyDecision'),
            ...v1,
            '422': problem('invalid input (as every /v1 operation); unknown-action; invalid-policy (bundle); not-delegated: onBehalfOf names no human who delegated to the agent'),
            ...withBody,
            ...role('operator'),
          },
        },
      },
      '/v1/actions/{id}/evidence': {
        get: { summary: 'Signed evidence bundle (operator, or the proposing agent)', parameters: [idParam], responses: { '200': json('the bundle', 'EvidenceBundle'), ...v1, ...withId } },
      },
      '/v1/actions/{id}/lineage': {
        get: { summary: 'Delegation tree (parentActionId) containing the action', parameters: [idParam], responses: { '200': json('the tree from its root', 'Lineage'), ...v1, ...withId } },
      },
      '/v1/controls/pauses': {
        post: {
          summary: 'Pause an agent, an action name, both (AND), or everything ("all") (operator)',
          requestBody: body('CreatePause'),
          responses: {
            '201': json('paused: within a second new proposals it covers end denied, decisions on its pending actions answer 409 paused, approved ones wait', 'Pause', location),
            ...v1,
            '422': problem('invalid input: an unknown scope field, an empty scope (send "all" to pause everything), a missing reason'),
            ...withBody,
            ...role('operator'),
          },
        },
        get: { summary: 'Active pauses (every pause with all=true) (operator)', parameters: queryParams(listPausesQuerySchema), responses: { '200': json('the pauses, oldest first (all=true: newest first)', 'PauseList'), ...v1, ...role('operator') } },
      },
      '/v1/controls/pauses/{id}': {
        delete: {
          summary: 'Lift a pause: what it held goes on (operator)',
          parameters: [idParam],
          requestBody: body('LiftPause', false),
          responses: { '200': json('the lifted pause', 'Pause'), ...v1, ...withId, ...withBody, ...role('operator') },
        },
      },
      '/v1/reports/reviewers': {
        get: {
          summary: 'Reviewer metrics (approval fatigue) over a period, default the last 30 days (operator)',
          parameters: queryParams(reviewerReportQuerySchema),
          responses: { '200': json('per reviewer: decisions, rates, time to decide, fast decisions, disagreements', 'ReviewerReport'), ...v1, '422': problem('since or until is not an ISO-8601 date-time, or since is after until'), ...role('operator') },
        },
      },
      '/v1/ledger/verify': {
        get: {
          summary: 'Verify every chain and checkpoint; list actions stopped by a write Postgres refused for good (operator)',
          responses: { '200': json('the verification', 'LedgerVerification'), ...v1, ...role('operator') },
        },
      },
      '/codec/decode': { post: codecOperation('Decrypt Temporal payloads for the Temporal UI or CLI (operator or admin; CORS for the Temporal UI origin)') },
      '/codec/encode': { post: codecOperation('Encrypt Temporal payloads, as Countersign writes them to Temporal (operator or admin; CORS for the Temporal UI origin)') },
      '/healthz': { get: { summary: 'Liveness', security: [], responses: { '200': json('alive', 'Health') } } },
      '/readyz': {
        get: {
          summary: 'Temporal and Postgres reachable, and not draining',
          security: [],
          responses: { '200': json('ready', 'Readiness'), '503': problem('not ready', { 'Retry-After': { required: true, schema: { type: 'string' } } }) },
        },
      },
      // With COUNTERSIGN_METRICS_PORT, /metrics is served on that port only: this one answers 404.
      ...(options.metrics === false
        ? {}
        : { '/metrics': { get: { summary: 'Prometheus metrics (here unless COUNTERSIGN_METRICS_PORT gives them their own port)', security: [], responses: { '200': { description: 'text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } } } } } }),
      '/openapi.json': { get: { summary: 'This document', security: [], responses: { '200': { description: 'OpenAPI 3.1', content: { 'application/json': { schema: { type: 'object' } } } } } } },
    },
  };
}

const OPERATION_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** A path template's methods, and a matcher for request paths (express routing: case-insensitive, optional trailing slash). */
export interface DeclaredPath {
  template: string;
  pattern: RegExp;
  methods: string[];
}

/** The paths and methods an OpenAPI document declares. */
export function declaredPaths(doc: Record<string, unknown>): DeclaredPath[] {
  return Object.entries(doc.paths as Record<string, Record<string, unknown>>).map(([template, item]) => {
    const source = template
      .split(/(\{[^}]+\})/)
      .map((part) => (part.startsWith('{') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('');
    return { template, pattern: new RegExp(`^${source}/?$`, 'i'), methods: Object.keys(item).filter((m) => OPERATION_METHODS.includes(m)).map((m) => m.toUpperCase()) };
  });
}

/**
 * Answer a method the document does not declare on a path it does with 405 and `Allow`; OPTIONS
 * with 204 and `Allow`. The allowed methods come from the document, so they cannot drift from
 * it; test/integration/openapi.test.ts checks that express serves exactly what it declares.
 * Unknown paths fall through (to 404).
 */
export function rejectUndeclaredMethods(doc: Record<string, unknown>) {
  const paths = declaredPaths(doc);
  return (req: Request, res: Response, next: NextFunction) => {
    const methods = paths.filter((p) => p.pattern.test(req.path)).flatMap((p) => p.methods);
    if (methods.length === 0) return next();
    // Express answers HEAD with the GET route (without the body).
    const allowed = [...new Set([...methods, ...(methods.includes('GET') ? ['HEAD'] : []), 'OPTIONS'])];
    if (allowed.includes(req.method)) {
      if (req.method !== 'OPTIONS') return next();
      res.setHeader('Allow', allowed.join(', '));
      return res.status(204).end();
    }
    res.setHeader('Allow', allowed.join(', '));
    sendProblem(res, 'method-not-allowed', `${req.method} is not allowed on ${req.path}; allowed: ${allowed.join(', ')}`, undefined, req.originalUrl);
  };
}
