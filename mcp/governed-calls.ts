/**
 * What the gateway does with one `tools/call`: it becomes the governed action
 * `mcp.<upstream>.<tool>` (arguments as params), proposed with the gateway's agent token, and
 *
 * - allowed: the gateway calls the upstream tool and returns its result, which it reports as the
 *   action's result (executor `agent`, carried out by the gateway);
 * - denied, expired, cancelled: a tool result with `isError: true` and the reason;
 * - waiting for approval: the call is held (progress notifications when the client asked) up to
 *   the hold time; then it answers `isError: true` with the action id, and the same call with the
 *   same arguments picks that action up again instead of proposing anew. Meanwhile the gateway
 *   keeps watching: once approved it runs the tool, and the pick-up returns that result.
 *
 * The upstream tool runs at most once per action and only after approval (call-journal.ts).
 * Countersign is reached only through the SDK client.
 */
import { ErrorCode, McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { createHash } from 'node:crypto';
import { Countersign, CountersignNetworkError, CountersignProblem, FINAL_STATUSES, WaitTimeout, type ActionView } from '../sdk/src/index';
import { CallJournal, callDigest } from './call-journal';
import type { GatewayTool } from './tools';
import { reason, UpstreamUnavailable } from './upstream';

/** How the gateway reaches Countersign and keeps its state. */
export interface GovernedCallsDeps {
  countersign: Countersign;
  journal: CallJournal;
  /** Warnings the client does not see (stderr). */
  log: (line: string) => void;
  /** Gap between two progress notifications while a call is held. @default 5000 */
  progressEveryMs?: number;
}

/** One call's circumstances. */
export interface CallContext {
  /** How long to hold the call waiting for approval. */
  holdMs: number;
  /** The client gave up (cancelled the request, or went away). */
  signal?: AbortSignal;
  /** Called when the call starts waiting and then every few seconds while it waits (progress notifications). */
  onWaiting?: (view: ActionView, elapsedMs: number) => Promise<void> | void;
}

/** Where a call stands once Countersign knows of it. */
export interface StartedCall {
  view: ActionView;
  digest: string;
}

const UNDECIDED = new Set(['evaluating', 'awaiting_approval']);
/** How often an approved action held by a pause is read again (lifting a pause changes no status). */
const PAUSED_POLL_MS = 1_000;

/** Approved, but held by an operator's pause (`paused: true`): it must not run yet. */
function pausedApproval(view: ActionView): boolean {
  return view.status === 'approved' && (view as { paused?: unknown }).paused === true;
}

/** Whether a call on this action still waits (for people, or for a pause to be lifted). */
export function waiting(view: ActionView): boolean {
  return UNDECIDED.has(view.status) || pausedApproval(view);
}

/** Sleep that an abort ends early (with the signal's reason). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
/** Results of calls that can be picked up are kept this long in memory (after that, from the action's result). */
const RESULTS_TTL_MS = 24 * 3_600_000;
/** A reported output larger than this (as JSON) is reported as its digest and size instead. */
const MAX_REPORTED_BYTES = 256 * 1024;
/** Claims are looked at once they are this old (their action has long ended, mostly). */
export const CLAIM_PRUNE_AGE_MS = 3_600_000;
/** How often the claims are looked at, and how many at most each time. */
const CLAIM_PRUNE_EVERY_MS = 3_600_000;
const CLAIM_PRUNE_BATCH = 500;

/** The governed path of every tool call (see the file comment). */
export class GovernedCalls {
  /** Upstream calls under way in this process, by action id: a second caller waits for the same one. */
  private readonly running = new Map<string, Promise<CallToolResult>>();
  /**
   * Results of calls that can be picked up (they waited for approval), by action id: a pick-up,
   * or a second caller arriving while the report is still on its way, gets the same result.
   */
  private readonly results = new Map<string, CallToolResult>();
  /** Actions whose calls can be picked up (they are in the journal): their results are kept. */
  private readonly pickable = new Set<string>();
  /** Actions watched after their call's hold ended, by action id. */
  private readonly watching = new Map<string, Promise<unknown>>();
  private readonly stopping = new AbortController();
  /** Result reports not yet answered. */
  private readonly reporting = new Set<Promise<void>>();

  private pruneTimer?: NodeJS.Timeout;

  constructor(private readonly deps: GovernedCallsDeps) {}

  /**
   * Remove, now and then every hour, the claims of actions that have ended (or that Countersign
   * no longer knows), written more than an hour ago: no call runs those again, so the state
   * directory does not grow with every approved call. A claim whose action is still `approved`
   * is kept. Countersign unreachable: kept, looked at again next time.
   */
  startPruningClaims(): void {
    const run = () => void this.pruneClaims().catch((err) => this.deps.log(`countersign-mcp-gateway: could not prune claims: ${reason(err)}`));
    run();
    this.pruneTimer = setInterval(run, CLAIM_PRUNE_EVERY_MS);
    this.pruneTimer.unref();
  }

  /** One pass of {@link startPruningClaims}; answers how many claims it removed. */
  async pruneClaims(olderThanMs = CLAIM_PRUNE_AGE_MS): Promise<number> {
    const { countersign, journal } = this.deps;
    let removed = 0;
    for (const id of journal.staleClaims(olderThanMs, CLAIM_PRUNE_BATCH)) {
      if (this.stopping.signal.aborted) break;
      if (this.running.has(id)) continue;
      let ended: boolean;
      try {
        ended = FINAL_STATUSES.includes((await countersign.get(id, { signal: this.stopping.signal })).status);
      } catch (err) {
        if (!(err instanceof CountersignProblem && err.status === 404)) throw err;
        ended = true;
      }
      if (ended) {
        journal.removeClaim(id);
        removed++;
      }
    }
    return removed;
  }

  /** The whole call: propose or pick up, hold, then carry out or explain. */
  async call(tool: GatewayTool, args: Record<string, unknown>, ctx: CallContext): Promise<CallToolResult> {
    const started = await this.start(tool, args);
    if ('content' in started) return started;
    let { view } = started;
    if (waiting(view)) {
      let held: ActionView;
      try {
        held = await this.hold(view, ctx);
      } catch (err) {
        // Countersign went away (or refused the token) while the call waited: the action is kept.
        if (!(err instanceof CountersignNetworkError)) return problemResult(err, tool, this.deps.countersign.url);
        return errorResult(
          `Countersign at ${this.deps.countersign.url} became unreachable while action ${view.id} (${tool.action}) waited (${err.message}); the tool has not run. Call ${tool.name} again with the same arguments later to pick the action up.`,
          view,
        );
      }
      if (waiting(held)) {
        this.watchInBackground(tool, args, held);
        return stillPending(tool, held, ctx.holdMs);
      }
      view = held;
    }
    return this.finish(tool, args, { view, digest: started.digest });
  }

  /**
   * Find the action this call already became (the same call with the same arguments, waiting or
   * not yet returned), or propose it. A problem (unknown action, arguments failing the schema,
   * a refused token, Countersign unreachable) comes back as an error result.
   */
  async start(tool: GatewayTool, args: Record<string, unknown>): Promise<StartedCall | CallToolResult> {
    const { countersign, journal } = this.deps;
    const digest = callDigest(tool.action, args);
    const known = journal.pendingAction(digest);
    if (known) {
      try {
        const view = await countersign.get(known);
        this.pickable.add(view.id);
        return { view, digest };
      } catch (err) {
        if (!(err instanceof CountersignProblem && err.status === 404)) return problemResult(err, tool, countersign.url);
        journal.forgetPending(digest, known);
      }
    }
    try {
      const view = await countersign.propose(
        { action: tool.action, params: args, context: { mcp: { upstream: tool.upstream.name, tool: tool.tool.name } } },
        { wait: 10 },
      );
      if (waiting(view)) {
        journal.rememberPending(digest, view.id);
        this.pickable.add(view.id);
      }
      return { view, digest };
    } catch (err) {
      return problemResult(err, tool, countersign.url);
    }
  }

  /**
   * Wait until the action is decided or `ctx.holdMs` has passed (answers the last view either
   * way), sending `onWaiting` on the way.
   */
  async hold(view: ActionView, ctx: CallContext): Promise<ActionView> {
    const began = Date.now();
    const every = this.deps.progressEveryMs ?? 5_000;
    const signal = ctx.signal ? AbortSignal.any([ctx.signal, this.stopping.signal]) : this.stopping.signal;
    let last = view;
    const tick = async () => {
      try {
        await ctx.onWaiting?.(last, Date.now() - began);
      } catch {
        // A client that cannot take a notification still gets the answer.
      }
    };
    await tick();
    const timer = ctx.onWaiting ? setInterval(() => void tick(), every) : undefined;
    const deadline = began + ctx.holdMs;
    try {
      for (;;) {
        const remaining = deadline - Date.now();
        if (UNDECIDED.has(last.status)) {
          last = await this.deps.countersign.waitFor(last, { until: 'decided', timeoutMs: remaining, signal });
        } else if (pausedApproval(last)) {
          // Approved, but an operator's pause holds it: nothing runs until it is lifted.
          if (remaining <= 0) return last;
          await sleep(Math.min(PAUSED_POLL_MS, remaining), signal);
          last = await this.deps.countersign.get(last.id, { signal });
        } else {
          return last;
        }
      }
    } catch (err) {
      if (err instanceof WaitTimeout) return err.action;
      if (signal.aborted) return last;
      throw err;
    } finally {
      clearInterval(timer);
    }
  }

  /** The decided action's outcome for this call; the call is then no longer pending. */
  async finish(tool: GatewayTool, args: Record<string, unknown>, started: StartedCall): Promise<CallToolResult> {
    const result = await this.outcome(tool, args, started.view);
    this.deps.journal.forgetPending(started.digest, started.view.id);
    this.pickable.delete(started.view.id);
    return result;
  }

  /** Stop watching in the background, and wait (at most `ms`) for the reports under way. */
  async stop(ms = 10_000): Promise<void> {
    this.stopping.abort();
    clearInterval(this.pruneTimer);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.reporting]), new Promise((r) => (timer = setTimeout(r, ms)))]);
    clearTimeout(timer);
  }

  /** What a decided action means for its call. */
  private async outcome(tool: GatewayTool, args: Record<string, unknown>, view: ActionView): Promise<CallToolResult> {
    const done = this.results.get(view.id);
    if (done) return done;
    const running = this.running.get(view.id);
    if (running) return running;
    switch (view.status) {
      case 'approved':
        return this.execute(tool, args, view);
      case 'succeeded':
        return resultFromView(view);
      case 'failed':
        return errorResult(`Action ${view.id} (${tool.action}) failed: ${view.error ?? 'no reason given'}`, view);
      case 'denied':
        return errorResult(`Denied by Countersign (action ${view.id}, ${tool.action}): ${notPerformedReason(view)}`, view);
      case 'expired':
        return errorResult(`No approval in time (action ${view.id}, ${tool.action}, expired): ${notPerformedReason(view)}. The tool did not run.`, view);
      case 'cancelled':
        return errorResult(`Action ${view.id} (${tool.action}) was cancelled${view.outcome?.actor ? ` by ${view.outcome.actor}` : ''}: ${view.outcome?.reason ?? 'no reason given'}. The tool did not run.`, view);
      default: {
        // An executor other than `agent` (the catalog entry sends it elsewhere): Countersign runs
        // it; the call answers its outcome.
        const final = await this.deps.countersign.waitFor(view, { until: 'final', timeoutMs: 60_000 }).catch(() => view);
        return final.status === 'succeeded' ? resultFromView(final) : errorResult(`Action ${view.id} (${tool.action}) is ${final.status}${final.error ? `: ${final.error}` : ''}`, final);
      }
    }
  }

  /** Run the approved call upstream, once per action (one run in this process; one claim on disk). */
  private execute(tool: GatewayTool, args: Record<string, unknown>, view: ActionView): Promise<CallToolResult> {
    const running = this.running.get(view.id);
    if (running) return running;
    const run = this.runOnce(tool, args, view).finally(() => this.running.delete(view.id));
    this.running.set(view.id, run);
    return run;
  }

  private async runOnce(tool: GatewayTool, args: Record<string, unknown>, view: ActionView): Promise<CallToolResult> {
    const { countersign, journal } = this.deps;
    if (pausedApproval(view)) return stillPending(tool, view, 0);
    // Only a call that waited can be reached by another caller (its action is in the journal,
    // where a pick-up, another gateway or this one after a restart finds it): claim it on disk.
    // An allowed call is known to this process alone, and `running` keeps it to one run here.
    if (this.pickable.has(view.id) && !journal.claim(view.id)) {
      // Another gateway process (or this one before a restart) took it and has not reported.
      const now = await countersign.get(view.id).catch(() => view);
      if (now.status !== 'approved') return this.outcome(tool, args, now);
      return errorResult(
        `Action ${view.id} (${tool.action}) was approved and handed to upstream ${tool.upstream.name} by a gateway that has not reported its outcome (it may have stopped mid-call). ` +
          `It is not run again: whether the tool ran is not known. Countersign ends the action failed (outcome-unknown) when its result deadline passes; check ${tool.upstream.name} before calling again.`,
        now,
      );
    }
    let result: CallToolResult;
    try {
      result = await tool.upstream.callTool(tool.tool.name, approvedArgs(view.params, args));
    } catch (err) {
      const notRun = err instanceof UpstreamUnavailable || (err instanceof McpError && !OUTCOME_UNKNOWN_CODES.has(err.code));
      const error = notRun
        ? `upstream ${tool.upstream.name} did not run ${tool.tool.name}: ${reason(err)}`
        : `upstream ${tool.upstream.name} did not answer ${tool.tool.name} (${reason(err)}); whether the tool ran is not known`;
      this.reportLater(view.id, { ok: false, error });
      return this.keep(view.id, errorResult(`Action ${view.id} (${tool.action}) was approved, but ${error}.`, view));
    }
    this.reportLater(view.id, result.isError ? { ok: false, output: reportable(result), error: textOf(result).slice(0, 4000) || 'the tool reported an error' } : { ok: true, output: reportable(result) });
    this.keep(view.id, result);
    return result;
  }

  /** Keep the result of a call that can be picked up (before its run counts as over: no gap for a pick-up to fall into). */
  private keep(id: string, result: CallToolResult): CallToolResult {
    if (this.pickable.delete(id)) {
      this.results.set(id, result);
      setTimeout(() => this.results.delete(id), RESULTS_TTL_MS).unref();
    }
    return result;
  }

  /**
   * Report while the result goes back to the client: the caller does not wait for Countersign's
   * write. A gateway that dies in between leaves the action to its result deadline (outcome
   * unknown), as one that died during the upstream call would; {@link stop} waits for reports
   * under way.
   */
  private reportLater(id: string, result: { ok: boolean; output?: unknown; error?: string }): void {
    const report = this.report(id, result).finally(() => this.reporting.delete(report));
    this.reporting.add(report);
  }

  /** Report the outcome (executor `agent`). A report that cannot be made is logged: the client still gets the result. */
  private async report(id: string, result: { ok: boolean; output?: unknown; error?: string }): Promise<void> {
    const { countersign, log } = this.deps;
    try {
      await countersign.reportResult(id, result);
    } catch (err) {
      if (err instanceof CountersignProblem && err.status === 422 && result.output !== undefined) {
        // An output the API will not store (e.g. text with U+0000): report what identifies it.
        try {
          await countersign.reportResult(id, { ...result, output: summary(result.output) });
          return;
        } catch (again) {
          err = again;
        }
      }
      log(`countersign-mcp-gateway: could not report the result of action ${id}: ${reason(err)}`);
    }
  }

  /**
   * The call's hold ended with the action still waiting: keep watching, and carry it out once
   * approved, so it runs within its result deadline whether or not the client comes back. The
   * pick-up returns the result (kept in memory; after a restart, from the action's result).
   */
  private watchInBackground(tool: GatewayTool, args: Record<string, unknown>, view: ActionView): void {
    if (this.watching.has(view.id)) return;
    const watch = (async () => {
      const decided = await this.hold(view, { holdMs: Infinity });
      if (this.stopping.signal.aborted || decided.status !== 'approved' || this.running.has(view.id) || this.results.has(view.id)) return;
      await this.execute(tool, args, decided);
    })()
      .catch((err) => {
        if (!this.stopping.signal.aborted) this.deps.log(`countersign-mcp-gateway: stopped watching action ${view.id}: ${reason(err)}`);
      })
      .finally(() => this.watching.delete(view.id));
    this.watching.set(view.id, watch);
  }
}

