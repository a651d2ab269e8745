/**
 * The in-memory form of a loaded bundle: everything evaluation needs is resolved at load
 * time (CEL compiled, JSON Schemas compiled, rules indexed per catalog action, approval
 * plans built), so `evaluatePolicy` does no parsing and no lookups beyond one Map get.
 */
import type { ValidateFunction } from 'ajv';
import type {
  ActionCategory,
  ApprovalPlan,
  ExecutorSpec,
  PolicyOutcome,
} from '../domain/policy-types';
import type { UsageCall } from '../domain/usage';
import type { PolicyBundleDocument } from './bundle-schema';
import type { CelProgram } from './cel-engine';
import type { InputLimits } from './input-limits';

/** A rule ready for evaluation. */
export interface CompiledRule {
  readonly id: string;
  /** Position in the bundle's `rules` list (file order). */
  readonly index: number;
  /** The `action` pattern as written. */
  readonly actionPattern: string;
  /** The `when` expression as written, if any. */
  readonly whenSource: string | undefined;
  /** Compiled `when`; `undefined` means the rule matches every candidate action. */
  readonly when: CelProgram | undefined;
  readonly decision: PolicyOutcome;
  /** The `usage` calls its `when` makes (budgets), found at load. */
  readonly usage: readonly UsageCall[];
  /** The rule's `reason`, or a generated one, reported when the rule matches. */
  readonly reason: string;
  /** Approval plan of a `require_approval` rule, resolved per action only when it has none. */
  readonly plan: ApprovalPlan | undefined;
}

/** A catalog action ready for evaluation. */
export interface CompiledAction {
  readonly name: string;
  readonly owner: string;
  readonly category: ActionCategory;
  readonly executor: ExecutorSpec;
  /** The `http` executor's `secret` reference (`env:NAME`), when the bundle gives the target its own. */
  readonly executorSecret?: string;
  /** The params JSON Schema as written. */
  readonly paramsSchema: Record<string, unknown>;
  /** ajv validator of the params schema. */
  readonly validateParams: ValidateFunction;
  /** JSON-pointer-ish paths of properties marked `x-sensitive: true`. */
  readonly sensitivePaths: readonly string[];
  /** Rules that can match this action (exact name or glob), in file order. */
  readonly rules: readonly CompiledRule[];
  /**
   * The distinct `usage` calls of those rules: the figures the policy activity gathers before
   * it decides this action (none: nothing is gathered).
   */
  readonly usage: readonly UsageCall[];
  /** Plan for `require_approval` without an explicit `approval`: one step, the owner group. */
  readonly defaultPlan: ApprovalPlan;
  /** Bounds on params/context/resource: built-in defaults, then `defaults.limits`, then the action's `limits`. */
  readonly limits: InputLimits;
}

/** A validated, compiled policy bundle. Immutable; share it freely. */
export interface CompiledPolicyBundle {
  /** sha256 (hex) of the canonical JSON of the parsed document. */
  readonly version: string;
  /** File name the bundle was loaded from, when given. */
  readonly filename: string | undefined;
  /** The document after structural validation, with defaults applied. */
  readonly document: PolicyBundleDocument;
  readonly defaults: {
    readonly decision: PolicyOutcome;
    readonly approval: { readonly timeoutMs: number; readonly onTimeout: 'deny' | 'allow' };
    /** Built-in limits with `defaults.limits` applied; each action may override them. */
    readonly limits: InputLimits;
  };
  /** The catalog, by action name. */
  readonly actions: ReadonlyMap<string, CompiledAction>;
  /** All rules in file order. */
  readonly rules: readonly CompiledRule[];
  /**
   * Reviewer notification targets: webhook URLs per reviewer group, and the `secret` reference
   * (`env:NAME`) of each URL that has its own.
   */
  readonly notifications: {
    readonly webhooks: Readonly<Record<string, readonly string[]>>;
    readonly webhookSecrets: Readonly<Record<string, string>>;
    /** Slack channel per group (`notifications.slack.<group>.channel`); absent groups post nothing to Slack. */
    readonly slack?: Readonly<Record<string, { readonly channel: string }>>;
  };
  /** Name of the CEL engine the rules were compiled with. */
  readonly celEngine: string;
}
