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

/**
 * A client that sends again before the `Retry-After` of its last 429 has passed gets its next 429
 * only once that time is up, and up to a second later (spread at random, so that the connections
 * of a flood come back one by one, not all at once): the answer is held. A flood on a few connections
 * that ignores `Retry-After` (a loop that proposes as soon as it is answered) then costs this
 * process one answer per connection per second instead of as many as it can send, and leaves the
 * CPU to other principals. A client that waits as told is never held. At most
 * {@link MAX_HELD_REFUSALS_PER_PRINCIPAL} answers per principal and {@link MAX_HELD_REFUSALS} per
 * process are held; past that they are sent at once, with `Connection: close`.
 */
export class SlowRefusals {
  /** Until when each principal was told to wait (epoch ms). Only principals refused lately. */
  private readonly toldUntil = new Map<string, number>();
  private readonly held = new Map<string, number>();
  private heldTotal = 0;

  constructor(
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {}

  /** Answer 429 for `principal`: at once, or when the Retry-After it was last told ends. */
  refuse(res: Response, principal: string, seconds: number, detail: string): void {
    const t = this.now();
    const until = this.toldUntil.get(principal) ?? 0;
    const retryAfter = Math.max(1, Math.ceil(seconds));
    if (until <= t) {
      if (this.toldUntil.size >= 100_000) this.forgetPast(t);
      this.toldUntil.set(principal, t + retryAfter * 1000);
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
    // Spread over the second after it, so that a flood's connections do not all come back at
    // the same moment and take the tokens that accrued meanwhile at once (a burst of work).
    const timer = setTimeout(() => {
      release();
      if (!res.headersSent && !res.destroyed) refuse(res, 1, detail);
    }, until - t + Math.floor(this.random() * 1000));
    // A client that goes away frees its place at once.
    res.on('close', release);
  }

  private forgetPast(t: number): void {
    for (const [principal, until] of this.toldUntil) if (until <= t) this.toldUntil.delete(principal);
    if (this.toldUntil.size >= 100_000) this.toldUntil.clear();
  }
}

/**
 * Per-principal rates of proposals, decisions and long polls, and the caps on long polls held
 * open, per principal and per process. A principal that does not wait as its 429 told it gets its
 * next 429s late ({@link SlowRefusals}). Mount after authentication, before bodies are read.
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
    const refuse = (seconds: number, detail: string) => slow.refuse(res, principal, seconds, detail);
    const isPost = req.method === 'POST';
    // As express matches routes: any case, with or without a trailing slash.
    if (isPost && PROPOSALS_PATH.test(req.path) && proposals) {
      const wait = proposals.take(principal);
      if (wait > 0) return refuse(wait, `more than ${limits.proposalsPerSecond} proposals a second from ${principal}; slow down`);
    }
    if (isPost && DECISIONS_PATH.test(req.path) && decisions) {
      const wait = decisions.take(principal);
      if (wait > 0) return refuse(wait, `more than ${limits.decisionsPerSecond} decisions a second from ${principal}; slow down`);
    }
    if (!asksToWait(req)) return next();
    if (longPolls) {
      const wait = longPolls.take(principal);
      if (wait > 0) return refuse(wait, `more than ${limits.longPollsPerSecond} long polls a second from ${principal}; slow down`);
    }
    const mine = open.get(principal) ?? 0;
    if (limits.concurrentWaitsPerPrincipal > 0 && mine >= limits.concurrentWaitsPerPrincipal) {
      return refuse(1, `${principal} already holds ${mine} requests with ?wait open; wait for one to answer, or poll without ?wait`);
    }
    if (limits.concurrentWaits > 0 && openTotal >= limits.concurrentWaits) {
      return refuse(1, `this API process already holds ${openTotal} requests with ?wait open; try again shortly`);
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
