import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runLedgerCommand } from '../../cli/commands/ledger';
import { GENESIS_HASH, hashEvent } from '../../ledger/chain';
import { openApplicationPool } from '../../ledger/migrate';
import { loadOrCreateSigningKey, rotateSigningKey, signerFromPrivateKey, trustedPublicKeys, type LedgerSigner } from '../../ledger/signing';
import { appendEvent, syncWitnesses, verifyLedger, writeCheckpoint, type AppendEventInput } from '../../ledger/store';
import { checkpointCovering } from '../helpers/checkpoint';
import { defaultWitnessFile, FileWitness, HttpWitness, type WitnessedCheckpoint } from '../../ledger/witness';

// Issue 20, item 5: the ledger cannot be rewritten quietly by whoever owns its database. Each
// forgery from the security review is performed here as the database owner would (superuser,
// append-only triggers off) against a real Postgres, and `ledger verify` must catch it; next to
// each, the untouched ledger verifies.

let owner: pg.Pool; // the database owner: what an attacker with the DB credentials holds
let app: pg.Pool; // the application role
let tmp: string;
let dataDir: string;
let signer: LedgerSigner;
let counter = 0;
const newActionId = (prefix: string) => `${prefix}-${process.pid}-${++counter}`;

beforeAll(async () => {
  const base = inject('databaseUrl');
  const database = `anchor_${process.pid}_${Date.now()}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.end();
  const url = base.replace(/\/[^/]+$/, `/${database}`);
  ({ pool: app } = await openApplicationPool(url, { max: 4 }));
  owner = new pg.Pool({ connectionString: url, max: 2 });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-anchor-'));
  dataDir = path.join(tmp, 'data');
  signer = loadOrCreateSigningKey(dataDir);
});

afterAll(async () => {
  await app?.end();
  await owner?.end();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const event = (actionId: string, seq: number, type: AppendEventInput['type'] = seq === 1 ? 'proposed' : 'decision_recorded'): AppendEventInput => ({
  actionId,
  seq,
  type,
  actor: { id: 'agent-1', kind: 'agent' },
  at: new Date(Date.UTC(2026, 0, 1, 10, 0, seq)),
  data: { n: seq },
});

async function appendChain(actionId: string, types: AppendEventInput['type'][]): Promise<void> {
  for (let i = 0; i < types.length; i++) await appendEvent(app, event(actionId, i + 1, types[i]));
}

/** Run SQL as the owner with the append-only triggers off (what the owner of the database can do). */
async function asOwner(sql: string, params: unknown[] = []): Promise<void> {
  const client = await owner.connect();
  try {
    await client.query('BEGIN');
    await client.query('SET LOCAL session_replication_role = replica');
    await client.query(sql, params);
    await client.query('COMMIT');
  } finally {
    client.release();
  }
}

/** A well-formed event row (the hash links correctly: anyone can compute it, the hash is unkeyed). */
function forgedRow(actionId: string, seq: number, type: AppendEventInput['type'], prevHash: string) {
  const body = { actionId, seq, type, at: new Date(Date.UTC(2026, 0, 1, 11, 0, seq)).toISOString(), actor: { id: 'agent-1', kind: 'agent' as const }, data: { forged: true } };
  return { ...body, prevHash, hash: hashEvent(prevHash, body) };
}

async function insertForged(rows: ReturnType<typeof forgedRow>[], extra: { txId?: string; recordedAt?: string } = {}): Promise<void> {
  for (const r of rows) {
    await asOwner(
      `INSERT INTO ledger_events (action_id, seq, type, actor_id, actor_kind, at, data, prev_hash, hash, tx_id, recorded_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7::json, $8, $9, COALESCE($10::xid8, pg_current_xact_id()), COALESCE($11::timestamptz, now()))`,
      [r.actionId, r.seq, r.type, r.actor.id, r.actor.kind, r.at, JSON.stringify(r.data), r.prevHash, r.hash, extra.txId ?? null, extra.recordedAt ?? null],
    );
  }
}

const witnessFile = () => defaultWitnessFile(dataDir);
const verify = (opts: Parameters<typeof verifyLedger>[2] = {}) => verifyLedger(app, trustedPublicKeys(dataDir), { witnesses: [new FileWitness(witnessFile())], ...opts });

describe('ledger anchoring', () => {
  it('when the application role names tx_id, global_seq or recorded_at, then Postgres refuses; the columns it may name still work', async () => {
    const id = newActionId('cols');
    await appendChain(id, ['proposed']); // the application's own path
    const ev = forgedRow(id, 2, 'decision_recorded', (await app.query('SELECT hash FROM ledger_events WHERE action_id = $1', [id])).rows[0].hash);
    for (const [column, value] of [['tx_id', "'1'::xid8"], ['global_seq', '1'], ['recorded_at', "'2020-01-01'"]]) {
      await expect(
        app.query(
          `INSERT INTO ledger_events (action_id, seq, type, actor_id, actor_kind, at, data, prev_hash, hash, ${column})
           VALUES ($1, $2, $3, 'agent-1', 'agent', $4, '{}'::json, $5, $6, ${value})`,
          [id, 2, ev.type, ev.at, ev.prevHash, ev.hash],
        ),
      ).rejects.toThrow(/permission denied/);
    }
    expect((await app.query('SELECT count(*)::int AS n FROM ledger_events WHERE action_id = $1', [id])).rows[0].n).toBe(1);
  });

  it('when the checkpoints are written and copied to the witness, then the ledger verifies, old events included', async () => {
    await appendChain(newActionId('honest'), ['proposed', 'policy_decided', 'execution_started', 'executed']);
    await checkpointCovering(app, signer);
    expect(await syncWitnesses(app, [new FileWitness(witnessFile())])).toEqual([{ witness: witnessFile(), sent: expect.any(Number) }]);
    // Everything recorded up to now must be covered: it is.
    const v = await verify({ coveredBefore: new Date(Date.now() + 1000) });
    expect(v).toMatchObject({ ok: true });
    expect(v.checkpoints).toBeGreaterThan(0);
  });

  it('when the owner inserts a whole chain below the checkpointed horizon, then once it is older than the cut-off, verify says no checkpoint covers it', async () => {
    const id = newActionId('inserted');
    const e1 = forgedRow(id, 1, 'proposed', GENESIS_HASH);
    const e2 = forgedRow(id, 2, 'executed', e1.hash);
    // A transaction id from long ago, so no future checkpoint looks at it, dated an hour back.
    await insertForged([e1, e2], { txId: '3', recordedAt: new Date(Date.now() - 3_600_000).toISOString() });
    await writeCheckpoint(app, signer); // the checkpointer runs on, and does not pick it up
    const v = await verify();
    expect(v).toMatchObject({ ok: false, actionId: id, firstBadSeq: 1, reason: expect.stringMatching(/below the newest checkpoint's horizon .* no signed checkpoint covers it/) });
    // The CLI says so too, and exits 1.
    const io = captureIo();
    expect(await runLedgerCommand(['verify'], { getPool: async () => app, dataDir, io: io.io, env: { COUNTERSIGN_CHECKPOINT_INTERVAL: '60' } })).toBe(1);
    expect(io.err()).toContain(`action ${id} first bad seq 1`);
    await asOwner('DELETE FROM ledger_events WHERE action_id = $1', [id]);
    expect(await verify({ coveredBefore: new Date(Date.now() - 120_000) })).toMatchObject({ ok: true });
  });

  it('when the owner dates an inserted chain in the future, then the transaction id still gives it away', async () => {
    const id = newActionId('future-dated');
    const e1 = forgedRow(id, 1, 'proposed', GENESIS_HASH);
    await insertForged([e1], { txId: '3', recordedAt: '9999-01-01T00:00:00Z' });
    expect(await verify()).toMatchObject({ ok: false, actionId: id, reason: expect.stringMatching(/below the newest checkpoint's horizon/) });
    await asOwner('DELETE FROM ledger_events WHERE action_id = $1', [id]);
  });

  it('when the owner gives an event a transaction id the database has not assigned yet, then verify says so', async () => {
    const id = newActionId('future-tx');
    const { rows } = await owner.query<{ xmax: string }>('SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS xmax');
    await insertForged([forgedRow(id, 1, 'proposed', GENESIS_HASH)], { txId: String(BigInt(rows[0]!.xmax) + 1_000_000n) });
    expect(await verify()).toMatchObject({ ok: false, actionId: id, firstBadSeq: 1, reason: expect.stringMatching(/has not assigned yet/) });
    await asOwner('DELETE FROM ledger_events WHERE action_id = $1', [id]);
    expect(await verify()).toMatchObject({ ok: true });
  });

  it('when anyone appends an approval and an execution to a denied action, then verify refuses the chain', async () => {
    const id = newActionId('denied');
    await appendEvent(app, event(id, 1, 'proposed'));
    await appendEvent(app, { ...event(id, 2, 'policy_decided'), data: { decision: 'deny', reasons: ['over the limit'] } });
    await writeCheckpoint(app, signer);
    // The application role itself can append well-linked events: only the verifier can tell.
    await appendEvent(app, { ...event(id, 3, 'decision_recorded'), data: { decision: 'approve' } });
    await appendEvent(app, event(id, 4, 'executed'));
    expect(await verify()).toMatchObject({ ok: false, actionId: id, firstBadSeq: 3, reason: expect.stringMatching(/follows policy_decided at seq 2/) });
    await asOwner('DELETE FROM ledger_events WHERE action_id = $1 AND seq >= 3', [id]);
    expect(await verify()).toMatchObject({ ok: true });
  });

  it('when the owner appends an event after executed, then verify refuses the chain, checkpointed or not', async () => {
    const id = newActionId('after-executed');
    await appendChain(id, ['proposed', 'policy_decided', 'execution_started', 'executed']);
    await writeCheckpoint(app, signer);
    const head = (await app.query('SELECT hash FROM ledger_events WHERE action_id = $1 AND seq = 4', [id])).rows[0].hash;
    await insertForged([forgedRow(id, 5, 'decision_recorded', head)]);
    expect(await verify()).toMatchObject({ ok: false, actionId: id, firstBadSeq: 5, reason: expect.stringMatching(/follows executed at seq 4/) });
    // Even once the checkpointer has signed it (the owner chose a current transaction id).
    await writeCheckpoint(app, signer);
    await syncWitnesses(app, [new FileWitness(witnessFile())]);
    expect(await verify()).toMatchObject({ ok: false, actionId: id, firstBadSeq: 5 });
    await asOwner('DELETE FROM ledger_events WHERE action_id = $1 AND seq = 5', [id]);
    // The checkpoint that covered the forged head now names an event the ledger lacks: cut the
    // forged checkpoint too, and the witness (which holds it) still reports the truncation.
    const { rows } = await app.query('SELECT max(seq)::int AS seq FROM ledger_checkpoints');
    await asOwner('DELETE FROM ledger_checkpoints WHERE seq = $1', [rows[0].seq]);
    expect(await verify()).toMatchObject({ ok: false, checkpointSeq: rows[0].seq, reason: expect.stringMatching(/in the witness .* but not in the database/) });
    // Put the witness back in step (the forged checkpoint is gone from both) for the next tests.
    const kept = (await new FileWitness(witnessFile()).readAll()).filter((c) => c.seq < rows[0].seq);
    fs.writeFileSync(witnessFile(), kept.map((c) => `${JSON.stringify(c)}\n`).join(''));
    expect(await verify()).toMatchObject({ ok: true });
  });

  it('when the owner deletes the trailing checkpoints, then the chain of checkpoints still holds but the witness shows they were there', async () => {
    for (let i = 0; i < 3; i++) {
      await appendChain(newActionId('trail'), ['proposed']);
      await checkpointCovering(app, signer);
    }
    await syncWitnesses(app, [new FileWitness(witnessFile())]);
    const { rows } = await owner.query('SELECT max(seq)::int AS max FROM ledger_checkpoints');
    const last = rows[0].max as number;
    const saved = (await owner.query('SELECT * FROM ledger_checkpoints WHERE seq >= $1 ORDER BY seq', [last - 1])).rows;
    await asOwner('DELETE FROM ledger_checkpoints WHERE seq >= $1', [last - 1]);
    // Without the witness, nothing is wrong with what is left (that is the attack).
    expect(await verifyLedger(app, trustedPublicKeys(dataDir))).toMatchObject({ ok: true });
    expect(await verify()).toMatchObject({ ok: false, checkpointSeq: last - 1, reason: expect.stringMatching(/checkpoints were deleted/) });
    // With the signing key too, the owner writes different checkpoints in their place: each is
    // well signed, and only the witness knows they are not the ones that were there.
    await checkpointCovering(app, signer, { now: new Date(Date.now() + 1000) });
    await appendChain(newActionId('trail-forged'), ['proposed']);
    await checkpointCovering(app, signer, { now: new Date(Date.now() + 2000) });
    expect(await verifyLedger(app, trustedPublicKeys(dataDir))).toMatchObject({ ok: true });
    expect(await verify()).toMatchObject({ ok: false, checkpointSeq: last - 1, reason: expect.stringMatching(/differs from the witness/) });
    await asOwner('DELETE FROM ledger_checkpoints WHERE seq >= $1', [last - 1]);
    await asOwner("DELETE FROM ledger_events WHERE action_id LIKE 'trail-forged-%'");
    // The next sync reports it as well, instead of quietly going on.
    const [sync] = await syncWitnesses(app, [new FileWitness(witnessFile())]);
    expect(sync!.error).toMatch(/checkpoints were deleted/);
    for (const r of saved) {
      await asOwner(
        `INSERT INTO ledger_checkpoints (seq, at, covers, head_count, heads_root, through_global_seq, horizon, prev_hash, hash, key_id, signature)
         VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $8, $9, $10, $11)`,
        [r.seq, r.at, JSON.stringify(r.covers), r.head_count, r.heads_root, r.through_global_seq, r.horizon, r.prev_hash, r.hash, r.key_id, r.signature],
      );
    }
    expect(await verify()).toMatchObject({ ok: true });
  });

  it('when a retired key signs a checkpoint after its validity ends, then verify refuses it; inside its window it verifies', async () => {
    const keyDir = path.join(tmp, 'rotating');
    const old = loadOrCreateSigningKey(keyDir);
    const pem = fs.readFileSync(path.join(keyDir, 'keys', 'signing-key.pem'), 'utf8');
    await new Promise((r) => setTimeout(r, 20));
    await rotateSigningKey(keyDir, { graceMs: 0 });
    const window = trustedPublicKeys(keyDir).find((k) => k.keyId === old.keyId)!;
    expect(window.validFrom).toBeTruthy();
    expect(Date.parse(window.validUntil!)).toBeGreaterThan(Date.parse(window.validFrom!));
    const leaked = signerFromPrivateKey(pem); // the retired key, still in an attacker's hands
    expect(leaked.keyId).toBe(old.keyId);
    const db = await freshDatabase();
    try {
      await appendEvent(db, event(newActionId('win'), 1));
      const cp = await checkpointCovering(db, leaked, { now: new Date(Date.now() + 60_000) });
      const v = await verifyLedger(db, trustedPublicKeys(keyDir));
      expect(v).toMatchObject({ ok: false, checkpointSeq: cp.seq, reason: expect.stringMatching(/after the key stopped being valid/) });
      // The same key, dated inside its window, verifies.
      const db2 = await freshDatabase();
      try {
        await appendEvent(db2, event(newActionId('win'), 1));
        await checkpointCovering(db2, leaked, { now: new Date(Date.parse(window.validFrom!) + 5) });
        expect(await verifyLedger(db2, trustedPublicKeys(keyDir))).toMatchObject({ ok: true });
      } finally {
        await db2.end();
      }
    } finally {
      await db.end();
    }
  });

  it('when an HTTP witness is configured, then checkpoints reach it, and a checkpoint rewritten in the database differs from its copy', async () => {
    const held: WitnessedCheckpoint[] = [];
    const server = http.createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => (raw += c));
      req.on('end', () => {
        if (req.headers.authorization !== 'Bearer witness-token') return void res.writeHead(401).end();
        if (req.method === 'POST') {
          for (const cp of JSON.parse(raw).checkpoints as WitnessedCheckpoint[]) {
            const have = held.find((h) => h.seq === cp.seq);
            if (have && have.hash !== cp.hash) return void res.writeHead(409).end('{}');
            if (!have) held.push(cp);
          }
          return void res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        }
        const after = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('after') ?? 0);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ checkpoints: held.filter((c) => c.seq > after).sort((a, b) => a.seq - b.seq) }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/witness`;
    try {
      const witness = new HttpWitness(url, 'witness-token');
      await appendChain(newActionId('http'), ['proposed']);
      await writeCheckpoint(app, signer);
      expect((await syncWitnesses(app, [witness]))[0]).toMatchObject({ witness: url });
      const inDb = (await app.query('SELECT count(*)::int AS n FROM ledger_checkpoints')).rows[0].n;
      expect(held).toHaveLength(inDb);
      expect(await verifyLedger(app, trustedPublicKeys(dataDir), { witnesses: [witness] })).toMatchObject({ ok: true });
      // A wrong token: the sync reports it, and nothing is lost (the next sync catches up).
      expect((await syncWitnesses(app, [new HttpWitness(url, 'wrong')]))[0]!.error).toMatch(/HTTP 401/);
      // The owner rewrites the first checkpoint: caught (its hash no longer matches, and the witness holds the original).
      await asOwner(`UPDATE ledger_checkpoints SET hash = repeat('0', 64) WHERE seq = 1`);
      const v = await verifyLedger(app, trustedPublicKeys(dataDir), { witnesses: [witness] });
      expect(v).toMatchObject({ ok: false, checkpointSeq: 1 });
      await asOwner(`UPDATE ledger_checkpoints SET hash = $1 WHERE seq = 1`, [held.find((c) => c.seq === 1)!.hash]);
      expect(await verifyLedger(app, trustedPublicKeys(dataDir), { witnesses: [witness] })).toMatchObject({ ok: true });
    } finally {
      server.close();
    }
  });
});

async function freshDatabase(): Promise<pg.Pool> {
  const base = inject('databaseUrl');
  const database = `anchor_${process.pid}_${Date.now()}_${++counter}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.end();
  const { pool } = await openApplicationPool(base.replace(/\/[^/]+$/, `/${database}`), { max: 2 });
  return pool;
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
