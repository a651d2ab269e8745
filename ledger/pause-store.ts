/**
 * Pauses (the stop button, docs/controls.md): the `pauses` table
 * (ledger/migrations/009_operator_controls.sql), the ledger events that record them, and the
 * in-memory copy of the active ones that every API and worker process consults.
 *
 * A pause is a chain of its own in the ledger, keyed by its id: `paused` (seq 1), then `resumed`
 * (seq 2) when it is lifted. Both are written in the same transaction as the row, so the table and
 * the evidence never disagree.
 *
 * Propagation: each write ends with a `pg_notify` on {@link CONTROLS_CHANGED_CHANNEL}; every
 * {@link PauseRegistry} LISTENs and re-reads the active pauses when told, so a pause takes effect
 * in every process within the notification's latency (milliseconds). While its LISTEN connection
 * is down a registry reads the table on every question instead, so a lost notification can
 * never leave a process acting on a pause that was lifted, or ignoring a new one.
 */
import { randomBytes } from 'node:crypto';
import pg, { type Pool } from 'pg';
import { CountersignError } from '../domain/errors';
import type { Logger } from '../runtime/logger';
import { appendEvent } from './store';

/** Postgres channel that carries a hint whenever a pause is created or lifted. */
export const CONTROLS_CHANGED_CHANNEL = 'countersign_controls_changed';

/** What a pause covers: one agent, one action name, both (AND), or everything. */
export type PauseScope = 'all' | { agent?: string; action?: string };

/** A pause as the API shows it. */
export interface Pause {
  id: string;
  scope: PauseScope;
  reason: string;
  /** The operator who paused. */
  by: string;
  at: string;
  /** Set once lifted. */
  liftedAt?: string;
  liftedBy?: string;
}

/** What a pause is matched against. */
export interface PauseSubject {
  agent: string;
  action: string;
}

/** Whether `pause` covers `subject` (scope fields combine with AND; `"all"` covers everything). */
export function pauseMatches(pause: Pick<Pause, 'scope'>, subject: PauseSubject): boolean {
  if (pause.scope === 'all') return true;
  const { agent, action } = pause.scope;
  return (agent === undefined || agent === subject.agent) && (action === undefined || action === subject.action);
}

/** The oldest of the pauses that cover `subject`, if any: the one a refusal names. */
export function firstMatch(pauses: readonly Pause[], subject: PauseSubject): Pause | undefined {
  return pauses.find((p) => pauseMatches(p, subject));
}

interface PauseRow {
  id: string;
  agent: string | null;
  action: string | null;
  reason: string;
  created_by: string;
  created_at: Date;
  lifted_by: string | null;
  lifted_at: Date | null;
}

const COLUMNS = 'id, agent, action, reason, created_by, created_at, lifted_by, lifted_at';

function toPause(row: PauseRow): Pause {
  const scope: PauseScope =
    row.agent === null && row.action === null ? 'all' : { ...(row.agent !== null ? { agent: row.agent } : {}), ...(row.action !== null ? { action: row.action } : {}) };
  return {
    id: row.id,
    scope,
    reason: row.reason,
    by: row.created_by,
    at: row.created_at.toISOString(),
    ...(row.lifted_at ? { liftedAt: row.lifted_at.toISOString(), liftedBy: row.lifted_by ?? undefined } : {}),
  };
}

/** Reads and writes of the `pauses` table, with their ledger events. */
export class PauseStore {
  constructor(private readonly pool: Pool) {}

  /** The active pauses, oldest first. */
  async active(): Promise<Pause[]> {
    const { rows } = await this.pool.query<PauseRow>({
      name: 'countersign_pauses_active_v1',
      text: `SELECT ${COLUMNS} FROM pauses WHERE lifted_at IS NULL ORDER BY created_at, id`,
    });
    return rows.map(toPause);
  }

  /** Every pause (lifted ones too), newest first, at most `limit`. */
  async all(limit: number): Promise<Pause[]> {
    const { rows } = await this.pool.query<PauseRow>(`SELECT ${COLUMNS} FROM pauses ORDER BY created_at DESC, id DESC LIMIT $1`, [limit]);
    return rows.map(toPause);
  }

  /** Pause `scope`: the row, its `paused` ledger event and the notification, in one transaction. */
  async create(scope: PauseScope, reason: string, by: string): Promise<Pause> {
    const id = `pau_${randomBytes(12).toString('hex')}`;
    const agent = scope === 'all' ? null : (scope.agent ?? null);
    const action = scope === 'all' ? null : (scope.action ?? null);
    return this.transaction(async (client) => {
      const { rows } = await client.query<PauseRow>(
        `INSERT INTO pauses (id, agent, action, reason, created_by, created_at) VALUES ($1, $2, $3, $4, $5, date_trunc('milliseconds', now())) RETURNING ${COLUMNS}`,
        [id, agent, action, reason, by],
      );
      const pause = toPause(rows[0]!);
      await appendEvent(client, { actionId: id, seq: 1, type: 'paused', actor: { id: by, kind: 'human' }, at: pause.at, data: { scope: pause.scope, reason } });
      await client.query('SELECT pg_notify($1, $2)', [CONTROLS_CHANGED_CHANNEL, id]);
      return pause;
    });
  }