/** Transport-level failures after the request was sent: the tool may have run. */
const OUTCOME_UNKNOWN_CODES = new Set<number>([ErrorCode.ConnectionClosed, ErrorCode.RequestTimeout]);

/** A tool result with `isError: true`, text for the model, and the action in `_meta`. */
export function errorResult(text: string, view?: ActionView): CallToolResult {
  return {
    content: [{ type: 'text', text }],
    isError: true,
    ...(view ? { _meta: { 'countersign/action': { id: view.id, status: view.status } } } : {}),
  };
}

/** The hold ended and the action still waits for people. */
function stillPending(tool: GatewayTool, view: ActionView, holdMs: number): CallToolResult {
  const a = view.approval;
  const who = a ? ` by ${a.group} (step ${a.step} of ${a.steps}, ${a.approvals.filter((v) => v.decision === 'approve').length}/${a.quorum} approvals${a.deadline ? `, deadline ${a.deadline}` : ''})` : '';
  const why = view.policy?.reasons.filter(Boolean).join('; ');
  if (pausedApproval(view)) {
    return errorResult(
      `Paused: action ${view.id} (${tool.action}) is approved, but an operator has paused it; the tool has not run. ` +
        `Call ${tool.name} again with the same arguments to pick it up once the pause is lifted (it is not proposed again).`,
      view,
    );
  }
  return errorResult(
    `Waiting for approval: action ${view.id} (${tool.action}) needs approval${who}${why ? `: ${why}` : ''}. ` +
      `Still pending after ${Math.round(holdMs / 1000)} s; the tool has not run. Call ${tool.name} again with the same arguments to pick up this action (it is not proposed again).`,
    view,
  );
}

