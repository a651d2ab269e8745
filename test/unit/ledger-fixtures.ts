/** Helpers for the ledger unit tests: build valid chains and bundles without a database. */
import { generateKeyPairSync } from 'node:crypto';
import { GENESIS_HASH, hashEvent, type LedgerEvent, type LedgerEventType } from '../../ledger/chain';
import { signerFromPrivateKey, type LedgerSigner, type TrustedKey } from '../../ledger/signing';

const TYPES: LedgerEventType[] = ['proposed', 'policy_decided', 'approval_requested', 'decision_recorded', 'execution_started', 'executed'];

/** A fresh Ed25519 signer. */
export function newSigner(): LedgerSigner {
  const { privateKey } = generateKeyPairSync('ed25519');
  return signerFromPrivateKey(privateKey);
}

/** The trust entry for a signer's public key. */
export function trustOf(signer: LedgerSigner): TrustedKey {
  return { keyId: signer.keyId, publicKeyPem: signer.publicKeyPem };
}

/** A valid chain of `n` events for `actionId`. */
export function makeChain(actionId: string, n: number): LedgerEvent[] {
  const events: LedgerEvent[] = [];
  let prevHash = GENESIS_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const body = {
      actionId,
      seq,
      type: TYPES[(seq - 1) % TYPES.length]!,
      at: new Date(Date.UTC(2025, 0, 1, 12, 0, seq)).toISOString(),
      actor: seq === 4 ? { id: 'alice', kind: 'human' as const } : { id: 'agent-7', kind: 'agent' as const },
      data: { step: seq, params: { amount: 12000 + seq, currency: 'EUR', to: 'DE89 3704 0044 0532 0130 00' }, note: 'café ✓' },
    };
    const hash = hashEvent(prevHash, body);
    events.push({ ...body, prevHash, hash });
    prevHash = hash;
  }
  return events;
}

/** Recompute every hash of a (possibly altered) chain so its links hold again. */
export function rehash(events: LedgerEvent[]): LedgerEvent[] {
  let prevHash = GENESIS_HASH;
  return events.map((e) => {
    const hash = hashEvent(prevHash, e);
    const out = { ...e, prevHash, hash };
    prevHash = hash;
    return out;
  });
}
