/**
 * The evidence ledger against a real Postgres. This file starts its own embedded cluster
 * (it disables triggers as superuser to tamper with rows, which must not leak into the
 * database other integration tests share).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runEvidenceCommand } from '../../cli/commands/evidence';
import { runLedgerCommand } from '../../cli/commands/ledger';
import { GENESIS_HASH, verifyChain } from '../../ledger/chain';
import { buildEvidenceBundle, exportEvidence, verifyEvidenceBundle, verifyEvidenceExport } from '../../ledger/evidence';
import { APPLICATION_ROLE, migrate, openApplicationPool } from '../../ledger/migrate';
import { keysDir, loadOrCreateSigningKey, registerSigningKey, rotateSigningKey, signingKeysFromDb, trustedPublicKeys, type LedgerSigner } from '../../ledger/signing';
import {
  LedgerConcurrentWriteError,
  LedgerConflictError,
  LedgerGapError,
  InvalidLedgerEventError,
  appendEvent,
  appendEventBatch,
  type AlongsideStatement,
  readActionEvents,
  readActionHead,
  verifyLedger,
  writeCheckpoint,
  type AppendEventInput,
} from '../../ledger/store';
import { checkpointCovering } from '../helpers/checkpoint';
import { startPostgres, type PostgresHandle } from '../../runtime/postgres';

let server: PostgresHandle | undefined;
let pool: pg.Pool;
let tmp: string;
let dataDir: string;
let signer: LedgerSigner;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-ledger-'));
  // The embedded server runs as an unprivileged user when the tests run as root.
  fs.chmodSync(tmp, 0o755);
  dataDir = path.join(tmp, 'data');
  server = await startPostgres({ dir: path.join(tmp, 'pg'), port: 55000 + Math.floor(Math.random() * 2000) });
  pool = new pg.Pool({ connectionString: server.url, max: 30 });
  // Idle clients see the server's shutdown in afterAll; that is expected, not a failure.
  pool.on('error', () => {});
  await migrate(pool);
  signer = loadOrCreateSigningKey(dataDir);
}, 180_000);

afterAll(async () => {
  await pool?.end();
  await server?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

let counter = 0;
const newActionId = (prefix = 'act') => `${prefix}-${process.pid}-${++counter}`;

function event(actionId: string, seq: number, data: unknown = { n: seq }, at = new Date(Date.UTC(2025, 2, 1, 10, 0, seq))): AppendEventInput {
  return { actionId, seq, type: seq === 1 ? 'proposed' : 'decision_recorded', actor: { id: 'agent-1', kind: 'agent' }, at, data };
}

async function appendChain(actionId: string, n: number, from = 1): Promise<void> {
  for (let seq = from; seq < from + n; seq++) await appendEvent(pool, event(actionId, seq));
}

async function count(actionId: string): Promise<number> {
  const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM ledger_events WHERE action_id = $1', [actionId]);
  return Number(rows[0]!.n);
}

/** Run `fn` as superuser with the append-only triggers off (what an attacker with DB access could do). */
async function tamper(sql: string, params: unknown[] = []): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SET LOCAL session_replication_role = replica');
    await client.query(sql, params);
    await client.query('COMMIT');
  } finally {
    client.release();
  }
}

function captureIo() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { stdout: { write: (t: string) => out.push(t) }, stderr: { write: (t: string) => err.push(t) } },
    out: () => out.join(''),
    err: () => err.join(''),
  };
}

