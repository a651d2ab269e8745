import path from 'node:path';
import { defineConfig } from 'vitest/config';

// Runs only the fault-injection suite (each file starts its own Temporal, Postgres, API and
// worker processes): `npx vitest run -c test/faults/vitest.faults.config.ts`.
export default defineConfig({
  root: path.resolve(__dirname, '..', '..'),
  test: {
    name: 'faults',
    include: ['test/faults/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 240_000,
    reporters: ['default'],
  },
});
