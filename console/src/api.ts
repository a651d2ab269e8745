/**
 * Calls to the Countersign API from the console: same origin, the session cookie, and the CSRF
 * token (the `countersign_csrf` cookie echoed in `X-CSRF-Token`) on every write. Errors are the
 * API's problem+json, thrown as {@link ApiError}.
 */
import type { components } from './api-types';

export type Schemas = components['schemas'];
export type ActionView = Schemas['ActionView'];
export type ActionPage = Schemas['ActionPage'];
export type ActionReview = Schemas['ActionReview'];
export type EditPreview = Schemas['EditPreview'];
export type PolicyDecision = Schemas['PolicyDecision'];
export type PolicyVersions = Schemas['PolicyVersions'];
export type ActivePolicy = Schemas['ActivePolicy'];
export type Lineage = Schemas['Lineage'];
export type LineageNode = Schemas['LineageNode'];
export type Problem = Schemas['Problem'];

export type Session = Schemas['Session'];
export type PrincipalInfo = Schemas['Principal'];
export type PrincipalList = Schemas['PrincipalList'];
export type TokenInfo = Schemas['TokenList']['items'][number];
export type TokenList = Schemas['TokenList'];
export type TokenCreated = Schemas['TokenCreated'];
export type SignInLink = Schemas['SignInLink'];
export type PrincipalCreated = Schemas['PrincipalCreated'];
export type Pause = Schemas['Pause'];
export type PauseList = Schemas['PauseList'];
export type ReviewerReport = Schemas['ReviewerReport'];

/** A refused call: the API's problem details. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Partial<Problem>,
  ) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
  }
  /** The problem's code: the last segment of its type URI (`not-pending`, `stale-view`, ...). */
  get code(): string {
    return (this.problem.type ?? '').split('/').pop() ?? '';
  }
}

/** The value of a cookie readable by scripts (the CSRF token is; the session cookie is not). */
function cookie(name: string): string | undefined {
  for (const part of document.cookie.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

/** Where the browser goes when the session is missing or over. */
export const SIGN_IN_PATH = '/console/sign-in';

let onUnauthorized: () => void = () => {
  window.location.assign(SIGN_IN_PATH);
};
/** Replace what happens on a 401 (the app shows "signed out" instead of navigating mid-edit). */
export function setUnauthorizedHandler(fn: () => void): void {
  onUnauthorized = fn;
}

/** Call the API. `body` is sent as JSON; strings are sent as they are (policy text). */
export async function api<T>(method: string, path: string, body?: unknown, opts: { signal?: AbortSignal; headers?: Record<string, string>; quiet401?: boolean } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json, application/problem+json', ...opts.headers };
  if (body !== undefined && typeof body !== 'string') headers['content-type'] = 'application/json';
  if (body !== undefined && typeof body === 'string') headers['content-type'] ??= 'text/plain';
  if (method !== 'GET' && method !== 'HEAD') {
    const token = cookie('countersign_csrf');
    if (token) headers['x-csrf-token'] = token;
  }
  const res = await ((method === 'GET' && takePrefetched(path)) ||
    fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      signal: opts.signal,
    }));
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = { detail: text.slice(0, 300) };
  }
  if (!res.ok) {
    if (res.status === 401 && !opts.quiet401) onUnauthorized();
    throw new ApiError(res.status, (parsed ?? {}) as Partial<Problem>);
  }
  return parsed as T;
}

/** GETs started before the page that needs them exists (the inbox's first page, in parallel with the session). */
const prefetched = new Map<string, { at: number; answer: Promise<Response> }>();

/** Start a GET now; the first {@link api} call for the same path within 10 s takes its answer. */
export function prefetch(path: string): void {
  prefetched.set(path, { at: Date.now(), answer: fetch(path, { credentials: 'same-origin', headers: { accept: 'application/json, application/problem+json' } }) });
}

function takePrefetched(path: string): Promise<Response> | undefined {
  const hit = prefetched.get(path);
  if (!hit) return undefined;
  prefetched.delete(path);
  return Date.now() - hit.at < 10_000 ? hit.answer : undefined;
}

/** A fresh idempotency key, so a retried decision is applied at most once. */
export function newKey(): string {
  return crypto.randomUUID();
}

/** The API's document, for which optional endpoints this server has (pauses, reviewer metrics). */
let openapiPaths: Promise<Set<string>> | undefined;
export function serverHas(path: string): Promise<boolean> {
  openapiPaths ??= fetch('/openapi.json')
    .then((r) => r.json() as Promise<{ paths: Record<string, unknown> }>)
    .then((d) => new Set(Object.keys(d.paths)))
    .catch(() => new Set<string>());
  return openapiPaths.then((p) => p.has(path));
}
