import {
  ActionCancelled,
  ActionDenied,
  ActionExpired,
  ActionFailed,
  CountersignError,
  CountersignNetworkError,
  CountersignProblem,
  WaitTimeout,
} from './errors.js';
import { randomIdempotencyKey } from './keys.js';
import {
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

/** The part of `fetch` the client uses; pass your own (a proxy agent, a test double) in {@link CountersignOptions.fetch}. */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string; signal?: AbortSignal },
) => Promise<{ status: number; statusText?: string; headers: { get(name: string): string | null }; text(): Promise<string> }>;

/** How the client retries answers that mean "try again" (429, 502, 503, 504) and network errors. */
export interface RetryOptions {
  /** Attempts in all, the first included. @default 6 */
  attempts?: number;
  /** Delay before the first retry; doubles each time, with jitter. @default 200 */
  baseDelayMs?: number;
  /** Longest delay between two attempts, also the cap on the server's `Retry-After`. @default 5000 */
  maxDelayMs?: number;
}

/** Options of {@link Countersign}. */
export interface CountersignOptions {
  /** Base URL of the Countersign API, e.g. `http://localhost:3000`. */
  url: string;
  /** Bearer token of the principal the client acts as (an agent for `propose`, a reviewer for `decide`). */
  token: string;
  /** Retries of 429/502/503/504 answers and network errors. A proposal or decision is retried with the same `Idempotency-Key`. */
  retry?: RetryOptions;
  /** The fetch implementation. @default globalThis.fetch */
  fetch?: FetchLike;
  /** Extra headers sent with every request. */
  headers?: Record<string, string>;
}

/** What an agent proposes: `POST /v1/actions`'s body without the idempotency key (pass that in {@link ProposeOptions}). */
export type ProposeInput = Omit<ProposeAction, 'idempotencyKey'>;

/** Options of {@link Countersign.propose}. */
export interface ProposeOptions {
  /**
   * Identifies this proposal across retries and restarts: the same key with the same body
   * answers the action proposed first; with another body, 409 `idempotency-conflict`.
   * @default a random key (still reused by the client's own retries)
   */
  idempotencyKey?: string;
  /** Seconds (at most 60) the API may hold the answer while the action is `evaluating` or `executing`. @default 0 */
  wait?: number;
  /** Aborts the request. */
  signal?: AbortSignal;
}

/** Options of {@link Countersign.get}. */
export interface GetOptions {
  /** Seconds (at most 60) to hold the answer until the status changes (see `since`). @default 0 */
  wait?: number;
  /** With `wait`: answer as soon as the status is not this one. Without it the API holds only while `evaluating` or `executing`. */
  since?: ActionStatus;
  /** Aborts the request. */
  signal?: AbortSignal;
}

/** Options of {@link Countersign.waitFor}. */
export interface WaitForOptions {
  /**
   * `decided`: until the action leaves `evaluating` and `awaiting_approval` (approved, denied,
   * expired, cancelled, executing or done). `final`: until nothing changes any more (`succeeded`,
   * `failed`, `denied`, `expired`, `cancelled`).
   * @default "final"
   */
  until?: 'decided' | 'final';
  /** Give up after this long with {@link WaitTimeout} (the action itself goes on). @default Infinity */
  timeoutMs?: number;
  /** Aborts the wait. */
  signal?: AbortSignal;
}

/** Options of {@link Countersign.decide}. */
export interface DecideOptions {
  /** Makes a retried decision safe: the same key and body answer the first result. @default a random key */
  idempotencyKey?: string;
  /** Aborts the request. */
  signal?: AbortSignal;
}

/** Options of {@link Countersign.governed}: the proposal, plus how long to wait. */
export interface GovernedOptions extends ProposeInput {
  /**
   * The proposal's idempotency key. Derive it from what identifies the call (see
   * `idempotencyKeyFor`) so a restarted agent picks up the same action instead of asking again.
   * @default a random key
   */
  idempotencyKey?: string;
  /** Give up waiting for the decision after this long with {@link WaitTimeout}; the action stays pending. @default Infinity */
  timeoutMs?: number;
  /** Called once when the action waits for people (`awaiting_approval`), e.g. to tell the user. */
  onPending?: (action: ActionView) => void;
  /** Aborts the waiting (not an already running `fn`). */
  signal?: AbortSignal;
}

/** The function {@link Countersign.governed} runs once the action is approved: it gets the approved params (a reviewer may have edited them). */
export type GovernedFunction<T> = (params: ActionView['params'], action: ActionView) => T | Promise<T>;

const DEFAULT_RETRY: Required<RetryOptions> = { attempts: 6, baseDelayMs: 200, maxDelayMs: 5000 };
const RETRY_STATUSES = new Set([429, 502, 503, 504]);
/** The API's longest `?wait=`. */
const MAX_WAIT_SECONDS = 60;
/** How often an approved action that a pause holds is read again (its status does not change on resume). */
const PAUSED_POLL_MS = 1000;

interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | undefined>;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** An error answer that came after the client had retried a network error (the first attempt may have landed). */
const afterNetworkRetry = new WeakSet<CountersignProblem>();

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function isFinal(status: ActionStatus): boolean {
  return FINAL_STATUSES.includes(status);
}

function isDecided(status: ActionStatus): boolean {
  return !UNDECIDED_STATUSES.includes(status);
}

/** An error a long wait rides out: the API unreachable, or answering "try again" after every retry. */
function isTemporary(err: unknown): boolean {
  return err instanceof CountersignNetworkError || (err instanceof CountersignProblem && RETRY_STATUSES.has(err.status));
}

/** Whether a pause holds an approved action back (`paused: true` in the view). */
function isPaused(view: ActionView): boolean {
  return (view as { paused?: unknown }).paused === true;
}

/**
 * A client of the Countersign API for agents and reviewers.
 *
 * @example
 * ```ts
 * const cs = new Countersign({ url: 'http://localhost:3000', token: process.env.COUNTERSIGN_TOKEN! });
 * const receipt = await cs.governed((p) => sendEmail(p), { action: 'email.send', params: { to, subject } });
 * ```
 */
export class Countersign {
  readonly #base: string;
  readonly #token: string;
  readonly #retry: Required<RetryOptions>;
  readonly #fetch: FetchLike;
  readonly #headers: Record<string, string>;

  /** @throws {@link CountersignError} without `url` or `token`, or when no `fetch` is available. */
  constructor(options: CountersignOptions) {
    if (!options?.url) throw new CountersignError('Countersign needs { url }: the base URL of the API');
    if (!options.token) throw new CountersignError('Countersign needs { token }: a principal token (COUNTERSIGN_TOKEN)');
    this.#base = options.url.replace(/\/+$/, '');
    this.#token = options.token;
    this.#retry = { ...DEFAULT_RETRY, ...options.retry };
    const f = options.fetch ?? (globalThis.fetch as unknown as FetchLike | undefined);
    if (!f) throw new CountersignError('no fetch available: pass { fetch } (Node 18+ has one built in)');
    this.#fetch = f;
    this.#headers = { ...options.headers };
  }

  /** The API's base URL, as given (without a trailing slash). */
  get url(): string {
    return this.#base;
  }

