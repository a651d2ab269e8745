import type { NextFunction, Request, RequestHandler, Response } from 'express';
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

/**
 * Refuses requests from an address that failed authentication too often, before the token is
 * checked (a failed check of a well-formed token costs a scrypt hash), and counts each 401.
 * Mount before authentication.
 */
export function authFailureLimit(limits: RateLimits): RequestHandler {
  const failures = buckets(limits.authFailuresPerSecond);
  if (!failures) return (_req, _res, next) => next();
  return (req: Request, res: Response, next: NextFunction) => {
    const address = clientAddress(req);
    const wait = failures.wait(address);
    if (wait > 0) return refuse(res, wait, `too many failed authentications from this address; try again in ${Math.ceil(wait)} s`);
    res.on('finish', () => {
      if (res.statusCode === 401) failures.take(address);
    });
    next();
  };
}

/** Whether the request asks to be held (`?wait=<seconds>` above 0; a bad value is refused later, unheld). */
const asksToWait = (req: Request) => typeof req.query.wait === 'string' && Number(req.query.wait) > 0;

/**
 * Per-principal rates of proposals, decisions and long polls, and the caps on long polls held
 * open, per principal and per process. Mount after authentication.
 */
export function principalLimits(limits: RateLimits): RequestHandler {
  const proposals = buckets(limits.proposalsPerSecond);
  const decisions = buckets(limits.decisionsPerSecond);
  const longPolls = buckets(limits.longPollsPerSecond);
  const open = new Map<string, number>();
  let openTotal = 0;
  return (req: Request, res: Response, next: NextFunction) => {
    const principal = (req.principal as Principal | undefined)?.id;
    if (!principal) return next();
    const isPost = req.method === 'POST';
    if (isPost && req.path === '/v1/actions' && proposals) {
      const wait = proposals.take(principal);
      if (wait > 0) return refuse(res, wait, `more than ${limits.proposalsPerSecond} proposals a second from ${principal}; slow down`);
    }
    if (isPost && /^\/v1\/actions\/[^/]+\/decisions$/.test(req.path) && decisions) {
      const wait = decisions.take(principal);
      if (wait > 0) return refuse(res, wait, `more than ${limits.decisionsPerSecond} decisions a second from ${principal}; slow down`);
    }
    if (!asksToWait(req)) return next();
    if (longPolls) {
      const wait = longPolls.take(principal);
      if (wait > 0) return refuse(res, wait, `more than ${limits.longPollsPerSecond} long polls a second from ${principal}; slow down`);
    }
    const mine = open.get(principal) ?? 0;
    if (limits.concurrentWaitsPerPrincipal > 0 && mine >= limits.concurrentWaitsPerPrincipal) {
      return refuse(res, 1, `${principal} already holds ${mine} requests with ?wait open; wait for one to answer, or poll without ?wait`);
    }
    if (limits.concurrentWaits > 0 && openTotal >= limits.concurrentWaits) {
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
