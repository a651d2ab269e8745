/**
 * `@countersign/sdk/ai-sdk`: Vercel AI SDK (`ai`) tools whose calls are governed by
 * Countersign, and a `toolApproval` hook that answers the SDK's approval step from Countersign.
 *
 * @packageDocumentation
 */
import { tool, type GenericToolApprovalFunction, type Tool, type ToolApprovalStatus, type ToolSet } from 'ai';
import { CountersignError, WaitTimeout } from './errors.js';
import type { ActionView } from './types.js';
import { describeNotPerformed, governToolCall, toolCallKey, type GovernedToolBase, type NotPerformed } from './tool-call.js';

export { describeNotPerformed, type GovernedToolBase, type NotPerformed } from './tool-call.js';

/** Where {@link governedTool} keeps its governance on the tool, for {@link countersignToolApproval}. */
const GOVERNANCE = Symbol.for('countersign.governance');

/** Options of {@link governedTool}. */
export interface GovernedToolOptions<Input, Output> extends GovernedToolBase<Input> {
  /** What the tool does, for the model. */
  description: string;
  /** The input schema (zod, `jsonSchema(...)`, or any schema the AI SDK accepts). */
  inputSchema: unknown;
  /**
   * Performs the action once Countersign approved it (executor `agent`), with the approved
   * params (a reviewer may have edited them) as input. Omit it for actions Countersign executes
   * itself (executor `http`): the tool then answers the executor's result.
   */
  execute?: (input: Input, context: { action: ActionView; toolCallId: string }) => Output | Promise<Output>;
}

/** Options of {@link countersignToolApproval}. */
export interface ToolApprovalOptions {
  /**
   * How long the approval step waits for Countersign's decision. Past it the tool call is left
   * to `user-approval` (the run ends with a `tool-approval-request` whose reason names the
   * action); calling again with the same messages picks the same action up.
   * @default Infinity (the step waits)
   */
  holdMs?: number;
  /** Stops waiting (e.g. the request's signal; the approval step gets none from the AI SDK). The action goes on. */
  signal?: AbortSignal;
}

/**
 * An AI SDK tool governed by Countersign. Each call proposes the action `options.action`
 * (idempotency key from the tool call id and arguments), waits for policy and reviewers, runs
 * `execute` only once approved, reports its result and returns it. A denial, expiry or cancel
 * comes back as the tool's output with the reason, so the model can adapt.
 *
 * Pair it with {@link countersignToolApproval} to use the SDK's own approval step: a denial then
 * reaches the model as the SDK's denied tool result, with the reason.
 *
 * @example
 * ```ts
 * const tools = { send_email: governedTool({ client: cs, action: 'email.send', description: 'Send an email',
 *   inputSchema: z.object({ to: z.string(), subject: z.string() }), execute: ({ to, subject }) => mailer.send(to, subject) }) };
 * await generateText({ model, tools, toolApproval: countersignToolApproval(), stopWhen: stepCountIs(5), prompt });
 * ```
 */
export function governedTool<Input = any, Output = unknown>(options: GovernedToolOptions<Input, Output>): Tool<Input, Output | string> {
  const t = tool<Input, Output | string, never>({
    description: options.description,
    inputSchema: options.inputSchema as never,
    execute: async (input: Input, { toolCallId, abortSignal }: { toolCallId: string; abortSignal?: AbortSignal }) => {
      const outcome = await governToolCall<Input, Output>(options, input, {
        key: await keyOf(options, input, toolCallId),
        signal: abortSignal,
        execute: options.execute ? (approved, action) => options.execute!(approved as unknown as Input, { action, toolCallId }) : undefined,
      });
      return outcome.performed ? outcome.output : outcome.message;
    },
  } as never) as Tool<Input, Output | string>;
  Object.defineProperty(t, GOVERNANCE, { value: options, enumerable: false });
  return t;
}

/** The key of one call, shared by the approval hook and the tool's execute so both find the same action. */
function keyOf<Input>(options: GovernedToolBase<Input>, input: Input, toolCallId: string): Promise<string> {
  const params = options.params ? options.params(input) : (input as unknown as Record<string, unknown>);
  return toolCallKey(options.action, toolCallId, params, 'ai-sdk');
}

/**
 * A `toolApproval` function for `generateText`, `streamText` and `ToolLoopAgent`: for each call
 * of a {@link governedTool} it proposes the action and waits for Countersign's decision, then
 * answers `approved` (the tool runs and reports its result to the same action) or `denied` with
 * the reason (the model sees the SDK's denied tool result). Tools not made with `governedTool`
 * are `not-applicable`.
 */
export function countersignToolApproval<TOOLS extends ToolSet = ToolSet>(options: ToolApprovalOptions = {}): GenericToolApprovalFunction<TOOLS, any, any> {
  return (async ({ toolCall, tools }: { toolCall: { toolName: string; toolCallId: string; input: unknown }; tools?: ToolSet }): Promise<ToolApprovalStatus> => {
    const governance = (tools?.[toolCall.toolName] as { [GOVERNANCE]?: GovernedToolBase<unknown> } | undefined)?.[GOVERNANCE];
    if (!governance) return 'not-applicable';
    const params = governance.params ? governance.params(toolCall.input) : (toolCall.input as Record<string, unknown>);
    const key = await keyOf(governance, toolCall.input, toolCall.toolCallId);
    const describe = governance.describe ?? describeNotPerformed;
    let view = await governance.client.propose({ ...governance.propose?.(toolCall.input), action: governance.action, params }, { idempotencyKey: key, wait: 10, signal: options.signal });
    try {
      view = await governance.client.waitFor(view, { until: 'decided', timeoutMs: options.holdMs ?? governance.timeoutMs, signal: options.signal });
    } catch (err) {
      if (err instanceof WaitTimeout) return { type: 'user-approval', reason: describe({ status: 'pending', reason: null, action: err.action }) };
      throw err;
    }
    switch (view.status) {
      case 'approved':
      case 'executing':
      case 'succeeded':
        return { type: 'approved', reason: `approved in Countersign (action ${view.id})` };
      case 'denied':
      case 'expired':
      case 'cancelled':
      case 'failed': {
        const outcome = view.outcome as { reason?: string | null } | undefined;
        const n: NotPerformed = { status: view.status, reason: outcome?.reason ?? view.error ?? null, action: view };
        return { type: 'denied', reason: describe(n) };
      }
      default:
        throw new CountersignError(`action ${view.id} is ${view.status} after its decision`);
    }
  }) as unknown as GenericToolApprovalFunction<TOOLS, any, any>;
}
