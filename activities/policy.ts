import type { PolicyInput, WorkflowPolicyDecision } from '../domain/policy-types';
import { evaluatePolicy as evaluate, UnknownActionError } from '../policy';
import type { ActivityDeps } from './index';

/** Policy checks: the pure policy module over the bundle active in Postgres. */
export function createPolicyActivities({ policies }: Pick<ActivityDeps, 'policies'>) {
  return {
    /**
     * Decide an action under the active bundle. An action that left the catalog between the
     * API's check and now is denied (with the reason), never retried forever.
     */
    async evaluatePolicy(input: PolicyInput): Promise<WorkflowPolicyDecision> {
      const { bundle } = await policies.active();
      try {
        const decision = evaluate(bundle, input);
        const groups = decision.plan ? decision.plan.steps.flatMap((s) => [s.group, ...s.escalateTo.map((e) => e.group)]) : [];
        const webhookGroups = [...new Set(groups)].filter((g) => (bundle.notifications.webhooks[g]?.length ?? 0) > 0).sort();
        return { ...decision, webhookGroups };
      } catch (err) {
        if (!(err instanceof UnknownActionError)) throw err;
        return {
          decision: 'deny',
          ruleIds: [],
          reasons: [`action ${input.action} is not in the catalog of policy version ${bundle.version}`],
          decidedBy: [],
          reason: `action ${input.action} is not in the catalog of policy version ${bundle.version}`,
          version: bundle.version,
          executor: { type: 'agent' },
          category: 'production_change',
          owner: 'unknown',
          errors: [],
          webhookGroups: [],
        };
      }
    },
  };
}
