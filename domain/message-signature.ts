/**
 * Signed messages from the API to the workflow: what makes a start, a decision, a cancel or a
 * result reported to Temporal count only when the API that authenticated the caller sent it.
 *
 * The chain of trust:
 * - a **root key** (Ed25519) whose public half every workflow gets in its start input
 *   ({@link TrustRoot}), and which the worker also knows: the policy step refuses a start whose
 *   root the worker does not trust, so a workflow started straight to Temporal with a root of
 *   its own changes nothing;
 * - **message keys**: each API process makes its own and has the root certify it for a
 *   limited time ({@link KeyCertificate}); they rotate, the root does not;
 * - each **message** (the start, or one Update) is signed by a message key over the workflow
 *   id, what the message is (`start`, or the Update's name and id), a digest of its arguments
 *   and the time it was issued, so it cannot be replayed onto another action, another Update,
 *   other arguments, or much later.
 *
 * Verification runs inside the workflow sandbox (no `node:crypto`): pure JS, `@noble/curves`
 * for Ed25519 and `@noble/hashes` for SHA-256. Signing (in the API) uses node's crypto; both
 * produce and check plain RFC 8032 Ed25519 signatures over the same UTF-8 strings.
 */
import { ed25519 } from '@noble/curves/ed25519';
import { sha256 } from '@noble/hashes/sha2';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils';
import { canonicalJson } from './canonical-json';

/** The root key a workflow trusts (raw 32-byte Ed25519 public key, hex). */
export interface TrustRoot {
  kid: string;
  key: string;
}

/** A message key certified by a root for a window of time. */
export interface KeyCertificate {
  /** The message key's id. */
  kid: string;
  /** Its raw 32-byte Ed25519 public key, hex. */
  key: string;
  /** The id of the root that signed this certificate. */
  root: string;
  notBefore: string;
  notAfter: string;
  /** The root's Ed25519 signature over {@link certificateText}, hex. */
  sig: string;
}

/** The signature a message carries (the `signature` field of its argument). */
export interface MessageSignature {
  /** The message key that signed. */
  kid: string;
  /** When the API issued the message (ISO-8601). */
  at: string;
  /** Ed25519 over {@link messageText}, hex. */
  sig: string;
  /** The message key's certificates, one per root the API holds (a workflow uses its own root's). */
  certs: KeyCertificate[];
}

/** What a message is: the start, or one Update (name and id). */
export type MessageKind = 'start' | { update: string; id: string };

/**
 * How far a message's time may be from the workflow's clock. Wide enough for an API that
 * retries an Update while workers restart (about a minute) and ordinary clock skew; narrow
 * enough that a captured message is useless soon after.
 */
export const MESSAGE_WINDOW_MS = 5 * 60_000;

/** The text a root signs to certify a message key. */
export function certificateText(c: Omit<KeyCertificate, 'sig' | 'root'>): string {
  return ['countersign/key-certificate/v1', c.kid, c.key, c.notBefore, c.notAfter].join('\n');
}

/** The text a message key signs. */
export function messageText(workflowId: string, kind: MessageKind, argsDigest: string, at: string, kid: string): string {
  const what = kind === 'start' ? 'start' : `update/${kind.update}/${kind.id}`;
  return ['countersign/message/v1', workflowId, what, argsDigest, at, kid].join('\n');
}

/** sha256 (hex) of the canonical JSON of a message's arguments, without their `signature`. */
export function argsDigest(args: Record<string, unknown>): string {
  const { signature: _signature, ...rest } = args;
  return bytesToHex(sha256(utf8ToBytes(canonicalJson(rest))));
}

/** Why a message was refused (for the refusal's message; the code is always the same). */
export type SignatureProblem = string;

/**
 * Signatures this thread has found valid (a pure-JS verify costs a few milliseconds). The worker
 * shares this module between workflows (workers/worker.ts), so a workflow woken from history
 * re-checks its start, and every Update re-checks the API key's certificate, from here. Only
 * valid ones are kept, keyed by everything the answer depends on, so the answer never changes:
 * a cache of a pure function, which keeps workflow code deterministic.
 */
const valid = new Set<string>();
/**
 * Entries kept (each the 64-character SHA-256 of what it stands for, about 10 MB at most): more
 * than two per pending action at 10,000 pending, so a worker that replays evicted workflows finds
 * their starts here instead of verifying them again.
 */
const VALID_CACHE_SIZE = 100_000;

function verifyEd25519(sigHex: string, text: string, keyHex: string): boolean {
  const cacheKey = bytesToHex(sha256(utf8ToBytes(`${keyHex}\n${sigHex}\n${text}`)));
  if (valid.has(cacheKey)) return true;
  const ok = verifyUncached(sigHex, text, keyHex);
  if (ok) {
    if (valid.size >= VALID_CACHE_SIZE) valid.clear();
    valid.add(cacheKey);
  }
  return ok;
}

function verifyUncached(sigHex: string, text: string, keyHex: string): boolean {
  try {
    const sig = hexToBytes(sigHex);
    const key = hexToBytes(keyHex);
    if (sig.length !== 64 || key.length !== 32) return false;
    // Strict RFC 8032 (as node's crypto verifies), not ZIP-215's more lenient rules.
    return ed25519.verify(sig, utf8ToBytes(text), key, { zip215: false });
  } catch {
    return false;
  }
}

const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length < 200;

/**
 * Check a message's signature. Returns undefined when it is valid, else why not.
 *
 * @param root the workflow's trust root (from its start input)
 * @param nowMs the workflow's clock
 */
export function verifyMessage(root: TrustRoot, workflowId: string, kind: MessageKind, args: Record<string, unknown>, nowMs: number): SignatureProblem | undefined {
  const s = args.signature as MessageSignature | undefined;
  if (!s || typeof s !== 'object') return 'the message is not signed';
  if (!isString(s.kid) || !isString(s.at) || !isString(s.sig) || !Array.isArray(s.certs)) return 'the signature is malformed';
  const cert = s.certs.find((c) => c && typeof c === 'object' && c.root === root.kid && c.kid === s.kid);
  if (!cert) return `no certificate from the trusted root ${root.kid} for key ${s.kid}`;
  if (!isString(cert.key) || !isString(cert.notBefore) || !isString(cert.notAfter) || !isString(cert.sig)) return 'the certificate is malformed';
  const at = Date.parse(s.at);
  if (!Number.isFinite(at)) return 'the signature time is not a time';
  if (Math.abs(at - nowMs) > MESSAGE_WINDOW_MS) return `the message was issued at ${s.at}, too far from now`;
  if (!(Date.parse(cert.notBefore) <= at && at <= Date.parse(cert.notAfter))) return `key ${s.kid} was not valid at ${s.at}`;
  if (!verifyEd25519(cert.sig, certificateText(cert), root.key)) return `the certificate of key ${s.kid} is not signed by root ${root.kid}`;
  if (!verifyEd25519(s.sig, messageText(workflowId, kind, argsDigest(args), s.at, s.kid), cert.key)) {
    return 'the signature does not match this action, message and arguments';
  }
  return undefined;
}
