import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { CountersignError } from '../../domain/errors';
import { buildCore, type CoreOptions } from '../../runtime/core';
import { createLogger } from '../../runtime/logger';
import { eventually } from '../helpers/stack';

let dataDir: string;
let database: string;
let options: CoreOptions;

/** Connections to the test's database other than the one asking. */
async function openConnections(): Promise<number> {
  const client = new pg.Client({ connectionString: inject('databaseUrl') });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [database]);
    return rows[0]!.n;
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  database = `t_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: inject('databaseUrl') });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.end();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-core-'));
  options = {
    databaseUrl: inject('databaseUrl').replace(/\/[^/]+$/, `/${database}`),
    temporalAddress: inject('temporalAddress'),
    namespace: 'default',
    taskQueue: `core-${database}`,
    dataDir,
    policyFile: path.join(__dirname, '..', '..', 'policies', 'default.yaml'),
    executorSecret: 'test-executor-secret-0123456789',
    log: createLogger('silent'),
    worker: false,
  };
});

afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

describe('composition root', () => {
  it('when the policy file is invalid, then buildCore refuses with invalid-policy and leaves no connection open', async () => {
    // Arrange
    const policyFile = path.join(dataDir, 'broken.yaml');
    fs.writeFileSync(policyFile, 'version: [not a bundle\n');

    // Act
    const failure = await buildCore({ ...options, policyFile }).catch((err: unknown) => err);

    // Assert
    expect(failure).toBeInstanceOf(CountersignError);
    expect((failure as CountersignError).code).toBe('invalid-policy');
    await eventually(async () => (await openConnections()) === 0, 5_000, 'the core to close its connections');
  });

  it('when built without workers, then it activates the bundle, answers through its client, refuses to make a worker, and close() releases everything', async () => {
    // Act
    const core = await buildCore(options);

    // Assert
    try {
      expect((await core.policies.active()).version).toMatch(/^[0-9a-f]{64}$/);
      expect(core.eagerStart).toBe(false);
      await expect(core.temporal.workflowService.getSystemInfo({})).resolves.toBeDefined();
      await expect(core.createWorker()).rejects.toThrow(/without workers/);
    } finally {
      await core.close();
    }
    await eventually(async () => (await openConnections()) === 0, 5_000, 'the core to close its connections');
  });
});
