import { syncWitnesses, writeCheckpoint } from '../ledger/store';
import type { ActivityDeps } from './index';

/** Signed ledger checkpoints (like CloudTrail digest files), copied to the witnesses outside Postgres. */
export function createCheckpointActivities({ pool, signer, ledgerWitnesses = [], log }: Pick<ActivityDeps, 'pool' | 'signer' | 'ledgerWitnesses' | 'log'>) {
  return {
    /**
     * Sign the heads of every chain written since the last checkpoint (null when nothing is new),
     * then bring every witness up to date. A witness that cannot be written is logged, not
     * retried here: checkpoints go on, and the next run sends it everything it missed.
     */
    async writeLedgerCheckpoint(): Promise<{ seq: number; heads: number } | null> {
      const cp = await writeCheckpoint(pool, signer);
      for (const r of await syncWitnesses(pool, ledgerWitnesses)) {
        if (r.error) log.error({ witness: r.witness, sent: r.sent, error: r.error }, 'ledger witness not up to date');
      }
      return cp ? { seq: cp.seq, heads: cp.headCount } : null;
    },
  };
}
