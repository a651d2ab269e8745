/**
 * `@countersign/sdk`: the client agents and reviewers use to talk to Countersign, and
 * `governed()` to put one function call behind policy and human approval. Framework adapters
 * live in the subpaths `@countersign/sdk/openai-agents`, `/ai-sdk` and `/langchain`.
 *
 * @packageDocumentation
 */
export {
  Countersign,
  outcomeOf,
  type CountersignOptions,
  type DecideOptions,
  type FetchLike,
  type GetOptions,
  type GovernedFunction,
  type GovernedOptions,
  type ProposeInput,
  type ProposeOptions,
  type RetryOptions,
  type WaitForOptions,
} from './client.js';
export {
  ActionCancelled,
  ActionDenied,
  ActionExpired,
  ActionFailed,
  ActionNotPerformed,
  CountersignError,
  CountersignNetworkError,
  CountersignProblem,
  WaitTimeout,
} from './errors.js';
export { canonicalJson, idempotencyKeyFor, randomIdempotencyKey } from './keys.js';
export {
  FINAL_STATUSES,
  UNDECIDED_STATUSES,
  type ActionPage,
  type ActionResult,
  type ActionStatus,
  type ActionView,
  type ApprovalsQuery,
  type Decision,
  type ListActionsQuery,
  type Problem,
  type ProposeAction,
} from './types.js';
