import type { Pool } from 'pg';
import { loadPolicyBundle, type CompiledPolicyBundle } from '../policy';

/** A stored policy version. */
export interface PolicyVersionRecord {
  version: string;
  author: string;
  createdAt: string;
  sourceName: string | null;
}

/** The active bundle and when it was activated. */
export interface ActivePolicy {
  bundle: CompiledPolicyBundle;
  version: string;
  loadedAt: string;
  source: string;
  activatedBy: string;
}

/** Raised when no policy has ever been activated. */
export class NoActivePolicyError extends Error {
  override name = 'NoActivePolicyError';
}

/**
 * Policy bundles in Postgres: content-addressed versions plus an activation log. Every
 * process (API or worker) asks Postgres which version is active — one indexed row — and
 * keeps compiled bundles in memory by version, so activation is visible everywhere at once.
 */
export class PolicyStore {
  private readonly compiled = new Map<string, CompiledPolicyBundle>();

  constructor(private readonly pool: Pool) {}

  /** Store (if new) and activate a bundle that has already been validated. */
  async activate(bundle: CompiledPolicyBundle, source: string, author: string, sourceName: string | null): Promise<ActivePolicy> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(
        `INSERT INTO policy_versions (version, source, source_name, author) VALUES ($1, $2, $3, $4) ON CONFLICT (version) DO NOTHING`,
        [bundle.version, source, sourceName, author],
      );
      const { rows } = await client.query<{ activated_at: Date }>(
        'INSERT INTO policy_activations (version, activated_by) VALUES ($1, $2) RETURNING activated_at',
        [bundle.version, author],
      );
      await client.query('COMMIT');
      this.compiled.set(bundle.version, bundle);
      return { bundle, version: bundle.version, loadedAt: rows[0].activated_at.toISOString(), source: sourceName ?? 'api', activatedBy: author };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  /**
   * Store a version without activating it (a governed activation waits for approval first,
   * api/governors.ts). Storing the same version again changes nothing.
   */
  async store(bundle: CompiledPolicyBundle, source: string, author: string, sourceName: string | null): Promise<void> {
    await this.pool.query(`INSERT INTO policy_versions (version, source, source_name, author) VALUES ($1, $2, $3, $4) ON CONFLICT (version) DO NOTHING`, [
      bundle.version,
      source,
      sourceName,
      author,
    ]);
    this.compiled.set(bundle.version, bundle);
  }

  /** The active bundle; throws {@link NoActivePolicyError} when none was ever activated. */
  async active(): Promise<ActivePolicy> {
    const { rows } = await this.pool.query<{ version: string; activated_at: Date; activated_by: string; source_name: string | null }>(
      `SELECT a.version, a.activated_at, a.activated_by, v.source_name
         FROM policy_activations a JOIN policy_versions v USING (version)
        ORDER BY a.seq DESC LIMIT 1`,
    );
    if (rows.length === 0) throw new NoActivePolicyError('no policy bundle is active');
    const row = rows[0];
    return {
      bundle: await this.byVersion(row.version),
      version: row.version,
      loadedAt: row.activated_at.toISOString(),
      source: row.source_name ?? 'api',
      activatedBy: row.activated_by,
    };
  }

  /** A stored version, compiled (cached). Returns undefined when unknown. */
  async byVersion(version: string): Promise<CompiledPolicyBundle> {
    const cached = this.compiled.get(version);
    if (cached) return cached;
    const { rows } = await this.pool.query<{ source: string; source_name: string | null }>(
      'SELECT source, source_name FROM policy_versions WHERE version = $1',
      [version],
    );
    if (rows.length === 0) throw new NoActivePolicyError(`policy version ${version} is not stored`);
    const bundle = loadPolicyBundle(rows[0].source, { filename: rows[0].source_name ?? undefined, admitted: true });
    this.compiled.set(version, bundle);
    return bundle;
  }

  /** Every stored version, newest first. */
  async versions(): Promise<(PolicyVersionRecord & { activations: string[] })[]> {
    const { rows } = await this.pool.query<{ version: string; author: string; created_at: Date; source_name: string | null; activations: Date[] | null }>(
      `SELECT v.version, v.author, v.created_at, v.source_name,
              array_agg(a.activated_at ORDER BY a.seq) FILTER (WHERE a.seq IS NOT NULL) AS activations
         FROM policy_versions v LEFT JOIN policy_activations a USING (version)
        GROUP BY v.version ORDER BY max(a.seq) DESC NULLS LAST, v.created_at DESC`,
    );
    return rows.map((r) => ({
      version: r.version,
      author: r.author,
      createdAt: r.created_at.toISOString(),
      sourceName: r.source_name,
      activations: (r.activations ?? []).map((d) => new Date(d).toISOString()),
    }));
  }
}
