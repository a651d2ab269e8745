import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * A secret kept in the data dir (created on first use, mode 0600): development defaults for
 * the executor HMAC key, the message root key and the like. Production passes them through the
 * environment.
 *
 * Processes starting at the same moment on one data dir (an API and a worker) agree on one
 * secret: it is written to a file of its own and linked into place, which only one can do, so
 * nobody ever reads a half-written file.
 */
export function loadOrCreateSecret(dataDir: string, name: string): string {
  const file = path.join(dataDir, 'secrets', name);
  if (fs.existsSync(file)) return fs.readFileSync(file, 'utf8').trim();
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const secret = randomBytes(32).toString('base64url');
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  fs.writeFileSync(tmp, secret + '\n', { mode: 0o600, flag: 'wx' });
  try {
    fs.linkSync(tmp, file);
  } catch (err) {
    // Another process created it first: everyone uses theirs.
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return fs.readFileSync(file, 'utf8').trim();
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  return secret;
}
