/**
 * The HTTP contract's bodies as zod schemas (docs/api.md). The API validates
 * with them and /openapi.json is generated from them, so the two cannot drift.
 */
import { z } from 'zod';

const id = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:@-]*$/, 'letters, digits and . _ : @ - only, starting with a letter or digit');
const group = z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'lower-case letters, digits and . _ - only').max(64);
const actionName = z.string().min(1).max(200).regex(/^[a-z0-9_]+(\.[a-z0-9_]+)*$/, 'dotted lower-case name like "payments.transfer"');
const jsonObject = z.record(z.string(), z.unknown());

/** Idempotency keys, in the `Idempotency-Key` header or a body: 1-200 visible ASCII characters. */
export const IDEMPOTENCY_KEY_RE = /^[\x21-\x7e]{1,200}$/;
const idempotencyKey = z.string().regex(IDEMPOTENCY_KEY_RE, 'must be 1-200 visible ASCII characters (as the Idempotency-Key header)');

/** Roles a principal can hold. */
export const roleSchema = z.enum(['agent', 'reviewer', 'operator', 'admin']);
export type Role = z.infer<typeof roleSchema>;

/**
 * Bounds of a principal's `attributes`: facts policy reads on every evaluation and the evidence
 * records with each decision, so they stay small (a few labels, not a profile).
 */
export const PRINCIPAL_ATTRIBUTE_LIMITS = Object.freeze({
  /** Compact JSON, UTF-8 bytes. */
  bytes: 4096,
  /** Nesting of objects and arrays; the attributes object itself is 1. */
  depth: 4,
  /** Keys of any one object. */
  keys: 64,
  /** Items of any one array. */
  items: 64,
});

/** Where `attributes` breaks {@link PRINCIPAL_ATTRIBUTE_LIMITS}, as zod paths below it with messages. */
function attributeProblems(value: Record<string, unknown>): { path: (string | number)[]; message: string }[] {
  const L = PRINCIPAL_ATTRIBUTE_LIMITS;
  const problems: { path: (string | number)[]; message: string }[] = [];
  const stack: { v: unknown; path: (string | number)[]; depth: number }[] = [{ v: value, path: [], depth: 1 }];
  while (stack.length > 0 && problems.length < 20) {
    const { v, path, depth } = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth > L.depth) {
      problems.push({ path, message: `nests deeper than ${L.depth} levels (attributes are facts for policy: keep them flat)` });
      continue;
    }
    const entries: [string | number, unknown][] = Array.isArray(v) ? v.map((item, i) => [i, item]) : Object.entries(v);
    if (Array.isArray(v) && v.length > L.items) problems.push({ path, message: `has ${v.length} items; at most ${L.items}` });
    else if (!Array.isArray(v) && entries.length > L.keys) problems.push({ path, message: `has ${entries.length} keys; at most ${L.keys}` });
    else for (const [k, child] of entries) stack.push({ v: child, path: [...path, k], depth: depth + 1 });
  }
  if (problems.length === 0) {
    const bytes = new TextEncoder().encode(JSON.stringify(value)).length;
    if (bytes > L.bytes) problems.push({ path: [], message: `is ${bytes} bytes as JSON; at most ${L.bytes}` });
  }
  return problems;
}

/**
 * A principal's `attributes`: a JSON object set by admins, read by policy as
 * `facts.agent.attributes` / `facts.onBehalfOf.attributes` (docs/policy.md).
 */
const attributesSchema = jsonObject
  .superRefine((v, ctx) => {
    for (const p of attributeProblems(v)) ctx.addIssue({ code: 'custom', path: p.path, message: p.message });
  })
  .meta({ description: `facts for policy; at most ${PRINCIPAL_ATTRIBUTE_LIMITS.bytes} bytes as JSON, ${PRINCIPAL_ATTRIBUTE_LIMITS.depth} levels deep` });

/** An email address a verified OIDC email claim maps to a principal by. */
const email = z.string().max(254).regex(/^[^\s@]+@[^\s@]+$/, 'an email address like alice@example.com');
/** An OIDC subject (`sub`): at most 255 ASCII characters (OpenID Connect Core 1.0, 2). */
const oidcSubject = z.string().min(1).max(255).regex(/^[\x21-\x7e]+$/, 'visible ASCII characters');
/** A Slack user id, e.g. U024BE7LH. */
const slackUserId = z.string().regex(/^[UW][A-Z0-9]{2,20}$/, 'a Slack user id like U024BE7LH');

