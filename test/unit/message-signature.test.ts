import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MESSAGE_WINDOW_MS, verifyMessage } from '../../domain/message-signature';
import { MessageKeyError, MessageSigner } from '../../runtime/message-keys';

const seed = () => randomBytes(32).toString('base64url');

// Signing (node:crypto, in the API) and checking (pure JS, in the workflow) over the same text.
describe('signed messages', () => {
  const signer = MessageSigner.load('/nonexistent', [seed()]);
  const now = Date.parse('2026-12-03T10:00:00.000Z');
  const args = { reviewer: 'alice', reviewerGroups: ['finance'], decision: 'approve', reason: null, params: { amount: 5 } };
  const kind = { update: 'decide', id: 'decide:alice:1' };
  const signed = signer.sign('action-act_1', kind, args, now);

  it('when a message is checked where it was sent, for its Update and arguments, then it is valid', () => {
    expect(verifyMessage(signer.root, 'action-act_1', kind, signed, now)).toBeUndefined();
    expect(verifyMessage(signer.root, 'action-act_1', kind, JSON.parse(JSON.stringify(signed)), now + 60_000)).toBeUndefined();
  });

  it('when anything it binds differs, then it is refused with why', () => {
    const refusals = {
      'another workflow': verifyMessage(signer.root, 'action-act_2', kind, signed, now),
      'another Update id': verifyMessage(signer.root, 'action-act_1', { update: 'decide', id: 'decide:alice:2' }, signed, now),
      'another Update': verifyMessage(signer.root, 'action-act_1', { update: 'cancel', id: kind.id }, signed, now),
      'a start': verifyMessage(signer.root, 'action-act_1', 'start', signed, now),
      'other arguments': verifyMessage(signer.root, 'action-act_1', kind, { ...signed, reviewer: 'mallory' }, now),
      'an added argument': verifyMessage(signer.root, 'action-act_1', kind, { ...signed, params: { amount: 5, to: 'x' } }, now),
      'too late': verifyMessage(signer.root, 'action-act_1', kind, signed, now + MESSAGE_WINDOW_MS + 1),
      'too early': verifyMessage(signer.root, 'action-act_1', kind, signed, now - MESSAGE_WINDOW_MS - 1),
      'another root': verifyMessage(MessageSigner.load('/nonexistent', [seed()]).root, 'action-act_1', kind, signed, now),
      unsigned: verifyMessage(signer.root, 'action-act_1', kind, args, now),
      'a malformed signature': verifyMessage(signer.root, 'action-act_1', kind, { ...args, signature: { kid: 1 } }, now),
      'a forged signature': verifyMessage(signer.root, 'action-act_1', kind, { ...signed, signature: { ...signed.signature, sig: '00'.repeat(64) } }, now),
      'a moved time': verifyMessage(signer.root, 'action-act_1', kind, { ...signed, signature: { ...signed.signature, at: new Date(now + 1000).toISOString() } }, now),
    };
    for (const [what, problem] of Object.entries(refusals)) expect(problem, what).toEqual(expect.any(String));
  });

  it('when a certificate is forged or used outside its validity, then the message is refused', () => {
    const cert = signed.signature.certs[0];
    const attacker = MessageSigner.load('/nonexistent', [seed()]);
    const theirs = attacker.sign('action-act_1', kind, args, now);
    // Their key, presented with our root's id on a certificate our root never signed.
    const grafted = { ...theirs, signature: { ...theirs.signature, certs: [{ ...theirs.signature.certs[0], root: cert.root }] } };
    expect(verifyMessage(signer.root, 'action-act_1', kind, grafted, now)).toMatch(/not signed by root/);
    const later = signer.sign('action-act_1', kind, args, now + 25 * 3600_000);
    expect(verifyMessage(signer.root, 'action-act_1', kind, later, now + 25 * 3600_000)).toBeUndefined();
    const stretched = { ...later, signature: { ...later.signature, at: new Date(Date.parse(later.signature.certs[0].notAfter) + 1).toISOString() } };
    expect(verifyMessage(signer.root, 'action-act_1', kind, stretched, Date.parse(stretched.signature.at))).toEqual(expect.any(String));
  });

  it('when the API holds an earlier root too, then workflows trusting either accept its messages', () => {
    const old = seed();
    const before = MessageSigner.load('/nonexistent', [old]);
    const after = MessageSigner.load('/nonexistent', [seed(), old]);
    const message = after.sign('action-act_1', 'start', { actionId: 'act_1' }, now);
    expect(verifyMessage(before.root, 'action-act_1', 'start', message, now)).toBeUndefined();
    expect(verifyMessage(after.root, 'action-act_1', 'start', message, now)).toBeUndefined();
    expect(after.trustedRoots.map((r) => r.kid)).toEqual([after.root.kid, before.root.kid]);
  });

  it('when no root is configured, then one is created in the data dir and kept; a malformed one is refused', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'message-keys-'));
    try {
      const first = MessageSigner.load(dir);
      expect(MessageSigner.load(dir).root).toEqual(first.root);
      expect(fs.statSync(path.join(dir, 'secrets', 'message-root')).mode & 0o777).toBe(0o600);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expect(() => MessageSigner.load('/nonexistent', ['too-short'])).toThrow(MessageKeyError);
  });
});
