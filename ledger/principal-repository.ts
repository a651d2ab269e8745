/**
 * The `principals` table (ledger/migrations/001_core.sql, 007_principal_facts.sql): who may call
 * the API, with a hash of each one's bearer token, and the facts policy trusts about them
 * (`attributes`, and the agents a human `delegates` to). This module is its only reader and
 * writer; api/auth.ts checks tokens.
 */
import type { Pool } from 'pg';
import { allowedRoles, delegationRefusal } from '../domain/access-rules';
import type { Role } from '../domain/api-schemas';
import { CountersignError } from '../domain/errors';
import type { PolicyFacts } from '../domain/policy-types';

/** A stored principal, without its token. */
export interface PrincipalRecord {
  id: string;
  kind: 'agent' | 'human';
  roles: Role[];
  groups: string[];
  /** Facts for policy, set by admins (`facts.<who>.attributes`). */
  attributes: Record<string, unknown>;
  /** Agent ids this human lets propose on their behalf; always empty for an agent. */
  delegates: string[];
}

const COLUMNS = 'id, kind, roles, groups, attributes, delegates';

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
        `INSERT INTO principals (id, kind, roles, groups, attributes, delegates, token_id, token_hash, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [p.id, p.kind, p.roles, p.groups, JSON.stringify(p.attributes), p.delegates, token.id, token.hash, createdBy],
      );
      return true;
    } catch (err) {
      if ((err as { code?: string }).code === '23505') return false;
      throw err;
    }
  }

  /** A principal by id, or undefined. */
  async find(id: string): Promise<PrincipalRecord | undefined> {
    const { rows } = await this.pool.query<PrincipalRecord>(`SELECT ${COLUMNS} FROM principals WHERE id = $1`, [id]);
    return rows[0] && toRecord(rows[0]);
  }

  /** The principals of `ids` that exist, by id (one query). */
  async findMany(ids: readonly string[]): Promise<Map<string, PrincipalRecord>> {
    if (ids.length === 0) return new Map();
    const { rows } = await this.pool.query<PrincipalRecord>(`SELECT ${COLUMNS} FROM principals WHERE id = ANY($1::text[])`, [ids]);
    return new Map(rows.map((r) => [r.id, toRecord(r)]));
  }

  /** The principal a token id belongs to, with the token's stored hash, or undefined. */
  async findByTokenId(tokenId: string): Promise<(PrincipalRecord & { token_hash: string }) | undefined> {
    const { rows } = await this.pool.query<PrincipalRecord & { token_hash: string }>(
      `SELECT ${COLUMNS}, token_hash FROM principals WHERE token_id = $1`,
      [tokenId],
    );
    return rows[0] && toRecord(rows[0]);
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
