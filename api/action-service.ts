import { createHash, randomBytes, randomUUID } from 'node:crypto';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import type { ActionView, DecisionBody, ProposeAction } from '../domain/api-schemas';
import { holdsRole, mayReadAction } from '../domain/access-rules';
import {
  REFUSALS,
  TERMINAL_STATUSES,
  TRANSIENT_STATUSES,
  type ActionProjection,
  type ActionStatus,
  WRITE_FAILURES,
  type ApprovalVote,
  type CancelInput,
  type GovernedActionInput,
  type Identity,
  type Via,
} from '../domain/action-types';
import { approvalDigest } from '../domain/approval-digest';
import type { MessageSigner } from '../runtime/message-keys';
import { canonicalJson } from '../domain/canonical-json';
import { CountersignError, ERROR_CODES, type ErrorCode, type FieldError } from '../domain/errors';
import { checkEvaluationLimits, evaluatePolicy, validateActionParams } from '../policy';
import { ALL_PARAMS, unmaskEdit } from '../domain/sensitive-params';
import { sensitivePatternsOfRow } from '../ledger/sensitive-patterns';
import { accessSubjectOf, toActionView, type ActionRepository, type ActionRow } from '../ledger/action-repository';
import type { PolicyStore } from '../ledger/policy-store';
import { searchAttributeKeys } from '../workflows/search-attribute-keys';
import { cancelUpdate, decideUpdate, governedAction, reportResultUpdate } from '../workflows';
import type { Principal, PrincipalStore } from './auth';
import type { ChangeFeed } from './change-feed';
import { decisionProblem } from './decision-refusal';
import { lineageTree, type LineageNode } from './lineage';
import type { PauseRegistry } from '../ledger/pause-store';
import { readUsage } from '../ledger/usage-store';
import type { Pool } from 'pg';

/** What the action use cases need. */
export interface ActionServiceDeps {
  /** The `actions` read model. */
  actions: ActionRepository;
  temporal: Client;
  eagerStart?: boolean;
  taskQueue: string;
  namespace: string;
  temporalUiUrl: string;
  policies: PolicyStore;
  principals: PrincipalStore;
  feed: ChangeFeed;
  /** Signs starts and Updates: workflows refuse anything this API did not send. */
  messages: MessageSigner;
  /** The active pauses (docs/controls.md): decisions on a paused action are refused (409 `paused`). */
  pauses?: Pick<PauseRegistry, 'matching'>;
  /** For usage figures (budgets) when an edit is pre-checked against policy. */
  pool?: Pool;
  /** Told of every decision this process recorded (reviewer metrics, api/metrics.ts). */
  onDecided?: (actionId: string, reviewer: string) => void;
}

/** How a human reached the API for a decision or a cancel (recorded in the evidence). */
export interface HumanOrigin {
  identity: Identity;
  via: Via;
}

/** A bearer token over the HTTP API: how every human is identified until sign-in exists. */
export const TOKEN_OVER_API: HumanOrigin = { identity: { method: 'token' }, via: 'api' };

/** What an action id looks like (`act_` and 24 hex digits); anything else is no action. */
export const ACTION_ID = /^act_[0-9a-f]{24}$/;

/** The workflow id of an action: derived, so a start is idempotent per action. */
export const workflowIdOf = (actionId: string) => `action-${actionId}`;

/**
 * The workflow's refusals that are answered as they are: every one of {@link REFUSALS} that is
 * an API problem code (`not-ready` is not: it is retried, see updateWhenReady).
 */
const ANSWERED_REFUSALS: ReadonlySet<string> = new Set(Object.values(REFUSALS).filter((code) => code in ERROR_CODES));

