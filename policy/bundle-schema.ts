/**
 * The structure of a policy bundle document (docs/policy.md), as zod schemas.
 * Every object is strict: an unknown key is an error, because a misspelt `reamindEvery`
 * silently ignored is a reminder that never fires.
 *
 * Syntax of leaf values (groups, durations, action names and patterns) is checked here too,
 * each with its own message and hint; cross-references (rule -> catalog, CEL, JSON Schema)
 * are checked by the loader.
 */
import { z } from 'zod';
import { ACTION_NAME_HINT, ACTION_PATTERN_HINT, actionPatternProblem, isActionName } from './action-pattern';
import { DURATION_SYNTAX_HINT, parseDuration } from './duration';

/** Reviewer group names: lowercase, digits, `.`, `_`, `-`; start with a letter or digit. */
export const GROUP_NAME_RE = /^[a-z0-9][a-z0-9._-]*$/;

/** Rule ids: letters, digits, `.`, `_`, `-`. */
export const RULE_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

const groupName = z.string().superRefine((value, ctx) => {
  if (!GROUP_NAME_RE.test(value)) {
    ctx.addIssue({
      code: 'custom',
      message: `invalid group name "${value}"`,
      params: { hint: 'group names match ^[a-z0-9][a-z0-9._-]*$ (lowercase letters, digits, ".", "_", "-"), e.g. finance-leads' },
    });
  }
});

const duration = z.string().superRefine((value, ctx) => {
  if (parseDuration(value) === undefined) {
    ctx.addIssue({ code: 'custom', message: `invalid duration "${value}"`, params: { hint: DURATION_SYNTAX_HINT } });
  }
});

const actionName = z.string().superRefine((value, ctx) => {
  if (!isActionName(value)) {
    ctx.addIssue({ code: 'custom', message: `invalid action name "${value}"`, params: { hint: ACTION_NAME_HINT } });
  }
});

const actionPattern = z.string().superRefine((value, ctx) => {
  const problem = actionPatternProblem(value);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem, params: { hint: ACTION_PATTERN_HINT } });
});

const httpUrl = z.url({ protocol: /^https?$/ });

/** `secret: env:NAME`: where a worker finds a target's signing secret. The value never goes in a bundle. */
export const SECRET_REF_RE = /^env:[A-Za-z_][A-Za-z0-9_]*$/;

const secretRef = z.string().superRefine((value, ctx) => {
  if (!SECRET_REF_RE.test(value)) {
    ctx.addIssue({
      code: 'custom',
      message: 'secret must name an environment variable (env:NAME), not hold a value',
      params: { hint: 'write secret: env:PAYMENTS_SECRET and set PAYMENTS_SECRET (at least 16 characters) in every worker\'s environment; a secret written in a bundle is stored and shown with it' },
    });
  }
});

/**
 * Where a request goes and how it is signed: `secret` names the target's own HMAC key
 * (docs/security-model.md); `insecure` lets a non-loopback `http://` URL load.
 */
const targetFields = { url: httpUrl, secret: secretRef.optional(), insecure: z.boolean().optional() };

/** Policy outcomes as written in YAML. */
export const policyOutcomeSchema = z.enum(['allow', 'deny', 'require_approval']);

/** Catalog risk categories. */
export const actionCategorySchema = z.enum([
  'financial',
  'external_communication',
  'account_change',
  'data_access',
  'production_change',
]);

const onTimeout = z.enum(['deny', 'allow']);

const limitInt = (min: number, max: number) => z.number().int().min(min).max(max);

/**
 * Bounds on what a proposal hands to CEL (see input-limits.ts for what each one measures).
 * Every key is optional: an action's `limits` overrides `defaults.limits` key by key, which
 * overrides the built-in defaults. The maxima are sanity bounds, not recommendations: raising
 * a limit raises the worst-case cost of every rule the action has.
 */
export const inputLimitsSchema = z.strictObject({
  paramsBytes: limitInt(2, 16_777_216).optional(),
  contextBytes: limitInt(2, 16_777_216).optional(),
  listItems: limitInt(1, 1_000_000).optional(),
  mapEntries: limitInt(1, 1_000_000).optional(),
  depth: limitInt(1, 1_000).optional(),
});

const executorSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('http'), ...targetFields }),
  // resultTimeout: how long an approved action waits for the agent's report before it ends
  // `failed` with outcome-unknown (default 24h).
  z.strictObject({ type: z.literal('agent'), resultTimeout: duration.optional() }),
]);

/** One catalog entry. `params` is a JSON Schema, compiled separately with ajv. */
export const actionSpecSchema = z.strictObject({
  description: z.string().optional(),
  owner: groupName,
  category: actionCategorySchema,
  params: z.record(z.string(), z.unknown()),
  executor: executorSchema,
  limits: inputLimitsSchema.optional(),
});

const escalationSchema = z.strictObject({ group: groupName, timeout: duration });

const approvalStepSchema = z.strictObject({
  group: groupName,
  quorum: z.number().int().min(1).max(100).default(1),
  timeout: duration,
  remindEvery: duration.optional(),
  escalateTo: z.array(escalationSchema).max(20).optional(),
});

const approvalSchema = z.strictObject({
  steps: z.array(approvalStepSchema).min(1).max(20),
  onTimeout: onTimeout.default('deny'),
});

/** One rule. `when` is CEL, compiled separately. */
export const ruleSchema = z.strictObject({
  id: z.string().regex(RULE_ID_RE, { message: 'invalid rule id' }),
  description: z.string().optional(),
  action: actionPattern,
  when: z.string().min(1).optional(),
  decision: policyOutcomeSchema,
  reason: z.string().optional(),
  approval: approvalSchema.optional(),
});

/** The whole bundle document, with defaults applied. */
export const policyBundleDocumentSchema = z.strictObject({
  defaults: z
    .strictObject({
      decision: policyOutcomeSchema.default('deny'),
      approval: z
        .strictObject({ timeout: duration.default('24h'), onTimeout: onTimeout.default('deny') })
        .default({ timeout: '24h', onTimeout: 'deny' }),
      limits: inputLimitsSchema.optional(),
    })
    .default({ decision: 'deny', approval: { timeout: '24h', onTimeout: 'deny' } }),
  actions: z.record(actionName, actionSpecSchema),
  rules: z.array(ruleSchema).default([]),
  notifications: z
    .strictObject({
      // A URL, or { url, secret?, insecure? }.
      webhooks: z.record(groupName, z.array(z.union([httpUrl, z.strictObject(targetFields)]))).optional(),
      // Slack approvals (docs/slack.md): where each group's approval requests are posted, with buttons.
      slack: z
        .record(groupName, z.strictObject({ channel: z.string().min(1).max(80).regex(/^[#@]?[A-Za-z0-9._-]+$/, 'a Slack channel id like C0123ABCD (or a name like #finance)') }))
        .optional(),
    })
    .optional(),
});

/** A bundle document after structural validation and defaults. */
export type PolicyBundleDocument = z.output<typeof policyBundleDocumentSchema>;
/** One rule as written (after defaults). */
export type RuleDocument = z.output<typeof ruleSchema>;
/** Limits as written (every key optional). */
export type InputLimitsDocument = z.output<typeof inputLimitsSchema>;
/** One catalog entry as written. */
export type ActionSpecDocument = z.output<typeof actionSpecSchema>;
