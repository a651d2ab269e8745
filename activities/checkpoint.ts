import { writeCheckpoint } from '../ledger/store';
import type { ActivityDeps } from './index';

/** Signed ledger checkpoints (like CloudTrail digest files). */
export function createCheckpointActivities({ pool, signer }: Pick<ActivityDeps, 'pool' | 'signer'>) {
  return {
    /** Sign the heads of every chain written since the last checkpoint; null when nothing is new. */
    async writeLedgerCheckpoint(): Promise<{ seq: number; heads: number } | null> {
      const cp = await writeCheckpoint(pool, signer);
      return cp ? { seq: cp.seq, heads: cp.headCount } : null;
    },
  };
}