/** Map a refusal from the workflow (update validator) to its domain error. */
function refusal(err: unknown): CountersignError | undefined {
  if (err instanceof WorkflowUpdateFailedError) {
    const type = (err.cause as { type?: string } | undefined)?.type;
    if (type && ANSWERED_REFUSALS.has(type)) return new CountersignError(type as ErrorCode, err.cause?.message ?? err.message);
    if ((type as string | undefined) === WRITE_FAILURES.permanent) {
      return new CountersignError(
        'action-stopped',
        'this request was not recorded: Countersign could not record the action\'s next step and stopped it (an operator has been alerted; GET the action for its status)',
      );
    }
  }
  if (err instanceof WorkflowNotFoundError || /workflow execution already completed/i.test((err as Error)?.message ?? '')) {
    return new CountersignError('not-pending', 'the action has already finished');
  }
  return undefined;
}

/** How long starting a workflow may take before the API answers 503 (not the SDK's long retry). */
const TEMPORAL_DEADLINE_MS = 10_000;
/**
 * How long an Update may wait for a worker to take it (e.g. while workers restart) before the
 * API answers 503. A retry with the same Idempotency-Key is then applied at most once.
 */
const UPDATE_DEADLINE_MS = 60_000;

/**
 * Run an Update, retrying while the workflow refuses with `not-ready`: the read model can be one
 * workflow task ahead of the workflow right after a worker crash, until Temporal re-runs that
 * task. A refused Update writes nothing, so retrying is safe.
 */
