/**
 * Ledger benchmark: `npx tsx bench/ledger.ts [--events N] [--writers N]`.
 *
 * Starts an embedded Postgres in a temp dir and measures, in one run:
 * - baseline: plain INSERTs of the same rows (same columns and indexes, no hashing,
 *   no chain lookup, no trigger), 16 concurrent writers, one autocommit statement each;
 * - appendEvent: the real thing (chain lookup + hash in one statement), same writers;
 * - verifyChain: pure verification of every chain read back (canonical JSON + sha256);
 * - verifyLedger: the streaming whole-ledger verification, database reads included.
 * Prints a table, then as the last line `{"appendPerSec":…,"verifyPerSec":…}`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { canonicalJson } from '../domain/canonical-json';
import { verifyChain, type LedgerEvent } from '../ledger/chain';
import { migrate } from '../ledger/migrate';
import { loadOrCreateSigningKey, trustedPublicKeys } from '../ledger/signing';
import { appendEvent, readActionEvents, verifyLedger, writeCheckpoint, type AppendEventInput } from '../ledger/store';
import { startPostgres } from '../runtime/postgres';

const { values } = parseArgs({ options: { events: { type: 'string' }, writers: { type: 'string' } } });
const TOTAL = Number(values.events ?? 24_000);
const WRITERS = Number(values.writers ?? 16);
const EVENTS_PER_ACTION = 8;
const ROUNDS = 3;
const TYPES = ['proposed', 'policy_decided', 'approval_requested', 'reminded', 'decision_recorded', 'decision_recorded', 'execution_started', 'executed'] as const;

/** ~300 bytes of canonical JSON, shaped like a real decision record. */
function dataFor(actionId: string, seq: number): unknown {
  return {
    action: 'payments.transfer',
    params: { amount: 12_500 + seq, currency: 'EUR', to: 'DE89370400440532013000', reference: `INV-2025-${actionId.slice(-6)}` },
    policy: { decision: 'require_approval', ruleIds: ['large-transfers'], version: 'sha256:9f86d081884c7d659a2feaa0c55ad015' },
    reviewer: { id: 'alice@example.com', decision: 'approve', reason: 'matches the signed purchase order' },
    seq,
  };
}

function eventFor(actionId: string, seq: number): AppendEventInput {
  return {
    actionId,
    seq,
    type: TYPES[(seq - 1) % TYPES.length]!,
    actor: seq === 5 || seq === 6 ? { id: 'alice@example.com', kind: 'human' } : { id: 'agent-invoice-bot', kind: 'agent' },
    at: new Date(Date.UTC(2025, 5, 1, 12, 0, 0, seq)),
    data: dataFor(actionId, seq),
  };
}

