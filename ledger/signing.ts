/**
 * Ed25519 signing keys for ledger checkpoints, evidence bundles and exports.
 *
 * Embedded default: the private key lives in `<dataDir>/keys/signing-key.pem` (PKCS#8,
 * mode 0600), created on first use. Production: the key comes from a file or PEM text
 * (`COUNTERSIGN_SIGNING_KEY_FILE` / `COUNTERSIGN_SIGNING_KEY`, read by the config module and
 * passed in as options). Every public key ever used is kept as `<dataDir>/keys/<keyId>.pub.pem`
 * (and as a row of `signing_keys`), so signatures made before a rotation still verify.
 *
 * keyId = first 16 hex characters of sha256(raw 32-byte Ed25519 public key).
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Pool, PoolClient } from 'pg';

/** Signature algorithm name written into bundles and manifests. */
export const SIGNATURE_ALG = 'Ed25519';

/** Signs on behalf of the ledger with one Ed25519 key. */
export interface LedgerSigner {
  readonly keyId: string;
  /** SPKI PEM of the public key. */
  readonly publicKeyPem: string;
  /** Base64 Ed25519 signature of the UTF-8 bytes of `message` (or of the bytes given). */
  sign(message: string | Uint8Array): string;
}

/** A public key a verifier trusts. */
export interface TrustedKey {
  keyId: string;
  /** SPKI PEM. */
  publicKeyPem: string;
  /**
   * When the key may sign (ISO times; absent or null = unbounded on that side): a checkpoint it
   * signed outside this window does not verify. Kept beside the public key in the data dir
   * (`<keyId>.window.json`), written when the key is created and when it is rotated out.
   */
  validFrom?: string | null;
  validUntil?: string | null;
}

/** How long a rotated-out key may still sign: processes holding it sign until they restart. */
export const ROTATION_GRACE_MS = 15 * 60_000;

/** Where the production signing key comes from (both unset: the key in `<dataDir>/keys/`). */
export interface SigningKeyOptions {
  /** Path of a PKCS#8 PEM Ed25519 private key (`COUNTERSIGN_SIGNING_KEY_FILE`). */
  keyFile?: string;
  /** The PKCS#8 PEM text itself (`COUNTERSIGN_SIGNING_KEY`); wins over `keyFile`. */
  keyPem?: string;
}

/** Raised when a key is not an Ed25519 key or cannot be parsed. */
export class SigningKeyError extends Error {
  override readonly name = 'SigningKeyError';
}

const PRIVATE_KEY_FILE = 'signing-key.pem';
const PUBLIC_KEY_SUFFIX = '.pub.pem';
const WINDOW_SUFFIX = '.window.json';

/** A key's validity window from `<keyId>.window.json`, or unbounded when there is none. */
function readKeyWindow(dir: string, keyId: string): Pick<TrustedKey, 'validFrom' | 'validUntil'> {
  const file = path.join(dir, keyId + WINDOW_SUFFIX);
  if (!fs.existsSync(file)) return {};
  const w = JSON.parse(fs.readFileSync(file, 'utf8')) as { validFrom?: unknown; validUntil?: unknown };
  const time = (v: unknown, name: string) => {
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string' || Number.isNaN(Date.parse(v))) throw new SigningKeyError(`${file}: ${name} must be an ISO time or null`);
    return new Date(v).toISOString();
  };
  return { validFrom: time(w.validFrom, 'validFrom'), validUntil: time(w.validUntil, 'validUntil') };
}

/** Set one side of a key's window, keeping the other. */
function writeKeyWindow(dir: string, keyId: string, change: Pick<TrustedKey, 'validFrom' | 'validUntil'>): void {
  const window = { validFrom: null, validUntil: null, ...readKeyWindow(dir, keyId), ...change };
  fs.writeFileSync(path.join(dir, keyId + WINDOW_SUFFIX), `${JSON.stringify(window)}\n`, { mode: 0o644 });
}

/** Folder holding the signing key and the public keys: `<dataDir>/keys`. */
export function keysDir(dataDir: string): string {
  return path.join(dataDir, 'keys');
}

