/**
 * Ledger benchmark: `npx tsx bench/ledger.ts [--events N] [--writers N] [--pg-setting name=value …]`.
 *
 * Starts an embedded Postgres in a temp dir and measures, in one run:
 * - baseline: plain INSERTs of the same rows (same columns and indexes, no hashing,
 *   no chain lookup, no trigger), 16 concurrent writers, one autocommit statement each;
 * - appendEvent: the real thing for a caller that does not know the chain head (lookup + hash
 *   in one statement), same writers, one event per commit; and appendEventBatch with one event
 *   per commit for a caller that knows the head;
 * - the same two again with events committed in the batches the product writes (one per
 *   workflow task: appendEventBatch with the chain head the writer knows from its previous
 *   batch, as recordEvents is called by the workflow; the baseline is one multi-row INSERT per
 *   batch). `appendPerSec` is this figure; `appendSinglePerSec` the one above;
 * - the product batches again, each followed by the action's change notification: sent after
 *   the commit on its own connection without waiting for the disk (ChangeNotifier, what
 *   recordEvents does), and `pg_notify` inside the append statement (what it did before), with
 *   a LISTEN connection consuming them;
 * - chain verification, pure CPU, of every chain read back: on the stored canonical text of
 *   `data` (what `verifyLedger` hashes; this is `verifyPerSec`) and on parsed events, whose
 *   `data` is re-serialised (what the offline bundle verifier does);
 * - verifyLedger: the streaming whole-ledger verification, database reads included.
 * Prints a table, then as the last line `{"appendPerSec":…,"verifyPerSec":…}`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { canonicalJson } from '../domain/canonical-json';
import { ChainVerifier, GENESIS_HASH, type LedgerEvent } from '../ledger/chain';
import { migrate } from '../ledger/migrate';
import { loadOrCreateSigningKey, trustedPublicKeys } from '../ledger/signing';
import { appendEvent, appendEventBatch, readActionEvents, verifyLedger, writeCheckpoint, type AppendEventInput } from '../ledger/store';
import { startPostgres } from '../runtime/postgres';
import { ACTION_CHANGED_CHANNEL, ChangeNotifier } from '../activities/change-notifier';

const { values } = parseArgs({ options: { events: { type: 'string' }, writers: { type: 'string' }, 'pg-setting': { type: 'string', multiple: true } } });
const TOTAL = Number(values.events ?? 24_000);
const WRITERS = Number(values.writers ?? 16);
const EVENTS_PER_ACTION = 8;
const ROUNDS = 3;
/**
 * How the product commits those 8 events: one batch per workflow task (recordEvents), here a
 * quorum-2 approval with one reminder — proposed+policy_decided+approval_requested | reminded |
 * decision_recorded | decision_recorded+execution_started | executed.
 */
const PRODUCT_BATCHES = [3, 1, 1, 2, 1];
const SINGLE_BATCHES = [1, 1, 1, 1, 1, 1, 1, 1];
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