/** `POST /v1/principals` body. */
export const createPrincipalSchema = z
  .strictObject({
    id,
    kind: z.enum(['agent', 'human']),
    roles: z
      .array(roleSchema)
      .min(1)
      .max(4)
      .refine((r) => new Set(r).size === r.length, 'roles must be distinct')
      .meta({ uniqueItems: true }),
    groups: z.array(group).max(64).default([]),
    attributes: attributesSchema.default({}),
    /** Agent ids this human lets propose on their behalf (`onBehalfOf`); humans only. */
    delegates: z
      .array(id)
      .max(64)
      .refine((d) => new Set(d).size === d.length, 'delegates must be distinct')
      .meta({ uniqueItems: true })
      .default([]),
    /** Humans only: the identities they sign in (or click in Slack) with; see PATCH. */
    email: email.optional(),
    oidcSubject: oidcSubject.optional(),
    slackUserId: slackUserId.optional(),
  })
  .superRefine((p, ctx) => {
    // docs/api.md "Roles": an agent holds the agent role only, and delegates nobody.
    if (p.kind === 'agent') {
      for (const k of ['email', 'oidcSubject', 'slackUserId'] as const) {
        if (p[k] !== undefined) ctx.addIssue({ code: 'custom', path: [k], message: 'only a human principal signs in (email, oidcSubject, slackUserId are for humans)' });
      }
      p.roles.forEach((r, i) => {
        if (r !== 'agent') ctx.addIssue({ code: 'custom', path: ['roles', i], message: `an agent principal holds only the role "agent", not "${r}"` });
      });
      if (p.delegates.length > 0) ctx.addIssue({ code: 'custom', path: ['delegates'], message: 'only a human principal delegates to agents' });
    }
  });
export type CreatePrincipal = z.infer<typeof createPrincipalSchema>;


/**
 * `PATCH /v1/principals/:id` body (admin): only the fields given change. `email`, `oidcSubject`
 * and `slackUserId` are the identities a human signs in or clicks with (null unlinks one).
 */
export const updatePrincipalSchema = z
  .strictObject({
    roles: z
      .array(roleSchema)
      .min(1)
      .max(4)
      .refine((r) => new Set(r).size === r.length, 'roles must be distinct')
      .meta({ uniqueItems: true })
      .optional(),
    groups: z.array(group).max(64).optional(),
    attributes: attributesSchema.optional(),
    delegates: z
      .array(id)
      .max(64)
      .refine((d) => new Set(d).size === d.length, 'delegates must be distinct')
      .meta({ uniqueItems: true })
      .optional(),
    disabled: z.boolean().optional(),
    email: email.nullable().optional(),
    oidcSubject: oidcSubject.nullable().optional(),
    slackUserId: slackUserId.nullable().optional(),
  })
  .refine((p) => Object.keys(p).length > 0, 'name at least one field to change');
export type UpdatePrincipal = z.infer<typeof updatePrincipalSchema>;

/** `POST /v1/principals/:id/tokens` body: `expiresIn` as a bundle duration ("1h", "90d"); none = no expiry. */
export const createTokenSchema = z.strictObject({
  expiresIn: z
    .string()
    .max(32)
    .regex(/^(?:\d+d)?(?:\d+h)?(?:\d+m)?(?:\d+s)?$/, 'a duration like 1h, 90d or 1h30m')
    .optional(),
});

/** Where the proposal came from (kept in the evidence). */
export const modelSchema = z.strictObject({
  provider: z.string().max(200).optional(),
  name: z.string().max(200).optional(),
  output: z.string().max(64 * 1024).optional(),
  promptDigest: z.string().max(200).optional(),
  traceId: z.string().max(200).optional(),
});

/** `POST /v1/actions` body. */
export const proposeActionSchema = z.strictObject({
  action: actionName,
  params: jsonObject,
  resource: z.union([z.string().max(1024), jsonObject]).optional(),
  justification: z.string().max(4000).optional(),
  onBehalfOf: id.optional(),
  parentActionId: z.string().min(1).max(128).optional(),
  context: jsonObject.optional(),
  model: modelSchema.optional(),
  idempotencyKey: idempotencyKey.optional(),
});
export type ProposeAction = z.infer<typeof proposeActionSchema>;