  /**
   * Lift pause `id`: the row, its `resumed` ledger event and the notification, in one
   * transaction. 404 when there is no such pause or it was lifted already.
   */
  async lift(id: string, by: string, reason: string | null): Promise<Pause> {
    return this.transaction(async (client) => {
      const { rows } = await client.query<PauseRow>(
        `UPDATE pauses SET lifted_by = $2, lifted_at = date_trunc('milliseconds', now()), lift_reason = $3 WHERE id = $1 AND lifted_at IS NULL RETURNING ${COLUMNS}`,
        [id, by, reason],
      );
      if (!rows[0]) throw new CountersignError('not-found', `no active pause ${id}`);
      const pause = toPause(rows[0]);
      await appendEvent(client, { actionId: id, seq: 2, type: 'resumed', actor: { id: by, kind: 'human' }, at: pause.liftedAt as string, data: { reason } });
      await client.query('SELECT pg_notify($1, $2)', [CONTROLS_CHANGED_CHANNEL, id]);
      return pause;
    });
  }

  private async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
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
}

/**
 * The active pauses of one process, kept current by Postgres notifications (see the module
 * comment). Ask it with {@link matching}; it answers from memory while its LISTEN connection is
 * up, from the table otherwise.
 */
export class PauseRegistry {
  private readonly store: PauseStore;
  private readonly listeners = new Set<(pauses: readonly Pause[]) => void>();
  private cached: Pause[] | undefined;
  private client: pg.Client | undefined;
  private listening = false;
  private closed = false;
  private reloading: Promise<void> | undefined;
  private reloadAgain = false;
  private reconnectTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pool: Pool,
    private readonly log?: Logger,
  ) {
    this.store = new PauseStore(pool);
  }

  /** Connect the LISTEN connection and load the active pauses. Safe to call once per process. */
  async start(): Promise<void> {
    if (this.closed) return;
    const o = this.pool.options;
    // The same database as the same role as the pool (its password is not enumerable: copied by hand).
    const client = new pg.Client({ ...o, password: o.password } as pg.ClientConfig);
    client.on('notification', () => this.reload());
    client.on('error', (err) => {
      this.log?.warn({ err: err.message }, 'pause registry connection lost; reading pauses from Postgres until it is back');
      this.disconnected();
    });
    client.on('end', () => this.disconnected());
    await client.connect();
    await client.query(`LISTEN ${CONTROLS_CHANGED_CHANNEL}`);
    this.client = client;
    // Anything that changed before LISTEN took effect is read now.
    await this.reload();
    this.listening = true;
  }

  private disconnected(): void {
    this.listening = false;
    this.cached = undefined;
    if (this.closed || this.reconnectTimer) return;
    this.client?.end().catch(() => {});
    this.client = undefined;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.start().catch(() => this.disconnected());
    }, 1000);
    this.reconnectTimer.unref?.();
  }

  /** Re-read the active pauses (coalesced: a reload asked for during one runs once after it). */
  private reload(): Promise<void> {
    if (this.reloading) {
      this.reloadAgain = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      try {
        do {
          this.reloadAgain = false;
          const pauses = await this.store.active();
          this.cached = pauses;
          for (const listener of this.listeners) listener(pauses);
        } while (this.reloadAgain);
      } catch (err) {
        this.log?.warn({ err: (err as Error).message }, 'pauses could not be read; asking Postgres on every check until they can');
        this.cached = undefined;
      } finally {
        this.reloading = undefined;
      }
    })();
    return this.reloading;
  }

  /** The active pauses: from memory while notifications arrive, else from the table. */
  async active(): Promise<readonly Pause[]> {
    if (this.listening && this.cached) return this.cached;
    return this.store.active();
  }

  /** The oldest active pause that covers `subject`, if any (`fresh`: read from the table, not the copy in memory). */
  async matching(subject: PauseSubject, opts: { fresh?: boolean } = {}): Promise<Pause | undefined> {
    return firstMatch(opts.fresh ? await this.store.active() : await this.active(), subject);
  }

  /** Called with the active pauses after every change this process hears of. */
  onChange(listener: (pauses: readonly Pause[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listening = false;
    clearTimeout(this.reconnectTimer);
    await this.client?.end().catch(() => {});
  }
}

/**
 * Workflow ids of the approved actions a scope covers: the ones a lifted pause may have held
 * (held actions show `approved`; telling one that is not held costs it one look).
 */
export async function heldCandidates(pool: Pool, scope: PauseScope): Promise<string[]> {
  const agent = scope === 'all' ? null : (scope.agent ?? null);
  const action = scope === 'all' ? null : (scope.action ?? null);
  const { rows } = await pool.query<{ workflow_id: string }>(
    `SELECT workflow_id FROM actions
      WHERE status = 'approved' AND ($1::text IS NULL OR agent = $1) AND ($2::text IS NULL OR action = $2)`,
    [agent, action],
  );
  return rows.map((r) => r.workflow_id);
}
