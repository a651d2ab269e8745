import type { Countersign } from './client.js';
import { ActionNotPerformed, WaitTimeout } from './errors.js';
import { idempotencyKeyFor, randomIdempotencyKey } from './keys.js';
import type { ProposeInput } from './client.js';
import type { ActionView } from './types.js';

/**
 * What every adapter's governed tool shares: which Countersign action a tool call becomes and
 * how long the call may wait for people.
 */
export interface GovernedToolBase<Input> {
  /** The client, with an agent's token. */
  client: Countersign;
  /** The catalog name of the governed action, e.g. `email.send`. */
  action: string;
  /** The action's params from the tool's input. @default the input itself */
  params?: (input: Input) => Record<string, unknown>;
  /** Other proposal fields (justification, resource, onBehalfOf, context, model) from the input. */
  propose?: (input: Input) => Omit<ProposeInput, 'action' | 'params'>;
  /**
   * How long one tool call waits for a decision. Past it the tool answers the model that the
   * action is still pending (with its id); the same call, made again, picks the action up.
   * @default Infinity (the run waits)
   */
  timeoutMs?: number;
  /** The text the model gets when the action was not performed. @default {@link describeNotPerformed} */
  describe?: (outcome: NotPerformed) => string;
}

/** Why a governed tool call did not run: denied, expired, cancelled, failed, or still pending after `timeoutMs`. */
export interface NotPerformed {
  /** `denied`, `expired`, `cancelled`, `failed`, or `pending` (still waiting when the call gave up). */
  status: 'denied' | 'expired' | 'cancelled' | 'failed' | 'pending';
  /** The recorded reason (policy rule, reviewer, timeout, cancel), or null. */
  reason: string | null;
  /** The action as last seen. */
  action: ActionView;
}

/** The outcome of one governed tool call. */
export type ToolCallOutcome<T> = { performed: true; output: T; action?: ActionView } | { performed: false; notPerformed: NotPerformed; message: string };

/**
 * The model-facing text for an action that was not performed: what happened, why, and what to
 * do instead of retrying the same call.
 */
export function describeNotPerformed(n: NotPerformed): string {
  const what = `${n.action.action} (Countersign action ${n.action.id})`;
  const why = n.reason ? `: ${n.reason}` : '';
  switch (n.status) {
    case 'denied':
      return `NOT DONE. ${what} was denied${why}. Do not retry the same call; change the request or tell the user why.`;
    case 'expired':
      return `NOT DONE. ${what} expired: nobody approved it in time${why}. It was not rejected on its merits; ask the user whether to propose it again.`;
    case 'cancelled':
      return `NOT DONE. ${what} was cancelled${why}.`;
    case 'failed':
      return `FAILED. ${what} failed${why}.`;
    case 'pending':
      return `PENDING. ${what} is waiting for approval. It has not been done yet; calling this tool again with the same arguments continues to wait for the same action.`;
  }
}

/**
 * The idempotency key of one tool call: from the call id the model gave it (and the tool and
 * arguments), so a restarted agent that replays the same call gets the same action back. Without
 * a call id the key is random (every call is a new action).
 */
export async function toolCallKey(action: string, callId: string | undefined, params: unknown, scope?: string): Promise<string> {
  return callId ? idempotencyKeyFor('tool-call', scope ?? null, action, callId, params) : randomIdempotencyKey();
}

/**
 * Govern one tool call: propose, wait, run `execute` once approved (and report its result), or
 * return why not. Problems talking to Countersign (bad token, unknown action, invalid params)
 * are thrown: they are the developer's to fix, not the model's.
 */
export async function governToolCall<Input, T>(
  base: GovernedToolBase<Input>,
  input: Input,
  call: { key: string; execute?: (params: Record<string, unknown>, action: ActionView) => T | Promise<T>; signal?: AbortSignal },
): Promise<ToolCallOutcome<T>> {
  const params = base.params ? base.params(input) : (input as unknown as Record<string, unknown>);
  const describe = base.describe ?? describeNotPerformed;
  const notPerformed = (n: NotPerformed): ToolCallOutcome<T> => ({ performed: false, notPerformed: n, message: describe(n) });
  try {
    let seen: ActionView | undefined;
    const output = await base.client.governed<T>(
      (approved, view) => {
        seen = view;
        return call.execute ? call.execute(approved, view) : (view.result as T);
      },
      { ...base.propose?.(input), action: base.action, params, idempotencyKey: call.key, timeoutMs: base.timeoutMs, signal: call.signal },
    );
    return { performed: true, output, action: seen };
  } catch (err) {
    if (err instanceof ActionNotPerformed) return notPerformed({ status: err.action.status as NotPerformed['status'], reason: err.reason, action: err.action });
    if (err instanceof WaitTimeout) return notPerformed({ status: 'pending', reason: null, action: err.action });
    throw err;
  }
}