/** `POST /v1/actions/:id/decisions` body. */
export const decisionSchema = z.strictObject({
  decision: z.enum(['approve', 'deny']),
  reason: z.string().max(4000).optional(),
  params: jsonObject.optional(),
  /**
   * The digest of the params the reviewer saw (`approval.digest` of the ActionView): if they
   * changed since, 409 `stale-view` and the vote is not cast.
   */
  expectedDigest: z
    .string()
    .regex(/^(sha256|hmac-sha256):[0-9a-f]{64}$/, 'must be "sha256:" or "hmac-sha256:" and 64 lowercase hex digits')
    .optional(),
});
export type DecisionBody = z.infer<typeof decisionSchema>;

/** `POST /v1/actions/:id/cancel` body. */
export const cancelSchema = z.strictObject({ reason: z.string().max(4000).optional() });

/** `POST /v1/actions/:id/result` body. */
export const resultSchema = z.strictObject({
  ok: z.boolean(),
  output: z.unknown().optional(),
  error: z.string().max(4000).optional(),
});

/** `POST /v1/policy/evaluate` body: an action as proposed, by whom, optionally against a candidate bundle. */
export const evaluateSchema = z.strictObject({
  action: actionName,
  params: jsonObject,
  resource: z.union([z.string().max(1024), jsonObject]).optional(),
  context: jsonObject.optional(),
  agent: id.optional(),
  onBehalfOf: id.optional(),
  bundle: z.string().min(1).optional(),
});

const statusSchema = z.enum(['evaluating', 'awaiting_approval', 'approved', 'executing', 'succeeded', 'failed', 'denied', 'expired', 'cancelled']);

/** Query of `GET /v1/actions`. */
export const listActionsQuerySchema = z.strictObject({
  status: statusSchema.optional(),
  action: z.string().max(200).optional(),
  agent: z.string().max(128).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});

/** Query of `GET /v1/approvals`. */
export const inboxQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().max(200).optional(),
});

/** Query of `POST /v1/policy/backtest`: how many recorded actions to replay, newest first. */
export const backtestQuerySchema = z.object({ limit: z.coerce.number().int().min(1).max(100_000).optional() });

/** `?wait=` (seconds, at most 60) and `?since=<status>` of the long-polling reads. */
export const waitQuerySchema = z.strictObject({
  wait: z.coerce.number().min(0).max(60).optional(),
  since: statusSchema.optional(),
});

const voteSchema = z.object({
  reviewer: z.string(),
  decision: z.enum(['approve', 'deny']),
  reason: z.string().nullable(),
  at: z.string(),
  step: z.number().int(),
  requestId: z.string().optional(),
  digest: z.string().optional(),
  counts: z.array(z.number().int()).optional(),
  edits: z.record(z.string(), z.object({ from: z.unknown(), to: z.unknown() })).optional(),
  identity: z.object({ method: z.enum(['oidc', 'sign-in-link', 'token', 'slack']), issuer: z.string().optional(), subject: z.string().optional() }).optional(),
  via: z.enum(['api', 'console', 'slack']).optional(),
});

/** The ActionView every action endpoint answers with. */
export const actionViewSchema = z.object({
  id: z.string(),
  status: statusSchema,
  action: z.string(),
  params: jsonObject,
  resource: z.unknown().nullable(),
  agent: z.string(),
  onBehalfOf: z.string().nullable(),
  parentActionId: z.string().nullable(),
  justification: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  policy: z
    .object({ decision: z.enum(['allow', 'deny', 'require_approval']), ruleIds: z.array(z.string()), reasons: z.array(z.string()), version: z.string() })
    .nullable(),
  approval: z
    .object({
      step: z.number().int(),
      steps: z.number().int(),
      group: z.string(),
      quorum: z.number().int(),
      approvals: z.array(voteSchema),
      deadline: z.string().nullable(),
      escalations: z.array(z.object({ group: z.string(), at: z.string(), step: z.number().int() })),
      eligibleGroups: z.array(z.string()),
      also: z.array(z.object({ group: z.string(), quorum: z.number().int() })).optional(),
      digest: z.string().optional(),
    })
    .optional(),
  outcome: z
    .object({ by: z.enum(['policy', 'reviewer', 'timeout', 'agent', 'operator', 'control']), actor: z.string().nullable(), reason: z.string().nullable() })
    .optional(),
  /** True while a pause (docs/controls.md) holds this approved action: it does not execute until the pause is lifted. */
  paused: z.boolean().optional(),
  result: z.unknown().optional(),
  error: z.string().optional(),
  links: z.object({ self: z.string(), evidence: z.string(), temporalUi: z.string() }),
});
export type ActionView = z.infer<typeof actionViewSchema>;