  /**
   * Propose an action (role agent). Answers the new action, or the one proposed earlier with the
   * same idempotency key and body. Retries reuse the key, so a retried proposal never creates a
   * second action.
   *
   * @throws {@link CountersignProblem} `unknown-action`, `invalid-params` (422), `idempotency-conflict` (409), ...
   */
  async propose(input: ProposeInput, options: ProposeOptions = {}): Promise<ActionView> {
    const key = options.idempotencyKey ?? randomIdempotencyKey();
    return this.#request<ActionView>('POST', '/v1/actions', {
      body: input,
      query: { wait: options.wait || undefined },
      headers: { 'idempotency-key': key },
      signal: options.signal,
    });
  }

  /** Read an action; with `wait` (and `since`) it long-polls for a change. */
  async get(id: string, options: GetOptions = {}): Promise<ActionView> {
    return this.#request<ActionView>('GET', `/v1/actions/${encodeURIComponent(id)}`, {
      query: { wait: options.wait || undefined, since: options.wait ? options.since : undefined },
      signal: options.signal,
    });
  }

  /**
   * Wait until an action is decided or final, with the API's long poll (one request at most
   * every 60 s while nothing happens). Pass the view you hold (e.g. `propose`'s answer) to save
   * a read when it is already there. The API being unreachable or answering 429/5xx for a while
   * (a restart, a deploy) does not end the wait: it keeps trying until `timeoutMs`.
   *
   * @throws {@link WaitTimeout} when `timeoutMs` passes first (carrying the last view).
   */
  async waitFor(action: string | ActionView, options: WaitForOptions = {}): Promise<ActionView> {
    const until = options.until ?? 'final';
    const timeoutMs = options.timeoutMs ?? Infinity;
    const done = until === 'final' ? isFinal : isDecided;
    const deadline = Date.now() + timeoutMs;
    let view = typeof action === 'string' ? await this.get(action, { signal: options.signal }) : action;
    while (!done(view.status)) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new WaitTimeout(view, timeoutMs);
      const wait = Math.round(Math.min(MAX_WAIT_SECONDS, remaining / 1000) * 1000) / 1000;
      if (view.status === 'approved' && isPaused(view)) {
        // A pause holds it in `approved`; resuming does not change the status, so read again.
        await sleep(Math.min(PAUSED_POLL_MS, remaining), options.signal);
        view = await this.get(view.id, { signal: options.signal });
        continue;
      }
      // While evaluating or executing the API holds by itself until the action leaves those
      // (one wake-up instead of one per step); otherwise until the status changes.
      const transient = view.status === 'evaluating' || view.status === 'executing';
      try {
        view = await this.get(view.id, { wait, since: transient ? undefined : view.status, signal: options.signal });
      } catch (err) {
        // A wait may outlast an API restart or a burst of 429s: keep waiting until the deadline.
        if (!isTemporary(err)) throw err;
        await sleep(Math.min(this.#retry.maxDelayMs, Math.max(0, deadline - Date.now())), options.signal);
      }
    }
    return view;
  }

  /**
   * Cancel an action before it runs (the proposing agent or an operator).
   *
   * @throws {@link CountersignProblem} `not-cancellable` (409) when it is already decided past cancelling.
   */
  async cancel(id: string, reason?: string, options: { signal?: AbortSignal } = {}): Promise<ActionView> {
    return this.#reconciled(id, 'not-cancellable', (v) => v.status === 'cancelled', () =>
      this.#request<ActionView>('POST', `/v1/actions/${encodeURIComponent(id)}/cancel`, { body: reason === undefined ? {} : { reason }, signal: options.signal }),
    );
  }

  /**
   * Report what happened to an approved action whose executor is `agent` (the proposing agent
   * only): `{ ok: true, output }` ends it `succeeded`, `{ ok: false, error }` `failed`.
   *
   * @throws {@link CountersignProblem} `not-awaiting-result` (409) when the action is not `approved`.
   */
  async reportResult(id: string, result: ActionResult, options: { signal?: AbortSignal } = {}): Promise<ActionView> {
    const expected: ActionStatus = result.ok ? 'succeeded' : 'failed';
    return this.#reconciled(id, 'not-awaiting-result', (v) => v.status === expected, () =>
      this.#request<ActionView>('POST', `/v1/actions/${encodeURIComponent(id)}/result`, { body: result, signal: options.signal }),
    );
  }

  /** List the actions the caller may read, newest first (one page; pass `nextCursor` as `cursor` for the next). */
  async list(query: ListActionsQuery = {}, options: { signal?: AbortSignal } = {}): Promise<ActionPage> {
    return this.#request<ActionPage>('GET', '/v1/actions', { query: { ...query }, signal: options.signal });
  }

  /** The actions the caller (a reviewer) may decide now, oldest deadline first (one page). */
  async approvals(query: ApprovalsQuery = {}, options: { signal?: AbortSignal } = {}): Promise<ActionPage> {
    return this.#request<ActionPage>('GET', '/v1/approvals', { query: { ...query }, signal: options.signal });
  }

  /**
   * Approve or deny (role reviewer); approving with `params` approves with edits, which policy
   * evaluates again. Retries reuse the idempotency key, so a retried vote is never counted twice.
   *
   * @throws {@link CountersignProblem} `not-pending` (409), `not-eligible`, `self-approval`, `already-voted` (403), `stale-view` (409), `edit-denied` (422).
   */
  async decide(id: string, decision: Decision, options: DecideOptions = {}): Promise<ActionView> {
    return this.#request<ActionView>('POST', `/v1/actions/${encodeURIComponent(id)}/decisions`, {
      body: decision,
      headers: { 'idempotency-key': options.idempotencyKey ?? randomIdempotencyKey() },
      signal: options.signal,
    });
  }

  /**
   * Govern one function call: propose the action, wait for the decision, run `fn` only once the
   * action is approved (executor `agent`), report its result, and return it.
   *
   * - Denied, expired, cancelled: throws {@link ActionDenied} / {@link ActionExpired} /
   *   {@link ActionCancelled} with the reason; `fn` never runs.
   * - `fn` throws: the failure is reported (`ok: false`) and the error rethrown.
   * - An action Countersign executes itself (executor `http`): `fn` does not run; the recorded
   *   result is returned once it succeeded ({@link ActionFailed} if it failed).
   * - Called again with the same `idempotencyKey` (a restarted agent): an action still pending is
   *   waited for, one already performed returns its recorded result without running `fn` again.
   */
  async governed<T>(fn: GovernedFunction<T>, options: GovernedOptions): Promise<T> {
    const { idempotencyKey, timeoutMs, onPending, signal, ...input } = options;
    let view = await this.propose(input, { idempotencyKey: idempotencyKey ?? randomIdempotencyKey(), wait: 10, signal });
    if (view.status === 'awaiting_approval') onPending?.(view);
    view = await this.waitFor(view, { until: 'decided', timeoutMs, signal });
    while (view.status === 'approved' && isPaused(view)) {
      await sleep(PAUSED_POLL_MS, signal);
      view = await this.get(view.id, { signal });
    }
    if (view.status === 'approved') {
      let output: T;
      try {
        output = await fn(view.params, view);
      } catch (err) {
        await this.reportResult(view.id, { ok: false, error: String((err as Error)?.message ?? err).slice(0, 4000) });
        throw err;
      }
      await this.reportResult(view.id, output === undefined ? { ok: true } : { ok: true, output });
      return output;
    }
    // Executed by Countersign (executor http), or performed before a restart: wait for the end.
    if (!isFinal(view.status)) view = await this.waitFor(view, { until: 'final', signal });
    return outcomeOf<T>(view);
  }

  /** Send a request, retrying what may be retried; parse the JSON answer or throw its problem. */
  async #request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const query = Object.entries(options.query ?? {}).filter(([, v]) => v !== undefined && v !== '');
    const url = this.#base + path + (query.length ? `?${new URLSearchParams(query.map(([k, v]): [string, string] => [k, String(v)]))}` : '');
    const headers: Record<string, string> = {
      accept: 'application/json, application/problem+json',
      ...this.#headers,
      authorization: `Bearer ${this.#token}`,
      ...options.headers,
    };
    let body: string | undefined;
    if (options.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    let networkRetried = false;
    for (let attempt = 1; ; attempt++) {
      let res: Awaited<ReturnType<FetchLike>>;
      let text: string;
      try {
        res = await this.#fetch(url, { method, headers, body, signal: options.signal });
        text = await res.text();
      } catch (err) {
        if (options.signal?.aborted) throw options.signal.reason ?? err;
        if (attempt >= this.#retry.attempts) {
          throw new CountersignNetworkError(`${method} ${url} failed after ${attempt} attempts: ${(err as Error)?.message ?? err}`, { cause: err });
        }
        networkRetried = true;
        await sleep(this.#backoff(attempt), options.signal);
        continue;
      }
      if (res.status >= 200 && res.status < 300) return (text ? JSON.parse(text) : undefined) as T;
      const retryAfter = Number(res.headers.get('retry-after'));
      const problem = new CountersignProblem(parseProblem(res.status, res.statusText, text), Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter : undefined);
      if (RETRY_STATUSES.has(res.status) && attempt < this.#retry.attempts) {
        const delay = problem.retryAfterSeconds !== undefined ? Math.min(problem.retryAfterSeconds * 1000, this.#retry.maxDelayMs) : this.#backoff(attempt);
        await sleep(delay, options.signal);
        continue;
      }
      if (networkRetried) afterNetworkRetry.add(problem);
      throw problem;
    }
  }

  /** Exponential backoff with jitter (50-100 % of the step), capped. */
  #backoff(attempt: number): number {
    const step = Math.min(this.#retry.maxDelayMs, this.#retry.baseDelayMs * 2 ** (attempt - 1));
    return step / 2 + Math.random() * (step / 2);
  }

  /**
   * A state change without an idempotency key (cancel, result): when a retry after a network
   * error is refused because the state already changed, the first attempt may have landed; if
   * the action is now where that attempt would have put it, answer that.
   */
  async #reconciled(id: string, refusal: string, landed: (v: ActionView) => boolean, send: () => Promise<ActionView>): Promise<ActionView> {
    try {
      return await send();
    } catch (err) {
      if (err instanceof CountersignProblem && err.code === refusal && afterNetworkRetry.has(err)) {
        const view = await this.get(id);
        if (landed(view)) return view;
      }
      throw err;
    }
  }
}