describe('appendEventBatch', () => {
  const run = (id: string, seqs: number[]) => seqs.map((seq) => event(id, seq, { n: seq, note: 'ünïcode "quoted"' }));

  it('when a run of new events is appended after the known head, then each links to the one before and the chain verifies', async () => {
    const id = newActionId();
    await appendChain(id, 2);
    const head = (await readActionHead(pool, id))!.hash;
    const stored = await appendEventBatch(pool, run(id, [3, 4, 5]), head);
    expect(stored?.map((r) => r.seq)).toEqual([3, 4, 5]);
    expect(stored![0]!.prevHash).toBe(head);
    const chain = await readActionEvents(pool, id);
    expect(chain.slice(2).map((e) => [e.prevHash, e.hash])).toEqual(stored!.map((r) => [r.prevHash, r.hash]));
    expect(verifyChain(chain)).toEqual({ ok: true, events: 5 });
    // A run can start a chain from genesis, too.
    const fresh = newActionId();
    expect(await appendEventBatch(pool, run(fresh, [1, 2]), GENESIS_HASH)).toHaveLength(2);
    expect(verifyChain(await readActionEvents(pool, fresh))).toEqual({ ok: true, events: 2 });
  });

  it('when the head is wrong, seq-1 is missing or any seq is taken, then nothing is inserted and null is returned', async () => {
    const id = newActionId();
    await appendChain(id, 2);
    const head = (await readActionHead(pool, id))!.hash;
    expect(await appendEventBatch(pool, run(id, [3, 4]), 'f'.repeat(64))).toBeNull();
    expect(await appendEventBatch(pool, run(id, [1, 2]), 'f'.repeat(64))).toBeNull();
    expect(await appendEventBatch(pool, run(id, [2, 3]), head)).toBeNull();
    expect(await appendEventBatch(pool, run(id, [4, 5]), head)).toBeNull();
    expect(await appendEventBatch(pool, run(newActionId(), [2]), GENESIS_HASH)).toBeNull();
    expect(await count(id)).toBe(2);
    // The retry of a whole batch that went in: null, and appendEvent then reports each as existing.
    const stored = await appendEventBatch(pool, run(id, [3, 4]), head);
    expect(await appendEventBatch(pool, run(id, [3, 4]), head)).toBeNull();
    expect(await appendEvent(pool, run(id, [3, 4])[1]!)).toEqual({ ...stored![1]!, inserted: false });
    expect(await count(id)).toBe(4);
  });

  it('when a statement goes alongside the batch, then it takes effect with the batch and only with it', async () => {
    await pool.query('CREATE TABLE IF NOT EXISTS batch_alongside (action_id text, seqs int)');
    const id = newActionId();
    const alongside = (name: string, expr: string): AlongsideStatement => ({
      name,
      text: (p) => `INSERT INTO batch_alongside SELECT ${p(1)}::text, ${expr} FROM appended a RETURNING 1`,
      values: [id],
    });
    const rows = async () => (await pool.query('SELECT seqs FROM batch_alongside WHERE action_id = $1', [id])).rows;
    const stored = await appendEventBatch(pool, run(id, [1, 2]), GENESIS_HASH, alongside('test_alongside_seq', 'a.seq'));
    expect(stored).toHaveLength(2);
    expect(await rows()).toEqual([{ seqs: 1 }, { seqs: 2 }]);
    // A refused batch (here the retry): the statement sees no appended rows and changes nothing.
    expect(await appendEventBatch(pool, run(id, [1, 2]), GENESIS_HASH, alongside('test_alongside_seq', 'a.seq'))).toBeNull();
    expect(await rows()).toHaveLength(2);
    // A statement that fails takes the batch with it: one statement, both or neither.
    await expect(appendEventBatch(pool, run(id, [3]), stored![1]!.hash, alongside('test_alongside_fail', '1 / (a.seq - a.seq)'))).rejects.toThrow(/division by zero/);
    expect(await count(id)).toBe(2);
  });

  it('when the run is not consecutive or mixes actions, then InvalidLedgerEventError and nothing is written', async () => {
    const id = newActionId();
    await expect(appendEventBatch(pool, [event(id, 1), event(id, 3)], GENESIS_HASH)).rejects.toBeInstanceOf(InvalidLedgerEventError);
    await expect(appendEventBatch(pool, [event(id, 1), event(newActionId(), 2)], GENESIS_HASH)).rejects.toBeInstanceOf(InvalidLedgerEventError);
    expect(await count(id)).toBe(0);
  });

  it('when two transactions append the same run at once, then one commits it and the other gets the retryable LedgerConcurrentWriteError', async () => {
    const id = newActionId();
    const a = await pool.connect();
    const b = await pool.connect();
    try {
      await a.query('BEGIN');
      const first = await appendEventBatch(a, run(id, [1, 2]), GENESIS_HASH);
      const second = appendEventBatch(b, run(id, [1, 2]), GENESIS_HASH).catch((e: unknown) => e); // waits on a's rows
      await new Promise((r) => setTimeout(r, 200));
      await a.query('COMMIT');
      expect(await second).toBeInstanceOf(LedgerConcurrentWriteError);
      expect((await readActionEvents(pool, id)).map((e) => e.hash)).toEqual(first!.map((r) => r.hash));
    } finally {
      a.release();
      b.release();
    }
  });
});

