import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Pool } from 'pg';
import { delegationRefusal, holdsRole, type DelegationRefusal } from '../domain/access-rules';
import type { Identity, Via } from '../domain/action-types';
import type { CreatePrincipal, Role } from '../domain/api-schemas';
import { CountersignError, type FieldError } from '../domain/errors';
import type { PolicyFacts } from '../domain/policy-types';
import type { LedgerActor } from '../ledger/chain';
import {
  loadFacts,
  PrincipalRepository,
  type PrincipalChanges,
  type PrincipalReader,
  type PrincipalRecord,
  type TokenRecord,
} from '../ledger/principal-repository';
import { SessionRepository, type SessionMethod, type SessionRecord } from '../ledger/session-repository';

/** An authenticated caller: a stored principal, or the bootstrap admin. */
export type Principal = PrincipalRecord;

/** The bootstrap admin (from `COUNTERSIGN_ADMIN_TOKEN`). */
export const BOOTSTRAP_ADMIN: Principal = { id: 'admin', kind: 'human', roles: ['admin', 'operator'], groups: [], attributes: {}, delegates: [] };

// scrypt cost: ~20 ms per hash on this class of machine. Verified tokens are cached (by a
// sha256 of the token) so a busy agent pays it once per cache period, not per request.
const SCRYPT: ScryptOptions = { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const KEY_LEN = 32;
/** How long a verified token or session is trusted from the cache while change notifications arrive. */
const CACHE_MS = 60_000;
/**
 * Without change notifications (no feed attached, or its connection lost), a cached entry is
 * trusted this long at most: revocation and disabling still take effect within a second.
 */
const UNNOTIFIED_CACHE_MS = 1000;
const CACHE_MAX = 10_000;

/** Sign-in links are used within this time, once (docs/sign-in.md). */
export const SIGN_IN_LINK_TTL_MS = 15 * 60_000;

function scrypt(secret: string, salt: Buffer, o: ScryptOptions = SCRYPT): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCb(secret, salt, KEY_LEN, { ...o, maxmem: SCRYPT.maxmem }, (err, key) => (err ? reject(err) : resolve(key))));
}