/** A problem document from an error answer; a non-problem answer (a proxy's HTML page) becomes one with code `http-<status>`. */
function parseProblem(status: number, statusText: string | undefined, text: string): Problem {
  try {
    const parsed = JSON.parse(text) as Partial<Problem>;
    if (parsed && typeof parsed === 'object' && typeof parsed.title === 'string') return { ...parsed, status: parsed.status ?? status } as Problem;
  } catch {
    // not JSON
  }
  return { type: 'about:blank', title: statusText || `HTTP ${status}`, status, detail: text.slice(0, 500) || undefined };
}

/**
 * What a finished action means for the code that proposed it: its recorded result when it
 * succeeded, else the matching error.
 *
 * @throws {@link ActionDenied} | {@link ActionExpired} | {@link ActionCancelled} | {@link ActionFailed}
 */
export function outcomeOf<T = unknown>(view: ActionView): T {
  switch (view.status) {
    case 'succeeded':
      return view.result as T;
    case 'denied':
      throw new ActionDenied(view);
    case 'expired':
      throw new ActionExpired(view);
    case 'cancelled':
      throw new ActionCancelled(view);
    case 'failed':
      throw new ActionFailed(view);
    default:
      throw new CountersignError(`action ${view.id} is still ${view.status}`);
  }
}
