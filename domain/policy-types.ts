/**
 * Plain data types shared by the policy module, the workflow and the API.
 * No runtime code: the workflow bundle imports these as types only.
 */
import type { UsageFigures } from './usage';
import type { TrustRoot } from './message-signature';

/** What policy says about an action. */
export type PolicyOutcome = 'allow' | 'deny' | 'require_approval';

/** Risk categories of the action catalog. */
export type ActionCategory =
  | 'financial'
  | 'external_communication'
  | 'account_change'
  | 'data_access'
  | 'production_change';

/**
 * What Countersign itself knows about a principal, for policy (CEL `facts.<who>`): set by admins
 * on the principal, never by the agent that proposes (docs/policy.md, "facts").
 */
export interface PrincipalFacts {
  /** The principal's `attributes` (a JSON object; `{}` when none are set). */
  attributes: Record<string, unknown>;
}

/** The CEL variable `facts`: trusted facts about the agent and the human it acts for. */
export interface PolicyFacts {
  agent: PrincipalFacts;
  /** The `onBehalfOf` human's facts; null when the action names none. */
  onBehalfOf: PrincipalFacts | null;
}

/** The input a policy decision is made over (the CEL variables). */
export interface PolicyInput {
  action: string;
  params: Record<string, unknown>;
  resource?: unknown;
  context?: Record<string, unknown>;
  /** Principal id of the proposing agent. */
  agent: string;
  /** Human principal the agent acts for, if any. */
  onBehalfOf?: string | null;
  /**
   * Facts from the principal store (ledger/principal-repository.ts `loadFacts`). Absent: the agent has no
   * attributes and `facts.onBehalfOf` is `{ attributes: {} }` when `onBehalfOf` is set, else null.
   */
  facts?: PolicyFacts;
  /**
   * Usage figures for the bundle's `usage` calls (domain/usage.ts), gathered before evaluation.
   * A call without its figure fails (closed) when evaluated.
   */
  usage?: UsageFigures;
}

/**
 * What the workflow asks the policy activity: the action, and the version to decide under.
 * Never facts: the activity reads them from the principal store itself, so a workflow input
 * (which anyone who can reach Temporal could write) cannot claim them.
 */
export interface WorkflowPolicyInput extends Omit<PolicyInput, 'facts' | 'usage'> {
  /** The bundle version the params were checked against; the active one when absent. */
  version?: string | null;
  /**
   * The root key the workflow trusts (its start input's): the activity refuses to decide
   * unless the worker trusts it too, so a start sent straight to Temporal with a root of its
   * own ends here, before anything is recorded. Absent in workflows started before messages
   * were signed.
   */
  trust?: TrustRoot;
}

/** An escalation target: the group joins the eligible reviewers for `timeoutMs`. */
export interface EscalationPlan {
  group: string;
  timeoutMs: number;
}

/** One approval step: `quorum` distinct reviewers of `group` must approve within `timeoutMs`. */
export interface ApprovalStepPlan {
  group: string;
  quorum: number;
  timeoutMs: number;
  /** Remind the eligible reviewers this often while the step waits. */
  remindEveryMs?: number;
  /** Tried in order when the previous clock runs out without quorum. */
  escalateTo: EscalationPlan[];
  /**
   * More requirements of the same step, each met on its own (its group, quorum, escalations):
   * a step merged from two plans when an edit re-planned the action. Absent in policy plans.
   */
  also?: ApprovalStepPlan[];
}

/** The approval plan a `require_approval` decision gives the workflow. */
export interface ApprovalPlan {
  steps: ApprovalStepPlan[];
  /** `deny` ends the action `expired`; `allow` only when written explicitly. */
  onTimeout: 'deny' | 'allow';
}

/**
 * How an approved/allowed action is carried out. `agent`: the proposing agent reports the
 * result within `resultTimeoutMs` of approval (absent in decisions made before the deadline
 * existed; the workflow then applies {@link DEFAULT_AGENT_RESULT_TIMEOUT_MS}).
 */
export type ExecutorSpec = { type: 'http'; url: string } | { type: 'agent'; resultTimeoutMs?: number };

/** `executor: { type: agent }` without `resultTimeout`: the agent has 24 hours to report. */
export const DEFAULT_AGENT_RESULT_TIMEOUT_MS = 24 * 3_600_000;

/** A CEL runtime error in one rule, reported in the decision (and failed closed). */
export interface RuleEvaluationError {
  ruleId: string;
  message: string;
}

/** A proposal's params, context or resource exceeded one of the bundle's input limits. */
export interface PolicyLimitBreach {
  /** JSON pointer of the offending value from the input's root: `/params/columns`, `/context/...`, `/resource/...`. */
  path: string;
  /** The limit, as named in the bundle's `limits` (`listItems`, `paramsBytes`, …). */
  limit: string;
  /** e.g. `has 40000 items; at most 128 (limits.listItems)`. */
  message: string;
}

/** The result of evaluating one action against a bundle. */
export interface PolicyDecision {
  decision: PolicyOutcome;
  /** Every matching rule id, in bundle order. */
  ruleIds: string[];
  /** Reasons of the matching rules (and of the default, when no rule matched). */
  reasons: string[];
  /** The rules that made the outcome: every matching deny, the first require_approval, or every allow; [] for the default. */
  decidedBy: string[];
  /** Why, in one line: the reasons of `decidedBy` (or the default's). */
  reason: string;
  /** sha256 (hex) of the bundle's canonical form. */
  version: string;
  /** Present when decision is `require_approval`. */
  plan?: ApprovalPlan;
  /** Executor from the action's catalog entry. */
  executor: ExecutorSpec;
  category: ActionCategory;
  owner: string;
  errors: RuleEvaluationError[];
  /**
   * The facts the decision was made with (what `facts` held in CEL), so the evidence shows which
   * stored attributes decided it. Absent in decisions made before facts existed.
   */
  facts?: PolicyFacts;
  /**
   * Present when the input exceeded a limit: the action is denied without running any rule
   * (`ruleIds` and `decidedBy` are empty, `reason` names the limit and the path).
   */
  limitBreach?: PolicyLimitBreach;
  /** The usage figures the rules read (domain/usage.ts), so the evidence shows what a budget saw. */
  usage?: UsageFigures;
}

/** What the workflow's policy check returns: the decision plus what the workflow needs from the bundle. */
export interface WorkflowPolicyDecision extends PolicyDecision {
  /**
   * The plan's groups (steps and escalations) that have webhooks in this bundle, so the
   * workflow asks for targets only when there is someone to tell. Absent in histories
   * recorded before it existed: then every notification asks the bundle.
   */
  webhookGroups?: string[];
  /**
   * Whether the action's params schema marks any field `x-sensitive`: its approval digest is
   * then keyed (`hmac-sha256:`) and computed by an activity, so the key never enters a history.
   */
  sensitive?: boolean;
  /**
   * Set when a pause (docs/controls.md) matched the proposal: the decision is a denial by that
   * control, not by a rule, and the action's outcome says so (`by: "control"`).
   */
  control?: { pauseId: string; by: string; reason: string };
}
