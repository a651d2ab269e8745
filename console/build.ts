/**
 * Build the console into console/dist when its sources changed since the last build.
 *
 *   tsx console/build.ts            build if stale (run by `npm install` and `npm start`)
 *   tsx console/build.ts --force    build anyway
 *
 * Stale means: no dist/index.html, or a digest of the sources (src/, public/, index.html, the
 * Vite config and the versions of vite and preact) differs from the one the last build wrote.
 * Without the sources or without Vite (a production install with --omit=dev) it says so and
 * exits 0, so an install never fails on it; the API then answers /console with how to build.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = __dirname;
const DIST = path.join(ROOT, 'dist');
const STAMP = path.join(DIST, '.source-digest');

/** Every file the build reads, in a stable order. */
function sourceFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    if (!fs.existsSync(dir)) return;
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(p);
    }
  };
  walk(path.join(ROOT, 'src'));
  walk(path.join(ROOT, 'public'));
  for (const f of ['index.html', 'vite.config.mts']) out.push(path.join(ROOT, f));
  return out;
}

function versionOf(pkg: string): string {
  try {
    return (JSON.parse(fs.readFileSync(require.resolve(`${pkg}/package.json`), 'utf8')) as { version: string }).version;
  } catch {
    return 'missing';
  }
}

/** Digest of everything a build depends on. */
export function sourceDigest(): string {
  const h = createHash('sha256');
  for (const f of sourceFiles()) {
    h.update(path.relative(ROOT, f)).update('\0');
    h.update(fs.existsSync(f) ? fs.readFileSync(f) : '').update('\0');
  }
  h.update(`vite@${versionOf('vite')} preact@${versionOf('preact')}`);
  return h.digest('hex');
}

/** Whether dist/ holds a build of the current sources. */
export function isConsoleBuilt(): boolean {
  return fs.existsSync(path.join(DIST, 'index.html')) && fs.existsSync(STAMP) && fs.readFileSync(STAMP, 'utf8').trim() === sourceDigest();
}

/**
 * Build unless dist/ is current. Resolves with what happened; rejects when the build itself fails.
 */
export async function ensureConsoleBuilt(opts: { force?: boolean; log?: (line: string) => void } = {}): Promise<'current' | 'built' | 'skipped'> {
  const log = opts.log ?? ((line: string) => console.log(line));
  if (!fs.existsSync(path.join(ROOT, 'src', 'main.tsx'))) {
    log('console: no sources here (console/src); not building');
    return 'skipped';
  }
  if (!opts.force && isConsoleBuilt()) return 'current';
  let vite: typeof import('vite');
  try {
    vite = await import('vite');
  } catch {
    log('console: vite is not installed (a production install?); run `npm install` with dev dependencies, then `npm run build:console`');
    return 'skipped';
  }
  // Test files start in parallel and each makes sure the console is built: one builds, the
  // others wait for it and then find it current.
  const release = await lock();
  try {
    if (!opts.force && isConsoleBuilt()) return 'current';
    const digest = sourceDigest();
    const started = Date.now();
    await vite.build({ configFile: path.join(ROOT, 'vite.config.mts'), logLevel: 'warn' });
    fs.writeFileSync(STAMP, digest + '\n');
    log(`console: built into console/dist in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return 'built';
  } finally {
    release();
  }
}

/** A lock directory beside dist/ (mkdir is atomic); one left by a killed build expires after a minute. */
async function lock(): Promise<() => void> {
  const dir = path.join(ROOT, '.build-lock');
  for (;;) {
    try {
      fs.mkdirSync(dir);
      return () => fs.rmSync(dir, { recursive: true, force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = Date.now() - (fs.statSync(dir, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 60_000) fs.rmSync(dir, { recursive: true, force: true });
      else await new Promise((r) => setTimeout(r, 200));
    }
  }
}

if (require.main === module) {
  ensureConsoleBuilt({ force: process.argv.includes('--force') }).then(
    (what) => {
      if (what === 'current') console.log('console: console/dist is current');
    },
    (err) => {
      console.error(`console: build failed: ${(err as Error).stack ?? err}`);
      process.exit(1);
    },
  );
}