/** Token format: `cs_<tokenId>_<secret>`; the id is public (looked up), the secret is hashed. */
function parseToken(token: string): { tokenId: string; secret: string } | undefined {
  const m = /^cs_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/.exec(token);
  return m ? { tokenId: m[1], secret: m[2] } : undefined;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();
/** sha256 hex: how sign-in links, sessions and CSRF tokens (256-bit random values) are stored. */
export const secretHash = (s: string) => sha256(s).toString('hex');
/** A fresh 256-bit random secret, base64url. */
export const newSecret = () => randomBytes(32).toString('base64url');

/** Constant-time equality of two strings' sha256 digests. */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

/** A new bearer token: what the caller is shown once, and what is stored. */
async function mintToken(): Promise<{ token: string; id: string; hash: string }> {
  const tokenId = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const salt = randomBytes(16);
  const hash = await scrypt(secret, salt);
  return { token: `cs_${tokenId}_${secret}`, id: tokenId, hash: `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${hash.toString('base64')}` };
}

/** Who did something, as the ledger records it. */
export const actorOf = (p: Pick<Principal, 'id' | 'kind'>): LedgerActor => ({ id: p.id, kind: p.kind });

/** Where {@link PrincipalStore} learns that a principal changed in any API process (api/change-feed.ts). */
export interface PrincipalChangeSource {
  /** Call `listener` with the principal id on each change, or `'*'` when changes may have been missed. */
  onPrincipalChanged(listener: (principalId: string) => void): void;
  /** Whether notifications are arriving now (the LISTEN connection is up). */
  readonly listening: boolean;
}

interface CacheEntry<T> {
  value: T;
  principalId: string;
  until: number;
}

/**
 * What was verified recently (tokens, sessions), keyed by a digest of the secret. Entries are
 * dropped when their principal changes anywhere (notification), and are trusted only briefly
 * while notifications are not arriving.
 */
class VerificationCache<T> {
  private readonly entries = new Map<string, CacheEntry<T>>();
  constructor(private readonly feed: () => PrincipalChangeSource | undefined) {}

  get(key: string): T | undefined {
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    if (hit.until <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return hit.value;
  }

  set(key: string, principalId: string, value: T, notAfter?: Date | null): void {
    const listening = this.feed()?.listening ?? false;
    const until = Math.min(Date.now() + (listening ? CACHE_MS : UNNOTIFIED_CACHE_MS), notAfter ? notAfter.getTime() : Infinity);
    if (this.entries.size >= CACHE_MAX) this.entries.clear();
    this.entries.set(key, { value, principalId, until });
  }

  forget(principalId: string): void {
    if (principalId === '*') return this.entries.clear();
    for (const [k, e] of this.entries) if (e.principalId === principalId) this.entries.delete(k);
  }
}

/** A console session as a request sees it. */
export interface ConsoleSession extends SessionRecord {
  /** sha256 hex of the session secret (its row key). */
  sessionHash: string;
}

/** Principals, their bearer tokens (stored hashed with scrypt), sign-in links and console sessions. */
export class PrincipalStore implements PrincipalReader {
  private readonly tokens: VerificationCache<Principal>;
  private readonly sessionCache: VerificationCache<ConsoleSession>;
  private readonly adminDigest?: Buffer;
  private readonly principals: PrincipalRepository;
  readonly sessions: SessionRepository;
  private feed?: PrincipalChangeSource;

  constructor(pool: Pool, adminToken?: string) {
    this.principals = new PrincipalRepository(pool);
    this.sessions = new SessionRepository(pool);
    this.adminDigest = adminToken ? sha256(adminToken) : undefined;
    this.tokens = new VerificationCache(() => this.feed);
    this.sessionCache = new VerificationCache(() => this.feed);
  }

  /**
   * Learn of principal changes made by any API process (a revoked token, a disabled principal, an
   * ended session): what was cached about that principal is dropped as the notification arrives.
   */
  attachChanges(feed: PrincipalChangeSource): this {
    this.feed = feed;
    feed.onPrincipalChanged((id) => this.forget(id));
    return this;
  }

  /** Drop what is cached about a principal (`'*'`: everything). */
  forget(principalId: string): void {
    this.tokens.forget(principalId);
    this.sessionCache.forget(principalId);
  }

  /**
   * Create a principal; its token is returned once and only its hash is stored.
   * @throws CountersignError `validation` when a delegate is not an existing agent principal
   */
  async create(p: CreatePrincipal & Pick<PrincipalChanges, 'email' | 'oidcSubject' | 'slackUserId'>, createdBy: Principal): Promise<{ id: string; token: string }> {
    await this.checkDelegates(p.delegates);
    const minted = await mintToken();
    const record: PrincipalRecord = {
      id: p.id,
      kind: p.kind,
      roles: p.roles,
      groups: p.groups,
      attributes: p.attributes,
      delegates: p.delegates,
      email: p.email ?? null,
      oidcSubject: p.oidcSubject ?? null,
      slackUserId: p.slackUserId ?? null,
    };
    const inserted = await this.principals.insert(record, { id: minted.id, hash: minted.hash }, actorOf(createdBy));
    if (!inserted) throw new CountersignError('conflict', `principal ${p.id} already exists`);
    return { id: p.id, token: minted.token };
  }

  /** A principal by id (no token), or undefined. */
  async get(id: string): Promise<Principal | undefined> {
    if (id === BOOTSTRAP_ADMIN.id) return BOOTSTRAP_ADMIN;
    return this.principals.find(id);
  }

  /** Same as {@link get}: lets the store serve {@link loadFacts}. */
  find(id: string): Promise<Principal | undefined> {
    return this.get(id);
  }

  /** Every stored principal (the bootstrap admin lives in the environment, not here). */
  list(): Promise<Principal[]> {
    return this.principals.list();
  }

  /** The enabled human with this identity (OIDC subject, email, Slack user id), or undefined. */
  findHumanBy(identity: 'oidcSubject' | 'email' | 'slackUserId', value: string): Promise<Principal | undefined> {
    return this.principals.findHumanBy(identity, value);
  }

  /**
   * Change a principal (admin). Nobody changes their own roles, groups, delegates or disabled
   * flag (403); an agent holds only the agent role and delegates nobody (422); delegates must be
   * existing agents (422).
   * @returns the principal as it is now, or undefined when there is none
   */
  async update(id: string, changes: PrincipalChanges, by: Principal): Promise<Principal | undefined> {
    if (by.id === id) {
      const own = (['roles', 'groups', 'delegates', 'disabled'] as const).filter((k) => changes[k] !== undefined);
      if (own.length > 0) throw new CountersignError('forbidden', `nobody changes their own ${own.join(', ')}: ask another admin`);
    }
    if (changes.delegates) await this.checkDelegates(changes.delegates);
    const updated = await this.principals.update(id, changes, actorOf(by), (current) => {
      const errors: FieldError[] = [];
      if (current.kind === 'agent') {
        changes.roles?.forEach((r, i) => {
          if (r !== 'agent') errors.push({ path: `/roles/${i}`, message: `an agent principal holds only the role "agent", not "${r}"` });
        });
        if (changes.delegates && changes.delegates.length > 0) errors.push({ path: '/delegates', message: 'only a human principal delegates to agents' });
        for (const k of ['email', 'oidcSubject', 'slackUserId'] as const) {
          if (changes[k]) errors.push({ path: `/${k}`, message: 'only a human principal signs in (email, oidcSubject, slackUserId are for humans)' });
        }
      }
      if (errors.length > 0) throw new CountersignError('validation', `${id} is an agent`, errors);
    });
    if (updated) this.forget(id);
    return updated;
  }

  /**
   * A new token for a principal (admin), shown once.
   * @param expiresInMs undefined: no expiry
   * @returns undefined when there is no such principal
   */
  async createToken(principalId: string, expiresInMs: number | undefined, by: Principal): Promise<{ tokenId: string; token: string; expiresAt: string | null } | undefined> {
    const minted = await mintToken();
    const expiresAt = expiresInMs === undefined ? null : new Date(Date.now() + expiresInMs);
    const added = await this.principals.addToken(principalId, { id: minted.id, hash: minted.hash, expiresAt }, actorOf(by));
    return added ? { tokenId: minted.id, token: minted.token, expiresAt: expiresAt?.toISOString() ?? null } : undefined;
  }

  /** A principal's tokens, metadata only. */
  listTokens(principalId: string): Promise<TokenRecord[]> {
    return this.principals.listTokens(principalId);
  }

  /**
   * Revoke a token: from now on it answers 401 in this process, and in every other one as soon as
   * the notification arrives.
   * @returns false when the principal has no such token
   */
  async revokeToken(principalId: string, tokenId: string, by: Principal): Promise<boolean> {
    const done = await this.principals.revokeToken(principalId, tokenId, actorOf(by));
    if (done) this.forget(principalId);
    return done;
  }

  /**
   * A one-use sign-in link for a human principal, valid {@link SIGN_IN_LINK_TTL_MS}.
   * @returns undefined when there is no such principal
   * @throws CountersignError `validation` when the principal is an agent or disabled
   */
  async createSignInLink(principalId: string, publicUrl: string, by: Principal): Promise<{ url: string; expiresAt: string } | undefined> {
    const p = await this.principals.find(principalId);
    if (!p) return undefined;
    if (p.kind !== 'human') throw new CountersignError('validation', `${principalId} is an agent: sign-in links are for human principals`, [{ path: '/id', message: 'not a human principal' }]);
    if (p.disabled) throw new CountersignError('validation', `${principalId} is disabled: enable it first`, [{ path: '/id', message: 'the principal is disabled' }]);
    const secret = newSecret();
    const expiresAt = new Date(Date.now() + SIGN_IN_LINK_TTL_MS);
    if (!(await this.principals.addSignInLink(principalId, secretHash(secret), expiresAt, actorOf(by)))) return undefined;
    const url = new URL('console/sign-in/link', publicUrl.endsWith('/') ? publicUrl : `${publicUrl}/`);
    url.searchParams.set('token', secret);
    return { url: url.toString(), expiresAt: expiresAt.toISOString() };
  }

  /** The human a sign-in link would sign in (without using it), or undefined when it cannot be used. */
  peekSignInLink(secret: string): Promise<Principal | undefined> {
    return this.principals.peekSignInLink(secretHash(secret));
  }

  /** Use a sign-in link up; the human it signs in, or undefined (unknown, used, expired, disabled). */
  useSignInLink(secret: string): Promise<Principal | undefined> {
    return this.principals.useSignInLink(secretHash(secret));
  }

  /** Set a human's groups from the identity provider's claim (recorded as the provider's change). */
  async syncGroups(principalId: string, groups: string[], issuer: string): Promise<Principal | undefined> {
    const updated = await this.principals.syncGroups(principalId, groups, { id: `oidc:${issuer}`, kind: 'system' });
    this.forget(principalId);
    return updated;
  }

  /**
   * Start a console session for a human: the secrets go to the browser (cookies), their hashes
   * to Postgres.
   */
  async startSession(
    principal: Principal,
    how: { method: SessionMethod; issuer?: string; subject?: string },
    ttlMs: number,
  ): Promise<{ session: string; csrf: string; expiresAt: Date }> {
    const session = newSecret();
    const csrf = newSecret();
    const expiresAt = new Date(Date.now() + ttlMs);
    await this.sessions.create({ sessionHash: secretHash(session), csrfHash: secretHash(csrf), principalId: principal.id, ...how, expiresAt });
    return { session, csrf, expiresAt };
  }

  /** The live session a session cookie's value belongs to, or undefined. */
  async authenticateSession(secret: string): Promise<ConsoleSession | undefined> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(secret)) return undefined;
    const sessionHash = secretHash(secret);
    const key = `s:${sessionHash}`;
    const hit = this.sessionCache.get(key);
    if (hit) return hit;
    const found = await this.sessions.findLive(sessionHash);
    if (!found) return undefined;
    const session: ConsoleSession = { ...found, sessionHash };
    this.sessionCache.set(key, found.principal.id, session, found.expiresAt);
    return session;
  }

  /** End a session everywhere (sign-out). */
  async endSession(session: ConsoleSession): Promise<void> {
    this.forget(session.principal.id);
    await this.sessions.end(session.sessionHash);
  }

  /**
   * Why agent `agentId` may not propose on behalf of `onBehalfOf`, or undefined when it may: the
   * stored human must list the agent in `delegates` (domain/access-rules.ts `delegationRefusal`).
   */
  async delegationRefusal(agentId: string, onBehalfOf: string): Promise<DelegationRefusal | undefined> {
    return delegationRefusal(agentId, onBehalfOf, await this.get(onBehalfOf));
  }

  /**
   * The CEL variable `facts` for an action of `agentId` on behalf of `onBehalfOf`, as stored now
   * (ledger/principal-repository.ts `loadFacts`).
   * @throws CountersignError `not-delegated` when `onBehalfOf` does not delegate to the agent
   */
  facts(agentId: string, onBehalfOf: string | null | undefined): Promise<PolicyFacts> {
    return loadFacts(this, agentId, onBehalfOf);
  }

  /** A human delegates to agents only, and only to ones that exist (a typo would delegate to whoever takes the id later). */
  private async checkDelegates(delegates: readonly string[]): Promise<void> {
    if (delegates.length === 0) return;
    const found = await this.principals.findMany(delegates);
    const errors: FieldError[] = [];
    delegates.forEach((id, i) => {
      const p = found.get(id);
      if (!p || p.kind !== 'agent') errors.push({ path: `/delegates/${i}`, message: `no agent principal ${id}` });
    });
    if (errors.length > 0) throw new CountersignError('validation', 'a human delegates only to existing agent principals', errors);
  }

  /**
   * The principal a bearer token belongs to, or undefined: unknown, revoked or expired tokens and
   * disabled principals authenticate nothing. Comparisons are constant-time.
   */
  async authenticate(token: string): Promise<Principal | undefined> {
    const digest = sha256(token);
    if (this.adminDigest && timingSafeEqual(digest, this.adminDigest)) return BOOTSTRAP_ADMIN;
    const key = `t:${digest.toString('base64')}`;
    const hit = this.tokens.get(key);
    if (hit) return hit;
    const parsed = parseToken(token);
    if (!parsed) return undefined;
    const credential = await this.principals.findUsableToken(parsed.tokenId);
    if (!credential) return undefined;
    const [, n, r, p, salt, expected] = credential.tokenHash.split('$');
    const actual = await scrypt(parsed.secret, Buffer.from(salt, 'base64'), { N: Number(n), r: Number(r), p: Number(p) });
    const want = Buffer.from(expected, 'base64');
    if (want.length !== actual.length || !timingSafeEqual(want, actual)) return undefined;
    this.tokens.set(key, credential.principal.id, credential.principal, credential.expiresAt);
    return credential.principal;
  }
}

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
    /** Set when the request was authenticated by a console session cookie (not a bearer token). */
    consoleSession?: ConsoleSession;
  }
}

