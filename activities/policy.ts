import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { REFUSALS } from '../domain/action-types';
import { CountersignError } from '../domain/errors';
import type { PolicyFacts, WorkflowPolicyDecision, WorkflowPolicyInput } from '../domain/policy-types';
import { denialByNoRule, evaluatePolicy as evaluate, sensitivePaths, validateActionParams, type CompiledPolicyBundle } from '../policy';
import { loadFacts, PrincipalRepository } from '../ledger/principal-repository';
import { gatherUsage } from '../ledger/usage-store';
import type { UsageFigures } from '../domain/usage';
import type { ActivityDeps } from './index';

/** Policy checks: the pure policy module over a bundle stored in Postgres. */
export function createPolicyActivities({ policies, pool, trustedRoots, pauses }: Pick<ActivityDeps, 'policies' | 'pool' | 'trustedRoots' | 'pauses'>) {
  const principals = new PrincipalRepository(pool);
  return {
    /**
     * Decide an action under the bundle version the API checked its params against (the
     * active bundle for workflows started before the version was passed). Params are checked
     * against that bundle's schema again: an action whose params do not fit the bundle it is
     * decided under (a stored proposal started again after a bundle switch, a workflow started
     * straight on Temporal) is denied with the reason, and so is an action that left the
     * catalog. Neither is ever retried.
     *
     * The CEL `facts` are read from the principal store now, never taken from the input (a
     * workflow started straight on Temporal could claim any), and returned in the decision, so
     * the evidence shows which stored attributes decided. An action whose `onBehalfOf` human does
     * not (or no longer) delegate to the agent is denied, by no rule.
     */
    async evaluatePolicy(input: WorkflowPolicyInput): Promise<WorkflowPolicyDecision> {
      const { version, trust, ...policyInput } = input;
      // The workflow checked the signatures against the root in its input; whether that root is
      // this installation's, only a process holding the configuration can tell. Never retried.
      if (trust && !trustedRoots?.some((r) => r.kid === trust.kid && r.key === trust.key)) {
        throw ApplicationFailure.create({ type: REFUSALS.unsigned, message: `refused: the workflow trusts root ${String(trust.kid)}, which this worker does not`, nonRetryable: true });
      }
      const bundle = version ? await policies.byVersion(version) : (await policies.active()).bundle;
      if (!bundle.actions.has(input.action)) {
        return refused(bundle, input.action, `action ${input.action} is not in the catalog of policy version ${bundle.version}`);
      }
      const check = validateActionParams(bundle, input.action, input.params);
      if (!check.ok) {
        const fields = check.errors.map((e) => `${e.path} ${e.message}`).join('; ');
        return refused(bundle, input.action, `params do not match the schema of ${input.action} in policy version ${bundle.version}: ${fields}`);
      }
      let facts: PolicyFacts;
      try {
        facts = await loadFacts(principals, input.agent, input.onBehalfOf);
      } catch (err) {
        if (!(err instanceof CountersignError) || err.code !== 'not-delegated') throw err;
        return refused(bundle, input.action, `${err.message}, so it cannot be decided on their behalf`);
      }
      // A pause that covers this proposal denies it, by that control (docs/controls.md).
      const pause = await pauses?.matching({ agent: input.agent, action: input.action });
      if (pause) {
        const reason = `paused by ${pause.by}: ${pause.reason}`;
        return { ...refused(bundle, input.action, reason), control: { pauseId: pause.id, by: pause.by, reason: pause.reason } };
      }
      // Budgets: the figures the rules for this action read, gathered (and this action counted)
      // under the agent's usage lock, and the pure evaluation run while it is held
      // (ledger/usage-store.ts). Every proposal is counted that way when some rule reads
      // usage.agent.count. An edit (params other than the recorded ones) has its summed values
      // recorded before the lock is released, unless policy denies it.
      const calls = bundle.actions.get(input.action)?.usage ?? [];
      const run = (usage?: UsageFigures) => evaluate(bundle, { ...policyInput, facts, ...(usage ? { usage } : {}) });
      const decision =
        calls.length > 0 || readsAgentCount(bundle)
          ? await gatherUsage(pool, calls, { agent: input.agent, action: input.action, actionId: actionIdOfActivity() }, (usage) => run(calls.length > 0 ? usage : undefined), {
              params: input.params,
              accepted: (d) => d.decision !== 'deny',
            })
          : run();
      const groups = decision.plan ? decision.plan.steps.flatMap((s) => [s.group, ...s.escalateTo.map((e) => e.group)]) : [];
      // Groups with anything to notify: webhooks, or a Slack channel (activities/slack.ts).
      const webhookGroups = [...new Set(groups)].filter((g) => (bundle.notifications.webhooks[g]?.length ?? 0) > 0 || bundle.notifications.slack?.[g] !== undefined).sort();
      return { ...decision, webhookGroups, ...(sensitivePaths(bundle, input.action).length > 0 ? { sensitive: true } : {}) };
    },
  };
}

/**
 * Whether a pause holds `subject` now: the workflow asks before an approved action executes, and
 * again when told a pause was lifted (docs/controls.md).
 */
export function createPauseActivities({ pauses }: Pick<ActivityDeps, 'pauses'>) {
  return {
    async pauseHolding(subject: { agent: string; action: string }, fresh = false): Promise<{ pauseId: string; by: string; reason: string } | null> {
      // Fresh: from the table, not this process's copy (the lifting may not have reached it yet).
      const pause = await pauses?.matching(subject, { fresh });
      return pause ? { pauseId: pause.id, by: pause.by, reason: pause.reason } : null;
    },
  };
}

const agentCountReaders = new WeakMap<CompiledPolicyBundle, boolean>();

/** Whether any rule of the bundle reads `usage.agent.count` (then every proposal is counted under the lock). */
function readsAgentCount(bundle: CompiledPolicyBundle): boolean {
  let reads = agentCountReaders.get(bundle);
  if (reads === undefined) {
    reads = [...bundle.actions.values()].some((a) => (a.usage ?? []).some((c) => c.kind === 'agent.count'));
    agentCountReaders.set(bundle, reads);
  }
  return reads;
}

/** The action id of the workflow running this activity (workflow ids are `action-<id>`). */
function actionIdOfActivity(): string {
  const workflowId = Context.current().info.workflowExecution?.workflowId ?? '';
  return workflowId.startsWith('action-') ? workflowId.slice('action-'.length) : workflowId;
}

/** A denial that no rule made: the action cannot be decided under this bundle. */
function refused(bundle: CompiledPolicyBundle, action: string, reason: string): WorkflowPolicyDecision {
  return { ...denialByNoRule(bundle, reason, bundle.actions.get(action)), webhookGroups: [] };
}
