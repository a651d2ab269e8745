import { describe, expect, it } from 'vitest';
import { headProof, headsRoot, verifyHeadProof, type ChainHead } from '../../ledger/merkle';

const heads = (n: number): ChainHead[] =>
  Array.from({ length: n }, (_, i) => ({ actionId: `act-${String(i).padStart(3, '0')}`, seq: i + 1, hash: i.toString(16).padStart(64, '0') }));

describe('checkpoint Merkle tree', () => {
  it('when every head of trees of 1..33 leaves is proven, then every proof verifies against the root', () => {
    for (let n = 1; n <= 33; n++) {
      const hs = heads(n);
      const root = headsRoot(hs);
      for (let i = 0; i < n; i++) expect(verifyHeadProof(hs[i]!, i, n, headProof(hs, i), root)).toBe(true);
    }
  });

  it('when a proof is used for another head, index or size, then it fails', () => {
    const hs = heads(7);
    const root = headsRoot(hs);
    const proof = headProof(hs, 3);
    expect(verifyHeadProof(hs[2]!, 3, 7, proof, root)).toBe(false);
    expect(verifyHeadProof(hs[3]!, 2, 7, proof, root)).toBe(false);
    expect(verifyHeadProof(hs[6]!, 6, 8, headProof(hs, 6), root)).toBe(false);
    expect(verifyHeadProof({ ...hs[3]!, seq: 99 }, 3, 7, proof, root)).toBe(false);
    expect(verifyHeadProof(hs[3]!, 3, 7, proof.slice(1), root)).toBe(false);
  });

  it('when heads are reordered, then the root changes', () => {
    const hs = heads(4);
    expect(headsRoot([hs[1]!, hs[0]!, hs[2]!, hs[3]!])).not.toBe(headsRoot(hs));
  });
});
