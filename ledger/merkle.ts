/**
 * RFC 6962 (Certificate Transparency) Merkle tree over the chain heads a checkpoint covers.
 * A checkpoint signs only the root, so an evidence bundle can prove its action's head was
 * anchored with a short audit path instead of carrying every head of the checkpoint.
 * Pure (hashing only).
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../domain/canonical-json';

/** A chain head as covered by a checkpoint. */
export interface ChainHead {
  actionId: string;
  seq: number;
  hash: string;
}

/** Leaf hash: `sha256(0x00 || canonicalJson({ actionId, hash, seq }))`. */
export function headLeafHash(head: ChainHead): Buffer {
  const json = canonicalJson({ actionId: head.actionId, seq: head.seq, hash: head.hash });
  return createHash('sha256').update(Buffer.from([0])).update(json).digest();
}

function nodeHash(left: Buffer, right: Buffer): Buffer {
  return createHash('sha256').update(Buffer.from([1])).update(left).update(right).digest();
}

/** Largest power of two strictly smaller than n (n >= 2). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function root(leaves: readonly Buffer[], from: number, to: number): Buffer {
  const n = to - from;
  if (n === 1) return leaves[from]!;
  const k = split(n);
  return nodeHash(root(leaves, from, from + k), root(leaves, from + k, to));
}

/** Hex Merkle tree hash of the heads, in the given order (sha256 of nothing when empty). */
export function headsRoot(heads: readonly ChainHead[]): string {
  if (heads.length === 0) return createHash('sha256').digest('hex');
  return root(heads.map(headLeafHash), 0, heads.length).toString('hex');
}

/** Audit path (hex hashes, bottom-up) proving `heads[index]` is in {@link headsRoot}(heads). */
export function headProof(heads: readonly ChainHead[], index: number): string[] {
  if (!Number.isInteger(index) || index < 0 || index >= heads.length) throw new RangeError(`no head at index ${index}`);
  const leaves = heads.map(headLeafHash);
  const path: Buffer[] = [];
  const walk = (m: number, from: number, to: number): void => {
    const n = to - from;
    if (n === 1) return;
    const k = split(n);
    if (m < k) {
      walk(m, from, from + k);
      path.push(root(leaves, from + k, to));
    } else {
      walk(m - k, from + k, to);
      path.push(root(leaves, from, from + k));
    }
  };
  walk(index, 0, leaves.length);
  return path.map((b) => b.toString('hex'));
}

/** True when `proof` shows `head` at `index` in a tree of `size` leaves with root `rootHex`. */
export function verifyHeadProof(head: ChainHead, index: number, size: number, proof: readonly string[], rootHex: string): boolean {
  if (!Number.isInteger(index) || !Number.isInteger(size) || index < 0 || index >= size) return false;
  const path = proof.map((h) => Buffer.from(h, 'hex'));
  let used = 0;
  const climb = (m: number, n: number): Buffer | null => {
    if (n === 1) return headLeafHash(head);
    const k = split(n);
    const inner = m < k ? climb(m, k) : climb(m - k, n - k);
    if (!inner || used >= path.length) return null;
    const sibling = path[used++]!;
    return m < k ? nodeHash(inner, sibling) : nodeHash(sibling, inner);
  };
  const computed = climb(index, size);
  return computed !== null && used === path.length && computed.toString('hex') === rootHex;
}
