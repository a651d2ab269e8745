import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure, defaultPayloadConverter, type FailureConverter, type Payload } from '@temporalio/common';
import { afterEach, describe, expect, it } from 'vitest';
import { ENCRYPTED_ENCODING, FAILURE_CONVERTER_PATH, KEY_ID_METADATA, PayloadEncryptionCodec, type UndecodableReason } from '../../runtime/payload-codec';
import { loadOrCreatePayloadKeys, parsePayloadKeys, payloadKeysDir, PayloadKeyError, type PayloadKey } from '../../runtime/payload-keys';

const REPO = path.resolve(__dirname, '..', '..');
const key = (id: string): PayloadKey => ({ id, key: randomBytes(32) });
const text = (b: Uint8Array | null | undefined) => Buffer.from(b ?? new Uint8Array()).toString('utf8');
const SECRET = 'iban-DE44500105175407324931';
const plain = (): Payload => defaultPayloadConverter.toPayload({ to: SECRET, amount: 4200 });

/** A codec that records what it could not decode. */
function codecWith(keys: PayloadKey[]) {
  const undecodable: [UndecodableReason, string][] = [];
  const codec = new PayloadEncryptionCodec(keys, { onUndecodable: (reason, keyId) => undecodable.push([reason, keyId]) });
  return { codec, undecodable };
}

describe('PayloadEncryptionCodec', () => {
  it('when a payload is encoded, then it is binary/encrypted under the key id, holds no plaintext, and decodes to the same value', async () => {
    const { codec } = codecWith([key('k1')]);
    const [encoded] = await codec.encode([plain()]);
    expect(text(encoded.metadata?.encoding)).toBe(ENCRYPTED_ENCODING);
    expect(text(encoded.metadata?.[KEY_ID_METADATA])).toBe('k1');
    expect(Object.keys(encoded.metadata ?? {}).sort()).toEqual(['encoding', KEY_ID_METADATA]);
    expect(Buffer.from(encoded.data!).includes(SECRET)).toBe(false);
    expect(Buffer.from(encoded.data!).includes('json/plain')).toBe(false);
    const [decoded] = await codec.decode([encoded]);
    expect(text(decoded.metadata?.encoding)).toBe('json/plain');
    expect(defaultPayloadConverter.fromPayload(decoded)).toEqual({ to: SECRET, amount: 4200 });
  });

  it('when the same payload is encoded twice, then the ciphertexts differ (a fresh IV each time)', async () => {
    const { codec } = codecWith([key('k1')]);
    const [a, b] = await codec.encode([plain(), plain()]);
    expect(Buffer.from(a.data!).equals(Buffer.from(b.data!))).toBe(false);
  });

  it('when a plaintext payload (a history recorded before encryption) is decoded, then the same object comes back, reported as nothing', async () => {
    const { codec, undecodable } = codecWith([key('k1')]);
    const p = plain();
    const [decoded] = await codec.decode([p]);
    expect(decoded).toBe(p);
    expect(undecodable).toEqual([]);
  });

  it('when a payload under a key this codec does not hold is decoded, then it passes unchanged and is reported as unknown-key', async () => {
    const [encoded] = await codecWith([key('other')]).codec.encode([plain()]);
    const { codec, undecodable } = codecWith([key('k1')]);
    const [decoded] = await codec.decode([encoded]);
    expect(decoded).toBe(encoded);
    expect(undecodable).toEqual([['unknown-key', 'other']]);
  });

  it('when ciphertext, its key id or its length is tampered with, then decode passes it unchanged without throwing', async () => {
    const k1 = key('k1');
    const k2 = key('k2');
    const { codec, undecodable } = codecWith([k1, k2]);
    const [encoded] = await codec.encode([plain()]);
    const flipped = Buffer.from(encoded.data!);
    flipped[20] ^= 0x01;
    const tampered: Payload[] = [
      { ...encoded, data: flipped },
      // Claims the other held key: the key id is authenticated data, so this fails too.
      { ...encoded, metadata: { ...encoded.metadata, [KEY_ID_METADATA]: Buffer.from('k2') } },
      { ...encoded, data: Buffer.from(encoded.data!).subarray(0, 20) },
      { ...encoded, data: undefined },
      { metadata: { encoding: Buffer.from(ENCRYPTED_ENCODING) }, data: Buffer.from('no key id') },
    ];
    const decoded = await codec.decode(tampered);
    decoded.forEach((d, i) => expect(d, `case ${i}`).toBe(tampered[i]));
    expect(undecodable).toEqual([['not-authentic', 'k1'], ['not-authentic', 'k2'], ['not-authentic', 'k1'], ['not-authentic', 'k1'], ['unknown-key', '']]);
  });

  it('when keys rotate, then payloads under the old key still decode and new ones carry the new key id', async () => {
    const old = key('2024-01');
    const [before] = await codecWith([old]).codec.encode([plain()]);
    const rotated = codecWith([key('2024-06'), old]).codec;
    const [decodedBefore] = await rotated.decode([before]);
    expect(defaultPayloadConverter.fromPayload(decodedBefore)).toEqual({ to: SECRET, amount: 4200 });
    const [after] = await rotated.encode([plain()]);
    expect(text(after.metadata?.[KEY_ID_METADATA])).toBe('2024-06');
    expect(rotated.keyId).toBe('2024-06');
    // A process that was not given the new key yet cannot read it: hence the two-step rotation in docs/operations.md.
    const [unread] = await codecWith([old]).codec.decode([after]);
    expect(unread).toBe(after);
  });

  it('when a payload with empty data (undefined) is encoded, then it decodes back to the same', async () => {
    const { codec } = codecWith([key('k1')]);
    const undef = defaultPayloadConverter.toPayload(undefined);
    const [decoded] = await codec.decode(await codec.encode([undef]));
    expect(defaultPayloadConverter.fromPayload(decoded)).toBeUndefined();
    expect(text(decoded.metadata?.encoding)).toBe('binary/null');
  });
});

