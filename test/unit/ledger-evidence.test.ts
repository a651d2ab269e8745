import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../domain/canonical-json';
import type { LedgerEvent } from '../../ledger/chain';
import { bundleSigningPayload, signEvidenceBundle, verifyEvidenceBundle, type EvidenceBundle } from '../../ledger/evidence';
import { headsRoot, type ChainHead } from '../../ledger/merkle';
import { checkpointHash, type LedgerCheckpoint } from '../../ledger/store';
import { GENESIS_HASH } from '../../ledger/chain';
import { makeChain, newSigner, rehash, trustOf } from './ledger-fixtures';

const signer = newSigner();
const trusted = [trustOf(signer)];
const extra = { workflowId: 'action-act-1', runId: 'run-1', policyVersion: 'sha256:abc' };

function bundleOf(events: LedgerEvent[] = makeChain('act-1', 6)): EvidenceBundle {
  // Through JSON, like a bundle read from a file.
  return JSON.parse(JSON.stringify(signEvidenceBundle(signer, 'act-1', events, extra))) as EvidenceBundle;
}

function checkpointOver(covers: ChainHead[]): LedgerCheckpoint {
  const header = {
    seq: 1,
    at: '2025-01-02T00:00:00.000Z',
    headCount: covers.length,
    headsRoot: headsRoot(covers),
    throughGlobalSeq: 42,
    horizon: '1234',
    keyId: signer.keyId,
  };
  const hash = checkpointHash(GENESIS_HASH, header);
  return { ...header, covers, prevHash: GENESIS_HASH, hash, signature: signer.sign(hash) };
}