describe('appendEvent', () => {
  it('when the same event is appended twice, then one row exists and the second reports inserted=false', async () => {
    const id = newActionId();
    const first = await appendEvent(pool, event(id, 1, { amount: 12.5, note: 'café ✓', list: [1, { b: 2, a: 1 }] }));
    const again = await appendEvent(pool, event(id, 1, { list: [1, { a: 1, b: 2 }], note: 'café ✓', amount: 12.5 }));
    expect(first.inserted).toBe(true);
    expect(again).toEqual({ ...first, inserted: false });
    expect(await count(id)).toBe(1);
  });

  it('when a different event is appended at a taken seq, then LedgerConflictError is thrown', async () => {
    const id = newActionId();
    await appendChain(id, 2);
    await expect(appendEvent(pool, event(id, 2, { n: 'other' }))).rejects.toBeInstanceOf(LedgerConflictError);
    await expect(appendEvent(pool, { ...event(id, 2), actor: { id: 'agent-1', kind: 'system' } })).rejects.toMatchObject({
      name: 'LedgerConflictError',
      retryable: false,
      seq: 2,
    });
  });

  it('when seq-1 is missing, then the retryable LedgerGapError is thrown and nothing is written', async () => {
    const id = newActionId();
    await appendChain(id, 1);
    const err = await appendEvent(pool, event(id, 3)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LedgerGapError);
    expect(err).toMatchObject({ retryable: true, actionId: id, seq: 3 });
    await expect(appendEvent(pool, event(newActionId(), 2))).rejects.toBeInstanceOf(LedgerGapError);
    expect(await count(id)).toBe(1);
  });

  it("when used inside the caller's transaction, then a refusal leaves it usable and ROLLBACK removes the events", async () => {
    const id = newActionId();
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await appendEvent(client, event(id, 1));
      await expect(appendEvent(client, event(id, 3))).rejects.toBeInstanceOf(LedgerGapError);
      await appendEvent(client, event(id, 2));
      expect(await readActionHead(client, id)).toMatchObject({ seq: 2 });
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    expect(await count(id)).toBe(0);
  });

  it('when events are read back, then they are exactly what was hashed', async () => {
    const id = newActionId();
    const data = { amount: 0.1, big: 1e21, tiny: 5e-7, neg: -0, text: 'ü\u2028"\\', nested: { z: [true, null], a: {} } };
    await appendEvent(pool, { ...event(id, 1, data), at: '2025-03-01T11:00:00.123+01:00' });
    await appendEvent(pool, event(id, 2, ['x']));
    const events = await readActionEvents(pool, id);
    expect(events[0]).toMatchObject({ seq: 1, at: '2025-03-01T10:00:00.123Z', data: { ...data, neg: 0 } });
    expect(verifyChain(events)).toEqual({ ok: true, events: 2 });
  });

  it('when 50 actions are appended to concurrently, then every chain is complete and verifies', async () => {
    const ids = Array.from({ length: 50 }, () => newActionId('conc'));
    await Promise.all(ids.map((id) => appendChain(id, 6)));
    for (const id of ids) {
      const events = await readActionEvents(pool, id);
      expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(verifyChain(events).ok).toBe(true);
    }
    expect((await verifyLedger(pool, trustedPublicKeys(dataDir))).ok).toBe(true);
  });

  it('when another transaction holds an uncommitted append to one action, then appends to other actions do not wait', async () => {
    const busy = await pool.connect();
    const other = await pool.connect();
    try {
      await busy.query('BEGIN');
      await appendEvent(busy, event(newActionId(), 1));
      await other.query("SET statement_timeout = '2s'");
      const start = Date.now();
      await appendEvent(other, event(newActionId(), 1));
      expect(Date.now() - start).toBeLessThan(1000);
    } finally {
      await busy.query('ROLLBACK');
      await other.query('RESET statement_timeout');
      busy.release();
      other.release();
    }
  });

  it('when two transactions append the same event at once, then one inserts and the other gets it back', async () => {
    const id = newActionId();
    const a = await pool.connect();
    const b = await pool.connect();
    try {
      await a.query('BEGIN');
      const first = await appendEvent(a, event(id, 1));
      const second = appendEvent(b, event(id, 1)); // waits on a's row
      await new Promise((r) => setTimeout(r, 200));
      await a.query('COMMIT');
      expect(await second).toEqual({ ...first, inserted: false });
    } finally {
      a.release();
      b.release();
    }
  });

  it('when UPDATE, DELETE or TRUNCATE is attempted, then the triggers refuse it', async () => {
    const id = newActionId();
    await appendChain(id, 1);
    await expect(pool.query("UPDATE ledger_events SET data = '{}' WHERE action_id = $1", [id])).rejects.toThrow(/append-only/);
    await expect(pool.query('DELETE FROM ledger_events WHERE action_id = $1', [id])).rejects.toThrow(/append-only/);
    await expect(pool.query('TRUNCATE ledger_events')).rejects.toThrow(/append-only/);
    await expect(pool.query('DELETE FROM ledger_checkpoints')).rejects.toThrow(/append-only/);
    await expect(pool.query('TRUNCATE ledger_checkpoints')).rejects.toThrow(/append-only/);
    await expect(pool.query('DELETE FROM signing_keys')).rejects.toThrow(/append-only/);
    expect(await count(id)).toBe(1);
  });

  it('when the application role tries UPDATE, DELETE or TRUNCATE, then privileges refuse it while appends, checkpoints and key retirement still work', async () => {
    const { pool: app, role, applied } = await openApplicationPool(server!.url, { max: 2 });
    try {
      expect(applied).toEqual([]); // beforeAll migrated already
      expect(role).toBe(APPLICATION_ROLE);
      expect((await app.query<{ u: string }>('SELECT current_user AS u')).rows[0]!.u).toBe(APPLICATION_ROLE);
      const id = newActionId();
      await appendEvent(app, event(id, 1));
      expect(await appendEventBatch(app, [event(id, 2), event(id, 3)], (await readActionHead(app, id))!.hash)).toHaveLength(2);
      const denied = /permission denied|must be owner/;
      for (const sql of [
        "UPDATE ledger_events SET data = '{}'",
        'DELETE FROM ledger_events',
        'TRUNCATE ledger_events',
        'DELETE FROM ledger_checkpoints',
        'TRUNCATE ledger_checkpoints',
        "UPDATE signing_keys SET public_key = 'x'",
        'DELETE FROM signing_keys',
        "UPDATE policy_versions SET source = 'x'",
        'DELETE FROM policy_activations',
        'ALTER TABLE ledger_events DISABLE TRIGGER USER',
        'SET session_replication_role = replica',
      ]) {
        await expect(app.query(sql), sql).rejects.toThrow(denied);
      }
      expect(await count(id)).toBe(3);
      expect(await checkpointCovering(app, signer)).not.toBeNull();
      const keysHome = path.join(tmp, 'data-app-role');
      const first = loadOrCreateSigningKey(keysHome);
      await registerSigningKey(app, first);
      const rotation = await rotateSigningKey(keysHome, { db: app });
      expect(rotation.previousKeyId).toBe(first.keyId);
      expect((await signingKeysFromDb(app)).find((k) => k.keyId === first.keyId)?.retiredAt).toBeInstanceOf(Date);
      expect(verifyChain(await readActionEvents(app, id))).toEqual({ ok: true, events: 3 });
    } finally {
      await app.end();
    }
  });

  it('when a checked-out connection dies between two queries, then the error is reported, the process lives on and the pool serves the next query', async () => {
    // Arrange: a connection held between two queries of a transaction, as the ledger holds one.
    const errors: Error[] = [];
    const { pool: app } = await openApplicationPool(server!.url, { max: 2, onClientError: (err) => errors.push(err) });
    try {
      const held = await app.connect();
      await held.query('BEGIN');
      const { rows } = await held.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');

      // Act: its backend goes away (as when Postgres crashes or restarts); without a listener
      // on the held client this 'error' would be unhandled and end the process.
      await pool.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
      for (const until = Date.now() + 5000; errors.length === 0 && Date.now() < until; ) await new Promise((r) => setTimeout(r, 20));
      held.release();
      const after = await app.query<{ one: number }>('SELECT 1 AS one');

      // Assert
      expect(errors.length).toBeGreaterThanOrEqual(1);
      expect(errors[0]!.message).toMatch(/terminat/i);
      expect(after.rows).toEqual([{ one: 1 }]);
      expect(app.totalCount).toBe(1);
    } finally {
      await app.end();
    }
  });
});

