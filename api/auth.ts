import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Pool } from 'pg';
import { delegationRefusal, holdsRole, type DelegationRefusal } from '../domain/access-rules';
import type { CreatePrincipal, Role } from '../domain/api-schemas';
import { CountersignError, type FieldError } from '../domain/errors';
import type { PolicyFacts } from '../domain/policy-types';
import { loadFacts, PrincipalRepository, type PrincipalReader, type PrincipalRecord } from '../ledger/principal-repository';

/** An authenticated caller: a stored principal, or the bootstrap admin. */
export type Principal = PrincipalRecord;

/** The bootstrap admin (from `COUNTERSIGN_ADMIN_TOKEN`). */
export const BOOTSTRAP_ADMIN: Principal = { id: 'admin', kind: 'human', roles: ['admin', 'operator'], groups: [], attributes: {}, delegates: [] };

// scrypt cost: ~20 ms per hash on this class of machine. Verified tokens are cached (by a
// sha256 of the token) so a busy agent pays it once per cache period, not per request.
const SCRYPT: ScryptOptions = { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const KEY_LEN = 32;
const CACHE_MS = 60_000;

function scrypt(secret: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCb(secret, salt, KEY_LEN, SCRYPT, (err, key) => (err ? reject(err) : resolve(key))));
}

/** Token format: `cs_<tokenId>_<secret>`; the id is public (looked up), the secret is hashed. */
function parseToken(token: string): { tokenId: string; secret: string } | undefined {
  const m = /^cs_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/.exec(token);
  return m ? { tokenId: m[1], secret: m[2] } : undefined;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();

/** Principals and their bearer tokens, stored hashed with scrypt. */
export class PrincipalStore implements PrincipalReader {
  private readonly cache = new Map<string, { principal: Principal; until: number }>();
  private readonly adminDigest?: Buffer;
  private readonly principals: PrincipalRepository;

  constructor(pool: Pool, adminToken?: string) {
    this.principals = new PrincipalRepository(pool);
    this.adminDigest = adminToken ? sha256(adminToken) : undefined;
  }

  /**
   * Create a principal; its token is returned once and only its hash is stored.
   * @throws CountersignError `validation` when a delegate is not an existing agent principal
   */
  async create(p: CreatePrincipal, createdBy: string): Promise<{ id: string; token: string }> {
    await this.checkDelegates(p.delegates);
    const tokenId = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const salt = randomBytes(16);
    const hash = await scrypt(secret, salt);
    const stored = `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
    const record: PrincipalRecord = { id: p.id, kind: p.kind, roles: p.roles, groups: p.groups, attributes: p.attributes, delegates: p.delegates };
    const inserted = await this.principals.insert(record, { id: tokenId, hash: stored }, createdBy);
    if (!inserted) throw new CountersignError('conflict', `principal ${p.id} already exists`);
    return { id: p.id, token: `cs_${tokenId}_${secret}` };
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

  /** The principal a bearer token belongs to, or undefined. Comparisons are constant-time. */
  async authenticate(token: string): Promise<Principal | undefined> {
    const digest = sha256(token);
    if (this.adminDigest && timingSafeEqual(digest, this.adminDigest)) return BOOTSTRAP_ADMIN;
    const key = digest.toString('base64');
    const hit = this.cache.get(key);
    if (hit && hit.until > Date.now()) return hit.principal;
    const parsed = parseToken(token);
    if (!parsed) return undefined;
    const row = await this.principals.findByTokenId(parsed.tokenId);
    if (!row) return undefined;
    const [, n, r, p, salt, expected] = row.token_hash.split('$');
    const actual = await new Promise<Buffer>((resolve, reject) =>
      scryptCb(parsed.secret, Buffer.from(salt, 'base64'), KEY_LEN, { N: Number(n), r: Number(r), p: Number(p), maxmem: SCRYPT.maxmem }, (err, k) =>
        err ? reject(err) : resolve(k),
      ),
    );
    const want = Buffer.from(expected, 'base64');
    if (want.length !== actual.length || !timingSafeEqual(want, actual)) return undefined;
    const { token_hash: _hash, ...principal } = row;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(key, { principal, until: Date.now() + CACHE_MS });
    return principal;
  }
}

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
  }
}

/** Require a valid bearer token; sets `req.principal`. */
export function authenticate(store: PrincipalStore) {
  return async (req: Request, _res: Response, next: NextFunction) => {
    const header = req.headers.authorization;
    const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!m) throw new CountersignError('unauthorized', 'send Authorization: Bearer <token>');
    const principal = await store.authenticate(m[1]);
    if (!principal) throw new CountersignError('unauthorized', 'the bearer token is not valid');
    req.principal = principal;
    next();
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
