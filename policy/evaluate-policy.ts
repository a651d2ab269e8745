/**
 * Policy evaluation: the decision for one proposed action. Pure and synchronous; the hot
 * path is one Map lookup, one walk of the input against the action's limits, and one CEL
 * call per rule that can match the action.
 */
import type { PolicyDecision, PolicyFacts, PolicyInput, PolicyOutcome, RuleEvaluationError } from '../domain/policy-types';
import { type PolicyActivation, celErrorMessage } from './cel-engine';
import type { CompiledAction, CompiledPolicyBundle, CompiledRule } from './compiled-bundle';
import { UnknownActionError } from './errors';
import { type InputLimitBreach, checkInputLimits, checkValueLimits } from './input-limits';
import { type ParamsError, toParamsErrors } from './params-schema';
import { NO_USAGE, UsageView } from './usage';

const EMPTY_CONTEXT: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;

/**
 * The facts of an input that brings none: no attributes for the agent, and none for the human
 * when one is named. Callers that decide for real pass the stored ones (ledger/principal-repository.ts
 * `loadFacts`); this keeps unit tests and fixtures short.
 */
export function factsOf(input: Pick<PolicyInput, 'facts' | 'onBehalfOf'>): PolicyFacts {
  if (input.facts !== undefined) return input.facts;
  return { agent: { attributes: {} }, onBehalfOf: input.onBehalfOf ? { attributes: {} } : null };
}

/**
 * Decide about one action.
 *
 * Precedence (docs/policy.md): any matching `deny` wins; else the first matching
 * `require_approval` in file order gives the approval plan; else any matching `allow`;
 * else `defaults.decision`. `ruleIds` and `reasons` list every matching rule in file order.
 *
 * A CEL runtime error (missing field, wrong type) or a non-boolean `when` result fails
 * closed: the rule counts as matching when it would deny or require approval, as not
 * matching when it would allow; either way it is reported in `errors`.
 *
 * `input.facts` are the trusted facts (CEL `facts`); the decision records them in `facts`, so
 * the evidence shows what they were. Without them the agent has no attributes (see {@link factsOf}).
 *
 * Input over the action's limits (see input-limits.ts) fails closed before any rule runs:
 * `deny`, no rule ids, a reason naming the limit and the path, and the breach in
 * `limitBreach`. It is a decision, not an exception, so the workflow's policy activity never
 * retries it and every caller (API edit check, dry run, backtest) is covered.
 *
 * Params are not schema-validated here; call {@link validateActionParams} first.
 *
 * @throws UnknownActionError when `input.action` is not in the bundle's catalog.
 */
export function evaluatePolicy(bundle: CompiledPolicyBundle, input: PolicyInput): PolicyDecision {
  const action = bundle.actions.get(input.action);
  if (action === undefined) throw new UnknownActionError(input.action);
  const facts = factsOf(input);
  const breach = checkInputLimits({ params: input.params, context: input.context, resource: input.resource, facts }, action.limits);
  if (breach !== undefined) return { ...limitDenial(bundle, action, breach), facts };

  const activation: PolicyActivation = {
    action: input.action,
    params: input.params,
    resource: input.resource ?? null,
    context: input.context ?? EMPTY_CONTEXT,
    agent: input.agent,
    onBehalfOf: input.onBehalfOf ?? null,
    facts,
    usage: input.usage ? new UsageView(input.usage) : NO_USAGE,
  };

  const ruleIds: string[] = [];
  const reasons: string[] = [];
  let errors: RuleEvaluationError[] | undefined;
  let denied = false;
  let allowed = false;
  let firstApproval: CompiledRule | undefined;
  // The rules that made the outcome (all denies, the first approval, or all allows), with their reasons.
  const decisive: Record<PolicyOutcome, { ids: string[]; reasons: string[] }> = {
    deny: { ids: [], reasons: [] },
    require_approval: { ids: [], reasons: [] },
    allow: { ids: [], reasons: [] },
  };

  const rules = action.rules;
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i]!;
    let matched = true;
    if (rule.when !== undefined) {
      let failure: string | undefined;
      try {
        const result = rule.when.evaluate(activation);
        if (result === true) matched = true;
        else if (result === false) matched = false;
        else failure = `"when" evaluated to ${describeResult(result)}, not a boolean`;
      } catch (err) {
        failure = celErrorMessage(err);
      }
      if (failure !== undefined) {
        (errors ??= []).push({ ruleId: rule.id, message: failure });
        // Fail closed: an error may widen deny/approval, never an allow.
        matched = rule.decision !== 'allow';
        if (matched) {
          ruleIds.push(rule.id);
          reasons.push(`${rule.reason} (rule failed to evaluate: ${failure}; treated as matching)`);
          decisive[rule.decision].ids.push(rule.id);
          decisive[rule.decision].reasons.push(reasons[reasons.length - 1]);
          if (rule.decision === 'deny') denied = true;
          else if (firstApproval === undefined) firstApproval = rule;
        }
        continue;
      }
    }
    if (!matched) continue;
    ruleIds.push(rule.id);
    reasons.push(rule.reason);
    decisive[rule.decision].ids.push(rule.id);
    decisive[rule.decision].reasons.push(rule.reason);
    if (rule.decision === 'deny') denied = true;
    else if (rule.decision === 'require_approval') firstApproval ??= rule;
    else allowed = true;
  }

  const decision: PolicyOutcome = denied
    ? 'deny'
    : firstApproval !== undefined
      ? 'require_approval'
      : allowed
        ? 'allow'
        : bundle.defaults.decision;
  if (!denied && firstApproval === undefined && !allowed) reasons.push(`no rule matched; default ${decision}`);
  const byRule = !denied && firstApproval === undefined && !allowed ? undefined : decisive[decision];
  const result: PolicyDecision = {
    decision,
    ruleIds,
    reasons,
    decidedBy: byRule ? (decision === 'require_approval' ? byRule.ids.slice(0, 1) : byRule.ids) : [],
    reason: byRule ? (decision === 'require_approval' ? byRule.reasons.slice(0, 1) : byRule.reasons).join('; ') : reasons[reasons.length - 1],
    version: bundle.version,
    executor: action.executor,
    category: action.category,
    owner: action.owner,
    errors: errors ?? [],
    facts,
    ...(input.usage && action.usage.length > 0 ? { usage: input.usage } : {}),
  };
  if (decision === 'require_approval') result.plan = firstApproval?.plan ?? action.defaultPlan;
  return result;
}

