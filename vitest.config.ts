import { defineConfig } from 'vitest/config';

// Two projects: unit tests are pure and start nothing; integration tests share one real
// Temporal dev server and one real Postgres started by the global setup.
export default defineConfig({
  test: {
    reporters: ['default'],
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
          pool: 'forks',
        },
      },
    ],
  },
});
