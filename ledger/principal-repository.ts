/**
 * The principal tables (ledger/migrations/001_core.sql, 007_principal_facts.sql,
 * 008_principal_tokens_and_sessions.sql): who may call the API, the facts policy trusts about
 * them (`attributes`, the agents a human `delegates` to), their bearer tokens (hashed), the
 * identities they sign in with, and the one-use sign-in links issued to humans. This module is
 * their only reader and writer; api/auth.ts checks tokens.
 *
 * Every change is a ledger event on the principal's own chain (`principal:<id>`) written in the
 * same transaction, and a notification on {@link PRINCIPAL_CHANGED_CHANNEL} delivered when it
 * commits, so every API process drops what it cached about the principal (api/auth.ts).
 */
import type { Pool, PoolClient } from 'pg';
import { allowedRoles, delegationRefusal } from '../domain/access-rules';
import type { PrincipalEventType } from '../domain/action-types';
import type { Role } from '../domain/api-schemas';
import { CountersignError } from '../domain/errors';
import type { PolicyFacts } from '../domain/policy-types';
import type { LedgerActor } from './chain';
import { appendEvent, readActionHead } from './store';

/** Postgres channel that carries `<principalId>` whenever a principal, its tokens or its sessions change. */
export const PRINCIPAL_CHANGED_CHANNEL = 'countersign_principal_changed';

/** A stored principal, without its tokens. */
export interface PrincipalRecord {
  id: string;
  kind: 'agent' | 'human';
  roles: Role[];
  groups: string[];
  /** Facts for policy, set by admins (`facts.<who>.attributes`). */
  attributes: Record<string, unknown>;
  /** Agent ids this human lets propose on their behalf; always empty for an agent. */
  delegates: string[];
  /** A disabled principal authenticates nowhere (tokens, sessions, Slack). @default false */
  disabled?: boolean;
  /** The email a verified OIDC email maps to this principal by (humans). */
  email?: string | null;
  /** The OIDC subject (`sub`) that signs in as this principal (humans). */
  oidcSubject?: string | null;
  /** The Slack user id whose button clicks decide as this principal (humans). */
  slackUserId?: string | null;
}

/** What an admin may change on a principal (`PATCH /v1/principals/:id`); absent fields stay. */
export interface PrincipalChanges {
  roles?: Role[];
  groups?: string[];
  attributes?: Record<string, unknown>;
  delegates?: string[];
  disabled?: boolean;
  email?: string | null;
  oidcSubject?: string | null;
  slackUserId?: string | null;
}

/** A token's metadata (never its secret or hash). */
export interface TokenRecord {
  tokenId: string;
  principalId: string;
  createdAt: string;
  createdBy: string | null;
  expiresAt: string | null;
  revokedAt: string | null;
  revokedBy: string | null;
}

/** A token as authentication needs it: the stored hash and the principal it belongs to. */
export interface TokenCredential {
  principal: PrincipalRecord;
  tokenHash: string;
  expiresAt: Date | null;
}

const COLUMNS = `p.id, p.kind, p.roles, p.groups, p.attributes, p.delegates, p.disabled, p.email,
  p.oidc_subject AS "oidcSubject", p.slack_user_id AS "slackUserId"`;

/** Columns of principal_tokens as {@link TokenRecord} (timestamps as ISO text). */
const TOKEN_COLUMNS = `t.token_id AS "tokenId", t.principal_id AS "principalId",
  to_char(t.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt", t.created_by AS "createdBy",
  to_char(t.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "expiresAt",
  to_char(t.revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "revokedAt", t.revoked_by AS "revokedBy"`;

/**
 * A row as the rest of the system sees it. An agent holds the `agent` role only (docs/api.md,
 * "Roles"): any other role stored on an agent before that rule (the API refused only `reviewer`
 * then) is not held.
 */
function toRecord<R extends PrincipalRecord>(row: R): R {
  if (row.kind !== 'agent') return row;
  const allowed = allowedRoles('agent');
  return row.roles.every((r) => allowed.includes(r)) ? row : { ...row, roles: row.roles.filter((r) => allowed.includes(r)) };
}

/** The ledger chain of a principal's events. */
export const principalChainId = (id: string): string => `principal:${id}`;

/** Postgres unique violation: which identity index refused, as the field it guards. */
function identityConflict(err: unknown): CountersignError | undefined {
  const e = err as { code?: string; constraint?: string };
  if (e.code !== '23505') return undefined;
  const field = { principals_email_idx: 'email', principals_oidc_subject_idx: 'oidcSubject', principals_slack_user_idx: 'slackUserId' }[e.constraint ?? ''];
  if (!field) return undefined;
  return new CountersignError('conflict', `another principal already has this ${field}: an identity maps to one principal`, [{ path: `/${field}`, message: 'already used by another principal' }]);
}

