/**
 * `@countersign/sdk/langchain`: LangChain JS tools whose calls are governed by Countersign, and
 * Countersign's decisions for the `langchain` human-in-the-loop middleware.
 *
 * @packageDocumentation
 */
import { tool, type StructuredToolInterface } from '@langchain/core/tools';
import type { Countersign } from './client.js';
import { CountersignError } from './errors.js';
import { idempotencyKeyFor } from './keys.js';
import type { ActionView } from './types.js';
import { describeNotPerformed, governToolCall, toolCallKey, type GovernedToolBase, type NotPerformed } from './tool-call.js';

export { describeNotPerformed, type GovernedToolBase, type NotPerformed } from './tool-call.js';

/** Where {@link governedTool} keeps its governance on the tool, for {@link hitlDecisions}. */
const GOVERNANCE = Symbol.for('countersign.governance');

/** Options of {@link governedTool}. */
export interface GovernedToolOptions<Input, Output> extends GovernedToolBase<Input> {
  /** The tool's name, as the model sees it. */
  name: string;
  /** What the tool does, for the model. */
  description: string;
  /** The input schema (zod object or JSON schema). */
  schema: unknown;
  /**
   * Performs the action once Countersign approved it (executor `agent`), with the approved
   * params (a reviewer may have edited them) as input. Omit it for actions Countersign executes
   * itself (executor `http`): the tool then answers the executor's result.
   */
  execute?: (input: Input, context: { action: ActionView }) => Output | Promise<Output>;
  /**
   * What makes two calls the same action:
   * - `call`: the model's tool call id (and arguments). A restarted agent resuming the same
   *   checkpoint makes the same call and picks up the same action.
   * - `arguments`: the thread (`configurable.thread_id`), the tool and its arguments, the key
   *   {@link hitlDecisions} uses too, so the middleware's decision and the tool's run meet on
   *   one action. In one thread, the same tool with the same arguments is then one action.
   * @default "call"
   */
  keyFrom?: 'call' | 'arguments';
}

/** Options of {@link hitlDecisions}. */
export interface HitlDecisionOptions {
  /** The governed tools (made with {@link governedTool} and `keyFrom: "arguments"`) the middleware interrupts on. */
  tools: readonly unknown[];
  /** The thread (`configurable.thread_id`) the interrupt belongs to. */
  threadId: string;
  /** Give up waiting after this long with `WaitTimeout` (the actions stay pending; call again to pick them up). @default Infinity */
  timeoutMs?: number;
  /** Stops waiting. The actions go on. */
  signal?: AbortSignal;
}

/** The middleware's interrupt value (`HITLRequest` of `langchain`), as far as decisions need it. */
export interface HitlRequestLike {
  actionRequests: { name: string; args: Record<string, unknown> }[];
}

/** One decision for the middleware (`Decision` of `langchain`). */
export type HitlDecision = { type: 'approve' } | { type: 'reject'; message: string };

/** The key of a call in `arguments` mode. */
function argumentsKey(action: string, tool: string, threadId: string | undefined, params: unknown): Promise<string> {
  return idempotencyKeyFor('langchain-arguments', threadId ?? null, tool, action, params);
}

/** Tool output as LangChain passes it to the model: text. */
function asText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value ?? null);
}

/**
 * A LangChain tool governed by Countersign. Each call proposes the action `options.action`,
 * waits for policy and reviewers (the run waits with it), runs `execute` only once approved,
 * reports the result and returns it. A denial, expiry or cancel comes back as the tool's output
 * with the reason, so the model can adapt instead of retrying.
 *
 * @example
 * ```ts
 * const sendEmail = governedTool({ client: cs, action: 'email.send', name: 'send_email', description: 'Send an email',
 *   schema: z.object({ to: z.string(), subject: z.string() }), execute: ({ to, subject }) => mailer.send(to, subject) });
 * const agent = createAgent({ model, tools: [sendEmail] });
 * ```
 */
export function governedTool<Input = any, Output = unknown>(options: GovernedToolOptions<Input, Output>): StructuredToolInterface {
  const t = tool(
    async (input: unknown, config?: { toolCall?: { id?: string }; configurable?: Record<string, unknown>; signal?: AbortSignal }) => {
      const typed = input as Input;
      const params = options.params ? options.params(typed) : (typed as unknown as Record<string, unknown>);
      const threadId = config?.configurable?.thread_id as string | undefined;
      const key =
        options.keyFrom === 'arguments'
          ? await argumentsKey(options.action, options.name, threadId, params)
          : await toolCallKey(options.action, config?.toolCall?.id, params, `langchain:${threadId ?? ''}`);
      const outcome = await governToolCall<Input, Output>(options, typed, {
        key,
        signal: config?.signal,
        execute: options.execute ? (approved, action) => options.execute!(approved as unknown as Input, { action }) : undefined,
      });
      return outcome.performed ? asText(outcome.output) : outcome.message;
    },
    { name: options.name, description: options.description, schema: options.schema as never },
  ) as unknown as StructuredToolInterface;
  Object.defineProperty(t, GOVERNANCE, { value: options, enumerable: false });
  return t;
}

/**
 * Countersign's decisions for the `langchain` human-in-the-loop middleware
 * (`humanInTheLoopMiddleware`): for each action request of the interrupt it proposes the
 * governed action (key: thread, tool, arguments) and waits for policy and reviewers, then
 * answers `approve` or `reject` with the reason. Resume with
 * `new Command({ resume: await hitlDecisions(interrupt.value, { tools, threadId }) })`; the
 * approved tool then runs and reports to the same action (a reviewer's edits reach it as the
 * approved params).
 *
 * Because the key derives from the checkpointed interrupt, a process that restarts and reads the
 * same interrupt from its checkpointer gets the same actions back, approvals given meanwhile included.
 */
export async function hitlDecisions(request: HitlRequestLike, options: HitlDecisionOptions): Promise<{ decisions: HitlDecision[] }> {
  const byName = new Map<string, GovernedToolOptions<unknown, unknown>>();
  for (const t of options.tools) {
    const g = (t as { [GOVERNANCE]?: GovernedToolOptions<unknown, unknown> })[GOVERNANCE];
    if (g) byName.set(g.name, g);
  }
  const decide = async (req: HitlRequestLike['actionRequests'][number]): Promise<HitlDecision> => {
    const g = byName.get(req.name);
    if (!g) throw new CountersignError(`hitlDecisions: no governed tool named ${req.name} (pass it in { tools })`);
    if (g.keyFrom !== 'arguments') throw new CountersignError(`hitlDecisions: the tool ${req.name} must be created with keyFrom: "arguments" so its run finds the action the middleware decided`);
    const client: Countersign = g.client;
    const params = g.params ? g.params(req.args) : req.args;
    const key = await argumentsKey(g.action, g.name, options.threadId, params);
    let view = await client.propose({ ...g.propose?.(req.args), action: g.action, params }, { idempotencyKey: key, wait: 10, signal: options.signal });
    view = await client.waitFor(view, { until: 'decided', timeoutMs: options.timeoutMs ?? g.timeoutMs, signal: options.signal });
    if (['approved', 'executing', 'succeeded'].includes(view.status)) return { type: 'approve' };
    const outcome = view.outcome as { reason?: string | null } | undefined;
    const n: NotPerformed = { status: view.status as NotPerformed['status'], reason: outcome?.reason ?? view.error ?? null, action: view };
    return { type: 'reject', message: (g.describe ?? describeNotPerformed)(n) };
  };
  // In order, one per action request, as the middleware expects; decided concurrently.
  const decisions = await Promise.all(request.actionRequests.map(decide));
  return { decisions };
}

