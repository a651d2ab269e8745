import { writeCheckpoint } from '../../ledger/store';

/**
 * A checkpoint that covers what was just appended. A checkpoint covers transactions below the
 * cluster's oldest running one (`pg_snapshot_xmin`), and the test files share one Postgres: a
 * transaction another file has open for a moment holds that horizon back, and the checkpoint then
 * covers nothing yet (null). Try again, for up to 10 s.
 */
export async function checkpointCovering(...args: Parameters<typeof writeCheckpoint>): Promise<NonNullable<Awaited<ReturnType<typeof writeCheckpoint>>>> {
  const until = Date.now() + 10_000;
  for (;;) {
    const cp = await writeCheckpoint(...args);
    if (cp) return cp;
    if (Date.now() > until) throw new Error('no checkpoint covered the new events within 10 s (a transaction kept the horizon back)');
    await new Promise((r) => setTimeout(r, 100));
  }
}
