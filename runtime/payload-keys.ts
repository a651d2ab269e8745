/**
 * The AES-256 keys that encrypt what Countersign writes to Temporal (runtime/payload-codec.ts).
 * They come from `COUNTERSIGN_PAYLOAD_KEYS` (parsed here for runtime/config.ts) or, without it,
 * from `<data dir>/keys/payload-keys/`, where the first start creates one. Every API and worker
 * process must hold the same keys: a process without the key a payload was encrypted with
 * cannot read that payload.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** One payload key: its id travels in each payload's metadata, so old keys keep decrypting. */
export interface PayloadKey {
  id: string;
  /** 32 bytes (AES-256). */
  key: Buffer;
}

/** Key ids: short and safe in a file name and in payload metadata. */
export const PAYLOAD_KEY_ID_RE = /^[A-Za-z0-9._-]{1,64}$/;
const KEY_BYTES = 32;
/** Data-dir key files are `<n>.key`; the highest n encrypts. */
const KEY_FILE_RE = /^([1-9][0-9]{0,8})\.key$/;

/** Raised when keys are malformed; the message never contains key material. */
export class PayloadKeyError extends Error {
  override name = 'PayloadKeyError';
}

/** The data dir's payload key folder. */
export function payloadKeysDir(dataDir: string): string {
  return path.join(dataDir, 'keys', 'payload-keys');
}

/** A key's bytes from base64 (standard or URL-safe); undefined unless it is exactly 32 bytes. */
function keyBytes(text: string): Buffer | undefined {
  const t = text.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(t)) return undefined;
  const key = Buffer.from(t, 'base64');
  return key.length === KEY_BYTES ? key : undefined;
}

/**
 * Parse `id1:base64,id2:base64` (the first key encrypts, every key decrypts). Throws
 * {@link PayloadKeyError} naming the entry (by position and id, never its key) that is wrong.
 */
export function parsePayloadKeys(text: string): PayloadKey[] {
  const entries = text.split(',').map((e) => e.trim());
  const keys: PayloadKey[] = [];
  entries.forEach((entry, i) => {
    const where = `entry ${i + 1} of ${entries.length}`;
    const colon = entry.indexOf(':');
    if (colon < 0) throw new PayloadKeyError(`${where} is not <id>:<base64 key>`);
    const id = entry.slice(0, colon);
    if (!PAYLOAD_KEY_ID_RE.test(id)) throw new PayloadKeyError(`${where}: the id must be 1-64 letters, digits, '.', '_' or '-'`);
    if (keys.some((k) => k.id === id)) throw new PayloadKeyError(`${where}: the id "${id}" is used twice`);
    const key = keyBytes(entry.slice(colon + 1));
    if (!key) throw new PayloadKeyError(`${where} ("${id}"): the key must be 32 bytes in base64 (openssl rand -base64 32)`);
    keys.push({ id, key });
  });
  return keys;
}

/**
 * The data dir's payload keys, newest (highest `<n>.key`) first. On the first start the folder
 * is empty and `1.key` is created (mode 0600) by writing it aside and linking it into place:
 * atomic and exclusive, so processes starting at once all end up with the same key.
 */
export function loadOrCreatePayloadKeys(dataDir: string): PayloadKey[] {
  const dir = payloadKeysDir(dataDir);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  let keys = readKeyFiles(dir);
  if (keys.length === 0) {
    const file = path.join(dir, '1.key');
    // A leading dot: readKeyFiles skips it should this process die before removing it.
    const tmp = path.join(dir, `.1.key.${process.pid}.${Date.now()}.tmp`);
    fs.writeFileSync(tmp, randomBytes(KEY_BYTES).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
    try {
      fs.linkSync(tmp, file);
    } catch (err) {
      // Another process created it first: use theirs.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      fs.rmSync(tmp, { force: true });
    }
    keys = readKeyFiles(dir);
  }
  return keys;
}

function readKeyFiles(dir: string): PayloadKey[] {
  const keys: { n: number; key: PayloadKey }[] = [];
  for (const name of fs.readdirSync(dir)) {
    if (name.startsWith('.')) continue;
    const m = KEY_FILE_RE.exec(name);
    // A key file under another name would silently not decrypt: refuse to start instead.
    if (!m) throw new PayloadKeyError(`${path.join(dir, name)}: payload key files are named <n>.key (1.key, 2.key, …); move anything else out of ${dir}`);
    const file = path.join(dir, name);
    const key = keyBytes(fs.readFileSync(file, 'utf8'));
    if (!key) throw new PayloadKeyError(`${file}: must hold a 32-byte key in base64 (openssl rand -base64 32)`);
    // Tighten a key file someone loosened; it must never be group/world readable.
    if ((fs.statSync(file).mode & 0o077) !== 0) fs.chmodSync(file, 0o600);
    keys.push({ n: Number(m[1]), key: { id: m[1], key } });
  }
  return keys.sort((a, b) => b.n - a.n).map((k) => k.key);
}
