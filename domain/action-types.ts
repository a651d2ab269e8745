/**
 * Plain types of a governed action, shared by the workflow (as types only), the activities
 * and the API. Plain data only (no runtime libraries): the workflow bundle must stay free of zod
 * and friends.
 */
import type { MessageSignature, TrustRoot } from './message-signature';
import type { ApprovalPlan, ExecutorSpec, PolicyOutcome, RuleEvaluationError } from './policy-types';

/** Lifecycle of an action (docs/api.md, "Statuses"). */
export type ActionStatus =
  | 'evaluating'
  | 'awaiting_approval'
  | 'approved'
  | 'executing'
  | 'succeeded'
  | 'failed'
  | 'denied'
  | 'expired'
  | 'cancelled';

/** Statuses after which nothing changes any more. */
export const TERMINAL_STATUSES: readonly ActionStatus[] = ['succeeded', 'failed', 'denied', 'expired', 'cancelled'];

/** Statuses an agent's `?wait=` holds through (the action is being worked on by the system). */
export const TRANSIENT_STATUSES: readonly ActionStatus[] = ['evaluating', 'executing'];

/**
 * Evidence event types (docs/api.md, "Evidence bundles"): the workflow records them, the ledger
 * accepts only them (ledger/chain.ts), and ledger/migrations/002_ledger.sql checks the same list.
 */
export const EVIDENCE_EVENT_TYPES = [
  'proposed',
  'policy_decided',
  'approval_requested',
  'reminded',
  'escalated',
  'decision_recorded',
  'edited',
  'execution_started',
  'executed',
  'execution_failed',
  'cancelled',
  'expired',
  /** An approved action waits for a pause to be lifted before it executes (docs/controls.md). */
  'execution_held',
  /** The pauses that held it are lifted: it executes now. */
  'execution_resumed',
] as const;

/** One of {@link EVIDENCE_EVENT_TYPES}. */
export type EvidenceEventType = (typeof EVIDENCE_EVENT_TYPES)[number];

/**
 * Ledger events about principals (ledger/principal-repository.ts), each on the principal's own
 * chain (`principal:<id>`): created, changed (roles, groups, attributes, delegates, disabled,
 * identities), a token created or revoked, a sign-in link issued. Checked by the same table
 * constraint (ledger/migrations/008_principal_tokens_and_sessions.sql).
 */
export const PRINCIPAL_EVENT_TYPES = ['principal_created', 'principal_updated', 'token_created', 'token_revoked', 'sign_in_link_created'] as const;

/**
 * Ledger events about operator controls (ledger/pause-store.ts): a pause and its lifting, each
 * pause on its own chain (keyed by the pause id, `pau_…`).
 */
export const CONTROL_EVENT_TYPES = ['paused', 'resumed'] as const;

/** One of {@link CONTROL_EVENT_TYPES}. */
export type ControlEventType = (typeof CONTROL_EVENT_TYPES)[number];

/** One of {@link PRINCIPAL_EVENT_TYPES}. */
export type PrincipalEventType = (typeof PRINCIPAL_EVENT_TYPES)[number];

/** Who can cause an event: an agent, a human reviewer or operator, or Countersign itself. */
export const ACTOR_KINDS = ['agent', 'human', 'system'] as const;

/** Who did something recorded in the evidence. */
export interface Actor {
  id: string;
  kind: (typeof ACTOR_KINDS)[number];
}

/** Where the proposal came from: the model output that led to it. */
export interface ModelProvenance {
  provider?: string;
  name?: string;
  output?: string;
  promptDigest?: string;
  traceId?: string;
}

/** Everything the workflow needs to govern one action; built and validated by the API. */
export interface GovernedActionInput {
  actionId: string;
  action: string;
  params: Record<string, unknown>;
  resource: unknown;
  context: Record<string, unknown> | null;
  agent: string;
  onBehalfOf: string | null;
  parentActionId: string | null;
  justification: string | null;
  model: ModelProvenance | null;
  idempotencyKey: string | null;
  /**
   * The policy version the API checked the params against: the workflow decides under this
   * version, so activating another bundle mid-flight cannot decide it under a schema it was
   * never checked against. Absent in workflows started before it was passed (they use the
   * active bundle).
   */
  policyVersion?: string | null;
  /**
   * The root key this workflow trusts: it certifies the keys that sign this start and every
   * Update (domain/message-signature.ts). Absent in workflows started before messages were
   * signed (they accept what they always accepted).
   */
  trust?: TrustRoot;
  /** The API's signature over this input (without this field). */
  signature?: MessageSignature;
}

/** How the human behind a decision or cancel was identified (recorded in the evidence). */
export interface Identity {
  method: 'oidc' | 'sign-in-link' | 'token' | 'slack';
  issuer?: string;
  subject?: string;
}

/** Where a human's decision came from. */
export type Via = 'api' | 'console' | 'slack';

/** The policy part of an ActionView. */
export interface PolicyView {
  decision: PolicyOutcome;
  ruleIds: string[];
  reasons: string[];
  version: string;
  errors?: RuleEvaluationError[];
}

