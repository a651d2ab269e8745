import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { createHash } from 'node:crypto';
import { TokenBuckets, type RateLimits } from '../domain/rate-limits';
import type { Principal } from './auth';
import { sendProblem } from './problem';

/** 429 with `Retry-After` in whole seconds (at least 1). */
function refuse(res: Response, seconds: number, detail: string): void {
  res.setHeader('Retry-After', String(Math.max(1, Math.ceil(seconds))));
  sendProblem(res, 'rate-limited', detail);
}

const buckets = (perSecond: number) => (perSecond > 0 ? new TokenBuckets(perSecond, 2 * perSecond) : undefined);

/** The client's address as this process sees it (behind a proxy: set express `trust proxy`). */
const clientAddress = (req: Request) => req.ip ?? req.socket.remoteAddress ?? 'unknown';

/** The credential a request presents (bearer token, or console session cookie), hashed; '' for none. */
function credentialOf(req: Request): string {
  const bearer = req.headers.authorization;
  const session = /(?:^|;\s*)countersign_session=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
  const presented = bearer ?? (session ? `session ${session}` : '');
  return presented ? createHash('sha256').update(presented).digest('base64') : '';
}

/**
 * Limits failed authentication per client address, and how many credentials it may have checked
 * at once. A failed check of a well-formed token costs a scrypt hash, so:
 *
 * - an address whose failures (401) used up its bucket is refused with 429 before its credential
 *   is looked at, until the bucket refills;
 * - at most twice the bucket's burst of distinct credentials not yet seen to authenticate are
 *   checked at once per address (the same credential in several requests at once counts once),
 *   so a burst of concurrent guesses does not all reach scrypt;
 * - a credential that authenticated lately (remembered by hash, up to 10,000 for 10 minutes)
 *   passes whatever its address's bucket says, so one client's bad token does not lock out the
 *   others behind the same proxy address.
 *
 * Mount before authentication.
 */
export function authFailureLimit(limits: RateLimits, now: () => number = Date.now): RequestHandler {
  const failures = buckets(limits.authFailuresPerSecond);
  if (!failures) return (_req, _res, next) => next();
  const maxChecking = Math.max(2, Math.ceil(4 * limits.authFailuresPerSecond));
  const good = new Map<string, number>();
  const GOOD_MS = 10 * 60_000;
  const checking = new Map<string, Map<string, number>>();
  return (req: Request, res: Response, next: NextFunction) => {
    const address = clientAddress(req);
    const credential = credentialOf(req);
    const knownGood = credential !== '' && (good.get(credential) ?? 0) > now();
    let release = () => {};
    if (!knownGood) {
      const wait = failures.wait(address);
      if (wait > 0) return refuse(res, wait, `too many failed authentications from this address; try again in ${Math.ceil(wait)} s`);
      const mine = checking.get(address) ?? new Map<string, number>();
      const already = mine.get(credential) ?? 0;
      if (already === 0 && mine.size >= maxChecking) return refuse(res, 1, `${mine.size} credentials from this address are being checked already; try again in 1 s`);
      mine.set(credential, already + 1);
      checking.set(address, mine);
      let released = false;
      release = () => {
        if (released) return;
        released = true;
        const n = (mine.get(credential) ?? 1) - 1;
        if (n > 0) mine.set(credential, n);
        else mine.delete(credential);
        if (mine.size === 0 && checking.get(address) === mine) checking.delete(address);
      };
      res.on('close', release);
    }
    res.on('finish', () => {
      release();
      if (res.statusCode === 401) {
        failures.take(address);
        good.delete(credential);
      } else if (credential && req.principal && !knownGood) {
        if (good.size >= 10_000) good.clear();
        good.set(credential, now() + GOOD_MS);
      }
    });
    next();
  };
}

/** Whether the request asks to be held (`?wait=<seconds>` above 0; a bad value is refused later, unheld). */
const asksToWait = (req: Request) => typeof req.query.wait === 'string' && Number(req.query.wait) > 0;

const PROPOSALS_PATH = /^\/v1\/actions\/?$/i;
const DECISIONS_PATH = /^\/v1\/actions\/[^/]+\/decisions\/?$/i;

/** Refusals held back (see {@link SlowRefusals}) per principal, and per process. */
export const MAX_HELD_REFUSALS_PER_PRINCIPAL = 64;
export const MAX_HELD_REFUSALS = 4096;

/** The per-principal limits whose refusals {@link SlowRefusals} may hold. */
export type PrincipalLimit = 'proposals' | 'decisions' | 'long-polls' | 'held-waits';

/**
 * A principal that sends again (from any of its clients) before the `Retry-After` of its last 429
 * for the same limit has passed gets that 429 late: held until the time is up (at most a second),
 * then up to a second more, spread at random so that the connections of a flood come back one by
 * one, not all at once. The held answer says `Retry-After: 1`, and that second counts as told too.
 * A flood on a few connections that ignores `Retry-After` (a loop that proposes as soon as it is
 * answered) then costs this process about one answer per connection per second instead of as many
 * as it can send, and leaves the CPU to other principals. A principal whose clients wait as told
 * is never held. At most {@link MAX_HELD_REFUSALS_PER_PRINCIPAL} answers per principal and
 * {@link MAX_HELD_REFUSALS} per process are held; past that they are sent at once, with
 * `Connection: close`. No answer is held longer than two seconds (a drain is not delayed).
 */
