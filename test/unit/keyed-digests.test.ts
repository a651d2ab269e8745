import { execFile } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDigestActivities } from '../../activities/approval-digest';
import { createExecutorActivities, type HttpExecutionResult } from '../../activities/http-executor';
import { runEvidenceCommand } from '../../cli/commands/evidence';
import { runLedgerCommand } from '../../cli/commands/ledger';
import { canonicalJson } from '../../domain/canonical-json';
import { approvalDigest, approvalDigestFor, approvalDigestMatches, DigestKeyMissingError, keyedApprovalDigest } from '../../domain/approval-digest';
import { DigestKeyError, digestKeyPath, loadOrCreateDigestKey, parseDigestKey } from '../../ledger/digest-key';
import type { PolicyStore } from '../../ledger/policy-store';
import { loadPolicyBundle } from '../../policy';
import { startTarget } from '../helpers/target';

const key = Buffer.alloc(32, 9);
const subject = { action: 'hr.update', params: { pin: '4711' }, resource: null, policyVersion: 'v1' };
const doc = canonicalJson({ action: 'hr.update', params: { pin: '4711' }, resource: null, policyVersion: 'v1' });

describe('approval digests', () => {
  it('when the action has sensitive params, then its digest is the HMAC of the document under the key; otherwise its sha256', () => {
    expect(approvalDigestFor(subject, { sensitive: false })).toBe(`sha256:${createHash('sha256').update(doc).digest('hex')}`);
    expect(approvalDigestFor(subject, { sensitive: ['/pin'], key })).toBe(`hmac-sha256:${createHmac('sha256', key).update(doc).digest('hex')}`);
    expect(approvalDigestFor(subject, { sensitive: [], key })).toBe(approvalDigest(subject));
    expect(() => approvalDigestFor(subject, { sensitive: true })).toThrow(DigestKeyMissingError);
  });

  it('when a digest is checked, then either form matches only its own document and key', () => {
    expect(approvalDigestMatches(subject, approvalDigest(subject))).toBe(true);
    expect(approvalDigestMatches(subject, keyedApprovalDigest(subject, key), key)).toBe(true);
    expect(approvalDigestMatches(subject, keyedApprovalDigest(subject, key), Buffer.alloc(32, 1))).toBe(false);
    expect(approvalDigestMatches(subject, keyedApprovalDigest(subject, key))).toBe(false);
    expect(approvalDigestMatches({ ...subject, params: { pin: '4712' } }, keyedApprovalDigest(subject, key), key)).toBe(false);
    expect(approvalDigestMatches(subject, 'md5:abc', key)).toBe(false);
  });

  it('when the workflow asks the local activity, then it gets the keyed digest and never the key', async () => {
    const { computeKeyedApprovalDigest } = createDigestActivities({ digestKey: key });
    const digest = await new MockActivityEnvironment().run(computeKeyedApprovalDigest, subject);
    expect(digest).toBe(keyedApprovalDigest(subject, key));
    expect(digest).not.toContain(key.toString('hex'));
  });
});

describe('http executor with keyed digests', () => {
  const bundle = loadPolicyBundle(`
defaults: { decision: deny }
actions:
  hr.update:
    owner: hr
    category: account_change
    params: { type: object, properties: { pin: { type: string, x-sensitive: true } } }
    executor: { type: agent }
  plain.thing:
    owner: hr
    category: account_change
    params: { type: object, properties: { n: { type: number } } }
    executor: { type: agent }
rules: []
`);
  const policies = { byVersion: async () => bundle, active: async () => ({ bundle }) } as unknown as PolicyStore;
  const env = new MockActivityEnvironment();
  let target: Awaited<ReturnType<typeof startTarget>>;
  beforeAll(async () => {
    target = await startTarget();
  });
  afterAll(() => target.close());
  const request = (action = 'hr.update', params: Record<string, unknown> = { pin: '4711' }) => ({
    actionId: `act_${Math.random().toString(16).slice(2)}`,
    action,
    params,
    url: `${target.url}/hr`,
  });

  it('when the approved digest is keyed, then a worker with the key sends, and one with another key or none sends nothing', async () => {
    // Arrange
    const approved = { digest: keyedApprovalDigest(subject, key), resource: null, policyVersion: 'v1' };
    const withKey = createExecutorActivities({ executorSecret: 'unit-secret-0123456789', digestKey: key, policies });
    const otherKey = createExecutorActivities({ executorSecret: 'unit-secret-0123456789', digestKey: Buffer.alloc(32, 1), policies });
    const noKey = createExecutorActivities({ executorSecret: 'unit-secret-0123456789' });

    // Act
    const sent = (await env.run(withKey.executeHttp, { ...request(), approved })) as HttpExecutionResult;
    const refusals = await Promise.all(
      [otherKey, noKey].map(async (acts) => {
        const req = { ...request(), approved };
        const err: any = await env.run(acts.executeHttp, req).catch((e: unknown) => e);
        return { type: err.type, nonRetryable: err.nonRetryable, sent: target.forAction(req.actionId).length };
      }),
    );

    // Assert
    expect(sent.status).toBe(200);
    expect(refusals).toEqual([
      { type: 'ExecutionDigestMismatch', nonRetryable: true, sent: 0 },
      { type: 'ExecutionDigestMismatch', nonRetryable: true, sent: 0 },
    ]);
  });

  it('when the action has sensitive params, then the request digest is keyed; otherwise it is the sha256 of the body', async () => {
    const acts = createExecutorActivities({ executorSecret: 'unit-secret-0123456789', digestKey: key, policies });
    const sensitive = request();
    const plain = request('plain.thing', { n: 1 });
    const a = (await env.run(acts.executeHttp, { ...sensitive, policyVersion: 'v1' })) as HttpExecutionResult;
    const b = (await env.run(acts.executeHttp, plain)) as HttpExecutionResult;
    const raw = (actionId: string) => target.forAction(actionId)[0]!.rawBody;
    expect(a.requestDigest).toBe(`hmac-sha256:${createHmac('sha256', key).update(raw(sensitive.actionId)).digest('hex')}`);
    expect(b.requestDigest).toBe(`sha256:${createHash('sha256').update(raw(plain.actionId)).digest('hex')}`);
    expect(target.forAction(sensitive.actionId)[0]!.body.params).toEqual({ pin: '4711' });
  });
});