describe('checkpoints and verification', () => {
  it('when checkpoints are written, then they cover the new heads, chain to each other and verify', async () => {
    await writeCheckpoint(pool, signer); // anchor whatever earlier tests wrote
    expect(await writeCheckpoint(pool, signer)).toBeNull();

    const x = newActionId('cp');
    const y = newActionId('cp');
    await appendChain(x, 3);
    await appendChain(y, 1);
    const cp1 = await checkpointCovering(pool, signer);
    expect(cp1!.covers).toEqual([
      { actionId: x, seq: 3, hash: (await readActionHead(pool, x))!.hash },
      { actionId: y, seq: 1, hash: (await readActionHead(pool, y))!.hash },
    ]);

    await appendChain(y, 2, 2);
    const cp2 = await checkpointCovering(pool, signer);
    expect(cp2).toMatchObject({ seq: cp1!.seq + 1, prevHash: cp1!.hash, headCount: 1, covers: [{ actionId: y, seq: 3 }] });

    const v = await verifyLedger(pool, trustedPublicKeys(dataDir), { batchSize: 7 });
    expect(v).toMatchObject({ ok: true, checkpoints: cp2!.seq });
    expect(v.events).toBeGreaterThan(300);
  });

  it('when a transaction commits after a later one was checkpointed, then the next checkpoint still covers it', async () => {
    const slowId = newActionId('slow');
    const fastId = newActionId('fast');
    const slow = await pool.connect();
    try {
      await slow.query('BEGIN');
      await appendEvent(slow, event(slowId, 1)); // older transaction id, not committed yet
      await appendChain(fastId, 1);
      const cpA = await writeCheckpoint(pool, signer);
      expect(cpA?.covers.map((c) => c.actionId) ?? []).not.toContain(slowId);
      await slow.query('COMMIT');
    } finally {
      slow.release();
    }
    const cpB = await writeCheckpoint(pool, signer);
    const covered = [...(cpB?.covers ?? [])].map((c) => c.actionId);
    expect(covered).toContain(slowId);
    // and each head is covered exactly once across the two
    const cpFast = await writeCheckpoint(pool, signer);
    expect(cpFast).toBeNull();
  });

  it('when a row is tampered with, then verifyLedger names its action and seq', async () => {
    const id = newActionId('tamper');
    await appendChain(id, 5);
    const { rows } = await pool.query<{ data: string }>('SELECT data::text AS data FROM ledger_events WHERE action_id = $1 AND seq = 3', [id]);
    const original = rows[0]!.data;
    await tamper(`UPDATE ledger_events SET data = '{"n":333}' WHERE action_id = $1 AND seq = 3`, [id]);
    try {
      const v = await verifyLedger(pool, trustedPublicKeys(dataDir), { batchSize: 50 });
      expect(v).toMatchObject({ ok: false, actionId: id, firstBadSeq: 3, reason: expect.stringMatching(/altered/) });
      const io = captureIo();
      expect(await runLedgerCommand(['verify'], { getPool: async () => pool, dataDir, io: io.io, env: {} })).toBe(1);
      expect(io.err()).toContain(`action ${id} first bad seq 3`);
    } finally {
      await tamper(`UPDATE ledger_events SET data = $2::json WHERE action_id = $1 AND seq = 3`, [id, original]);
    }
    expect((await verifyLedger(pool, trustedPublicKeys(dataDir))).ok).toBe(true);
  });

  it('when a sub-millisecond change is made to a time, then verification still sees it', async () => {
    const id = newActionId('time');
    await appendChain(id, 2);
    await tamper(`UPDATE ledger_events SET at = at + interval '1 microsecond' WHERE action_id = $1 AND seq = 2`, [id]);
    try {
      expect(await verifyLedger(pool, trustedPublicKeys(dataDir))).toMatchObject({ ok: false, actionId: id, firstBadSeq: 2 });
    } finally {
      await tamper(`UPDATE ledger_events SET at = at - interval '1 microsecond' WHERE action_id = $1 AND seq = 2`, [id]);
    }
  });

  it('when the checkpointed tail of a chain is deleted, then the checkpoint catches it', async () => {
    const id = newActionId('tail');
    await appendChain(id, 3);
    await writeCheckpoint(pool, signer);
    const { rows } = await pool.query('SELECT *, data::text AS data_text FROM ledger_events WHERE action_id = $1 AND seq = 3', [id]);
    await tamper('DELETE FROM ledger_events WHERE action_id = $1 AND seq = 3', [id]);
    try {
      const v = await verifyLedger(pool, trustedPublicKeys(dataDir));
      expect(v).toMatchObject({ ok: false, actionId: id, firstBadSeq: 3, reason: expect.stringMatching(/no such event/) });
      expect(v.checkpointSeq).toBeGreaterThan(0);
    } finally {
      const r = rows[0];
      await tamper(
        `INSERT INTO ledger_events (action_id, seq, type, actor_id, actor_kind, at, data, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7::json, $8, $9)`,
        [r.action_id, r.seq, r.type, r.actor_id, r.actor_kind, r.at, r.data_text, r.prev_hash, r.hash],
      );
    }
    expect((await verifyLedger(pool, trustedPublicKeys(dataDir))).ok).toBe(true);
  });

  it('when checkpoints are verified with an unrelated key only, then verification fails as untrusted', async () => {
    const stranger = loadOrCreateSigningKey(path.join(tmp, 'stranger'));
    const v = await verifyLedger(pool, [{ keyId: stranger.keyId, publicKeyPem: stranger.publicKeyPem }]);
    expect(v).toMatchObject({ ok: false, checkpointSeq: 1, reason: expect.stringMatching(/not trusted/) });
  });

  it('when a checkpoint row is altered, then verification fails at that checkpoint', async () => {
    const { rows } = await pool.query<{ seq: string; head_count: number }>('SELECT seq, head_count FROM ledger_checkpoints ORDER BY seq LIMIT 1');
    const seq = rows[0]!.seq;
    await tamper(`UPDATE ledger_checkpoints SET through_global_seq = through_global_seq + 1 WHERE seq = $1`, [seq]);
    try {
      expect(await verifyLedger(pool, trustedPublicKeys(dataDir))).toMatchObject({ ok: false, checkpointSeq: Number(seq), reason: expect.stringMatching(/altered/) });
    } finally {
      await tamper(`UPDATE ledger_checkpoints SET through_global_seq = through_global_seq - 1 WHERE seq = $1`, [seq]);
    }
  });

  it('when the signing key is rotated, then old checkpoints still verify and both keys are recorded', async () => {
    const rotatedDir = path.join(tmp, 'rotated');
    fs.cpSync(dataDir, rotatedDir, { recursive: true });
    const { previousKeyId, signer: next } = await rotateSigningKey(rotatedDir, { db: pool });
    expect(previousKeyId).toBe(signer.keyId);
    await appendChain(newActionId('rot'), 1);
    expect(await checkpointCovering(pool, next)).not.toBeNull();
    expect(await verifyLedger(pool, trustedPublicKeys(rotatedDir))).toMatchObject({ ok: true });
    const keys = await signingKeysFromDb(pool);
    expect(keys.find((k) => k.keyId === signer.keyId)?.retiredAt).toBeInstanceOf(Date);
    expect(keys.find((k) => k.keyId === next.keyId)?.retiredAt).toBeNull();
    // The original data dir does not know the new key: its checkpoint is untrusted there.
    expect((await verifyLedger(pool, trustedPublicKeys(dataDir))).ok).toBe(false);
    await expect(pool.query("UPDATE signing_keys SET public_key = 'x' WHERE key_id = $1", [next.keyId])).rejects.toThrow(/retired_at/);
    fs.cpSync(path.join(rotatedDir, 'keys', `${next.keyId}.pub.pem`), path.join(dataDir, 'keys', `${next.keyId}.pub.pem`));
  });
});

