/**
 * The digest key: the HMAC-SHA256 key of every keyed digest Countersign records — sensitive
 * values in the ledger (`{ "$digest": "hmac-sha256:<hex>" }`), approval digests and executor
 * request digests of actions with sensitive params. Without it nobody can recover a short
 * secret from the evidence by trying candidates; with it (an operator exports it for auditors,
 * `countersign ledger digest-key export`) anyone can check a value they hold against a digest.
 *
 * It comes from `COUNTERSIGN_DIGEST_KEY` (hex) or `<dataDir>/keys/digest-key` (32 random bytes,
 * mode 0600, created on first start). Every API and worker process must hold the same key: a
 * worker checks before sending that the approved digest is the one the params have now.
 * It is read by activities and the API only, never by workflow code, so it never enters a
 * Temporal history.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { keysDir } from './signing';

/** File of the key in `<dataDir>/keys/`. */
export const DIGEST_KEY_FILE = 'digest-key';
/** Bytes of a generated key. */
export const DIGEST_KEY_BYTES = 32;

/** A key that cannot be read or is too short. */
export class DigestKeyError extends Error {
  override readonly name = 'DigestKeyError';
}

/** Where the data dir keeps the key. */
export function digestKeyPath(dataDir: string): string {
  return path.join(keysDir(dataDir), DIGEST_KEY_FILE);
}

/**
 * A key given as hex text (`COUNTERSIGN_DIGEST_KEY`, an exported key file): at least 32 bytes.
 * @throws DigestKeyError otherwise
 */
export function parseDigestKey(text: string): Buffer {
  const hex = text.trim();
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(hex) || hex.length < DIGEST_KEY_BYTES * 2) {
    throw new DigestKeyError(`a digest key is at least ${DIGEST_KEY_BYTES * 2} hex digits (${DIGEST_KEY_BYTES} bytes)`);
  }
  return Buffer.from(hex, 'hex');
}

/** A short, non-secret name of a key (first 16 hex of a sha256 over it), to tell keys apart. */
export function digestKeyId(key: Uint8Array): string {
  return createHash('sha256').update('countersign digest key\n').update(key).digest('hex').slice(0, 16);
}

function readKeyFile(file: string): Buffer {
  const key = fs.readFileSync(file);
  if (key.length < DIGEST_KEY_BYTES) throw new DigestKeyError(`${file} holds ${key.length} bytes, not a digest key of ${DIGEST_KEY_BYTES}`);
  // Tighten a key file someone loosened; it must never be group/world readable.
  if ((fs.statSync(file).mode & 0o077) !== 0) fs.chmodSync(file, 0o600);
  return key;
}

/**
 * The key `keyHex` names, else the data dir's, created on first use. Concurrent first starts
 * (an API and a worker on one data dir) agree on one key: it is written aside and linked into
 * place, which fails for all but the first.
 * @throws DigestKeyError for a malformed `keyHex` or key file
 */
export function loadOrCreateDigestKey(dataDir: string, opts: { keyHex?: string } = {}): Buffer {
  if (opts.keyHex) return parseDigestKey(opts.keyHex);
  const file = digestKeyPath(dataDir);
  if (fs.existsSync(file)) return readKeyFile(file);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const key = randomBytes(DIGEST_KEY_BYTES);
  const tmp = `${file}.${process.pid}.${Date.now()}.${randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(tmp, key, { mode: 0o600, flag: 'wx' });
  try {
    fs.linkSync(tmp, file);
    return key;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return readKeyFile(file); // another process created it first: use theirs
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/**
 * The key as configured, without creating one: `keyHex` when given, else the data dir's, else
 * undefined (no Countersign process has started on this data dir yet).
 */
export function readDigestKey(dataDir: string, opts: { keyHex?: string } = {}): Buffer | undefined {
  if (opts.keyHex) return parseDigestKey(opts.keyHex);
  const file = digestKeyPath(dataDir);
  return fs.existsSync(file) ? readKeyFile(file) : undefined;
}