/** One reviewer's vote. */
export interface ApprovalVote {
  reviewer: string;
  decision: 'approve' | 'deny';
  reason: string | null;
  at: string;
  step: number;
  /** Idempotency key of the request that cast the vote, if any. */
  requestId?: string;
  /**
   * sha256 of the request body that cast the vote (with {@link requestId}): a retry with the
   * same key and another body is refused. Kept out of the ledger and of ActionViews.
   */
  requestHash?: string;
  /**
   * Approvals: digest of (action, params, resource, policy version) this vote approved:
   * `sha256:<hex>`, or `hmac-sha256:<hex>` for an action with sensitive params.
   */
  digest?: string;
  /**
   * Which requirements of its step this approval counts toward (indexes into the step's
   * requirements: the step itself, then its `also`). Absent before edits re-planned (then it
   * counted toward the step).
   */
  counts?: number[];
  /** How the reviewer was identified, and where the decision came from. */
  identity?: Identity;
  via?: Via;
  /** Param changes made with this approval: JSON pointer -> { from, to }. */
  edits?: Record<string, { from: unknown; to: unknown }>;
}

/** An escalation that happened: `group` joined the eligible reviewers at `at`. */
export interface EscalationView {
  group: string;
  at: string;
  step: number;
}

/** The approval part of an ActionView. */
export interface ApprovalView {
  /** 1-based index of the current step. */
  step: number;
  steps: number;
  group: string;
  quorum: number;
  approvals: ApprovalVote[];
  deadline: string | null;
  escalations: EscalationView[];
  eligibleGroups: string[];
  plan: ApprovalPlan;
  /** The current step's other requirements (group and quorum each), after an edit merged two plans. */
  also?: { group: string; quorum: number }[];
  /**
   * Digest of the params as they stand (what an approval now approves; decisions may send it
   * back as `expectedDigest`). Absent in actions recorded before it was shown.
   */
  digest?: string;
}

/** Why an action ended without executing (denied, expired, cancelled). */
export interface OutcomeView {
  /** `control`: a pause matched the proposal (docs/controls.md); `actor` is the operator who paused. */
  by: 'policy' | 'reviewer' | 'timeout' | 'agent' | 'operator' | 'control';
  actor: string | null;
  reason: string | null;
}

/**
 * The mutable part of an action that the workflow owns and writes, with every ledger event,
 * to the `actions` read model.
 */
export interface ActionProjection {
  status: ActionStatus;
  params: Record<string, unknown>;
  policy: PolicyView | null;
  approval: ApprovalView | null;
  outcome: OutcomeView | null;
  result: unknown;
  error: string | null;
  executor: ExecutorSpec | null;
  /** Inbox index: who may decide now. */
  eligibleGroups: string[];
  voters: string[];
  deadline: string | null;
  /** True while an approved action is held by a pause before it executes (docs/controls.md). */
  paused?: boolean;
}

/** A reviewer's decision as delivered to the workflow (after API validation). */
export interface DecisionInput {
  reviewer: string;
  reviewerGroups: string[];
  decision: 'approve' | 'deny';
  reason: string | null;
  /** Approve with edits: the full edited params, already schema-validated and policy-checked. */
  params?: Record<string, unknown>;
  /** The caller's idempotency key (also the Temporal update id): a retry is answered, not re-applied. */
  requestId?: string;
  /** sha256 of the request body, so a key reused with another body is told apart from a retry. */
  requestHash?: string;
  /** The digest of the params the reviewer saw: refused (`stale-view`) unless it is the current one. */
  expectedDigest?: string;
  identity?: Identity;
  via?: Via;
  /** The API's signature over this input (without this field), bound to the Update's id. */
  signature?: MessageSignature;
}

/** A cancellation request. */
export interface CancelInput {
  by: string;
  role: 'agent' | 'operator';
  reason: string | null;
  identity?: Identity;
  via?: Via;
  signature?: MessageSignature;
}

/** An agent executor's report. */
export interface ResultInput {
  by: string;
  ok: boolean;
  output?: unknown;
  error?: string | null;
  signature?: MessageSignature;
}

/** Problem types the workflow refuses messages with (ApplicationFailure.type). */
export const REFUSALS = {
  notPending: 'not-pending',
  notEligible: 'not-eligible',
  selfApproval: 'self-approval',
  alreadyVoted: 'already-voted',
  notCancellable: 'not-cancellable',
  notAwaitingResult: 'not-awaiting-result',
  /** The workflow is behind the read model (re-running a task after a worker crash): retry shortly. */
  notReady: 'not-ready',
  /** The decision names params (`expectedDigest`) that are no longer the action's. */
  staleView: 'stale-view',
  /** An edit that policy denies for the edited params. */
  editDenied: 'edit-denied',
  /**
   * A message (start or Update) without a valid signature from the API: sent straight to
   * Temporal, replayed from another action, or too old. Never an answer the API gives.
   */
  unsigned: 'unsigned-message',
} as const;

/** Failure types the ledger writer ends with: kept here for existing imports (domain/failure-types.ts). */
export { WRITE_FAILURES } from './failure-types';

/** prevHash of the first event of every ledger chain: 64 zeros (see ledger/chain.ts). */
export const LEDGER_GENESIS_HASH = '0'.repeat(64);

/**
 * Longest an inline executor call (the first call, as a local activity, to a target known to
 * answer within a second) may take. It holds its workflow task open meanwhile, so it stays well
 * under the SDK's 5 s warning for a long workflow task and its 8 s task heartbeat (80% of the
 * 10 s workflow task timeout). A call cut off here is retried as a regular activity (at least
 * once, idempotent by the key, like any executor timeout).
 */
export const INLINE_EXECUTOR_BUDGET_MS = 3_000;

/** An event the workflow asks the recorder to append, with the projection after it. */
export interface RecordEventInput {
  actionId: string;
  /** Action name (for the catalog's sensitive-field list). */
  action: string;
  seq: number;
  type: EvidenceEventType;
  actor: Actor;
  at: string;
  data: Record<string, unknown>;
  view: ActionProjection;
  /** Temporal ids, for the read model. */
  workflowId: string;
  runId: string;
}