describe('evidence bundles', () => {
  it('when a bundle is built from the ledger, then it verifies offline with the checkpoint proof', async () => {
    const id = newActionId('ev');
    await appendChain(id, 4);
    await writeCheckpoint(pool, signer);
    await appendChain(id, 1, 5);
    const bundle = await buildEvidenceBundle(pool, signer, id, { workflowId: `wf-${id}`, runId: 'run-1', policyVersion: 'v1', temporalUiUrl: 'http://ui/wf' });
    expect(bundle).toMatchObject({ actionId: id, head: { seq: 5 }, checkpoint: { cover: { actionId: id, seq: 4 } }, links: { temporalUi: 'http://ui/wf' } });
    const copy = JSON.parse(JSON.stringify(bundle)) as unknown;
    expect(verifyEvidenceBundle(copy, trustedPublicKeys(dataDir))).toEqual({ ok: true, events: 5 });
  });

  it('when `evidence verify` runs on a good and a tampered bundle, then it exits 0 and 1 naming the seq', async () => {
    const id = newActionId('cli');
    await appendChain(id, 3);
    const bundle = await buildEvidenceBundle(pool, signer, id, { workflowId: 'wf', policyVersion: 'v1' });
    const good = path.join(tmp, 'good.json');
    const bad = path.join(tmp, 'bad.json');
    fs.writeFileSync(good, JSON.stringify(bundle, null, 2));
    (bundle.events[1]!.data as { n: number }).n = 99;
    fs.writeFileSync(bad, JSON.stringify(bundle));
    const deps = { getPool: async () => pool, dataDir, env: {} };

    let io = captureIo();
    expect(await runEvidenceCommand(['verify', good], { ...deps, io: io.io })).toBe(0);
    expect(io.out()).toMatch(/^ok: .*3 events/);

    io = captureIo();
    expect(await runEvidenceCommand(['verify', bad], { ...deps, io: io.io })).toBe(1);
    expect(io.err()).toMatch(/first bad seq 2: .*altered/);

    const pub = path.join(tmp, 'other.pub.pem');
    fs.writeFileSync(pub, loadOrCreateSigningKey(path.join(tmp, 'stranger')).publicKeyPem);
    io = captureIo();
    expect(await runEvidenceCommand(['verify', good, '--public-key', pub], { ...deps, io: io.io })).toBe(1);
    expect(io.err()).toMatch(/not trusted/);

    io = captureIo();
    expect(await runEvidenceCommand(['verify'], { ...deps, io: io.io })).toBe(2);
  });

  it('when evidence is exported, then the NDJSON and its signed manifest verify, and an edit is caught', async () => {
    const since = '2031-01-01T00:00:00.000Z';
    const ids = [newActionId('exp'), newActionId('exp')];
    for (const id of ids) {
      await appendEvent(pool, event(id, 1, { x: 1 }, new Date('2031-01-01T01:00:00Z')));
      await appendEvent(pool, event(id, 2, { x: 2 }, new Date('2031-01-02T01:00:00Z')));
    }
    let text = '';
    const manifest = await exportEvidence(pool, signer, { since, until: '2031-02-01T00:00:00Z' }, (l) => void (text += l));
    expect(manifest).toMatchObject({ count: 2, range: { since, until: '2031-02-01T00:00:00.000Z' } });
    expect(text.trim().split('\n')).toHaveLength(3);
    expect(verifyEvidenceExport(text, trustedPublicKeys(dataDir))).toEqual({ ok: true, bundles: 2, events: 4 });

    const lines = text.split('\n');
    lines.splice(1, 1);
    expect(verifyEvidenceExport(lines.join('\n'), trustedPublicKeys(dataDir))).toMatchObject({ ok: false, reason: expect.stringMatching(/counts 2/) });

    const out = path.join(tmp, 'export.ndjson');
    const deps = { getPool: async () => pool, dataDir, env: {} };
    let io = captureIo();
    expect(await runEvidenceCommand(['export', '--since', since, '--until', '2031-02-01T00:00:00Z', '--action', ids[1]!, '--out', out], { ...deps, io: io.io })).toBe(0);
    expect(io.out()).toMatch(/exported 1 bundle/);
    io = captureIo();
    expect(await runEvidenceCommand(['verify', out], { ...deps, io: io.io })).toBe(0);
    expect(io.out()).toMatch(/1 bundle, 2 events, manifest holds/);
  });

  it('when the whole ledger is verified through the CLI, then it exits 0', async () => {
    const io = captureIo();
    expect(await runLedgerCommand(['verify'], { getPool: async () => pool, dataDir, io: io.io, env: {} })).toBe(0);
    expect(io.out()).toMatch(/^ok: ledger holds: \d+ events in \d+ chains, \d+ checkpoints/);
  });

  it('when `ledger rotate-key` runs, then new checkpoints are signed by the new key and everything signed before still verifies', async () => {
    const home = path.join(tmp, 'data-rotate-cli');
    const before = loadOrCreateSigningKey(home);
    await registerSigningKey(pool, before);
    await appendChain(newActionId('rot'), 2);
    const deps = (io: ReturnType<typeof captureIo>) => ({ getPool: async () => pool, dataDir: home, io: io.io, env: {} });
    const first = captureIo();
    expect(await runLedgerCommand(['checkpoint'], deps(first))).toBe(0);
    expect(first.out()).toContain(`key ${before.keyId}`);

    const rotate = captureIo();
    expect(await runLedgerCommand(['rotate-key'], deps(rotate))).toBe(0);
    const after = loadOrCreateSigningKey(home);
    expect(after.keyId).not.toBe(before.keyId);
    expect(rotate.out()).toContain(`new key ${after.keyId} replaces ${before.keyId}`);
    expect(trustedPublicKeys(home).map((k) => k.keyId).sort()).toEqual([before.keyId, after.keyId].sort());
    const rows = await signingKeysFromDb(pool);
    expect(rows.find((k) => k.keyId === before.keyId)?.retiredAt).toBeInstanceOf(Date);
    expect(rows.find((k) => k.keyId === after.keyId)?.retiredAt).toBeNull();

    await appendChain(newActionId('rot'), 1);
    const second = captureIo();
    expect(await runLedgerCommand(['checkpoint'], deps(second))).toBe(0);
    expect(second.out()).toContain(`key ${after.keyId}`);
    // This file's other checkpoints are signed by the shared test key: trust it too.
    const trusting = () =>
      [home, dataDir].flatMap((d) => fs.readdirSync(keysDir(d)).filter((f) => f.endsWith('.pub.pem')).flatMap((f) => ['--public-key', path.join(keysDir(d), f)]));
    const verify = captureIo();
    expect(await runLedgerCommand(['verify', ...trusting()], deps(verify))).toBe(0);
    // Without the old public key, its checkpoints no longer verify: the rotation kept it for that.
    for (const f of fs.readdirSync(keysDir(home)).filter((f) => f.startsWith(before.keyId))) fs.rmSync(path.join(keysDir(home), f));
    expect(trustedPublicKeys(home).map((k) => k.keyId)).toEqual([after.keyId]);
    const withoutOld = captureIo();
    expect(await runLedgerCommand(['verify', ...trusting()], deps(withoutOld))).toBe(1);
    expect(withoutOld.err()).toContain('checkpoint');

    const envKey = captureIo();
    expect(await runLedgerCommand(['rotate-key'], { ...deps(envKey), env: { COUNTERSIGN_SIGNING_KEY_FILE: '/etc/countersign/key.pem' } })).toBe(1);
    expect(envKey.err()).toContain('COUNTERSIGN_SIGNING_KEY_FILE');
  });
});