describe('verifyEvidenceBundle', () => {
  it('when the bundle is intact, then chain and signature hold', () => {
    expect(verifyEvidenceBundle(bundleOf(), trusted)).toEqual({ ok: true, events: 6 });
  });

  it('when the bundle is signed, then the signature covers the documented payload', () => {
    const b = bundleOf();
    expect(bundleSigningPayload({ ...b, eventCount: 6, keyId: b.signature.keyId })).toBe(
      canonicalJson({ kind: 'countersign.evidence-bundle.v1', actionId: 'act-1', workflowId: 'action-act-1', runId: 'run-1', policyVersion: 'sha256:abc', head: b.head, eventCount: 6, keyId: signer.keyId }),
    );
  });

  const tampers: Array<[string, (e: EvidenceBundle['events'][number]) => void]> = [
    ['seq', (e) => void (e.seq = 9)],
    ['type', (e) => void (e.type = 'cancelled')],
    ['at', (e) => void (e.at = '2024-12-31T00:00:00.000Z')],
    ['actor.id', (e) => void (e.actor.id = 'mallory')],
    ['actor.kind', (e) => void (e.actor.kind = 'system')],
    ['data', (e) => void ((e.data as { params: { to: string } }).params.to = 'attacker-iban')],
    ['prevHash', (e) => void (e.prevHash = 'a'.repeat(64))],
    ['hash', (e) => void (e.hash = 'b'.repeat(64))],
  ];
  for (const [field, tamper] of tampers) {
    it(`when ${field} of event 4 is altered, then verification fails at seq 4`, () => {
      const b = bundleOf();
      tamper(b.events[3]!);
      const result = verifyEvidenceBundle(b, trusted);
      expect(result).toMatchObject({ ok: false, firstBadSeq: 4, events: 3 });
      expect(result.reason).toBeTruthy();
    });
  }

  it('when event 3 is deleted, then verification fails at seq 3', () => {
    const b = bundleOf();
    b.events.splice(2, 1);
    expect(verifyEvidenceBundle(b, trusted)).toMatchObject({ ok: false, firstBadSeq: 3, reason: expect.stringMatching(/missing/) });
  });

  it('when events 2 and 3 are reordered, then verification fails at seq 2', () => {
    const b = bundleOf();
    [b.events[1], b.events[2]] = [b.events[2]!, b.events[1]!];
    expect(verifyEvidenceBundle(b, trusted)).toMatchObject({ ok: false, firstBadSeq: 2 });
  });

  it('when the last event is cut off and head moved back, then the signature fails', () => {
    const b = bundleOf();
    b.events.pop();
    b.head = { seq: 5, hash: b.events[4]!.hash };
    expect(verifyEvidenceBundle(b, trusted)).toMatchObject({ ok: false, reason: expect.stringMatching(/does not verify/) });
  });

  it('when the last event is cut off but head kept, then the head mismatch is reported', () => {
    const b = bundleOf();
    b.events.pop();
    expect(verifyEvidenceBundle(b, trusted)).toMatchObject({ ok: false, reason: expect.stringMatching(/head/) });
  });

  it('when an event is altered and the whole chain recomputed, then the signature fails', () => {
    const events = makeChain('act-1', 6);
    (events[1]!.data as { params: { amount: number } }).params.amount = 1;
    const forged = bundleOf();
    forged.events = bundleOf(rehash(events)).events;
    forged.head = { seq: 6, hash: forged.events[5]!.hash };
    expect(verifyEvidenceBundle(forged, trusted)).toMatchObject({ ok: false, reason: expect.stringMatching(/signature/) });
  });

  it('when the policyVersion is changed, then the signature fails', () => {
    const b = bundleOf();
    b.policyVersion = 'sha256:other';
    expect(verifyEvidenceBundle(b, trusted)).toMatchObject({ ok: false, reason: expect.stringMatching(/does not verify/) });
  });

  it("when the bundle's public key is swapped for another key, then verification fails", () => {
    const b = bundleOf();
    b.publicKey = newSigner().publicKeyPem;
    expect(verifyEvidenceBundle(b, trusted)).toMatchObject({ ok: false, reason: expect.stringMatching(/publicKey/) });
  });

  it('when the bundle is re-signed with an untrusted key embedded in it, then verification fails', () => {
    const attacker = newSigner();
    const events = makeChain('act-1', 6);
    (events[2]!.data as { note: string }).note = 'rewritten';
    const forged = JSON.parse(JSON.stringify(signEvidenceBundle(attacker, 'act-1', rehash(events), extra))) as EvidenceBundle;
    expect(verifyEvidenceBundle(forged, [trustOf(attacker)]).ok).toBe(true);
    expect(verifyEvidenceBundle(forged, trusted)).toMatchObject({ ok: false, reason: expect.stringMatching(/not trusted/) });
  });

  it('when the keyId is relabelled to a trusted key, then the signature fails', () => {
    const attacker = newSigner();
    const forged = JSON.parse(JSON.stringify(signEvidenceBundle(attacker, 'act-1', makeChain('act-1', 6), extra))) as EvidenceBundle;
    forged.signature.keyId = signer.keyId;
    forged.publicKey = signer.publicKeyPem;
    expect(verifyEvidenceBundle(forged, trusted)).toMatchObject({ ok: false, reason: expect.stringMatching(/does not verify/) });
  });

  it('when a trust entry is mislabelled with the signing keyId, then it does not vouch for another key', () => {
    const attacker = newSigner();
    const forged = signEvidenceBundle(attacker, 'act-1', makeChain('act-1', 6), extra);
    const mislabelled = [{ keyId: attacker.keyId, publicKeyPem: signer.publicKeyPem }];
    expect(verifyEvidenceBundle(forged, mislabelled)).toMatchObject({ ok: false, reason: expect.stringMatching(/not trusted/) });
  });

  it('when no key is trusted, then verification fails', () => {
    expect(verifyEvidenceBundle(bundleOf(), [])).toMatchObject({ ok: false, reason: expect.stringMatching(/not trusted/) });
  });

  it('when the input is not a bundle, then verification fails without throwing', () => {
    for (const junk of [null, 42, 'x', [], {}, { actionId: 'a', events: [null] }, { actionId: 'a', events: [1], workflowId: 'w', runId: null, policyVersion: 'p' }]) {
      expect(verifyEvidenceBundle(junk, trusted).ok).toBe(false);
    }
  });

  describe('with a checkpoint', () => {
    const events = makeChain('act-1', 6);
    const covers: ChainHead[] = [
      { actionId: 'act-0', seq: 2, hash: 'c'.repeat(64) },
      { actionId: 'act-1', seq: 4, hash: events[3]!.hash },
      { actionId: 'act-2', seq: 1, hash: 'd'.repeat(64) },
    ];
    const withCheckpoint = () =>
      JSON.parse(JSON.stringify(signEvidenceBundle(signer, 'act-1', events, extra, checkpointOver(covers)))) as EvidenceBundle;

    it('when the checkpoint anchored an earlier head of the chain, then the bundle verifies', () => {
      const b = withCheckpoint();
      expect(b.checkpoint).toMatchObject({ seq: 1, cover: { actionId: 'act-1', seq: 4 }, index: 1 });
      expect(verifyEvidenceBundle(b, trusted)).toEqual({ ok: true, events: 6 });
    });

    it('when the anchored event is rewritten with the chain recomputed and re-signed, then the checkpoint catches it', () => {
      const attackerTrusted = signer; // even with the signing key, the older checkpoint binds event 4
      const forgedEvents = structuredClone(events);
      (forgedEvents[2]!.data as { note: string }).note = 'rewritten';
      const b = JSON.parse(JSON.stringify(signEvidenceBundle(attackerTrusted, 'act-1', rehash(forgedEvents), extra, checkpointOver(covers)))) as EvidenceBundle;
      expect(verifyEvidenceBundle(b, trusted)).toMatchObject({ ok: false, firstBadSeq: 4, reason: expect.stringMatching(/checkpoint/) });
    });

    it('when the checkpoint header is altered, then verification fails', () => {
      const b = withCheckpoint();
      b.checkpoint!.headCount = 4;
      expect(verifyEvidenceBundle(b, trusted)).toMatchObject({ ok: false, reason: expect.stringMatching(/checkpoint 1 hash/) });
    });

    it('when the Merkle proof is altered, then verification fails', () => {
      const b = withCheckpoint();
      b.checkpoint!.proof[0] = 'e'.repeat(64);
      expect(verifyEvidenceBundle(b, trusted)).toMatchObject({ ok: false, reason: expect.stringMatching(/Merkle/) });
    });

    it('when the checkpoint is signed by an untrusted key, then verification fails', () => {
      const b = withCheckpoint();
      const attacker = newSigner();
      const { cover, index, proof, signature, hash, prevHash, ...header } = b.checkpoint!;
      const reHeader = { ...header, keyId: attacker.keyId };
      const reHash = checkpointHash(prevHash, reHeader);
      b.checkpoint = { ...reHeader, cover, index, proof, prevHash, hash: reHash, signature: attacker.sign(reHash) };
      void signature;
      void hash;
      expect(verifyEvidenceBundle(b, trusted)).toMatchObject({ ok: false, reason: expect.stringMatching(/not trusted/) });
    });
  });
});