function rawPublicKey(key: KeyObject): Buffer {
  const jwk = key.export({ format: 'jwk' });
  if (!jwk.x) throw new SigningKeyError('not an Ed25519 public key');
  return Buffer.from(jwk.x, 'base64url');
}

/** keyId of a public key: first 16 hex of sha256(raw 32-byte public key). */
export function keyIdOf(publicKey: KeyObject | string): string {
  const key = typeof publicKey === 'string' ? parsePublicKey(publicKey) : publicKey;
  return createHash('sha256').update(rawPublicKey(key)).digest('hex').slice(0, 16);
}

/**
 * Parse an Ed25519 public key given as SPKI PEM or as base64 of the raw 32 bytes.
 * @throws SigningKeyError for anything else
 */
export function parsePublicKey(text: string): KeyObject {
  const trimmed = text.trim();
  let key: KeyObject;
  try {
    if (trimmed.startsWith('-----BEGIN')) {
      key = createPublicKey(trimmed);
    } else {
      const raw = Buffer.from(trimmed, 'base64');
      if (raw.length !== 32) throw new Error('raw Ed25519 public keys are 32 bytes');
      key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
    }
  } catch (err) {
    throw new SigningKeyError(`cannot parse public key: ${(err as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new SigningKeyError(`expected an Ed25519 key, got ${key.asymmetricKeyType}`);
  return key;
}

/** A {@link TrustedKey} from PEM (or raw base64) text; the keyId is computed, never taken on trust. */
export function trustedKeyFromText(text: string): TrustedKey {
  const key = parsePublicKey(text);
  return { keyId: keyIdOf(key), publicKeyPem: key.export({ type: 'spki', format: 'pem' }).toString() };
}

/** Build a signer from an Ed25519 private key (PKCS#8 PEM text or KeyObject). */
export function signerFromPrivateKey(privateKey: string | KeyObject): LedgerSigner {
  let key: KeyObject;
  try {
    key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  } catch (err) {
    throw new SigningKeyError(`cannot parse signing key: ${(err as Error).message}`);
  }
  if (key.type !== 'private' || key.asymmetricKeyType !== 'ed25519') {
    throw new SigningKeyError(`the signing key must be an Ed25519 private key, got ${key.asymmetricKeyType ?? key.type}`);
  }
  const publicKey = createPublicKey(key);
  const keyId = keyIdOf(publicKey);
  const publicKeyPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  return {
    keyId,
    publicKeyPem,
    sign: (message) => sign(null, typeof message === 'string' ? Buffer.from(message, 'utf8') : message, key).toString('base64'),
  };
}

function writePublicKeyFile(dir: string, signer: LedgerSigner): void {
  const file = path.join(dir, signer.keyId + PUBLIC_KEY_SUFFIX);
  if (!fs.existsSync(file)) fs.writeFileSync(file, signer.publicKeyPem, { mode: 0o644 });
}

function generatePrivateKeyPem(): string {
  const { privateKey } = generateKeyPairSync('ed25519');
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/**
 * The ledger's signer. With `keyPem`/`keyFile` that key is used (its public key is also
 * written to `<dataDir>/keys/` when that folder is writable, so local verification trusts it);
 * otherwise the key in `<dataDir>/keys/signing-key.pem` is loaded, or created (mode 0600) on
 * first use. Concurrent first starts agree on one key (exclusive create).
 */
export function loadOrCreateSigningKey(dataDir: string, opts: SigningKeyOptions = {}): LedgerSigner {
  const dir = keysDir(dataDir);
  if (opts.keyPem || opts.keyFile) {
    const pem = opts.keyPem ?? fs.readFileSync(opts.keyFile!, 'utf8');
    const signer = signerFromPrivateKey(pem);
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      writePublicKeyFile(dir, signer);
    } catch {
      // A read-only data dir is fine in production: verifiers get the key from elsewhere.
    }
    return signer;
  }
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, PRIVATE_KEY_FILE);
  let pem: string | null = null;
  if (!fs.existsSync(file)) {
    pem = generatePrivateKeyPem();
    // Write aside, then link into place: atomic and exclusive, so a concurrent first start
    // never reads a half-written key and every process ends up with the same one.
    const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
    fs.writeFileSync(tmp, pem, { mode: 0o600, flag: 'wx' });
    try {
      fs.linkSync(tmp, file);
      writeKeyWindow(dir, signerFromPrivateKey(pem).keyId, { validFrom: new Date().toISOString() });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      pem = null; // another process created it first: use theirs
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }
  if (pem === null) {
    pem = fs.readFileSync(file, 'utf8');
    // Tighten a key file someone loosened; it must never be group/world readable.
    if ((fs.statSync(file).mode & 0o077) !== 0) fs.chmodSync(file, 0o600);
  }
  const signer = signerFromPrivateKey(pem);
  writePublicKeyFile(dir, signer);
  return signer;
}

/** What {@link rotateSigningKey} did. */
export interface KeyRotation {
  previousKeyId: string | null;
  signer: LedgerSigner;
}

/**
 * Replace the key in `<dataDir>/keys/` with a new one. The old public key stays in `keys/`
 * (and, with `db`, its `signing_keys` row is marked retired while the new key is recorded),
 * so everything signed before still verifies; the old private key is deleted so it can sign
 * nothing more. Processes holding the old signer keep signing with it until they reload.
 */
export async function rotateSigningKey(dataDir: string, opts: { db?: Pool | PoolClient; graceMs?: number } = {}): Promise<KeyRotation> {
  const now = Date.now();
  const dir = keysDir(dataDir);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, PRIVATE_KEY_FILE);
  let previousKeyId: string | null = null;
  if (fs.existsSync(file)) {
    const previous = signerFromPrivateKey(fs.readFileSync(file, 'utf8'));
    writePublicKeyFile(dir, previous);
    previousKeyId = previous.keyId;
    // It stops being valid once running processes have had time to pick up the new key.
    writeKeyWindow(dir, previous.keyId, { validUntil: new Date(now + (opts.graceMs ?? ROTATION_GRACE_MS)).toISOString() });
  }
  const pem = generatePrivateKeyPem();
  const signer = signerFromPrivateKey(pem);
  writePublicKeyFile(dir, signer);
  writeKeyWindow(dir, signer.keyId, { validFrom: new Date(now).toISOString() });
  // Write aside, then rename over the old key: readers see the old or the new key, never half.
  const tmp = `${file}.${process.pid}.tmp`;
  fs.rmSync(tmp, { force: true });
  fs.writeFileSync(tmp, pem, { mode: 0o600, flag: 'wx' });
  fs.renameSync(tmp, file);
  if (opts.db) {
    await registerSigningKey(opts.db, signer);
    if (previousKeyId) await retireSigningKey(opts.db, previousKeyId);
  }
  return { previousKeyId, signer };
}

/**
 * Public keys kept in `<dataDir>/keys/` (current and retired), the default trust set of
 * local verification. Keys recorded only in the database are not trusted by default: whoever
 * can write the ledger tables could add one.
 */
export function trustedPublicKeys(dataDir: string): TrustedKey[] {
  const dir = keysDir(dataDir);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(PUBLIC_KEY_SUFFIX))
    .sort()
    .map((f) => {
      const key = trustedKeyFromText(fs.readFileSync(path.join(dir, f), 'utf8'));
      return { ...key, ...readKeyWindow(dir, key.keyId) };
    });
}

/**
 * Why `keyId` may not have signed at `at` (outside its window in `trusted`), or null when it may.
 * The key must be one of `trusted` (check the signature with {@link checkSignature} first).
 */
export function keyWindowRefusal(trusted: readonly TrustedKey[], keyId: string, at: string): string | null {
  const entry = trusted.find((t) => keyIdOfTrusted(t) === keyId);
  if (!entry) return `signing key ${keyId} is not trusted`;
  const t = Date.parse(at);
  // Five minutes' slack before: the key's creator and the checkpointing database need not agree to the second.
  if (entry.validFrom && t < Date.parse(entry.validFrom) - 5 * 60_000) return `signed by key ${keyId} at ${at}, before the key was valid (from ${entry.validFrom})`;
  if (entry.validUntil && t > Date.parse(entry.validUntil)) return `signed by key ${keyId} at ${at}, after the key stopped being valid (until ${entry.validUntil})`;
  return null;
}

/** Trusted keys from public key files (PEM or raw base64), e.g. `--public-key` arguments. */
export function loadTrustedKeyFiles(files: readonly string[]): TrustedKey[] {
  return files.map((f) => {
    try {
      return trustedKeyFromText(fs.readFileSync(f, 'utf8'));
    } catch (err) {
      throw new SigningKeyError(`${f}: ${(err as Error).message}`);
    }
  });
}

/** Record a public key in `signing_keys` (no-op when already there). */
export async function registerSigningKey(db: Pool | PoolClient, key: TrustedKey | LedgerSigner): Promise<void> {
  await (db as Pool).query(
    `INSERT INTO signing_keys (key_id, alg, public_key) VALUES ($1, '${SIGNATURE_ALG}', $2) ON CONFLICT (key_id) DO NOTHING`,
    [key.keyId, key.publicKeyPem],
  );
}

/** Mark a key retired in `signing_keys` (the only update that table allows). */
export async function retireSigningKey(db: Pool | PoolClient, keyId: string, at: Date = new Date()): Promise<void> {
  await (db as Pool).query('UPDATE signing_keys SET retired_at = $2 WHERE key_id = $1 AND retired_at IS NULL', [keyId, at]);
}

/** Public keys recorded in `signing_keys`, oldest first (informational: see {@link trustedPublicKeys}). */
export async function signingKeysFromDb(db: Pool | PoolClient): Promise<Array<TrustedKey & { createdAt: Date; retiredAt: Date | null }>> {
  const { rows } = await (db as Pool).query<{ key_id: string; public_key: string; created_at: Date; retired_at: Date | null }>(
    'SELECT key_id, public_key, created_at, retired_at FROM signing_keys ORDER BY created_at, key_id',
  );
  return rows.map((r) => ({ keyId: r.key_id, publicKeyPem: r.public_key, createdAt: r.created_at, retiredAt: r.retired_at }));
}

const keyCache = new Map<string, { key: KeyObject; keyId: string } | null>();

/** A trusted entry's key and its id recomputed from the PEM (null when the PEM does not parse). */
function parsedKey(t: TrustedKey): { key: KeyObject; keyId: string } | null {
  let parsed = keyCache.get(t.publicKeyPem);
  if (parsed === undefined) {
    try {
      const k = parsePublicKey(t.publicKeyPem);
      parsed = { key: k, keyId: keyIdOf(k) };
    } catch {
      parsed = null;
    }
    if (keyCache.size > 1000) keyCache.clear();
    keyCache.set(t.publicKeyPem, parsed);
  }
  return parsed;
}

/** The id of a trusted entry's key, recomputed: a mislabelled entry cannot lend its window to another key. */
const keyIdOfTrusted = (t: TrustedKey) => parsedKey(t)?.keyId;

/**
 * Check a base64 Ed25519 signature made by `keyId`, trusting only `trusted`. Each trusted
 * key's id is recomputed from its PEM, so a mislabelled entry cannot vouch for another key.
 * @returns null when valid, otherwise why not
 */
export function checkSignature(
  trusted: readonly TrustedKey[],
  keyId: string,
  message: string | Uint8Array,
  signatureB64: string,
): string | null {
  let key: KeyObject | null = null;
  for (const t of trusted) {
    const parsed = parsedKey(t);
    if (parsed && parsed.keyId === keyId) {
      key = parsed.key;
      break;
    }
  }
  if (!key) return `signing key ${keyId} is not trusted`;
  if (typeof signatureB64 !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(signatureB64)) return 'signature is not base64';
  const data = typeof message === 'string' ? Buffer.from(message, 'utf8') : message;
  const ok = verify(null, data, key, Buffer.from(signatureB64, 'base64'));
  return ok ? null : `signature by key ${keyId} does not verify`;
}