/** RFC 9457 problem details, with field errors for validation problems. */
export const problemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string().optional(),
  instance: z.string().optional(),
  errors: z
    .array(
      z.object({
        path: z.string(),
        message: z.string(),
        /** Policy bundle errors: where in the bundle text (1-based), and how to fix it. */
        line: z.number().int().optional(),
        column: z.number().int().optional(),
        hint: z.string().optional(),
      }),
    )
    .optional(),
});

// Answers of the other endpoints. The API builds them from its own types; these schemas exist
// so /openapi.json describes every field exactly (and the contract test checks answers match).

/** `GET /v1/principals/:id`. */
export const principalSchema = z.object({
  id: z.string(),
  kind: z.enum(['agent', 'human']),
  roles: z.array(roleSchema),
  groups: z.array(z.string()),
  attributes: jsonObject,
  delegates: z.array(z.string()),
  disabled: z.boolean(),
  email: z.string().nullable(),
  oidcSubject: z.string().nullable(),
  slackUserId: z.string().nullable(),
});

/** `GET /v1/principals`. */
export const principalListSchema = z.object({ items: z.array(principalSchema) });

/** `POST /v1/principals/:id/tokens` answer: the token is shown this once. */
export const tokenCreatedSchema = z.object({ tokenId: z.string(), token: z.string(), expiresAt: z.string().nullable() });

/** `GET /v1/principals/:id/tokens`: metadata only, never a token or its hash. */
export const tokenListSchema = z.object({
  items: z.array(
    z.object({
      tokenId: z.string(),
      createdAt: z.string(),
      createdBy: z.string().nullable(),
      expiresAt: z.string().nullable(),
      revokedAt: z.string().nullable(),
      revokedBy: z.string().nullable(),
    }),
  ),
});

/** `POST /v1/principals/:id/sign-in-links` answer. */
export const signInLinkSchema = z.object({ url: z.string(), expiresAt: z.string() });

/** `GET /v1/session`: who the console is signed in as, and until when. */
export const sessionSchema = z.object({
  principal: z.object({ id: z.string(), name: z.string(), kind: z.enum(['agent', 'human']), roles: z.array(roleSchema), groups: z.array(z.string()) }),
  expiresAt: z.string().nullable(),
});

/** `POST /v1/principals` answer: the token is shown this once. */
export const principalCreatedSchema = z.object({ id: z.string(), token: z.string() });

/** `GET /v1/actions` and `GET /v1/approvals`: a page, and the cursor of the next one (null on the last). */
export const actionPageSchema = z.object({ items: z.array(actionViewSchema), nextCursor: z.string().nullable() });

/** `GET /v1/policy` and `PUT /v1/policy`: the active bundle version. */
export const activePolicySchema = z.object({ version: z.string(), loadedAt: z.string(), source: z.string(), activatedBy: z.string() });

/** `GET /v1/policy/versions`. */
export const policyVersionsSchema = z.object({
  items: z.array(
    z.object({ version: z.string(), author: z.string(), createdAt: z.string(), sourceName: z.string().nullable(), activations: z.array(z.string()) }),
  ),
});

const outcomeSchema = z.enum(['allow', 'deny', 'require_approval']);

/** `POST /v1/policy/backtest`: what a candidate bundle would change. */
export const backtestReportSchema = z.object({
  candidateVersion: z.string(),
  actions: z.number().int(),
  changed: z.number().int(),
  unchanged: z.number().int(),
  changes: z.array(
    z.object({
      from: z.union([outcomeSchema, z.literal('unknown')]),
      to: z.union([outcomeSchema, z.literal('not-in-catalog')]),
      ruleIds: z.array(z.string()),
      count: z.number().int(),
      examples: z.array(z.string()),
    }),
  ),
});