describe('the failure converter of every client and worker', () => {
  it('when a failure is converted and encoded, then its message and stack trace are in an encrypted payload, and come back decoded', async () => {
    const { failureConverter } = require(FAILURE_CONVERTER_PATH) as { failureConverter: FailureConverter };
    const { codec } = codecWith([key('k1')]);
    const failure = failureConverter.errorToFailure(ApplicationFailure.nonRetryable(`executor answered 422 for ${SECRET}`, 'ExecutorRejected'), defaultPayloadConverter);
    expect(failure.message).toBe('Encoded failure');
    expect(failure.applicationFailureInfo?.type).toBe('ExecutorRejected');
    const [encrypted] = await codec.encode([failure.encodedAttributes as Payload]);
    expect(Buffer.from(encrypted.data!).includes(SECRET)).toBe(false);
    const [decoded] = await codec.decode([encrypted]);
    const error = failureConverter.failureToError({ ...failure, encodedAttributes: decoded }, defaultPayloadConverter);
    expect(error.message).toBe(`executor answered 422 for ${SECRET}`);
  });
});

describe('parsePayloadKeys (COUNTERSIGN_PAYLOAD_KEYS)', () => {
  const b64 = randomBytes(32).toString('base64');
  const b64url = randomBytes(32).toString('base64url');

  it('when the list is valid, then the keys come in order, the first one encrypting', () => {
    const keys = parsePayloadKeys(`new:${b64}, old:${b64url}`);
    expect(keys.map((k) => k.id)).toEqual(['new', 'old']);
    expect(keys[0].key.equals(Buffer.from(b64, 'base64'))).toBe(true);
    expect(keys[1].key).toHaveLength(32);
  });

  it.each([
    [`k1${b64}`, /entry 1 of 1 is not <id>:<base64 key>/],
    [`k1:${b64},k 2:${b64}`, /entry 2 of 2: the id must be/],
    [`k1:${b64},k1:${b64url}`, /entry 2 of 2: the id "k1" is used twice/],
    [`k1:${randomBytes(16).toString('base64')}`, /entry 1 of 1 \("k1"\): the key must be 32 bytes/],
    [`k1:${b64}!`, /the key must be 32 bytes in base64/],
    [`k1:${b64},`, /entry 2 of 2 is not <id>:<base64 key>/],
  ])('when the list is %s, then it is refused naming the entry, never the key', (list, message) => {
    let error: unknown;
    try {
      parsePayloadKeys(list);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(PayloadKeyError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain(b64.slice(0, 12));
  });
});

describe('loadOrCreatePayloadKeys (the data dir)', () => {
  const dirs: string[] = [];
  const dataDir = () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-payload-keys-'));
    dirs.push(d);
    return d;
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  it('when the data dir has no key, then 1.key is created with mode 0600 and read back the same on the next start', () => {
    const dir = dataDir();
    const [first] = loadOrCreatePayloadKeys(dir);
    expect(first.id).toBe('1');
    const file = path.join(payloadKeysDir(dir), '1.key');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(payloadKeysDir(dir))).toEqual(['1.key']);
    const again = loadOrCreatePayloadKeys(dir);
    expect(again).toHaveLength(1);
    expect(again[0].key.equals(first.key)).toBe(true);
  });

  it('when 2.key is added, then it encrypts and 1.key still decrypts; a loosened file is tightened', () => {
    const dir = dataDir();
    loadOrCreatePayloadKeys(dir);
    const added = randomBytes(32);
    const file = path.join(payloadKeysDir(dir), '2.key');
    fs.writeFileSync(file, added.toString('base64') + '\n', { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    const keys = loadOrCreatePayloadKeys(dir);
    expect(keys.map((k) => k.id)).toEqual(['2', '1']);
    expect(keys[0].key.equals(added)).toBe(true);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });

  it('when the folder holds a file not named <n>.key, or a key that is not 32 bytes, then start-up is refused; a leftover temporary file is ignored', () => {
    const dir = dataDir();
    loadOrCreatePayloadKeys(dir);
    fs.writeFileSync(path.join(payloadKeysDir(dir), '.1.key.123.456.tmp'), 'half');
    expect(loadOrCreatePayloadKeys(dir)).toHaveLength(1);
    fs.writeFileSync(path.join(payloadKeysDir(dir), 'backup.key'), randomBytes(32).toString('base64'));
    expect(() => loadOrCreatePayloadKeys(dir)).toThrow(/backup\.key: payload key files are named <n>\.key/);
    fs.rmSync(path.join(payloadKeysDir(dir), 'backup.key'));
    fs.writeFileSync(path.join(payloadKeysDir(dir), '3.key'), 'short');
    expect(() => loadOrCreatePayloadKeys(dir)).toThrow(/3\.key: must hold a 32-byte key/);
  });

  it('when several processes start on an empty data dir at once, then they all end up with the one same key', async () => {
    const dir = dataDir();
    const go = path.join(dir, 'go');
    // Each process waits for the same signal, then loads or creates the key and prints its fingerprint.
    const script = `
      const fs = require('node:fs');
      const { createHash } = require('node:crypto');
      const { loadOrCreatePayloadKeys } = require(${JSON.stringify(path.join(REPO, 'runtime', 'payload-keys.ts'))});
      const wait = () => (fs.existsSync(${JSON.stringify(go)}) ? run() : setTimeout(wait, 2));
      const run = () => {
        const keys = loadOrCreatePayloadKeys(${JSON.stringify(dir)});
        process.stdout.write(keys.map((k) => k.id + ':' + createHash('sha256').update(k.key).digest('hex')).join(','));
      };
      wait();`;
    const outputs = Array.from({ length: 4 }, () => {
      const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      return new Promise<string>((resolve, reject) => child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`exit ${code}: ${err}`)))));
    });
    // Let every process reach its wait loop (tsx takes a moment to start) before the signal.
    await new Promise((r) => setTimeout(r, 3000));
    fs.writeFileSync(go, '');
    const fingerprints = await Promise.all(outputs);
    expect(new Set(fingerprints).size).toBe(1);
    expect(fingerprints[0]).toMatch(/^1:[0-9a-f]{64}$/);
    expect(fs.readdirSync(payloadKeysDir(dir))).toEqual(['1.key']);
    const [stored] = loadOrCreatePayloadKeys(dir);
    expect(fingerprints[0]).toBe(`1:${createHash('sha256').update(stored.key).digest('hex')}`);
  });
});
