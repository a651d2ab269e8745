/**
 * The `console_sessions` and `oidc_logins` tables (ledger/migrations/008_principal_tokens_and_sessions.sql):
 * console sign-ins and OIDC logins under way. Only hashes of their secrets are stored; the
 * secrets live in the browser's cookies. This module is the tables' only reader and writer.
 */
import type { Pool } from 'pg';
import { PRINCIPAL_CHANGED_CHANNEL, type PrincipalRecord } from './principal-repository';

/** How a session's human was identified (the evidence's `identity.method`). */
export type SessionMethod = 'sign-in-link' | 'oidc';

/** A live session, with the principal it belongs to as stored now. */
export interface SessionRecord {
  principal: PrincipalRecord;
  /** sha256 (hex) of the session's CSRF token. */
  csrfHash: string;
  method: SessionMethod;
  issuer: string | null;
  subject: string | null;
  expiresAt: Date;
}

/** An OIDC login under way. */
export interface OidcLoginRecord {
  state: string;
  nonce: string;
  codeVerifier: string;
}

/** Reads and writes of console sessions and OIDC logins. */
export class SessionRepository {
  constructor(private readonly pool: Pool) {}

  /** Store a new session (hashes only). */
  async create(s: { sessionHash: string; csrfHash: string; principalId: string; method: SessionMethod; issuer?: string; subject?: string; expiresAt: Date }): Promise<void> {
    await this.pool.query(
      `INSERT INTO console_sessions (session_hash, csrf_hash, principal_id, method, issuer, subject, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [s.sessionHash, s.csrfHash, s.principalId, s.method, s.issuer ?? null, s.subject ?? null, s.expiresAt],
    );
    // Sessions past their end are of no use; keep the table small.
    await this.pool.query("DELETE FROM console_sessions WHERE expires_at < now() - interval '1 day'");
  }

  /** The live session with this hash: not ended, not expired, its principal an enabled human. */
  async findLive(sessionHash: string): Promise<SessionRecord | undefined> {
    const { rows } = await this.pool.query<PrincipalRecord & { csrf_hash: string; method: SessionMethod; issuer: string | null; subject: string | null; expires_at: Date }>(
      `SELECT p.id, p.kind, p.roles, p.groups, p.attributes, p.delegates, p.disabled, p.email, p.oidc_subject AS "oidcSubject",
              p.slack_user_id AS "slackUserId", s.csrf_hash, s.method, s.issuer, s.subject, s.expires_at
         FROM console_sessions s JOIN principals p ON p.id = s.principal_id
        WHERE s.session_hash = $1 AND s.ended_at IS NULL AND s.expires_at > now() AND p.kind = 'human' AND NOT p.disabled`,
      [sessionHash],
    );
    const row = rows[0];
    if (!row) return undefined;
    const { csrf_hash: csrfHash, method, issuer, subject, expires_at: expiresAt, ...principal } = row;
    return { principal, csrfHash, method, issuer, subject, expiresAt };
  }

  /**
   * End a session (sign-out) and tell every API process to forget it.
   * @returns the principal id it belonged to, or undefined when it was not live
   */
  async end(sessionHash: string): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ principal_id: string }>(
      'UPDATE console_sessions SET ended_at = now() WHERE session_hash = $1 AND ended_at IS NULL RETURNING principal_id',
      [sessionHash],
    );
    const id = rows[0]?.principal_id;
    if (id) await this.pool.query('SELECT pg_notify($1, $2)', [PRINCIPAL_CHANGED_CHANNEL, id]);
    return id;
  }

  /** Store an OIDC login under way, for 10 minutes. */
  async createOidcLogin(loginHash: string, login: OidcLoginRecord): Promise<void> {
    await this.pool.query(
      "INSERT INTO oidc_logins (login_hash, state, nonce, code_verifier, expires_at) VALUES ($1, $2, $3, $4, now() + interval '10 minutes')",
      [loginHash, login.state, login.nonce, login.codeVerifier],
    );
    await this.pool.query('DELETE FROM oidc_logins WHERE expires_at < now()');
  }

  /** Take an OIDC login (once): its row is deleted by the one caller that gets it. */
  async takeOidcLogin(loginHash: string): Promise<OidcLoginRecord | undefined> {
    const { rows } = await this.pool.query<{ state: string; nonce: string; code_verifier: string }>(
      'DELETE FROM oidc_logins WHERE login_hash = $1 AND expires_at > now() RETURNING state, nonce, code_verifier',
      [loginHash],
    );
    const row = rows[0];
    return row && { state: row.state, nonce: row.nonce, codeVerifier: row.code_verifier };
  }
}
