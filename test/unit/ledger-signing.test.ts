import { createHash, generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  SigningKeyError,
  checkSignature,
  keyIdOf,
  loadOrCreateSigningKey,
  loadTrustedKeyFiles,
  rotateSigningKey,
  trustedKeyFromText,
  trustedPublicKeys,
} from '../../ledger/signing';

const dirs: string[] = [];
function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-keys-'));
  dirs.push(d);
  return d;
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('signing keys', () => {
  it('when no key exists, then one is created with mode 0600 and reused afterwards', () => {
    const dataDir = tmpDir();
    const a = loadOrCreateSigningKey(dataDir);
    const file = path.join(dataDir, 'keys', 'signing-key.pem');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(loadOrCreateSigningKey(dataDir).keyId).toBe(a.keyId);
    expect(trustedPublicKeys(dataDir).map((k) => k.keyId)).toEqual([a.keyId]);
  });

  it('when the keyId is computed, then it is the first 16 hex of sha256 of the raw public key', () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
    expect(keyIdOf(publicKey)).toBe(createHash('sha256').update(raw).digest('hex').slice(0, 16));
    expect(trustedKeyFromText(raw.toString('base64')).keyId).toBe(keyIdOf(publicKey));
  });

  it('when a key is given as PEM, then it is used instead of the data dir key', () => {
    const dataDir = tmpDir();
    const { privateKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const signer = loadOrCreateSigningKey(dataDir, { keyPem: pem });
    expect(fs.existsSync(path.join(dataDir, 'keys', 'signing-key.pem'))).toBe(false);
    expect(trustedPublicKeys(dataDir).map((k) => k.keyId)).toEqual([signer.keyId]);
    const keyFile = path.join(dataDir, 'prod.pem');
    fs.writeFileSync(keyFile, pem);
    expect(loadOrCreateSigningKey(dataDir, { keyFile }).keyId).toBe(signer.keyId);
  });

  it('when the given key is not Ed25519, then it is refused', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(() => loadOrCreateSigningKey(tmpDir(), { keyPem: pem })).toThrow(SigningKeyError);
  });

  it('when the key is rotated, then old signatures still verify with the kept public key', async () => {
    const dataDir = tmpDir();
    const old = loadOrCreateSigningKey(dataDir);
    const sig = old.sign('hello');
    const { previousKeyId, signer } = await rotateSigningKey(dataDir);
    expect(previousKeyId).toBe(old.keyId);
    expect(signer.keyId).not.toBe(old.keyId);
    expect(loadOrCreateSigningKey(dataDir).keyId).toBe(signer.keyId);
    const trusted = trustedPublicKeys(dataDir);
    expect(trusted.map((k) => k.keyId).sort()).toEqual([old.keyId, signer.keyId].sort());
    expect(checkSignature(trusted, old.keyId, 'hello', sig)).toBeNull();
    expect(checkSignature(trusted, old.keyId, 'hellO', sig)).toMatch(/does not verify/);
  });

  it('when public key files are passed, then only those are trusted', () => {
    const dataDir = tmpDir();
    const signer = loadOrCreateSigningKey(dataDir);
    const file = path.join(dataDir, 'keys', `${signer.keyId}.pub.pem`);
    expect(loadTrustedKeyFiles([file])).toEqual([{ keyId: signer.keyId, publicKeyPem: signer.publicKeyPem }]);
    fs.writeFileSync(path.join(dataDir, 'junk.pem'), 'not a key');
    expect(() => loadTrustedKeyFiles([path.join(dataDir, 'junk.pem')])).toThrow(SigningKeyError);
  });
});
