import pg from 'pg';
import type { Logger } from '../runtime/logger';

/** Postgres channel that carries `<actionId>` whenever an action's read model changes. */
export const ACTION_CHANGED_CHANNEL = 'countersign_action_changed';

/**
 * Sends an action's change notification after the write that changed it has committed, as a
 * transaction of its own on a connection with `synchronous_commit = off`.
 *
 * Why not `pg_notify` inside the write: Postgres serializes the commits of every transaction
 * that notifies (a cluster-wide lock, held until the commit is flushed) so that notifications
 * arrive in commit order. Ledger writes that notify therefore commit one at a time, each
 * waiting for its own WAL flush, and when the disk slows down (a checkpoint) every worker
 * queues behind that lock with idle CPUs. Without `pg_notify` the writes group-commit; the
 * notification's own commit does not wait for the disk, so the lock is held for microseconds.
 *
 * A notification is a hint to re-read the row, never the data: one lost to a crash between the
 * write and the notification (as with a Postgres restart) delays a long poll to its timeout,
 * where the waiter reads the row anyway.
 */
export class ChangeNotifier {
  private readonly pool: pg.Pool;

  /** `from`: the pool of the writes; the notifier connects to the same database as the same role. */
  constructor(
    from: pg.Pool,
    private readonly log?: Logger,
  ) {
    const o = from.options;
    this.pool = new pg.Pool({
      ...o,
      // Not enumerable on the options object: copied by hand.
      password: o.password,
      max: 2,
      idleTimeoutMillis: 30_000,
      allowExitOnIdle: true,
      options: [o.options, '-c synchronous_commit=off'].filter(Boolean).join(' '),
    });
    // As in openApplicationPool: a connection that dies while checked out emits 'error' on the
    // client, which would kill the process without a listener of its own.
    const lost = (err: Error) => this.log?.warn({ err: err.message }, 'change notifier connection lost');
    this.pool.on('connect', (client) => client.on('error', lost));
    this.pool.on('error', lost);
  }

  /** Notify listeners that `actionId` changed. Never throws: a failure is logged. */
  async actionChanged(actionId: string): Promise<void> {
    try {
      await this.pool.query({ name: 'countersign_notify_v1', text: 'SELECT pg_notify($1, $2)', values: [ACTION_CHANGED_CHANNEL, actionId] });
    } catch (err) {
      this.log?.warn({ err: (err as Error).message, actionId }, 'change notification not sent; long polls on this action wake at their timeout');
    }
  }

  async end(): Promise<void> {
    await this.pool.end();
  }
}