/** The reason a denied or expired action gives. */
function notPerformedReason(view: ActionView): string {
  return view.outcome?.reason || view.policy?.reasons.filter(Boolean).join('; ') || 'no reason given';
}

/** A succeeded action's result as the call's result: what the gateway reported, or a text of it. */
function resultFromView(view: ActionView): CallToolResult {
  const r = view.result as Partial<CallToolResult> | undefined;
  if (r && Array.isArray(r.content)) return r as CallToolResult;
  return { content: [{ type: 'text', text: JSON.stringify(view.result ?? null) }] };
}

/** The text parts of a result, joined. */
function textOf(result: CallToolResult): string {
  return result.content
    .filter((c): c is { type: 'text'; text: string } => c.type === 'text')
    .map((c) => c.text)
    .join('\n');
}

/** The output to report: the result itself, or its summary when large. */
function reportable(result: CallToolResult): unknown {
  return Buffer.byteLength(JSON.stringify(result)) <= MAX_REPORTED_BYTES ? result : summary(result);
}

/** What identifies an output that is not stored whole. */
function summary(output: unknown): unknown {
  const json = JSON.stringify(output);
  return { stored: false, sha256: createHash('sha256').update(json).digest('hex'), bytes: Buffer.byteLength(json) };
}

/**
 * The arguments to send upstream: the params as approved (a reviewer may have edited them),
 * with each value Countersign masks in views (`"***"`, sensitive params) taken from the call.
 */
