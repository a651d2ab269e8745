/**
 * The `principals` table (ledger/migrations/001_core.sql): who may call the API, with a hash of
 * each one's bearer token. This module is its only reader and writer; api/auth.ts checks tokens.
 */
import type { Pool } from 'pg';
import type { Role } from '../domain/api-schemas';

/** A stored principal, without its token. */
export interface PrincipalRecord {
  id: string;
  kind: 'agent' | 'human';
  roles: Role[];
  groups: string[];
}

/** Reads and writes of the `principals` table. */
export class PrincipalRepository {
  constructor(private readonly pool: Pool) {}

  /**
   * Store a principal with its token's public id and stored hash.
   * @returns false when a principal with this id (or token id) already exists
   */
  async insert(p: PrincipalRecord, token: { id: string; hash: string }, createdBy: string): Promise<boolean> {
    try {
      await this.pool.query(
        'INSERT INTO principals (id, kind, roles, groups, token_id, token_hash, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7)',
        [p.id, p.kind, p.roles, p.groups, token.id, token.hash, createdBy],
      );
      return true;
    } catch (err) {
      if ((err as { code?: string }).code === '23505') return false;
      throw err;
    }
  }

  /** A principal by id, or undefined. */
  async find(id: string): Promise<PrincipalRecord | undefined> {
    const { rows } = await this.pool.query<PrincipalRecord>('SELECT id, kind, roles, groups FROM principals WHERE id = $1', [id]);
    return rows[0];
  }

  /** The principal a token id belongs to, with the token's stored hash, or undefined. */
  async findByTokenId(tokenId: string): Promise<(PrincipalRecord & { token_hash: string }) | undefined> {
    const { rows } = await this.pool.query<PrincipalRecord & { token_hash: string }>(
      'SELECT id, kind, roles, groups, token_hash FROM principals WHERE token_id = $1',
      [tokenId],
    );
    return rows[0];
  }
}