/** Run `WRITERS` workers, each appending whole chains of its own actions; returns seconds. */
async function runWriters(prefix: string, events: number, write: (ev: AppendEventInput) => Promise<unknown>): Promise<{ seconds: number; actions: string[] }> {
  const actionsPerWriter = Math.ceil(events / EVENTS_PER_ACTION / WRITERS);
  const all: string[] = [];
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, w) => {
      for (let a = 0; a < actionsPerWriter; a++) {
        const actionId = `${prefix}-w${String(w).padStart(2, '0')}-a${String(a).padStart(6, '0')}`;
        all.push(actionId);
        for (let seq = 1; seq <= EVENTS_PER_ACTION; seq++) await write(eventFor(actionId, seq));
      }
    }),
  );
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, actions: all };
}

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-bench-ledger-'));
  fs.chmodSync(tmp, 0o755); // the embedded server runs as an unprivileged user under root
  const server = await startPostgres({ dir: path.join(tmp, 'pg'), port: 56000 + Math.floor(Math.random() * 2000) });
  const pool = new pg.Pool({ connectionString: server.url, max: WRITERS + 4 });
  pool.on('error', () => {});
  const rows: Array<{ phase: string; events: number; seconds: number }> = [];
  try {
    await migrate(pool);
    const sample = canonicalJson(dataFor('bench-w00-a000000', 3));
    console.log(`ledger bench: ${TOTAL} events per phase in ${ROUNDS} alternating rounds, ${WRITERS} concurrent writers, ${EVENTS_PER_ACTION} events per action, data ${sample.length} bytes`);
    console.log(`machine: ${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (other processes share these CPUs)`);

    // Baseline: same columns and indexes, no trigger, hash not computed (a fixed string).
    await pool.query('CREATE TABLE bench_plain (LIKE ledger_events INCLUDING DEFAULTS INCLUDING INDEXES)');
    const fixedHash = 'f'.repeat(64);
    const plainSql = `INSERT INTO bench_plain (action_id, seq, type, actor_id, actor_kind, at, data, prev_hash, hash)
                      VALUES ($1, $2, $3, $4, $5, $6, $7::json, $8, $9)`;
    const plainInsert = (ev: AppendEventInput) =>
      pool.query({ name: 'bench_plain_insert', text: plainSql, values: [ev.actionId, ev.seq, ev.type, ev.actor.id, ev.actor.kind, ev.at, canonicalJson(ev.data), fixedHash, fixedHash] });

    // Baseline and ledger alternate in rounds, so load from other processes on this shared
    // machine hits both alike; the rates are totals over all rounds.
    const plain = { events: 0, seconds: 0 };
    const ledger = { events: 0, seconds: 0, actions: [] as string[] };
    for (let round = 0; round < ROUNDS; round++) {
      const p = await runWriters(`plain-r${round}`, TOTAL / ROUNDS, plainInsert);
      plain.events += p.actions.length * EVENTS_PER_ACTION;
      plain.seconds += p.seconds;
      const l = await runWriters(`ledger-r${round}`, TOTAL / ROUNDS, (ev) => appendEvent(pool, ev));
      ledger.events += l.actions.length * EVENTS_PER_ACTION;
      ledger.seconds += l.seconds;
      ledger.actions.push(...l.actions);
    }
    rows.push({ phase: 'plain INSERT (baseline)', ...plain });
    rows.push({ phase: 'appendEvent', events: ledger.events, seconds: ledger.seconds });
    const appended = ledger;

    // Read everything back (not timed), then time the pure verification.
    const chains: LedgerEvent[][] = [];
    for (let i = 0; i < appended.actions.length; i += 200) {
      chains.push(...(await Promise.all(appended.actions.slice(i, i + 200).map((id) => readActionEvents(pool, id)))));
    }
    // One warm-up pass (JIT), then the median of five timed passes over every chain.
    const verifyAll = (): number => {
      let n = 0;
      for (const chain of chains) {
        const r = verifyChain(chain);
        if (!r.ok) throw new Error(`bench chain failed to verify: ${r.reason}`);
        n += r.events;
      }
      return n;
    };
    const verified = verifyAll();
    const passes: number[] = [];
    for (let p = 0; p < 5; p++) {
      const vStart = process.hrtime.bigint();
      verifyAll();
      passes.push(Number(process.hrtime.bigint() - vStart) / 1e9);
    }
    passes.sort((a, b) => a - b);
    rows.push({ phase: 'verifyChain (in memory, median of 5)', events: verified, seconds: passes[2]! });

    const signer = loadOrCreateSigningKey(path.join(tmp, 'data'));
    await writeCheckpoint(pool, signer);
    const lStart = process.hrtime.bigint();
    const v = await verifyLedger(pool, trustedPublicKeys(path.join(tmp, 'data')));
    if (!v.ok) throw new Error(`ledger failed to verify: ${v.reason}`);
    rows.push({ phase: 'verifyLedger (streamed from Postgres)', events: v.events, seconds: Number(process.hrtime.bigint() - lStart) / 1e9 });
  } finally {
    await pool.end();
    await server.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }

  const rate = (r: { events: number; seconds: number }) => Math.round(r.events / r.seconds);
  console.log('');
  console.log(`${'phase'.padEnd(40)} ${'events'.padStart(8)} ${'seconds'.padStart(8)} ${'events/s'.padStart(10)}`);
  for (const r of rows) console.log(`${r.phase.padEnd(40)} ${String(r.events).padStart(8)} ${r.seconds.toFixed(2).padStart(8)} ${String(rate(r)).padStart(10)}`);
  const [baseline, append, verify, verifyLedgerRow] = rows;
  console.log(`appendEvent reaches ${Math.round((100 * rate(append!)) / rate(baseline!))}% of the plain-INSERT baseline`);
  console.log(
    JSON.stringify({
      appendPerSec: rate(append!),
      verifyPerSec: rate(verify!),
      baselineInsertPerSec: rate(baseline!),
      verifyLedgerPerSec: rate(verifyLedgerRow!),
    }),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