/** The decision for input over a limit: deny, by no rule. */
function limitDenial(bundle: CompiledPolicyBundle, action: CompiledAction, breach: InputLimitBreach): PolicyDecision {
  return { ...denialByNoRule(bundle, `input over limits: ${breach.path} ${breach.message}; denied before any rule ran`, action), limitBreach: breach };
}

/**
 * A denial that no rule made (the input cannot be decided under this bundle): no rule ids, the
 * reason as the only one. Without a catalog entry (the action left the catalog) it names the
 * strictest category and an agent executor, so nothing could run on it.
 */
export function denialByNoRule(bundle: CompiledPolicyBundle, reason: string, action?: CompiledAction): PolicyDecision {
  return {
    decision: 'deny',
    ruleIds: [],
    reasons: [reason],
    decidedBy: [],
    reason,
    version: bundle.version,
    executor: action?.executor ?? { type: 'agent' },
    category: action?.category ?? 'production_change',
    owner: action?.owner ?? 'unknown',
    errors: [],
  };
}

function describeResult(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'bigint') return `int ${value}`;
  if (typeof value === 'string') return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value)}`;
  if (typeof value === 'object') return Array.isArray(value) ? 'a list' : 'a map';
  return `${typeof value} ${String(value)}`;
}

/** Look up a catalog action. @throws UnknownActionError */
function catalogEntry(bundle: CompiledPolicyBundle, action: string): CompiledAction {
  const entry = bundle.actions.get(action);
  if (entry === undefined) throw new UnknownActionError(action);
  return entry;
}

/** Result of {@link validateActionParams}. */
export type ParamsValidationResult = { ok: true } | { ok: false; errors: ParamsError[] };

/**
 * Validate proposed params against the action's limits, then its JSON Schema (from the
 * catalog). Every failing field is reported, with a JSON-pointer-ish `path` (`/amount`; `/`
 * for the params object itself).
 *
 * Params over a limit are reported alone (`/columns` "has 40000 items; at most 128
 * (limits.listItems)") and the schema is not run: ajv over a huge input is slow too.
 * Context and resource are not params: check them with {@link checkEvaluationLimits}.
 *
 * @throws UnknownActionError when the action is not in the catalog.
 */
export function validateActionParams(
  bundle: CompiledPolicyBundle,
  action: string,
  params: unknown,
): ParamsValidationResult {
  const entry = catalogEntry(bundle, action);
  const breach = checkValueLimits(params, entry.limits, 'paramsBytes');
  if (breach !== undefined) return { ok: false, errors: [{ path: breach.path, message: breach.message }] };
  const validate = entry.validateParams;
  if (validate(params)) return { ok: true };
  return { ok: false, errors: toParamsErrors(validate.errors) };
}

/** Result of {@link checkEvaluationLimits}. */
export type EvaluationLimitsResult = { ok: true } | { ok: false; errors: InputLimitBreach[] };

/**
 * Check everything a proposal hands to CEL (params, context, resource) against the action's
 * limits, as {@link evaluatePolicy} will. Each part reports its first breach, with a path from
 * the input's root (`/params/columns`, `/context/notes`, `/resource/rows/3`), so an API can
 * refuse the proposal up front instead of recording a denial.
 *
 * @throws UnknownActionError when `input.action` is not in the catalog.
 */
export function checkEvaluationLimits(
  bundle: CompiledPolicyBundle,
  input: Pick<PolicyInput, 'action' | 'params' | 'context' | 'resource'>,
): EvaluationLimitsResult {
  const limits = catalogEntry(bundle, input.action).limits;
  const errors: InputLimitBreach[] = [];
  const params = checkValueLimits(input.params, limits, 'paramsBytes', '/params');
  if (params) errors.push(params);
  const context = input.context === undefined ? undefined : checkValueLimits(input.context, limits, 'contextBytes', '/context');
  if (context) errors.push(context);
  const resource = input.resource === undefined ? undefined : checkValueLimits(input.resource, limits, 'contextBytes', '/resource');
  if (resource) errors.push(resource);
  return errors.length === 0 ? { ok: true } : { ok: false, errors };
}

/**
 * Paths of the action's params marked `x-sensitive: true` in its schema (`/card/number`;
 * `*` stands for every array item), for redaction in notifications, logs and views.
 *
 * @throws UnknownActionError when the action is not in the catalog.
 */
export function sensitivePaths(bundle: CompiledPolicyBundle, action: string): readonly string[] {
  return catalogEntry(bundle, action).sensitivePaths;
}
