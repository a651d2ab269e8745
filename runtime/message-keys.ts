/**
 * The keys behind signed messages (domain/message-signature.ts): the root keys, and the
 * rotating message key each API process signs with.
 *
 * Root keys are Ed25519 seeds (32 random bytes, base64url): `COUNTERSIGN_MESSAGE_ROOT_KEYS`
 * (comma-separated; the first is current, the others are earlier roots still trusted so the
 * actions they started can still be decided), else `<dataDir>/secrets/message-root` (created on
 * first start). Every API and worker process of one installation must hold the same roots:
 * the API certifies its message keys with them, the worker's policy step trusts only them.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { argsDigest, certificateText, messageText, type KeyCertificate, type MessageKind, type MessageSignature, type TrustRoot } from '../domain/message-signature';
import { loadOrCreateSecret } from './secrets';

/** How long a message key's certificate is valid; a process makes a new key when half of it is left. */
const CERT_VALIDITY_MS = 24 * 3600_000;
/** Certificates start a little in the past, for clocks slightly behind this one. */
const CERT_BACKDATE_MS = 5 * 60_000;

/** PKCS#8 DER prefix of an Ed25519 private key; the 32-byte seed follows. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** Raised for a root key that is not a base64url 32-byte seed. */
export class MessageKeyError extends Error {
  override readonly name = 'MessageKeyError';
}

function rawPublicHex(key: KeyObject): string {
  const x = createPublicKey(key).export({ format: 'jwk' }).x;
  if (!x) throw new MessageKeyError('not an Ed25519 key');
  return Buffer.from(x, 'base64url').toString('hex');
}

const kidOf = (publicHex: string) => createHash('sha256').update(Buffer.from(publicHex, 'hex')).digest('hex').slice(0, 16);

interface RootKey {
  root: TrustRoot;
  privateKey: KeyObject;
}

function rootFromSeed(seed: string, where: string): RootKey {
  const bytes = Buffer.from(seed.trim(), 'base64url');
  if (bytes.length !== 32 || bytes.toString('base64url') !== seed.trim()) {
    throw new MessageKeyError(`${where}: a message root key is 32 random bytes in base64url (43 characters)`);
  }
  const privateKey = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, bytes]), format: 'der', type: 'pkcs8' });
  const key = rawPublicHex(privateKey);
  return { root: { kid: kidOf(key), key }, privateKey };
}

/** Signs messages to workflows; the roots it holds are also the ones a worker trusts. */
export class MessageSigner {
  private messageKey!: { kid: string; privateKey: KeyObject; certs: KeyCertificate[]; renewAt: number };

  private constructor(private readonly roots: RootKey[]) {}

  /**
   * The roots from `COUNTERSIGN_MESSAGE_ROOT_KEYS` (`seeds`, first current), else the data dir's.
   * @throws MessageKeyError for a malformed seed
   */
  static load(dataDir: string, seeds?: readonly string[]): MessageSigner {
    const list = seeds?.length ? seeds : [loadOrCreateSecret(dataDir, 'message-root')];
    return new MessageSigner(list.map((s, i) => rootFromSeed(s, seeds?.length ? `COUNTERSIGN_MESSAGE_ROOT_KEYS[${i}]` : 'the data dir\'s message-root')));
  }

  /** The root new workflows trust (goes into their start input). */
  get root(): TrustRoot {
    return this.roots[0].root;
  }

  /** Every root this installation trusts (the worker's policy step accepts only these). */
  get trustedRoots(): TrustRoot[] {
    return this.roots.map((r) => r.root);
  }

  /**
   * Sign a message to workflow `workflowId`: returns `args` with its `signature`. The arguments
   * are signed as they will arrive (after a JSON round trip: undefined fields dropped).
   */
  sign<T extends object>(workflowId: string, kind: MessageKind, args: T, now = Date.now()): T & { signature: MessageSignature } {
    const plain = JSON.parse(JSON.stringify(args)) as Record<string, unknown>;
    delete plain.signature;
    const key = this.currentKey(now);
    const at = new Date(now).toISOString();
    const sig = sign(null, Buffer.from(messageText(workflowId, kind, argsDigest(plain), at, key.kid), 'utf8'), key.privateKey).toString('hex');
    return { ...(plain as T), signature: { kid: key.kid, at, sig, certs: key.certs } };
  }

  /** This process's message key, made (and certified by every root) on first use and when half its validity is gone. */
  private currentKey(now: number) {
    if (this.messageKey && now < this.messageKey.renewAt) return this.messageKey;
    const { privateKey } = generateKeyPairSync('ed25519');
    const key = rawPublicHex(privateKey);
    const kid = kidOf(key);
    const notBefore = new Date(now - CERT_BACKDATE_MS).toISOString();
    const notAfter = new Date(now + CERT_VALIDITY_MS).toISOString();
    const certs = this.roots.map(({ root, privateKey: rootKey }) => ({
      kid,
      key,
      root: root.kid,
      notBefore,
      notAfter,
      sig: sign(null, Buffer.from(certificateText({ kid, key, notBefore, notAfter }), 'utf8'), rootKey).toString('hex'),
    }));
    this.messageKey = { kid, privateKey, certs, renewAt: now + CERT_VALIDITY_MS / 2 };
    return this.messageKey;
  }
}