/** Run `WRITERS` workers, each appending whole chains of its own actions in `batches`; returns seconds. */
async function runWriters(
  prefix: string,
  events: number,
  batches: readonly number[],
  write: (batch: AppendEventInput[]) => Promise<unknown>,
): Promise<{ seconds: number; events: number; actions: string[] }> {
  const actionsPerWriter = Math.ceil(events / EVENTS_PER_ACTION / WRITERS);
  const all: string[] = [];
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, w) => {
      for (let a = 0; a < actionsPerWriter; a++) {
        const actionId = `${prefix}-w${String(w).padStart(2, '0')}-a${String(a).padStart(6, '0')}`;
        all.push(actionId);
        let seq = 1;
        for (const size of batches) {
          await write(Array.from({ length: size }, (_, i) => eventFor(actionId, seq + i)));
          seq += size;
        }
      }
    }),
  );
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, events: all.length * EVENTS_PER_ACTION, actions: all };
}

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-bench-ledger-'));
  fs.chmodSync(tmp, 0o755); // the embedded server runs as an unprivileged user under root
  const server = await startPostgres({ dir: path.join(tmp, 'pg'), port: 56000 + Math.floor(Math.random() * 2000), settings: Object.fromEntries((values['pg-setting'] ?? []).map((kv) => kv.split('=', 2) as [string, string])) });
  const pool = new pg.Pool({ connectionString: server.url, max: WRITERS + 4 });
  pool.on('error', () => {});
  const rows: Array<{ phase: string; events: number; seconds: number }> = [];
  try {
    await migrate(pool);
    const sample = canonicalJson(dataFor('bench-w00-a000000', 3));
    console.log(`ledger bench: ${TOTAL} events per phase in ${ROUNDS} alternating rounds, ${WRITERS} concurrent writers, ${EVENTS_PER_ACTION} events per action (product batches ${PRODUCT_BATCHES.join('+')}), data ${sample.length} bytes`);
    console.log(`machine: ${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (other processes share these CPUs)`);

    // Baseline: same columns and indexes, no trigger, hash not computed (a fixed string).
    await pool.query('CREATE TABLE bench_plain (LIKE ledger_events INCLUDING DEFAULTS INCLUDING INDEXES)');
    const fixedHash = 'f'.repeat(64);
    const plainSql = `INSERT INTO bench_plain (action_id, seq, type, actor_id, actor_kind, at, data, prev_hash, hash)
                      VALUES ($1, $2, $3, $4, $5, $6, $7::json, $8, $9)`;
    const plainValues = (ev: AppendEventInput) => [ev.actionId, ev.seq, ev.type, ev.actor.id, ev.actor.kind, ev.at, canonicalJson(ev.data), fixedHash, fixedHash];
    // A batch is one multi-row INSERT (one statement, one commit), like appendEventBatch.
    const plainInsert = (batch: AppendEventInput[]) =>
      batch.length === 1
        ? pool.query({ name: 'bench_plain_insert', text: plainSql, values: plainValues(batch[0]!) })
        : pool.query(
            `INSERT INTO bench_plain (action_id, seq, type, actor_id, actor_kind, at, data, prev_hash, hash) VALUES ${batch
              .map((_, i) => `(${Array.from({ length: 9 }, (_, c) => `$${i * 9 + c + 1}${c === 6 ? '::json' : ''}`).join(', ')})`)
              .join(', ')}`,
            batch.flatMap(plainValues),
          );
    // Like the workflow, each writer knows the head of its own chain from its previous batch.
    const heads = new Map<string, string>();
    const appendKnownHead = async (batch: AppendEventInput[]) => {
      const actionId = batch[0]!.actionId;
      const written = await appendEventBatch(pool, batch, heads.get(actionId) ?? GENESIS_HASH);
      if (!written) throw new Error(`batch for ${actionId} was not inserted`);
      heads.set(actionId, written[written.length - 1]!.hash);
    };
    // Change notifications, consumed like the API's change feed does.
    const notifier = new ChangeNotifier(pool);
    const listener = new pg.Client({ connectionString: server.url });
    await listener.connect();
    await listener.query(`LISTEN ${ACTION_CHANGED_CHANNEL}`);
    const notifyAfter = async (batch: AppendEventInput[]) => {
      await appendKnownHead(batch);
      await notifier.actionChanged(batch[0]!.actionId);
    };
    const notifyInside = async (batch: AppendEventInput[]) => {
      const actionId = batch[0]!.actionId;
      const written = await appendEventBatch(pool, batch, heads.get(actionId) ?? GENESIS_HASH, {
        name: 'bench_append_notify_inside',
        text: (p) => `SELECT pg_notify(${p(1)}, ${p(2)}) FROM (SELECT 1 FROM appended LIMIT 1) a`,
        values: [ACTION_CHANGED_CHANNEL, actionId],
      });
      if (!written) throw new Error(`batch for ${actionId} was not inserted`);
      heads.set(actionId, written[written.length - 1]!.hash);
    };
    const phases = [
      { phase: 'plain INSERT, 1 event per commit (baseline)', batches: SINGLE_BATCHES, write: plainInsert },
      { phase: 'appendEvent, 1 event per commit', batches: SINGLE_BATCHES, write: (b: AppendEventInput[]) => appendEvent(pool, b[0]!) },
      { phase: 'appendEventBatch, 1 event per commit', batches: SINGLE_BATCHES, write: appendKnownHead },
      { phase: 'plain INSERT, product batches (baseline)', batches: PRODUCT_BATCHES, write: plainInsert },
      { phase: 'appendEventBatch, product batches', batches: PRODUCT_BATCHES, write: appendKnownHead },
      { phase: '  + notification after commit (ChangeNotifier)', batches: PRODUCT_BATCHES, write: notifyAfter },
      { phase: '  + pg_notify inside the statement', batches: PRODUCT_BATCHES, write: notifyInside },
    ];
    const totals = phases.map((p) => ({ phase: p.phase, events: 0, seconds: 0, actions: [] as string[] }));
    // The phases alternate in rounds, so load from other processes on this shared machine hits
    // all of them alike; the rates are totals over all rounds.
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, p] of phases.entries()) {
        const r = await runWriters(`${p.phase.startsWith('plain') ? 'plain' : 'ledger'}${i}-r${round}`, TOTAL / ROUNDS, p.batches, p.write);
        totals[i]!.events += r.events;
        totals[i]!.seconds += r.seconds;
        totals[i]!.actions.push(...r.actions);
      }
    }
    rows.push(...totals);
    await notifier.end();
    await listener.end();
    const appended = { actions: totals.filter((t) => !t.phase.startsWith('plain')).flatMap((t) => t.actions) };

    // Read everything back (not timed), then time the pure verification: once on the rows as
    // the ledger verifier sees them (data as its stored canonical text, which is hashed as is)
    // and once on parsed events as an offline bundle verifier sees them (data re-serialised).
    const chains: LedgerEvent[][] = [];
    for (let i = 0; i < appended.actions.length; i += 200) {
      chains.push(...(await Promise.all(appended.actions.slice(i, i + 200).map((id) => readActionEvents(pool, id)))));
    }
    const stored = new Map<string, string>();
    const { rows: texts } = await pool.query<{ k: string; data_json: string }>(
      "SELECT action_id || '/' || seq AS k, data::text AS data_json FROM ledger_events WHERE action_id LIKE 'ledger%'",
    );
    for (const r of texts) stored.set(r.k, r.data_json);
    const storedText = chains.map((chain) => chain.map((ev) => stored.get(`${ev.actionId}/${ev.seq}`)!));
    // One warm-up pass (JIT), then the median of five timed passes over every chain.
    const timeVerify = (withStoredText: boolean): { events: number; seconds: number } => {
      const verifyAll = (): number => {
        let n = 0;
        for (let c = 0; c < chains.length; c++) {
          const chain = chains[c]!;
          const verifier = new ChainVerifier();
          for (let i = 0; i < chain.length; i++) verifier.push(chain[i]!, withStoredText ? storedText[c]![i] : undefined);
          const r = verifier.result();
          if (!r.ok || r.events !== chain.length) throw new Error(`bench chain failed to verify: ${r.reason}`);
          n += r.events;
        }
        return n;
      };
      const events = verifyAll();
      const passes: number[] = [];
      for (let p = 0; p < 5; p++) {
        const vStart = process.hrtime.bigint();
        verifyAll();
        passes.push(Number(process.hrtime.bigint() - vStart) / 1e9);
      }
      passes.sort((a, b) => a - b);
      return { events, seconds: passes[2]! };
    };
    rows.push({ phase: 'verify chains (stored text, median of 5)', ...timeVerify(true) });
    rows.push({ phase: 'verify chains (parsed, median of 5)', ...timeVerify(false) });

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
  console.log(`${'phase'.padEnd(46)} ${'events'.padStart(8)} ${'seconds'.padStart(8)} ${'events/s'.padStart(10)}`);
  for (const r of rows) console.log(`${r.phase.padEnd(46)} ${String(r.events).padStart(8)} ${r.seconds.toFixed(2).padStart(8)} ${String(rate(r)).padStart(10)}`);
  const [baseline, single, singleKnownHead, batchBaseline, batched, notifyAfterRow, notifyInsideRow, verify, verifyParsed, verifyLedgerRow] = rows;
  console.log(`appendEvent reaches ${Math.round((100 * rate(single!)) / rate(baseline!))}% of plain INSERTs one event per commit; appendEventBatch ${Math.round((100 * rate(batched!)) / rate(batchBaseline!))}% of plain INSERTs in the same batches`);
  console.log(
    JSON.stringify({
      appendPerSec: rate(batched!),
      verifyPerSec: rate(verify!),
      appendSinglePerSec: rate(single!),
      appendSingleKnownHeadPerSec: rate(singleKnownHead!),
      baselineBatchInsertPerSec: rate(batchBaseline!),
      baselineInsertPerSec: rate(baseline!),
      appendNotifyAfterPerSec: rate(notifyAfterRow!),
      appendNotifyInsidePerSec: rate(notifyInsideRow!),
      verifyParsedPerSec: rate(verifyParsed!),
      verifyLedgerPerSec: rate(verifyLedgerRow!),
    }),
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