/** `POST /v1/policy/evaluate`: the decision the policy would make (domain/policy-types.ts PolicyDecision). */
export const policyDecisionSchema = z.object({
  decision: outcomeSchema,
  ruleIds: z.array(z.string()),
  reasons: z.array(z.string()),
  decidedBy: z.array(z.string()),
  reason: z.string(),
  version: z.string(),
  plan: z
    .object({
      steps: z.array(
        z.object({
          group: z.string(),
          quorum: z.number().int(),
          timeoutMs: z.number(),
          remindEveryMs: z.number().optional(),
          escalateTo: z.array(z.object({ group: z.string(), timeoutMs: z.number() })),
        }),
      ),
      onTimeout: z.enum(['deny', 'allow']),
    })
    .optional(),
  executor: z.union([z.object({ type: z.literal('http'), url: z.string() }), z.object({ type: z.literal('agent'), resultTimeoutMs: z.number().int().optional() })]),
  category: z.enum(['financial', 'external_communication', 'account_change', 'data_access', 'production_change']),
  owner: z.string(),
  errors: z.array(z.object({ ruleId: z.string(), message: z.string() })),
  /** The facts CEL saw (`facts`): the stored attributes of the agent and of the onBehalfOf human. */
  facts: z
    .object({ agent: z.object({ attributes: jsonObject }), onBehalfOf: z.object({ attributes: jsonObject }).nullable() })
    .optional(),
  limitBreach: z.object({ path: z.string(), limit: z.string(), message: z.string() }).optional(),
  /** The usage figures budgets read (`count:1h`, `sum:amount:24h`, `agent.count:1h` -> value; docs/controls.md). */
  usage: z.record(z.string(), z.number()).optional(),
});

/** One node of `GET /v1/actions/:id/lineage`: an action and the actions delegated from it. */
export const lineageNodeSchema = z.object({
  id: z.string(),
  action: z.string(),
  status: z.string(),
  agent: z.string(),
  onBehalfOf: z.string().nullable(),
  createdAt: z.string(),
  get children(): z.ZodArray<typeof lineageNodeSchema> {
    return z.array(lineageNodeSchema);
  },
});

/** `GET /v1/actions/:id/lineage`: the whole delegation tree that contains the action. */
export const lineageSchema = z.object({ root: lineageNodeSchema, actionId: z.string() });

/** `GET /v1/ledger/verify` (ledger/store.ts LedgerVerification). */
export const ledgerVerificationSchema = z.object({
  ok: z.boolean(),
  events: z.number().int(),
  chains: z.number().int(),
  checkpoints: z.number().int(),
  firstBadSeq: z.number().int().optional(),
  actionId: z.string().optional(),
  checkpointSeq: z.number().int().optional(),
  reason: z.string().optional(),
  /** Actions stopped by a write Postgres refused for good, until acknowledged. */
  faults: z.array(
    z.object({
      actionId: z.string(),
      seq: z.number().int(),
      type: z.string(),
      events: z.array(z.string()),
      code: z.string().nullable(),
      message: z.string(),
      workflowId: z.string().nullable(),
      runId: z.string().nullable(),
      at: z.string(),
    }),
  ),
});

const chainHeadSchema = z.object({ actionId: z.string(), seq: z.number().int(), hash: z.string() });

/** `GET /v1/actions/:id/evidence`: the signed evidence bundle (ledger/evidence.ts EvidenceBundle). */
export const evidenceBundleSchema = z.object({
  actionId: z.string(),
  workflowId: z.string(),
  runId: z.string().nullable(),
  policyVersion: z.string(),
  events: z.array(
    z.object({
      seq: z.number().int(),
      type: z.string(),
      at: z.string(),
      actor: z.object({ id: z.string(), kind: z.string() }),
      data: z.unknown(),
      prevHash: z.string(),
      hash: z.string(),
    }),
  ),
  head: z.object({ seq: z.number().int(), hash: z.string() }),
  checkpoint: z
    .object({
      seq: z.number().int(),
      at: z.string(),
      headCount: z.number().int(),
      headsRoot: z.string(),
      throughGlobalSeq: z.number().int(),
      horizon: z.string(),
      prevHash: z.string(),
      hash: z.string(),
      keyId: z.string(),
      signature: z.string(),
      cover: chainHeadSchema,
      index: z.number().int(),
      proof: z.array(z.string()),
    })
    .optional(),
  signature: z.object({ alg: z.string(), keyId: z.string(), value: z.string() }),
  publicKey: z.string(),
  links: z.object({ temporalUi: z.string().optional() }).optional(),
});

/** `GET /healthz`. */
export const healthSchema = z.object({ ok: z.literal(true) });

/** `GET /readyz` when Postgres and Temporal answer. */
export const readinessSchema = z.object({ ok: z.literal(true), postgres: z.literal('ok'), temporal: z.literal('ok') });