describe('planner statistics', () => {
  it('when the tables are analyzed, then the document and hash columns get no statistics and the columns queries filter on do', async () => {
    const id = newActionId('stats');
    await appendChain(id, 2);
    await pool.query(
      `INSERT INTO actions (id, agent, request_hash, action, status, params, policy, approval, workflow_id)
       VALUES ($1, 'agent-1', 'h', 'payments.transfer', 'awaiting_approval', '{"amount": 5}', '{"decision": "require_approval"}', '{"step": 1}', $1)`,
      [id],
    );
    await pool.query('ANALYZE actions, ledger_events');
    const analyzed = async (table: string) =>
      (await pool.query<{ attname: string }>('SELECT attname FROM pg_stats WHERE schemaname = $1 AND tablename = $2', ['public', table])).rows.map((r) => r.attname);
    const actions = await analyzed('actions');
    expect(actions).toEqual(expect.arrayContaining(['id', 'status', 'agent', 'action', 'eligible_groups', 'deadline', 'created_at']));
    for (const document of ['params', 'policy', 'approval', 'request_hash', 'workflow_id']) expect(actions).not.toContain(document);
    const events = await analyzed('ledger_events');
    expect(events).toEqual(expect.arrayContaining(['action_id', 'seq', 'tx_id', 'at']));
    for (const document of ['data', 'hash', 'prev_hash']) expect(events).not.toContain(document);
  });
});