describe('the digest key', () => {
  const dirs: string[] = [];
  const tmp = () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-digest-key-'));
    dirs.push(d);
    return d;
  };
  afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

  it('when none exists, then 32 random bytes are kept in keys/digest-key with mode 0600, and read back after', () => {
    const dir = tmp();
    const first = loadOrCreateDigestKey(dir);
    expect(first.length).toBe(32);
    expect(fs.statSync(digestKeyPath(dir)).mode & 0o777).toBe(0o600);
    expect(loadOrCreateDigestKey(dir).equals(first)).toBe(true);
  });

  it('when processes start at once on one data dir, then they all hold the same key', async () => {
    const dir = tmp();
    // Each process loads the module, then waits for the same instant before it looks for the key.
    const at = Date.now() + 3000;
    const script = `import('${path.resolve(__dirname, '../../ledger/digest-key.ts')}').then((m) => { while (Date.now() < ${at}); process.stdout.write((m.default ?? m).loadOrCreateDigestKey(${JSON.stringify(dir)}).toString('hex')); })`;
    const run = () => promisify(execFile)(process.execPath, ['--import', 'tsx', '-e', script]).then((r) => r.stdout);
    const keys = await Promise.all([run(), run(), run(), run()]);
    expect(new Set(keys).size).toBe(1);
    expect(keys[0]).toBe(fs.readFileSync(digestKeyPath(dir)).toString('hex'));
  });

  it('when the key is configured as hex, then it is used; a short one is refused', () => {
    expect(loadOrCreateDigestKey(tmp(), { keyHex: key.toString('hex') }).equals(key)).toBe(true);
    expect(() => parseDigestKey('abcd')).toThrow(DigestKeyError);
  });

  it('when an operator exports the key, then an auditor checks a ledger digest with it, and a wrong value or key does not check', async () => {
    // Arrange: a data dir with a key, and the digest the ledger keeps for the value "4711".
    const dir = tmp();
    const dataKey = loadOrCreateDigestKey(dir);
    const digest = `hmac-sha256:${createHmac('sha256', dataKey).update('"4711"').digest('hex')}`;
    const io = () => {
      const o = { out: '', err: '' };
      return { o, io: { stdout: { write: (t: string) => (o.out += t) }, stderr: { write: (t: string) => (o.err += t) } } };
    };
    const deps = { getPool: () => Promise.reject(new Error('not needed')), dataDir: dir, env: {} };
    const keyFile = path.join(dir, 'exported.hex');

    // Act
    const printed = io();
    const printCode = await runLedgerCommand(['digest-key', 'export'], { ...deps, io: printed.io });
    const written = io();
    const writeCode = await runLedgerCommand(['digest-key', 'export', '--out', keyFile], { ...deps, io: written.io });
    const check = async (args: string[]) => {
      const r = io();
      // The auditor's side: no data dir, only the exported file.
      const code = await runEvidenceCommand(['check-digest', ...args], { ...deps, dataDir: tmp(), io: r.io });
      return { code, ...r.o };
    };
    const ok = await check([digest, '--string', '4711', '--key-file', keyFile]);
    const okJson = await check([digest, '--value', '"4711"', '--key-file', keyFile]);
    const wrongValue = await check([digest, '--string', '4712', '--key-file', keyFile]);
    fs.writeFileSync(path.join(dir, 'other.hex'), Buffer.alloc(32, 3).toString('hex'));
    const wrongKey = await check([digest, '--string', '4711', '--key-file', path.join(dir, 'other.hex')]);
    const noKey = await check([digest, '--string', '4711']);

    // Assert
    expect(printCode).toBe(0);
    expect(printed.o.out.trim()).toBe(dataKey.toString('hex'));
    expect(writeCode).toBe(0);
    expect(fs.readFileSync(keyFile, 'utf8').trim()).toBe(dataKey.toString('hex'));
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(ok).toMatchObject({ code: 0, out: expect.stringContaining('ok:') });
    expect(okJson.code).toBe(0);
    expect(wrongValue).toMatchObject({ code: 1, err: expect.stringContaining('MISMATCH') });
    expect(wrongKey.code).toBe(1);
    expect(noKey).toMatchObject({ code: 1, err: expect.stringContaining('needs the digest key') });
  });

  it('when no key exists yet, then export says so and fails', async () => {
    const o = { err: '' };
    const code = await runLedgerCommand(['digest-key', 'export'], {
      getPool: () => Promise.reject(new Error('not needed')),
      dataDir: tmp(),
      env: {},
      io: { stdout: { write: () => true }, stderr: { write: (t: string) => (o.err += t) } },
    });
    expect(code).toBe(1);
    expect(o.err).toContain('no digest key');
  });
});
