/**
 * The policy step: the proposal goes into the ledger, policy decides, and the answer lands on
 * the projection.
 */
import type { WorkflowPolicyDecision, WorkflowPolicyInput, PolicyDecision } from '../domain/policy-types';
import type { ActionState } from './action-state';
import { local } from './local-activities';

/**
 * Record the proposal and ask policy (a local activity). Not `async`: it hands back the
 * activity's own promise, so the caller's `await` resumes exactly when that resolves.
 */
export function evaluatePolicy(run: ActionState): Promise<WorkflowPolicyDecision> {
  const { input } = run;
  run.record('proposed', { id: input.agent, kind: 'agent' }, {
    action: input.action,
    params: input.params,
    resource: input.resource ?? null,
    context: input.context,
    onBehalfOf: input.onBehalfOf,
    parentActionId: input.parentActionId,
    justification: input.justification,
    model: input.model,
    idempotencyKey: input.idempotencyKey,
  });
  return local.evaluatePolicy(policyInput(run));
}

/** What policy decides this action from (the params as proposed; an edit passes its own). */
export function policyInput(run: ActionState): WorkflowPolicyInput {
  const { input } = run;
  return {
    action: input.action,
    params: input.params,
    resource: input.resource,
    context: input.context ?? {},
    agent: input.agent,
    onBehalfOf: input.onBehalfOf,
    version: input.policyVersion ?? null,
    ...(input.trust ? { trust: input.trust } : {}),
  };
}

/** Put the decision on the state and the projection (nothing recorded yet). */
export function applyDecision(run: ActionState, decision: WorkflowPolicyDecision): void {
  const { view } = run;
  run.decision = decision;
  view.policy = { decision: decision.decision, ruleIds: decision.ruleIds, reasons: decision.reasons, version: decision.version };
  if (decision.errors.length > 0) view.policy.errors = decision.errors;
  view.executor = decision.executor;
  run.plan = decision.plan;
}

/** Record `policy_decided`. */
export function recordDecision(run: ActionState): void {
  run.record('policy_decided', { id: 'policy', kind: 'system' }, decisionData(run.decision));
}

/** What `policy_decided` records. */
function decisionData(d: PolicyDecision): Record<string, unknown> {
  return {
    decision: d.decision,
    ruleIds: d.ruleIds,
    reasons: d.reasons,
    decidedBy: d.decidedBy,
    reason: d.reason,
    version: d.version,
    plan: d.plan ?? null,
    errors: d.errors,
    category: d.category,
    owner: d.owner,
    // The stored principal attributes policy read (facts), so the evidence shows what decided.
    ...(d.facts ? { facts: d.facts } : {}),
    // The usage figures budgets read (operator controls), and the pause that denied it, if any.
    ...(d.usage ? { usage: d.usage } : {}),
    ...((d as WorkflowPolicyDecision).control ? { control: (d as WorkflowPolicyDecision).control } : {}),
  };
}
