import type { PolicyDecision, PolicyInput } from '../domain/policy-types';
import { evaluatePolicy as evaluate, UnknownActionError } from '../policy';
import type { ActivityDeps } from './index';

/** Policy checks: the pure policy module over the bundle active in Postgres. */
export function createPolicyActivities({ policies }: Pick<ActivityDeps, 'policies'>) {
  return {
    /**
     * Decide an action under the active bundle. An action that left the catalog between the
     * API's check and now is denied (with the reason), never retried forever.
     */
    async evaluatePolicy(input: PolicyInput): Promise<PolicyDecision> {
      const { bundle } = await policies.active();
      try {
        return evaluate(bundle, input);
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
        };
      }
    },
  };
}
