/**
 * The approval digest: what an approval is bound to. Pure (no I/O, no node:crypto), so the
 * workflow computes it in its own task and the executor recomputes it with the same code.
 */
import { sha256 } from '@noble/hashes/sha2';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils';
import { canonicalJson } from './canonical-json';

/** What an approval is bound to. */
export interface ApprovalSubject {
  action: string;
  params: unknown;
  resource: unknown;
  policyVersion: string;
}

/**
 * `sha256:<hex>` of the canonical JSON of (action, params, resource, policy version). Each
 * approval records it; the executor recomputes it and refuses to run anything else.
 */
export function approvalDigest(s: ApprovalSubject): string {
  const doc = { action: s.action, params: s.params, resource: s.resource ?? null, policyVersion: s.policyVersion };
  return 'sha256:' + bytesToHex(sha256(utf8ToBytes(canonicalJson(doc))));
}
