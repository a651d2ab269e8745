import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { bundleWorkflows } from '../workers/worker';
import { startPostgres } from '../runtime/postgres';
import { resolveTemporalCli } from '../runtime/temporal-cli';
import { startTemporalDevServer } from '../runtime/temporal-server';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    databaseUrl: string;
    workflowBundlePath: string;
    temporalCli: string;
  }
}

/** One real Temporal dev server and one real Postgres for the whole integration run. */
export default async function setup(project: TestProject) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-test-'));
  const port = 17233 + Math.floor(Math.random() * 1000);
  const temporalCli = resolveTemporalCli({ explicitPath: process.env.TEMPORAL_CLI, log: (l) => console.log(l) });
  const [temporal, postgres, bundle] = await Promise.all([
    process.env.TEMPORAL_ADDRESS ? undefined : startTemporalDevServer({ cliPath: temporalCli, port, uiPort: null }),
    startPostgres({ databaseUrl: process.env.DATABASE_URL, dir: path.join(dir, 'pg'), port: 55432 + Math.floor(Math.random() * 500) }),
    bundleWorkflows(),
  ]);
  const workflowBundlePath = path.join(dir, 'workflow-bundle.js');
  fs.writeFileSync(workflowBundlePath, bundle.code);
  project.provide('temporalAddress', process.env.TEMPORAL_ADDRESS ?? (temporal as { address: string }).address);
  project.provide('databaseUrl', postgres.url);
  project.provide('workflowBundlePath', workflowBundlePath);
  project.provide('temporalCli', temporalCli);
  return async () => {
    await temporal?.stop();
    await postgres.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
}
