import type { components, paths } from './generated/openapi.js';

/*
 * Friendly names for the request and answer types generated from the API's /openapi.json
 * (src/generated/openapi.ts; regenerate with `npm run generate -w sdk`).
 */

type Schemas = components['schemas'];

/** An action as every action endpoint answers it: status, params, policy decision, approval state, outcome, result. */
export type ActionView = Schemas['ActionView'];
/** Where an action is in its life: `evaluating`, `awaiting_approval`, `approved`, `executing`, `succeeded`, `failed`, `denied`, `expired`, `cancelled`. */
export type ActionStatus = ActionView['status'];
/** A page of actions: `items` and the `nextCursor` to pass for the next page (null on the last). */
export type ActionPage = Schemas['ActionPage'];
/** The body of `POST /v1/actions`: what an agent proposes. */
export type ProposeAction = Schemas['ProposeAction'];
/** The body of `POST /v1/actions/:id/decisions`: a reviewer's approve or deny (with optional edits). */
export type Decision = Schemas['Decision'];
/** The body of `POST /v1/actions/:id/result`: what the agent reports after performing an approved action. */
export type ActionResult = Schemas['Result'];
/** An RFC 9457 problem document, as every error answer carries it. */
export type Problem = Schemas['Problem'];
/** Query of `GET /v1/actions`: filter by status, action name or agent; page with limit and cursor. */
export type ListActionsQuery = NonNullable<paths['/v1/actions']['get']['parameters']['query']>;
/** Query of `GET /v1/approvals`: page with limit and cursor. */
export type ApprovalsQuery = NonNullable<paths['/v1/approvals']['get']['parameters']['query']>;

/** Statuses in which the action still waits for policy or people. */
export const UNDECIDED_STATUSES: readonly ActionStatus[] = ['evaluating', 'awaiting_approval'];
/** Statuses after which nothing changes any more. */
export const FINAL_STATUSES: readonly ActionStatus[] = ['succeeded', 'failed', 'denied', 'expired', 'cancelled'];