/** Reads and writes of the principal tables. */
export class PrincipalRepository {
  constructor(private readonly pool: Pool) {}

  /** Run `work` in a transaction; principal changes and their ledger events commit together. */
  private async transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const out = await work(client);
      await client.query('COMMIT');
      return out;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  /**
   * Append a ledger event to the principal's chain and notify every API process (on commit).
   * The caller holds the principal's row lock (or just inserted it), so the chain's next seq is
   * its own.
   */
  private async record(client: PoolClient, principalId: string, type: PrincipalEventType, actor: LedgerActor, data: unknown): Promise<void> {
    const chain = principalChainId(principalId);
    const head = await readActionHead(client, chain);
    await appendEvent(client, { actionId: chain, seq: (head?.seq ?? 0) + 1, type, actor, at: new Date(), data });
    await client.query('SELECT pg_notify($1, $2)', [PRINCIPAL_CHANGED_CHANNEL, principalId]);
  }

  /**
   * Store a principal with its first token (public id and stored hash), and record both.
   * @returns false when a principal with this id (or token id) already exists
   */
  async insert(p: PrincipalRecord, token: { id: string; hash: string }, actor: LedgerActor): Promise<boolean> {
    try {
      await this.transaction(async (client) => {
        await client.query(
          `INSERT INTO principals (id, kind, roles, groups, attributes, delegates, email, oidc_subject, slack_user_id, created_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
          [p.id, p.kind, p.roles, p.groups, JSON.stringify(p.attributes), p.delegates, p.email ?? null, p.oidcSubject ?? null, p.slackUserId ?? null, actor.id],
        );
        await client.query('INSERT INTO principal_tokens (token_id, principal_id, token_hash, created_by) VALUES ($1, $2, $3, $4)', [token.id, p.id, token.hash, actor.id]);
        await this.record(client, p.id, 'principal_created', actor, {
          kind: p.kind,
          roles: p.roles,
          groups: p.groups,
          attributes: p.attributes,
          delegates: p.delegates,
          email: p.email ?? null,
          oidcSubject: p.oidcSubject ?? null,
          slackUserId: p.slackUserId ?? null,
        });
        await this.record(client, p.id, 'token_created', actor, { tokenId: token.id, expiresAt: null });
      });
      return true;
    } catch (err) {
      const conflict = identityConflict(err);
      if (conflict) throw conflict;
      if ((err as { code?: string }).code === '23505') return false;
      throw err;
    }
  }

  /** A principal by id (disabled ones too), or undefined. */
  async find(id: string): Promise<PrincipalRecord | undefined> {
    const { rows } = await this.pool.query<PrincipalRecord>(`SELECT ${COLUMNS} FROM principals p WHERE p.id = $1`, [id]);
    return rows[0] && toRecord(rows[0]);
  }

  /** Every principal, by id. */
  async list(): Promise<PrincipalRecord[]> {
    const { rows } = await this.pool.query<PrincipalRecord>(`SELECT ${COLUMNS} FROM principals p ORDER BY p.id`);
    return rows.map(toRecord);
  }

  /** The principals of `ids` that exist, by id (one query). */
  async findMany(ids: readonly string[]): Promise<Map<string, PrincipalRecord>> {
    if (ids.length === 0) return new Map();
    const { rows } = await this.pool.query<PrincipalRecord>(`SELECT ${COLUMNS} FROM principals p WHERE p.id = ANY($1::text[])`, [ids]);
    return new Map(rows.map((r) => [r.id, toRecord(r)]));
  }

  /** The enabled human principal with this identity, or undefined. */
  async findHumanBy(identity: 'oidcSubject' | 'email' | 'slackUserId', value: string): Promise<PrincipalRecord | undefined> {
    const where = { oidcSubject: 'p.oidc_subject = $1', email: 'lower(p.email) = lower($1)', slackUserId: 'p.slack_user_id = $1' }[identity];
    const { rows } = await this.pool.query<PrincipalRecord>(`SELECT ${COLUMNS} FROM principals p WHERE ${where} AND p.kind = 'human' AND NOT p.disabled`, [value]);
    return rows[0] && toRecord(rows[0]);
  }

  /**
   * The credential of a token id that may authenticate now: not revoked, not expired, and its
   * principal not disabled. Undefined otherwise.
   */
  async findUsableToken(tokenId: string): Promise<TokenCredential | undefined> {
    const { rows } = await this.pool.query<PrincipalRecord & { token_hash: string; expires_at: Date | null }>(
      `SELECT ${COLUMNS}, t.token_hash, t.expires_at FROM principal_tokens t JOIN principals p ON p.id = t.principal_id
        WHERE t.token_id = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now()) AND NOT p.disabled`,
      [tokenId],
    );
    const row = rows[0];
    if (!row) return undefined;
    const { token_hash: tokenHash, expires_at: expiresAt, ...principal } = row;
    return { principal: toRecord(principal), tokenHash, expiresAt };
  }

  /**
   * Apply `changes` to a principal and record what changed (each field's value before and
   * after). `check` sees the principal as stored (row-locked) before anything is written and may
   * refuse by throwing.
   * @returns the principal as it is now, or undefined when there is none
   */
  async update(id: string, changes: PrincipalChanges, actor: LedgerActor, check: (current: PrincipalRecord) => void | Promise<void> = () => {}): Promise<PrincipalRecord | undefined> {
    try {
      return await this.transaction(async (client) => {
        const { rows } = await client.query<PrincipalRecord>(`SELECT ${COLUMNS} FROM principals p WHERE p.id = $1 FOR UPDATE`, [id]);
        const stored = rows[0];
        if (!stored) return undefined;
        const current = toRecord(stored);
        await check(current);
        const next: PrincipalRecord = { ...current, ...Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined)) };
        const changed: Record<string, { from: unknown; to: unknown }> = {};
        for (const key of Object.keys(changes) as (keyof PrincipalChanges)[]) {
          if (changes[key] === undefined) continue;
          const from = stored[key] ?? null;
          const to = changes[key] ?? null;
          if (JSON.stringify(from) !== JSON.stringify(to)) changed[key] = { from, to };
        }
        if (Object.keys(changed).length === 0) return current;
        await client.query(
          `UPDATE principals SET roles = $2, groups = $3, attributes = $4, delegates = $5, disabled = $6, email = $7, oidc_subject = $8,
                  slack_user_id = $9, updated_at = now() WHERE id = $1`,
          [id, next.roles, next.groups, JSON.stringify(next.attributes), next.delegates, next.disabled ?? false, next.email ?? null, next.oidcSubject ?? null, next.slackUserId ?? null],
        );
        // A disabled principal's console sessions end with it (not just refused: gone).
        if (next.disabled && !current.disabled) await client.query('UPDATE console_sessions SET ended_at = now() WHERE principal_id = $1 AND ended_at IS NULL', [id]);
        await this.record(client, id, 'principal_updated', actor, { changes: changed });
        return toRecord(next);
      });
    } catch (err) {
      throw identityConflict(err) ?? err;
    }
  }

  /**
   * Store another token for a principal and record it.
   * @returns false when there is no such principal
   */
  async addToken(principalId: string, token: { id: string; hash: string; expiresAt: Date | null }, actor: LedgerActor): Promise<boolean> {
    return this.transaction(async (client) => {
      const { rowCount } = await client.query('SELECT 1 FROM principals WHERE id = $1 FOR UPDATE', [principalId]);
      if (!rowCount) return false;
      await client.query('INSERT INTO principal_tokens (token_id, principal_id, token_hash, created_by, expires_at) VALUES ($1, $2, $3, $4, $5)', [
        token.id,
        principalId,
        token.hash,
        actor.id,
        token.expiresAt,
      ]);
      await this.record(client, principalId, 'token_created', actor, { tokenId: token.id, expiresAt: token.expiresAt?.toISOString() ?? null });
      return true;
    });
  }

  /** A principal's tokens (revoked and expired ones too), oldest first. */
  async listTokens(principalId: string): Promise<TokenRecord[]> {
    const { rows } = await this.pool.query<TokenRecord>(`SELECT ${TOKEN_COLUMNS} FROM principal_tokens t WHERE t.principal_id = $1 ORDER BY t.created_at, t.token_id`, [principalId]);
    return rows;
  }

  /**
   * Revoke a token and record it; revoking a revoked token again changes nothing.
   * @returns false when the principal has no such token
   */
  async revokeToken(principalId: string, tokenId: string, actor: LedgerActor): Promise<boolean> {
    return this.transaction(async (client) => {
      await client.query('SELECT 1 FROM principals WHERE id = $1 FOR UPDATE', [principalId]);
      const { rows } = await client.query<{ revoked: boolean }>('SELECT revoked_at IS NOT NULL AS revoked FROM principal_tokens WHERE token_id = $1 AND principal_id = $2', [tokenId, principalId]);
      if (!rows[0]) return false;
      if (rows[0].revoked) return true;
      await client.query('UPDATE principal_tokens SET revoked_at = now(), revoked_by = $2 WHERE token_id = $1', [tokenId, actor.id]);
      await this.record(client, principalId, 'token_revoked', actor, { tokenId });
      return true;
    });
  }

  /**
   * Store a sign-in link (its hash) for a human principal and record that it was issued.
   * @returns false when there is no such principal
   */
  async addSignInLink(principalId: string, linkHash: string, expiresAt: Date, actor: LedgerActor): Promise<boolean> {
    return this.transaction(async (client) => {
      const { rowCount } = await client.query('SELECT 1 FROM principals WHERE id = $1 FOR UPDATE', [principalId]);
      if (!rowCount) return false;
      await client.query('INSERT INTO sign_in_links (link_hash, principal_id, created_by, expires_at) VALUES ($1, $2, $3, $4)', [linkHash, principalId, actor.id, expiresAt]);
      // Drop links that can no longer be used; the ledger keeps that they were issued.
      await client.query("DELETE FROM sign_in_links WHERE expires_at < now() - interval '1 day'");
      await this.record(client, principalId, 'sign_in_link_created', actor, { expiresAt: expiresAt.toISOString() });
      return true;
    });
  }

  /** The enabled human a sign-in link would sign in, without using it up; undefined when it cannot be used. */
  async peekSignInLink(linkHash: string): Promise<PrincipalRecord | undefined> {
    const { rows } = await this.pool.query<PrincipalRecord>(
      `SELECT ${COLUMNS} FROM sign_in_links l JOIN principals p ON p.id = l.principal_id
        WHERE l.link_hash = $1 AND l.used_at IS NULL AND l.expires_at > now() AND p.kind = 'human' AND NOT p.disabled`,
      [linkHash],
    );
    return rows[0] && toRecord(rows[0]);
  }

  /**
   * Use a sign-in link up: the one statement that sets `used_at` wins, so a link signs in once
   * even when two requests race. Undefined when it is unknown, used, expired, or its principal
   * is no longer an enabled human.
   */
  async useSignInLink(linkHash: string): Promise<PrincipalRecord | undefined> {
    const { rows } = await this.pool.query<PrincipalRecord>(
      `WITH used AS (
         UPDATE sign_in_links SET used_at = now() WHERE link_hash = $1 AND used_at IS NULL AND expires_at > now() RETURNING principal_id)
       SELECT ${COLUMNS} FROM used JOIN principals p ON p.id = used.principal_id WHERE p.kind = 'human' AND NOT p.disabled`,
      [linkHash],
    );
    return rows[0] && toRecord(rows[0]);
  }

  /**
   * Set a principal's groups from its identity provider (`COUNTERSIGN_OIDC_GROUPS_CLAIM`) and
   * record the change, attributed to the provider; nothing is written when they are the same.
   */
  async syncGroups(principalId: string, groups: string[], actor: LedgerActor): Promise<PrincipalRecord | undefined> {
    return this.update(principalId, { groups }, actor);
  }
}

/** Where {@link loadFacts} reads principals: the repository, or api/auth.ts PrincipalStore. */
export interface PrincipalReader {
  find(id: string): Promise<Pick<PrincipalRecord, 'kind' | 'attributes' | 'delegates'> | undefined>;
}

/**
 * The CEL variable `facts` for an action proposed by `agentId` on behalf of `onBehalfOf`, read
 * from the principal store now: the agent's attributes (`{}` for an unknown agent) and, when the
 * action names a human, that human's. The policy activity calls it at every evaluation; the
 * API's edit check, the dry run and the backtest call it so they decide with the same facts.
 *
 * @throws CountersignError `not-delegated` when `onBehalfOf` is not (or no longer) a human who
 *   delegates to the agent (domain/access-rules.ts `delegationRefusal`): no facts are made up
 *   for a human the agent may not act for.
 */
export async function loadFacts(principals: PrincipalReader, agentId: string, onBehalfOf: string | null | undefined): Promise<PolicyFacts> {
  const [agent, human] = await Promise.all([principals.find(agentId), onBehalfOf ? principals.find(onBehalfOf) : undefined]);
  let onBehalfOfFacts: PolicyFacts['onBehalfOf'] = null;
  if (onBehalfOf) {
    const refused = delegationRefusal(agentId, onBehalfOf, human);
    if (refused) throw new CountersignError(refused.code, refused.message, [{ path: '/onBehalfOf', message: refused.message }]);
    onBehalfOfFacts = { attributes: human!.attributes };
  }
  return { agent: { attributes: agent?.attributes ?? {} }, onBehalfOf: onBehalfOfFacts };
}