export function approvedArgs(approved: Record<string, unknown>, call: Record<string, unknown>): Record<string, unknown> {
  const merge = (a: unknown, c: unknown): unknown => {
    if (a === '***' && c !== undefined) return c;
    if (Array.isArray(a)) return a.map((v, i) => merge(v, Array.isArray(c) ? c[i] : undefined));
    if (a && typeof a === 'object') {
      const co = c && typeof c === 'object' && !Array.isArray(c) ? (c as Record<string, unknown>) : {};
      return Object.fromEntries(Object.entries(a).map(([k, v]) => [k, merge(v, co[k])]));
    }
    return a;
  };
  return merge(approved, call) as Record<string, unknown>;
}

/** A Countersign problem as the tool result the model reads. */
export function problemResult(err: unknown, tool: GatewayTool, url: string): CallToolResult {
  if (err instanceof CountersignNetworkError) {
    return errorResult(`Countersign at ${url} is unreachable (${err.message}); nothing was proposed and ${tool.name} did not run. Try again later.`);
  }
  if (!(err instanceof CountersignProblem)) return errorResult(`The gateway could not propose ${tool.action}: ${reason(err)}; ${tool.name} did not run.`);
  const detail = err.detail ?? err.title;
  switch (err.status === 401 ? 'unauthorized' : err.code) {
    case 'unauthorized':
      return errorResult(
        `Countersign refused the gateway's token (401: ${detail}). It may have expired or been revoked: the gateway's operator must set COUNTERSIGN_TOKEN to a valid agent token and restart it. ${tool.name} did not run.`,
      );
    case 'forbidden':
      return errorResult(`Countersign does not let the gateway's principal propose actions (403: ${detail}); it needs the agent role. ${tool.name} did not run.`);
    case 'unknown-action':
      return errorResult(
        `${tool.action} is not in Countersign's policy catalog, so ${tool.name} cannot be called through this gateway. An operator can add it (npx countersign mcp import prints its catalog entry).`,
      );
    case 'invalid-params':
    case 'validation': {
      const fields = err.errors.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)).join('; ');
      return errorResult(`The arguments of ${tool.name} do not match ${tool.action}'s params schema: ${fields || detail}. Nothing was proposed; fix the arguments and call again.`);
    }
    case 'rate-limited':
      return errorResult(`Countersign is rate-limiting the gateway${err.retryAfterSeconds !== undefined ? `; retry after ${err.retryAfterSeconds} s` : ''}. ${tool.name} did not run.`);
    default:
      return errorResult(`Countersign refused ${tool.action} (${err.status} ${err.code}: ${detail}); ${tool.name} did not run.`);
  }
}
