/**
 * Temporal sees ciphertext: every payload Countersign writes to Temporal (workflow input, Update
 * arguments and results, activity arguments and results, query results, failure messages) goes
 * through {@link PayloadEncryptionCodec} on its way out and back. The codec runs in the client and
 * in the worker's main thread, never in the workflow sandbox, so node:crypto is fine here.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import path from 'node:path';
import { METADATA_ENCODING_KEY, type DataConverter, type Payload, type PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { PayloadKey } from './payload-keys';

/** The `encoding` metadata of an encrypted payload (Temporal's UI shows it for payloads it cannot decode). */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
/** The metadata key naming the key a payload was encrypted with. */
export const KEY_ID_METADATA = 'encryption-key-id';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const ProtoPayload = temporal.api.common.v1.Payload;

/** Why a payload marked as encrypted was passed through undecoded. */
export type UndecodableReason = 'unknown-key' | 'not-authentic';

/** Options for {@link PayloadEncryptionCodec}. */
export interface PayloadEncryptionCodecOptions {
  /** Called (with the key id, never the payload) for each encrypted payload the codec cannot decode. */
  onUndecodable?: (reason: UndecodableReason, keyId: string) => void;
}

/**
 * AES-256-GCM over the whole payload (its metadata and data, serialized as the Payload protobuf),
 * a fresh 96-bit IV per payload, the key id as additional authenticated data. The first key
 * encrypts; every key decrypts, found by the id in the payload's metadata, so keys can rotate.
 *
 * Decoding never throws: a payload it cannot decode is returned unchanged (the same object), be
 * it plaintext from a history recorded before encryption, a payload under a key this process does
 * not hold, or ciphertext that fails authentication. The workflow then refuses what it cannot read.
 */
export class PayloadEncryptionCodec implements PayloadCodec {
  private readonly encryptWith: PayloadKey;
  private readonly keys: ReadonlyMap<string, Buffer>;

  constructor(
    keys: readonly PayloadKey[],
    private readonly options: PayloadEncryptionCodecOptions = {},
  ) {
    if (keys.length === 0) throw new Error('PayloadEncryptionCodec needs at least one key');
    this.encryptWith = keys[0];
    this.keys = new Map(keys.map((k) => [k.id, k.key]));
  }

  /** The id of the key new payloads are encrypted with. */
  get keyId(): string {
    return this.encryptWith.id;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => this.encrypt(p));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => this.decrypt(p));
  }

  private encrypt(payload: Payload): Payload {
    const { id, key } = this.encryptWith;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(id, 'utf8'));
    const body = Buffer.concat([cipher.update(ProtoPayload.encode(payload).finish()), cipher.final()]);
    return {
      metadata: { [METADATA_ENCODING_KEY]: Buffer.from(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: Buffer.from(id, 'utf8') },
      data: Buffer.concat([iv, body, cipher.getAuthTag()]),
    };
  }

  private decrypt(payload: Payload): Payload {
    const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
    if (!encoding || Buffer.from(encoding).toString('utf8') !== ENCRYPTED_ENCODING) return payload;
    const keyIdBytes = payload.metadata?.[KEY_ID_METADATA];
    const keyId = keyIdBytes ? Buffer.from(keyIdBytes).toString('utf8') : '';
    const key = this.keys.get(keyId);
    if (!key) {
      this.options.onUndecodable?.('unknown-key', keyId);
      return payload;
    }
    const data = payload.data ? Buffer.from(payload.data) : Buffer.alloc(0);
    try {
      if (data.length < IV_BYTES + TAG_BYTES) throw new Error('too short');
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(keyId, 'utf8'));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      const plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
      return ProtoPayload.decode(plain);
    } catch {
      this.options.onUndecodable?.('not-authentic', keyId);
      return payload;
    }
  }
}

/**
 * Failure messages and stack traces travel in an encoded payload (so the codec encrypts them) rather
 * than as plain history fields: a Postgres error or an executor's answer may quote params.
 */
export const FAILURE_CONVERTER_PATH = path.resolve(__dirname, '..', 'workers', 'failure-converter.js');

/**
 * The data converter of every Temporal client and worker Countersign builds: the payload codec,
 * and the failure converter that puts failure messages into payloads. The workflow bundle must be
 * built with the same failure converter (workers/worker.ts `bundleWorkflows`).
 */
export function countersignDataConverter(codec: PayloadCodec): DataConverter {
  return { payloadCodecs: [codec], failureConverterPath: FAILURE_CONVERTER_PATH };
}