async function updateWhenReady<T>(temporal: Client, run: () => Promise<T>): Promise<T> {
  const until = Date.now() + UPDATE_DEADLINE_MS;
  for (;;) {
    try {
      return await temporal.withDeadline(until, run);
    } catch (err) {
      const notReady = err instanceof WorkflowUpdateFailedError && (err.cause as { type?: string } | undefined)?.type === REFUSALS.notReady;
      if (!notReady) throw err;
      if (Date.now() > until) throw new CountersignError('unavailable', 'the action is still being set up after a restart; retry shortly');
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** The use cases behind /v1/actions and /v1/approvals. Routes only parse and map. */
export class ActionService {
  constructor(private readonly deps: ActionServiceDeps) {}

  /**
   * Propose an action: validate against the active catalog, record it, start its workflow.
   * With an idempotency key, the same request returns the same action (created=false) and a
   * different request with the same key is refused.
   */
  async propose(agent: Principal, body: ProposeAction, headerKey: string | undefined): Promise<{ view: ActionRow; created: boolean }> {
    if (headerKey !== undefined && body.idempotencyKey !== undefined && headerKey !== body.idempotencyKey) {
      throw new CountersignError('validation', 'the Idempotency-Key header and body.idempotencyKey differ', [
        { path: '/idempotencyKey', message: 'must equal the Idempotency-Key header when both are sent' },
      ]);
    }
    const key = headerKey ?? body.idempotencyKey ?? null;
    const { idempotencyKey: _ignored, ...request } = body;
    const requestHash = createHash('sha256').update(canonicalJson(request)).digest('hex');

    if (key) {
      const existing = await this.deps.actions.findByKey(agent.id, key);
      if (existing) return { view: await this.replay(existing, requestHash), created: false };
    }

    const { bundle } = await this.deps.policies.active();
    if (!bundle.actions.has(body.action)) {
      throw new CountersignError('unknown-action', `action ${body.action} is not in the policy catalog`, [
        { path: '/action', message: `unknown action; known: ${[...bundle.actions.keys()].slice(0, 20).join(', ')}` },
      ]);
    }
    const check = validateActionParams(bundle, body.action, body.params);
    if (!check.ok) {
      throw new CountersignError(
        'invalid-params',
        `params do not match the schema of ${body.action}`,
        check.errors.map((e) => ({ path: `/params${e.path}`, message: e.message })),
      );
    }
    // Context and resource reach policy conditions too: refuse what policy would not evaluate
    // (too large, too long a list, too deep) now, rather than record a denial.
    const limits = checkEvaluationLimits(bundle, { action: body.action, params: body.params, context: body.context, resource: body.resource });
    if (!limits.ok) {
      throw new CountersignError(
        'validation',
        `the proposal is larger than policy evaluates for ${body.action}: ${limits.errors.map((e) => `${e.path} ${e.message}`).join('; ')}`,
        limits.errors.map((e) => ({ path: e.path, message: e.message })),
      );
    }
    await this.checkReferences(agent, body);

    const actionId = `act_${randomBytes(12).toString('hex')}`;
    const workflowId = workflowIdOf(actionId);
    const row = await this.deps.actions.insert({
      id: actionId,
      agent: agent.id,
      idempotencyKey: key,
      requestHash,
      action: body.action,
      params: body.params,
      resource: body.resource,
      onBehalfOf: body.onBehalfOf ?? null,
      parentActionId: body.parentActionId ?? null,
      justification: body.justification ?? null,
      context: body.context,
      model: body.model,
      workflowId,
    });
    if (!row) {
      // A concurrent request with the same key won the insert.
      const existing = await this.deps.actions.findByKey(agent.id, key as string);
      return { view: await this.replay(existing as ActionRow, requestHash), created: false };
    }
    try {
      await this.startWorkflow(row, body, bundle.version);
    } catch (err) {
      // Without a workflow the row would sit in `evaluating` forever: remove it (nothing was
      // recorded yet) and let the agent retry.
      await this.deps.actions.deleteUnstarted(actionId).catch(() => {});
      throw err;
    }
    return { view: row, created: true };
  }

  /** Same key: same body -> the existing action (its workflow started if a crash prevented it); else a conflict. */
  private async replay(existing: ActionRow, requestHash: string): Promise<ActionRow> {
    if (existing.request_hash !== requestHash) {
      throw new CountersignError(
        'idempotency-conflict',
        `idempotency key ${existing.idempotency_key} was used for a different request (action ${existing.id})`,
      );
    }
    if (existing.last_seq === 0) {
      // The API may have died between recording the action and starting its workflow.
      const recorded = await this.deps.actions.proposalInputs(existing.id);
      // Which bundle checked these params is not stored: the workflow checks them again under
      // the active one, and denies with the reason if they no longer fit.
      const { version } = await this.deps.policies.active();
      await this.startWorkflow(existing, {
        action: existing.action,
        params: existing.params,
        resource: existing.resource as ProposeAction['resource'],
        justification: existing.justification ?? undefined,
        onBehalfOf: existing.on_behalf_of ?? undefined,
        parentActionId: existing.parent_action_id ?? undefined,
        context: recorded?.context ?? undefined,
        model: recorded?.model ?? undefined,
      }, version);
    }
    return existing;
  }

  private async startWorkflow(row: ActionRow, body: Omit<ProposeAction, 'idempotencyKey'>, policyVersion: string): Promise<void> {
    const input: GovernedActionInput = {
      actionId: row.id,
      action: body.action,
      params: body.params,
      resource: body.resource ?? null,
      context: body.context ?? null,
      agent: row.agent,
      onBehalfOf: body.onBehalfOf ?? null,
      parentActionId: body.parentActionId ?? null,
      justification: body.justification ?? null,
      model: body.model ?? null,
      idempotencyKey: row.idempotency_key,
      policyVersion,
      trust: this.deps.messages.root,
    };
    try {
      await this.deps.temporal.withDeadline(Date.now() + TEMPORAL_DEADLINE_MS, () => this.startGoverned(row, input, body.action));
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }

  private startGoverned(row: ActionRow, input: GovernedActionInput, action: string) {
    return this.deps.temporal.workflow.start(governedAction, {
      workflowId: row.workflow_id,
      taskQueue: this.deps.taskQueue,
      args: [this.deps.messages.sign(row.workflow_id, 'start', input)],
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      requestEagerStart: this.deps.eagerStart,
      typedSearchAttributes: [
        { key: searchAttributeKeys.status, value: 'evaluating' },
        { key: searchAttributeKeys.action, value: action },
        { key: searchAttributeKeys.agent, value: row.agent },
      ],
    });
  }

  private async checkReferences(agent: Principal, body: ProposeAction): Promise<void> {
    const errors: FieldError[] = [];
    if (body.onBehalfOf !== undefined) {
      // One answer for an unknown id, a non-human and a human who has not delegated to this
      // agent, so an agent cannot probe which principals exist.
      const refused = await this.deps.principals.delegationRefusal(agent.id, body.onBehalfOf);
      if (refused) throw new CountersignError('not-delegated', refused.message, [{ path: '/onBehalfOf', message: refused.message }]);
    }
    if (body.parentActionId !== undefined) {
      // The parent must be one the agent may read (its own, in practice): naming another agent's
      // action would put this one in that action's lineage. Missing and hidden answer alike.
      const parent = await this.find(body.parentActionId);
      if (!parent || !mayReadAction(agent, accessSubjectOf(parent))) errors.push({ path: '/parentActionId', message: `no action ${body.parentActionId}` });
    }
    if (errors.length) throw new CountersignError('validation', 'the proposal references unknown principals or actions', errors);
  }

  /** An action row, or undefined. */
  async find(id: string): Promise<ActionRow | undefined> {
    if (!ACTION_ID.test(id)) return undefined;
    return this.deps.actions.find(id);
  }

  /** An action the caller may read; 404 both when missing and when not visible (no existence leak). */
  async getVisible(caller: Principal, id: string): Promise<ActionRow> {
    const row = await this.find(id);
    if (!row || !mayReadAction(caller, accessSubjectOf(row))) throw new CountersignError('not-found', `no action ${id}`);
    return row;
  }

  /**
   * Wait (up to `waitSeconds`) until the action's status satisfies `done`, woken by the change
   * feed; returns the row as it is then.
   */
  async waitForRow(id: string, waitSeconds: number, done: (s: ActionStatus) => boolean): Promise<ActionRow | undefined> {
    let last: ActionRow | undefined;
    const hit = await this.deps.feed.waitFor(id, waitSeconds * 1000, async () => {
      last = await this.find(id);
      return last && done(last.status) ? last : undefined;
    });
    return hit ?? last;
  }

  /** `GET /v1/actions/:id?wait=&since=`: hold until the status differs from `since` (or leaves evaluating/executing). */
  async get(caller: Principal, id: string, wait?: number, since?: ActionStatus): Promise<ActionRow> {
    const row = await this.getVisible(caller, id);
    if (!wait) return row;
    const done = since ? (s: ActionStatus) => s !== since : (s: ActionStatus) => !TRANSIENT_STATUSES.includes(s);
    if (done(row.status)) return row;
    return (await this.waitForRow(id, wait, done)) ?? row;
  }

  /** Hold a fresh proposal until it leaves evaluating/executing. */
  async settle(row: ActionRow, wait: number): Promise<ActionRow> {
    return (await this.waitForRow(row.id, wait, (s) => !TRANSIENT_STATUSES.includes(s))) ?? row;
  }

  /** `GET /v1/actions`: newest first, keyset-paginated, limited to what the caller may read. */
  async list(
    caller: Principal,
    q: { status?: ActionStatus; action?: string; agent?: string; limit: number; cursor?: string },
  ): Promise<{ items: ActionRow[]; nextCursor: string | null }> {
    const rows = await this.deps.actions.list({
      status: q.status,
      action: q.action,
      agent: q.agent,
      readableBy: holdsRole(caller, 'operator') ? undefined : { id: caller.id, groups: caller.groups, reviewer: caller.roles.includes('reviewer') },
      before: q.cursor ? decodeCursor(q.cursor) : undefined,
      limit: q.limit,
    });
    const items = rows.slice(0, q.limit);
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > q.limit && last ? encodeCursor(last) : null };
  }

  /** `GET /v1/approvals`: what the caller may decide now, oldest deadline first, keyset-paginated. */
  async inbox(caller: Principal, q: { limit: number; cursor?: string }): Promise<{ items: ActionRow[]; nextCursor: string | null }> {
    const after = q.cursor ? decodeCursor(q.cursor) : undefined;
    const rows = await this.deps.actions.decidableBy(caller, { after: after && { deadline: after.createdAt, id: after.id }, limit: q.limit });
    const items = rows.slice(0, q.limit);
    const last = items[items.length - 1];
    const nextCursor = rows.length > q.limit && last?.deadline ? Buffer.from(JSON.stringify([last.deadline.toISOString(), last.id])).toString('base64url') : null;
    return { items, nextCursor };
  }

  /**
   * A reviewer's decision, delivered as a Temporal Update. The API pre-checks in the contract's
   * order for precise errors; the workflow's validator re-checks atomically.
   */
  async decide(caller: Principal, id: string, body: DecisionBody, updateId: string | undefined, origin: HumanOrigin = TOKEN_OVER_API): Promise<ActionRow> {
    const row = await this.find(id);
    if (!row) throw new CountersignError('not-found', `no action ${id}`);
    // A retried request (same Idempotency-Key) whose vote is already in: answer as the first time.
    const requestId = updateId ? `decide:${caller.id}:${updateId}` : undefined;
    const requestHash = requestId ? createHash('sha256').update(canonicalJson(body)).digest('hex') : undefined;
    const earlier = requestId ? row.approval?.approvals.find((v) => v.reviewer === caller.id && v.requestId === requestId) : undefined;
    if (earlier) {
      sameDecisionRequest(earlier, body, requestHash as string, updateId as string);
      return row;
    }
    const refused = decisionProblem(caller, row, body.decision);
    if (refused) throw refused;
    // Operator controls: while a pause covers the action it stays pending (its deadline runs on),
    // but nobody may decide it.
    const pause = await this.deps.pauses?.matching({ agent: row.agent, action: row.action });
    if (pause) throw new CountersignError('paused', `${row.action} by ${row.agent} is paused (${pause.id} by ${pause.by}: ${pause.reason}); decide once the pause is lifted`);
    if (body.expectedDigest !== undefined) {
      const current = currentDigest(row);
      if (current !== undefined && current !== body.expectedDigest) {
        throw new CountersignError('stale-view', `the params changed since they were shown: expectedDigest is ${body.expectedDigest}, the action's params are now ${current}; read the action again`);
      }
    }
    if (body.params !== undefined) {
      if (body.decision !== 'approve') {
        throw new CountersignError('validation', 'params (edits) go only with decision "approve"', [{ path: '/params', message: 'only allowed when approving' }]);
      }
      body = { ...body, params: await this.checkEdit(row, body.params) };
    }
    const handle = this.deps.temporal.workflow.getHandle(row.workflow_id);
    // Every Update has an id the signature binds: the request's key, else a new one.
    const id_ = requestId ?? `decide:${caller.id}:${randomUUID()}`;
    const input = this.deps.messages.sign(row.workflow_id, { update: 'decide', id: id_ }, {
      reviewer: caller.id,
      reviewerGroups: caller.groups,
      decision: body.decision,
      reason: body.reason ?? null,
      params: body.params,
      ...(body.expectedDigest !== undefined ? { expectedDigest: body.expectedDigest } : {}),
      identity: origin.identity,
      via: origin.via,
      ...(requestId ? { requestId, requestHash } : {}),
    });
    let answer: ActionProjection;
    try {
      answer = await updateWhenReady(this.deps.temporal, () => handle.executeUpdate(decideUpdate, { args: [input], updateId: id_ }));
    } catch (err) {
      throw refusal(err) ?? err;
    }
    // Temporal answers an Update id it has seen with the first request's result: a concurrent
    // request with the same key and another body lands here, and must not hear that it counted.
    const applied = requestId ? answer.approval?.approvals.find((v) => v.requestId === requestId) : undefined;
    if (applied) sameDecisionRequest(applied, body, requestHash as string, updateId as string);
    this.deps.onDecided?.(row.id, caller.id);
    return (await this.find(id)) as ActionRow;
  }

  /**
   * An edit must fit the schema and must not be something policy would deny. Returns the edited
   * params with every masked sensitive value the reviewer left as `"***"` put back (they never
   * saw it, and may replace it without seeing it).
   */
  private async checkEdit(row: ActionRow, edited: Record<string, unknown>): Promise<Record<string, unknown>> {
    const version = row.policy?.version;
    const bundle = version ? await this.deps.policies.byVersion(version) : (await this.deps.policies.active()).bundle;
    // The same patterns the reviewer's view was masked by.
    const unmasked = unmaskEdit(row.params, edited, await sensitivePatternsOfRow(this.deps.policies, row));
    if (!unmasked.ok) {
      throw new CountersignError(
        'validation',
        'the edited params hold "***" where no hidden value can be kept',
        unmasked.errors.map((e) => ({ path: `/params${e.path}`, message: e.message })),
      );
    }
    const params = unmasked.params;
    const check = validateActionParams(bundle, row.action, params);
    if (!check.ok) {
      throw new CountersignError(
        'invalid-params',
        `edited params do not match the schema of ${row.action}`,
        check.errors.map((e) => ({ path: `/params${e.path}`, message: e.message })),
      );
    }
    const recorded = await this.deps.actions.proposalInputs(row.id);
    // Budgets read usage figures: the same ones the workflow's check will gather (without the lock).
    const calls = bundle.actions.get(row.action)?.usage ?? [];
    const usage = calls.length > 0 && this.deps.pool ? await readUsage(this.deps.pool, calls, { agent: row.agent, action: row.action, actionId: row.id }) : undefined;
    const decision = evaluatePolicy(bundle, {
      ...(usage ? { usage } : {}),
      action: row.action,
      params,
      resource: row.resource ?? undefined,
      context: recorded?.context ?? {},
      agent: row.agent,
      onBehalfOf: row.on_behalf_of,
      facts: await this.deps.principals.facts(row.agent, row.on_behalf_of),
    });
    if (decision.decision === 'deny') {
      throw new CountersignError('edit-denied', `policy would deny the edited action: ${decision.reasons.join('; ')}`, [
        { path: '/params', message: `denied by ${decision.ruleIds.join(', ') || 'the default decision'}` },
      ]);
    }
    return params;
  }

  /** Cancel before execution: the proposing agent or an operator. */
  async cancel(caller: Principal, id: string, reason: string | undefined, origin: HumanOrigin = TOKEN_OVER_API): Promise<ActionRow> {
    const row = await this.getVisible(caller, id);
    const asOperator = holdsRole(caller, 'operator');
    if (row.agent !== caller.id && !asOperator) {
      throw new CountersignError('forbidden', 'only the proposing agent or an operator may cancel an action');
    }
    if (TERMINAL_STATUSES.includes(row.status) || row.status === 'executing') {
      throw new CountersignError('not-cancellable', `action is ${row.status} and can no longer be cancelled`);
    }
    try {
      const handle = this.deps.temporal.workflow.getHandle(row.workflow_id);
      const role: CancelInput['role'] = row.agent === caller.id ? 'agent' : 'operator';
      const updateId = `cancel:${caller.id}:${randomUUID()}`;
      const input = this.deps.messages.sign(row.workflow_id, { update: 'cancel', id: updateId }, {
        by: caller.id,
        role,
        reason: reason ?? null,
        ...(role === 'operator' ? { identity: origin.identity, via: origin.via } : {}),
      });
      await updateWhenReady(this.deps.temporal, () => handle.executeUpdate(cancelUpdate, { args: [input], updateId }));
    } catch (err) {
      const mapped = refusal(err);
      throw mapped && mapped.code !== 'action-stopped' ? new CountersignError('not-cancellable', mapped.message) : (mapped ?? err);
    }
    return (await this.find(id)) as ActionRow;
  }

  /** Executor `agent`: the proposing agent reports the outcome. */
  async reportResult(caller: Principal, id: string, body: { ok: boolean; output?: unknown; error?: string }): Promise<ActionRow> {
    const row = await this.getVisible(caller, id);
    if (row.agent !== caller.id) throw new CountersignError('forbidden', 'only the proposing agent reports the result of its action');
    if (row.status !== 'approved') throw new CountersignError('not-awaiting-result', `action is ${row.status}, not waiting for the agent's result`);
    try {
      const handle = this.deps.temporal.workflow.getHandle(row.workflow_id);
      const updateId = `result:${caller.id}:${randomUUID()}`;
      const input = this.deps.messages.sign(row.workflow_id, { update: 'reportResult', id: updateId }, { by: caller.id, ok: body.ok, output: body.output, error: body.error ?? null });
      await updateWhenReady(this.deps.temporal, () => handle.executeUpdate(reportResultUpdate, { args: [input], updateId }));
    } catch (err) {
      const mapped = refusal(err);
      throw mapped && mapped.code !== 'action-stopped' ? new CountersignError('not-awaiting-result', mapped.message) : (mapped ?? err);
    }
    return (await this.find(id)) as ActionRow;
  }

  /**
   * The delegation tree (via `parentActionId`) that contains action `id`, as far as the caller
   * may read it: 404 unless it may read `id` itself.
   */
  async lineage(caller: Principal, id: string): Promise<{ root: LineageNode; actionId: string }> {
    const row = await this.getVisible(caller, id);
    const { rootId, rows } = await this.deps.actions.lineage(row.id);
    return lineageTree(rows, rootId, row.id, (r) => mayReadAction(caller, accessSubjectOf(r)));
  }

  /** The public ActionView of a row. */
  async toView(row: ActionRow): Promise<ActionView> {
    const view = toActionView(row, this.deps, await sensitivePatternsOfRow(this.deps.policies, row));
    // An approved action a pause covers does not execute until the pause is lifted (docs/controls.md).
    if (row.status === 'approved' && this.deps.pauses && (await this.deps.pauses.matching({ agent: row.agent, action: row.action }))) view.paused = true;
    return view;
  }

  /** The public ActionViews of rows (sensitive params masked), in order. */
  toViews(rows: ActionRow[]): Promise<ActionView[]> {
    return Promise.all(rows.map((row) => this.toView(row)));
  }

  /** The links of an action's view (no params: nothing to mask). */
  linksOf(row: ActionRow): ActionView['links'] {
    return toActionView(row, this.deps, ALL_PARAMS).links;
  }
}

/**
 * A decision retried with the same Idempotency-Key must be the same request: else 409, as for
 * proposals. Votes cast before the body's hash was kept are compared by decision and reason.
 */
function sameDecisionRequest(vote: ApprovalVote, body: DecisionBody, requestHash: string, key: string): void {
  const same = vote.requestHash !== undefined ? vote.requestHash === requestHash : vote.decision === body.decision && vote.reason === (body.reason ?? null);
  if (!same) {
    throw new CountersignError('idempotency-conflict', `idempotency key ${key} was used for a different decision on this action`);
  }
}

function encodeCursor(row: ActionRow): string {
  return Buffer.from(JSON.stringify([row.created_at.toISOString(), row.id])).toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: string; id: string } {
  try {
    const [createdAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string];
    // Only what encodeCursor writes: an ISO instant that Postgres reads as the same instant
    // (JavaScript also parses "2024-02-30" or "Tue 1" as dates; Postgres refuses them) and an id.
    if (typeof createdAt !== 'string' || !ISO_INSTANT.test(createdAt) || new Date(createdAt).toISOString() !== createdAt) throw new Error('time');
    if (typeof id !== 'string' || !ACTION_ID.test(id)) throw new Error('id');
    return { createdAt, id };
  } catch {
    throw new CountersignError('validation', 'cursor is not one this API returned', [{ path: 'cursor', message: 'invalid cursor' }]);
  }
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * The digest of an action's params as approvals now bind them: the one the workflow shows
 * (`approval.digest`), else, for an action started before it was shown, the plain digest its
 * approvals recorded. Undefined while there is no approval (nothing to compare).
 */
export function currentDigest(row: Pick<ActionRow, 'action' | 'params' | 'resource' | 'policy' | 'approval'>): string | undefined {
  if (!row.approval) return undefined;
  if (row.approval.digest) return row.approval.digest;
  if (!row.policy) return undefined;
  return approvalDigest({ action: row.action, params: row.params, resource: row.resource ?? null, policyVersion: row.policy.version });
}
