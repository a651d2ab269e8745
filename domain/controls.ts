/**
 * Schemas of the operator controls API (docs/controls.md): pauses and the reviewer report. The
 * routes (api/routes/controls.ts, api/routes/reports.ts) parse with them and /openapi.json is
 * generated from them.
 */
import { z } from 'zod';
import { actionViewSchema } from './api-schemas';

const principalId = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:@-]*$/, 'a principal id: letters, digits and . _ : @ - only, starting with a letter or digit');
const actionName = z.string().min(1).max(200).regex(/^[a-z0-9_]+(\.[a-z0-9_]+)*$/, 'dotted lower-case name like "payments.transfer"');

/** What a pause covers: `"all"`, or one agent and/or one action name (combined with AND). */
export const pauseScopeSchema = z.union([
  z.literal('all'),
  z
    .strictObject({ agent: principalId.optional(), action: actionName.optional() })
    .refine((s) => s.agent !== undefined || s.action !== undefined, { message: 'name an agent, an action or both; to pause everything, send "all"' }),
]);

/** `POST /v1/controls/pauses`. */
export const createPauseSchema = z.strictObject({
  scope: pauseScopeSchema,
  reason: z.string().max(1000).refine((s) => s.trim() !== '', 'say why (it is shown to agents and recorded in the ledger)'),
});

/** `DELETE /v1/controls/pauses/:id` (optional body). */
export const liftPauseSchema = z.strictObject({ reason: z.string().max(1000).optional() });

/** `GET /v1/controls/pauses`: active pauses (default), or every pause with `all=true`. */
export const listPausesQuerySchema = z.strictObject({
  all: z.enum(['true', 'false']).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});

/** A pause as the API answers it. */
export const pauseSchema = z.object({
  id: z.string(),
  scope: z.union([z.literal('all'), z.object({ agent: z.string().optional(), action: z.string().optional() })]),
  reason: z.string(),
  by: z.string(),
  at: z.string(),
  liftedAt: z.string().optional(),
  liftedBy: z.string().optional(),
});

export const pauseListSchema = z.object({ items: z.array(pauseSchema) });

/** `GET /v1/reports/reviewers`: an ISO-8601 instant each; default the last 30 days. */
export const reviewerReportQuerySchema = z.strictObject({
  since: z.iso.datetime({ offset: true, message: 'an ISO-8601 date-time such as 2026-01-31T00:00:00Z' }).optional(),
  until: z.iso.datetime({ offset: true, message: 'an ISO-8601 date-time such as 2026-01-31T00:00:00Z' }).optional(),
});

/** One reviewer's figures (docs/reviewer-metrics.md defines each). */
export const reviewerFiguresSchema = z.object({
  reviewer: z.string(),
  decisions: z.number().int(),
  approvals: z.number().int(),
  denials: z.number().int(),
  edits: z.number().int(),
  approveRate: z.number(),
  denyRate: z.number(),
  editRate: z.number(),
  /** Milliseconds; null when no decision had a known request time. */
  medianTimeToDecideMs: z.number().nullable(),
  p90TimeToDecideMs: z.number().nullable(),
  fastDecisions: z.number().int(),
  /** Decisions on an action where another voter decided the other way. */
  disagreements: z.number().int(),
  /** Decisions on an action with at least one other voter (the disagreement rate's denominator). */
  sharedDecisions: z.number().int(),
  disagreementRate: z.number().nullable(),
});

export const reviewerReportSchema = z.object({
  since: z.string(),
  until: z.string(),
  fastDecisionMs: z.number().int(),
  reviewers: z.array(reviewerFiguresSchema),
});
export type ReviewerFigures = z.infer<typeof reviewerFiguresSchema>;
export type ReviewerReport = z.infer<typeof reviewerReportSchema>;

/**
 * Actions that govern Countersign itself (docs/controls.md): when the active bundle has rules for
 * one, the change it stands for is proposed as a governed action instead of taking effect.
 */
export const GOVERNED_ACTIONS = {
  /** `PUT /v1/policy`: params `{ version, sourceName }`. */
  policyActivate: 'countersign.policy.activate',
  /** Role, group and delegation changes of principals. */
  principalGrant: 'countersign.principal.grant',
} as const;

/** `POST /v1/principals` under governed grants: the principal, created disabled, and the grant's action. */
export const principalGrantProposedSchema = z.object({ id: z.string(), token: z.string(), action: actionViewSchema });