/** The console's cookies (docs/sign-in.md). */
export const SESSION_COOKIE = 'countersign_session';
export const CSRF_COOKIE = 'countersign_csrf';
/** The header a cookie-authenticated write must carry, with the CSRF cookie's value. */
export const CSRF_HEADER = 'x-csrf-token';

/** A cookie's value from the request's Cookie header, or undefined. */
export function cookieValue(req: Request, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) {
      const raw = part.slice(eq + 1).trim();
      try {
        return decodeURIComponent(raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw);
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** Methods that change nothing, and so need no CSRF token. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Cookie attributes of the console's cookies (`Secure` when the public URL is https). */
export function cookieOptions(publicUrl: string, httpOnly: boolean, expires?: Date) {
  return { httpOnly, sameSite: 'lax' as const, path: '/', secure: publicUrl.startsWith('https:'), ...(expires ? { expires } : {}) };
}

/** Clear both console cookies (sign-out, or a session that is no longer valid). */
export function clearSessionCookies(res: Response, publicUrl: string): void {
  res.clearCookie(SESSION_COOKIE, cookieOptions(publicUrl, true));
  res.clearCookie(CSRF_COOKIE, cookieOptions(publicUrl, false));
}

/** Options of {@link authenticate}. */
export interface AuthenticateOptions {
  /** Accept the console's session cookie (with CSRF on writes). @default false: bearer tokens only */
  sessions?: boolean;
  /** For the cookies' attributes when a stale session's cookies are cleared. */
  publicUrl?: () => string;
}

/**
 * Require a valid bearer token or (with `sessions`) a console session cookie; sets
 * `req.principal`. `Authorization: Bearer` wins and cookies are then ignored. A write
 * (any method but GET, HEAD, OPTIONS) authenticated by the cookie must carry `X-CSRF-Token` with
 * the session's CSRF token, else 403 `csrf`.
 */
export function authenticate(store: PrincipalStore, options: AuthenticateOptions = {}) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const header = req.headers.authorization;
    if (header === undefined && options.sessions) {
      const cookie = cookieValue(req, SESSION_COOKIE);
      if (cookie !== undefined) {
        const session = await store.authenticateSession(cookie);
        if (!session) {
          // Expired, ended, or its principal disabled: the browser should drop it.
          clearSessionCookies(res, options.publicUrl?.() ?? '');
          throw new CountersignError('unauthorized', 'the console session has ended or expired: sign in again');
        }
        if (!SAFE_METHODS.has(req.method)) {
          const sent = req.get(CSRF_HEADER);
          if (sent === undefined || sent === '') throw new CountersignError('csrf', `a write with the session cookie needs the header X-CSRF-Token (the value of the ${CSRF_COOKIE} cookie)`);
          if (!timingSafeEqual(Buffer.from(secretHash(sent), 'hex'), Buffer.from(session.csrfHash, 'hex'))) {
            throw new CountersignError('csrf', `X-CSRF-Token does not match this session's CSRF token (the ${CSRF_COOKIE} cookie)`);
          }
        }
        req.principal = session.principal;
        req.consoleSession = session;
        return next();
      }
    }
    const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!m) throw new CountersignError('unauthorized', 'send Authorization: Bearer <token> (or sign in to the console)');
    const principal = await store.authenticate(m[1]);
    if (!principal) throw new CountersignError('unauthorized', 'the bearer token is not valid (unknown, revoked or expired, or its principal is disabled)');
    req.principal = principal;
    next();
  };
}

/** How the caller of this request was identified, and through what, for the evidence. */
export function humanOriginOf(req: Request): { identity: Identity; via: Via } {
  const s = req.consoleSession;
  if (!s) return { identity: { method: 'token' }, via: 'api' };
  return {
    identity: { method: s.method, ...(s.issuer ? { issuer: s.issuer } : {}), ...(s.subject ? { subject: s.subject } : {}) },
    via: 'console',
  };
}

/** Require one of `roles` (admin implies every role but reviewer: domain/access-rules.ts `holdsRole`). */
export function requireRole(...roles: Role[]) {
  return (req: Request, _res: Response, next: NextFunction) => {
    const p = req.principal as Principal;
    if (!roles.some((r) => holdsRole(p, r))) {
      throw new CountersignError('forbidden', `this needs the role ${roles.join(' or ')}; ${p.id} has ${p.roles.join(', ')}`);
    }
    next();
  };
}
