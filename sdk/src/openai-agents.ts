/**
 * `@countersign/sdk/openai-agents`: OpenAI Agents SDK (`@openai/agents`) tools whose calls are
 * governed by Countersign.
 *
 * @packageDocumentation
 */
import { tool, type FunctionTool, type RunContext } from '@openai/agents';
import type { ActionView } from './types.js';
import { governToolCall, toolCallKey, type GovernedToolBase } from './tool-call.js';

export { describeNotPerformed, type GovernedToolBase, type NotPerformed } from './tool-call.js';

/** Options of {@link governedTool}. */
export interface GovernedToolOptions<Input, Result> extends GovernedToolBase<Input> {
  /** The tool's name, as the model sees it. */
  name: string;
  /** What the tool does, for the model. */
  description: string;
  /** The input schema: a zod object, a Standard Schema, or a JSON schema (`strict: false`). */
  parameters: unknown;
  /** Whether the model must follow the schema strictly. @default true */
  strict?: boolean;
  /**
   * Performs the action once Countersign approved it (executor `agent`). It receives the
   * approved params (a reviewer may have edited them) as the tool input. Omit it for actions
   * Countersign executes itself (executor `http`): the tool then answers the executor's result.
   */
  execute?: (input: Input, context: { action: ActionView; runContext?: RunContext<unknown> }) => Result | Promise<Result>;
}

/**
 * An `@openai/agents` function tool governed by Countersign. Each call proposes the action
 * `options.action`, waits for policy and reviewers (the run waits with it), runs `execute` only
 * once approved, reports the result, and returns it to the model. A denial, expiry or cancel
 * comes back as the tool's output with the reason, so the model can adapt instead of retrying.
 *
 * The proposal's idempotency key derives from the model's call id and the arguments: a
 * restarted agent that resumes the same run (the same call) picks up the same action, and an
 * approval given while it was down is not lost.
 *
 * @example
 * ```ts
 * const sendEmail = governedTool({
 *   client: cs, action: 'email.send', name: 'send_email', description: 'Send an email',
 *   parameters: z.object({ to: z.string(), subject: z.string() }),
 *   execute: async ({ to, subject }) => mailer.send(to, subject),
 * });
 * const agent = new Agent({ name: 'assistant', tools: [sendEmail] });
 * ```
 */
export function governedTool<Input = any, Result = unknown>(options: GovernedToolOptions<Input, Result>): FunctionTool<unknown, any, unknown> {
  const { name, description, parameters, strict, execute } = options;
  return tool({
    name,
    description,
    parameters: parameters as never,
    strict: (strict ?? true) as true,
    // A problem talking to Countersign (bad token, unknown action) is the developer's to fix: raise it.
    errorFunction: null,
    execute: async (input: unknown, runContext?: RunContext<unknown>, details?: { toolCall?: { callId?: string }; signal?: AbortSignal }) => {
      const typed = input as Input;
      const params = options.params ? options.params(typed) : (typed as unknown as Record<string, unknown>);
      const key = await toolCallKey(options.action, details?.toolCall?.callId, params, name);
      const outcome = await governToolCall<Input, Result>(options, typed, {
        key,
        signal: details?.signal,
        execute: execute ? (approved, action) => execute(approved as unknown as Input, { action, runContext }) : undefined,
      });
      return outcome.performed ? outcome.output : outcome.message;
    },
  }) as unknown as FunctionTool<unknown, any, unknown>;
}
