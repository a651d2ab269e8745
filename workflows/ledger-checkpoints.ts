import { continueAsNew, proxyActivities, sleep } from '@temporalio/workflow';
import type { Activities } from '../activities';

const { writeLedgerCheckpoint } = proxyActivities<Activities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '1s', maximumInterval: '30s' },
});

/** Iterations before continuing as new, so the history stays small however long it runs. */
const ITERATIONS_PER_RUN = 200;

/**
 * One per deployment (fixed workflow id): every `intervalMs`, sign a checkpoint over the heads
 * of the chains written since the last one. Durable like any workflow: a restart resumes it.
 */
export async function ledgerCheckpoints(intervalMs: number): Promise<void> {
  for (let i = 0; i < ITERATIONS_PER_RUN; i++) {
    await writeLedgerCheckpoint();
    await sleep(intervalMs);
  }
  await continueAsNew<typeof ledgerCheckpoints>(intervalMs);
}