export class SlowRefusals {
  /** Until when each principal was told to wait, per limit (epoch ms). Only those refused lately. */
  private readonly toldUntil = new Map<string, number>();
  private readonly held = new Map<string, number>();
  private heldTotal = 0;

  constructor(
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {}

  /** Answer 429 for `principal` over `limit`: at once, or late (see the class comment). */
  refuse(res: Response, principal: string, limit: PrincipalLimit, seconds: number, detail: string): void {
    const key = `${principal}\n${limit}`;
    const t = this.now();
    const until = this.toldUntil.get(key) ?? 0;
    if (until <= t) {
      const retryAfter = Math.max(1, Math.ceil(seconds));
      this.tell(key, t + retryAfter * 1000, t);
      return refuse(res, retryAfter, detail);
    }
    const mine = this.held.get(principal) ?? 0;
    if (mine >= MAX_HELD_REFUSALS_PER_PRINCIPAL || this.heldTotal >= MAX_HELD_REFUSALS) {
      res.setHeader('Connection', 'close');
      return refuse(res, Math.ceil((until - t) / 1000), detail);
    }
    this.held.set(principal, mine + 1);
    this.heldTotal += 1;
    let done = false;
    const release = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      this.heldTotal -= 1;
      const n = (this.held.get(principal) ?? 1) - 1;
      if (n > 0) this.held.set(principal, n);
      else this.held.delete(principal);
    };
    const timer = setTimeout(() => {
      release();
      if (res.headersSent || res.destroyed) return;
      // What this answer tells counts: a client that ignores it too is held again.
      const at = this.now();
      const left = Math.max(1, Math.ceil(((this.toldUntil.get(key) ?? 0) - at) / 1000));
      this.tell(key, at + left * 1000, at);
      refuse(res, left, detail);
    }, Math.min(until - t, 1000) + Math.floor(this.random() * 1000));
    // A client that goes away frees its place at once.
    res.on('close', release);
  }

  private tell(key: string, until: number, t: number): void {
    if (!this.toldUntil.has(key) && this.toldUntil.size >= 100_000) {
      for (const [k, u] of this.toldUntil) if (u <= t) this.toldUntil.delete(k);
      if (this.toldUntil.size >= 100_000) this.toldUntil.clear();
    }
    this.toldUntil.set(key, Math.max(until, this.toldUntil.get(key) ?? 0));
  }
}

/**
 * Per-principal rates of proposals, decisions and long polls, and the caps on long polls held
 * open, per principal and per process. A principal that does not wait as its 429 told it gets its
 * next 429s for that limit late ({@link SlowRefusals}). Mount after authentication, before bodies are read.
 */
export function principalLimits(limits: RateLimits, slow = new SlowRefusals()): RequestHandler {
  const proposals = buckets(limits.proposalsPerSecond);
  const decisions = buckets(limits.decisionsPerSecond);
  const longPolls = buckets(limits.longPollsPerSecond);
  const open = new Map<string, number>();
  let openTotal = 0;
  return (req: Request, res: Response, next: NextFunction) => {
    const principal = (req.principal as Principal | undefined)?.id;
    if (!principal) return next();
    const refuseLate = (limit: PrincipalLimit, seconds: number, detail: string) => slow.refuse(res, principal, limit, seconds, detail);
    const isPost = req.method === 'POST';
    // As express matches routes: any case, with or without a trailing slash.
    if (isPost && PROPOSALS_PATH.test(req.path) && proposals) {
      const wait = proposals.take(principal);
      if (wait > 0) return refuseLate('proposals', wait, `more than ${limits.proposalsPerSecond} proposals a second from ${principal}; slow down`);
    }
    if (isPost && DECISIONS_PATH.test(req.path) && decisions) {
      const wait = decisions.take(principal);
      if (wait > 0) return refuseLate('decisions', wait, `more than ${limits.decisionsPerSecond} decisions a second from ${principal}; slow down`);
    }
    if (!asksToWait(req)) return next();
    if (longPolls) {
      const wait = longPolls.take(principal);
      if (wait > 0) return refuseLate('long-polls', wait, `more than ${limits.longPollsPerSecond} long polls a second from ${principal}; slow down`);
    }
    const mine = open.get(principal) ?? 0;
    if (limits.concurrentWaitsPerPrincipal > 0 && mine >= limits.concurrentWaitsPerPrincipal) {
      return refuseLate('held-waits', 1, `${principal} already holds ${mine} requests with ?wait open; wait for one to answer, or poll without ?wait`);
    }
    if (limits.concurrentWaits > 0 && openTotal >= limits.concurrentWaits) {
      // Not this principal's doing: answered at once, never held.
      return refuse(res, 1, `this API process already holds ${openTotal} requests with ?wait open; try again shortly`);
    }
    open.set(principal, mine + 1);
    openTotal += 1;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      openTotal -= 1;
      const n = (open.get(principal) ?? 1) - 1;
      if (n > 0) open.set(principal, n);
      else open.delete(principal);
    };
    // 'close' fires for answered and abandoned requests alike.
    res.on('close', release);
    res.on('finish', release);
    next();
  };
}
