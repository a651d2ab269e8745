/**
 * The Postgres evidence ledger: append events to per-action hash chains, read them back,
 * write signed checkpoints over the chain heads, and verify everything.
 * Tables: ledger/migrations/002_ledger.sql. Hash definition: ledger/chain.ts.
 */
import type { Pool, PoolClient, QueryResultRow } from 'pg';
import { canonicalJson } from '../domain/canonical-json';
import {
  ChainVerifier,
  GENESIS_HASH,
  canonicalJsonFast,
  chainHash,
  eventBodyJson,
  isLedgerActorKind,
  isLedgerEventType,
  normalizeEventTime,
  type LedgerActor,
  type LedgerEvent,
  type LedgerEventType,
} from './chain';
import { listActionFaults, type ActionFault } from './action-faults';
import { headsRoot, type ChainHead } from './merkle';
import { checkSignature, keyWindowRefusal, registerSigningKey, type LedgerSigner, type TrustedKey } from './signing';
import { witnessCopy, type CheckpointWitness } from './witness';

/** A pool or a checked-out client (e.g. inside the caller's BEGIN … COMMIT). */
export type LedgerDb = Pool | PoolClient;

/** An event to append. */
export interface AppendEventInput {
  actionId: string;
  /** 1-based position in the action's chain; the caller knows it (the workflow counts). */
  seq: number;
  type: LedgerEventType;
  actor: LedgerActor;
  at: Date | string;
  /** Any JSON value; `undefined` is refused (use `{}` or `null`). */
  data: unknown;
}

/** The event as stored. */
export interface AppendEventResult {
  seq: number;
  hash: string;
  prevHash: string;
  /** False when the identical event was already there (an idempotent retry). */
  inserted: boolean;
}

/** Raised when an event does not fit the ledger's shape (bad type, actor kind, seq, time, data). */
export class InvalidLedgerEventError extends Error {
  override readonly name = 'InvalidLedgerEventError';
  readonly retryable = false;
}

/** A different event already holds (actionId, seq). Not retryable: the caller's history diverged. */
export class LedgerConflictError extends Error {
  override readonly name = 'LedgerConflictError';
  readonly retryable = false;
  constructor(readonly actionId: string, readonly seq: number, readonly existingHash: string) {
    super(`ledger already holds a different event ${seq} for action ${actionId} (hash ${existingHash})`);
  }
}

/** Event seq-1 is not there yet (or not committed yet). Retryable: append it first or retry. */
export class LedgerGapError extends Error {
  override readonly name = 'LedgerGapError';
  readonly retryable = true;
  constructor(readonly actionId: string, readonly seq: number) {
    super(`cannot append event ${seq} for action ${actionId}: event ${seq - 1} is not in the ledger (yet)`);
  }
}

/** Another transaction wrote (actionId, seq) concurrently and it is not visible yet. Retryable. */
export class LedgerConcurrentWriteError extends Error {
  override readonly name = 'LedgerConcurrentWriteError';
  readonly retryable = true;
  constructor(readonly actionId: string, readonly seq: number, message?: string) {
    super(message ?? `event ${seq} of action ${actionId} was written by a concurrent transaction; retry`);
  }
}

/** The database computed a hash that differs from ours: a bug or a tampered server function. */
export class LedgerIntegrityError extends Error {
  override readonly name = 'LedgerIntegrityError';
  readonly retryable = false;
}

/** No event recorded for the action. */
export class LedgerNotFoundError extends Error {
  override readonly name = 'LedgerNotFoundError';
  readonly retryable = false;
  constructor(readonly actionId: string) {
    super(`no ledger events for action ${actionId}`);
  }
}

function query<R extends object>(db: LedgerDb, text: string | { name: string; text: string; values: unknown[] }, values?: unknown[]) {
  return (db as Pool).query<R & QueryResultRow>(text as string, values);
}

// The common path is one INSERT: the previous hash is looked up inside it and Postgres
// computes the hash from the exact text we hashed (prev_hash || canonical body), so a row
// can only go in linked to its predecessor. When nothing was inserted (a retry, a different
// event at that seq, or a gap), a second statement finds out which. Neither raises, so a
// refusal never aborts the caller's transaction. Row locks only: appends to different
// actions never wait for each other.
const APPEND_SQL = `
INSERT INTO ledger_events (action_id, seq, type, actor_id, actor_kind, at, data, prev_hash, hash)
SELECT $1::text, $2::int, $3::text, $4::text, $5::text, $6::timestamptz, $7::json, prev.hash,
       encode(sha256(convert_to(prev.hash || $8::text, 'UTF8')), 'hex')
  FROM (SELECT CASE WHEN $2::int = 1 THEN '${GENESIS_HASH}'
                    ELSE (SELECT p.hash FROM ledger_events p WHERE p.action_id = $1::text AND p.seq = $2::int - 1) END AS hash) prev
 WHERE prev.hash IS NOT NULL
ON CONFLICT (action_id, seq) DO NOTHING
RETURNING prev_hash, hash`;

// Why nothing was inserted: the row already there (if any), and whether seq-1 exists. A new
// statement, so it also sees a concurrent writer's row that ON CONFLICT waited for.
const NOT_INSERTED_SQL = `
SELECT e.prev_hash, e.hash,
       ($2::int = 1 OR EXISTS (SELECT 1 FROM ledger_events p WHERE p.action_id = $1::text AND p.seq = $2::int - 1)) AS has_prev
  FROM (SELECT 1) one
  LEFT JOIN ledger_events e ON e.action_id = $1::text AND e.seq = $2::int`;

/**
 * Append one event to its action's chain. Idempotent on (actionId, seq): the identical
 * event again returns the stored one with `inserted: false`; a different event there throws
 * {@link LedgerConflictError}; a missing seq-1 throws the retryable {@link LedgerGapError}.
 * Works on a pool (autocommit) or on the caller's client inside BEGIN … COMMIT; the
 * refusals are raised after successful statements, so they leave that transaction usable.
 */
export async function appendEvent(db: LedgerDb, ev: AppendEventInput): Promise<AppendEventResult> {
  const { bodyJson, dataJson, at } = prepareEvent(ev);
  const { rows } = await query<{ prev_hash: string; hash: string }>(db, {
    name: 'countersign_ledger_append_v2',
    text: APPEND_SQL,
    values: [ev.actionId, ev.seq, ev.type, ev.actor.id, ev.actor.kind, at, dataJson, bodyJson],
  });
  const inserted = rows[0];
  if (inserted) {
    if (chainHash(inserted.prev_hash, bodyJson) !== inserted.hash) {
      throw new LedgerIntegrityError(`Postgres hashed event ${ev.seq} of ${ev.actionId} differently (${inserted.hash})`);
    }
    return { seq: ev.seq, hash: inserted.hash, prevHash: inserted.prev_hash, inserted: true };
  }
  const why = await query<{ prev_hash: string | null; hash: string | null; has_prev: boolean }>(db, {
    name: 'countersign_ledger_not_inserted_v1',
    text: NOT_INSERTED_SQL,
    values: [ev.actionId, ev.seq],
  });
  // One row always (LEFT JOIN from a single row); hash is null when nothing is at that seq.
  const existing = why.rows[0]!;
  if (existing.hash === null || existing.prev_hash === null) {
    if (!existing.has_prev) throw new LedgerGapError(ev.actionId, ev.seq);
    // seq-1 is there but so was a row at seq for ON CONFLICT, invisible now: a concurrent
    // writer's transaction that has not committed (or rolled back) yet.
    throw new LedgerConcurrentWriteError(ev.actionId, ev.seq);
  }
  if (chainHash(existing.prev_hash, bodyJson) !== existing.hash) throw new LedgerConflictError(ev.actionId, ev.seq, existing.hash);
  return { seq: ev.seq, hash: existing.hash, prevHash: existing.prev_hash, inserted: false };
}

// A run of consecutive events of one action in one statement, linked to the head the caller
// knows: the hashes are computed here, and the rows go in only if seq-1 is stored with
// exactly that hash (or the run starts the chain from genesis) and none of the seqs is taken.
// Without ON CONFLICT, a concurrent writer of the same seqs makes the whole statement fail on
// the primary key instead of half-inserting a run.
const APPEND_BATCH_SQL = `
INSERT INTO ledger_events (action_id, seq, type, actor_id, actor_kind, at, data, prev_hash, hash)
SELECT $1::text, $2::int + n.i::int - 1, n.type, n.actor_id, n.actor_kind, n.at, n.data::json, n.prev_hash, n.hash
  FROM unnest($3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::text[], $8::text[], $9::text[])
       WITH ORDINALITY AS n(type, actor_id, actor_kind, at, data, prev_hash, hash, i)
 WHERE (CASE WHEN $2::int = 1 THEN $10::text = '${GENESIS_HASH}'
             ELSE EXISTS (SELECT 1 FROM ledger_events p WHERE p.action_id = $1::text AND p.seq = $2::int - 1 AND p.hash = $10::text) END)
   AND NOT EXISTS (SELECT 1 FROM ledger_events e
                    WHERE e.action_id = $1::text AND e.seq >= $2::int AND e.seq < $2::int + cardinality($3::text[]))
RETURNING seq`;

/** Parameters of {@link APPEND_BATCH_SQL}. */
const APPEND_BATCH_PARAMS = 10;

/**
 * A statement (e.g. updating a read model) that {@link appendEventBatch} runs in the same SQL
 * statement as the batch: both or neither. It must read the CTE `appended` (the inserted seqs),
 * e.g. `… WHERE … AND EXISTS (SELECT 1 FROM appended)`, to take effect only when the batch went
 * in, and return rows (RETURNING, or a SELECT): the combined statement counts them, which is
 * what makes Postgres evaluate a SELECT in a CTE at all.
 */
export interface AlongsideStatement {
  /** Prepared-statement name: one per distinct text. */
  name: string;
  /** The SQL, given the placeholder of its i-th (1-based) value. */
  text: (param: (i: number) => string) => string;
  values: unknown[];
}

/**
 * Append a run of consecutive events of one action (seqs k, k+1, …) in one statement — a
 * workflow task's batch — given `prevHash`, the hash of event k-1 as the caller knows it
 * ({@link GENESIS_HASH} when k = 1). Returns the stored events when the whole run went in, or
 * `null` when nothing was inserted: some of those seqs are already there, or event k-1 is
 * missing or has another hash. Then append them one by one with {@link appendEvent}, which
 * tells the retry, the conflict and the gap apart. A concurrent writer of the same seqs makes
 * the statement fail (the retryable {@link LedgerConcurrentWriteError}); inside a transaction,
 * that aborts it. With `alongside`, that statement runs in the same SQL statement (see
 * {@link AlongsideStatement}).
 */
export async function appendEventBatch(
  db: LedgerDb,
  events: readonly AppendEventInput[],
  prevHash: string,
  alongside?: AlongsideStatement,
): Promise<AppendEventResult[] | null> {
  if (events.length === 0) return [];
  const first = events[0]!;
  let prev = prevHash;
  const results: AppendEventResult[] = [];
  const prepared = events.map((ev, i) => {
    if (ev.actionId !== first.actionId || ev.seq !== first.seq + i) {
      throw new InvalidLedgerEventError(`a batch must be consecutive events of one action: event ${i} is ${ev.actionId} #${ev.seq}`);
    }
    const p = prepareEvent(ev);
    const hash = chainHash(prev, p.bodyJson);
    results.push({ seq: ev.seq, hash, prevHash: prev, inserted: true });
    prev = hash;
    return p;
  });
  let rowCount: number;
  try {
    const statement = alongside
      ? {
          name: alongside.name,
          // Both in one statement: atomic without a transaction, and one round trip. The
          // alongside statement reads `appended` to run only when the batch went in.
          text: `WITH appended AS (${APPEND_BATCH_SQL}), alongside AS (${alongside.text((i) => `$${APPEND_BATCH_PARAMS + i}`)})
                 SELECT (SELECT count(*) FROM appended)::int AS appended, (SELECT count(*) FROM alongside)::int AS alongside`,
        }
      : { name: 'countersign_ledger_append_batch_v2', text: APPEND_BATCH_SQL };
    const result = await query<{ appended: number }>(db, {
      ...statement,
      values: [
        first.actionId,
        first.seq,
        events.map((e) => e.type),
        events.map((e) => e.actor.id),
        events.map((e) => e.actor.kind),
        prepared.map((p) => p.at),
        prepared.map((p) => p.dataJson),
        results.map((r) => r.prevHash),
        results.map((r) => r.hash),
        prevHash,
        ...(alongside?.values ?? []),
      ],
    });
    rowCount = alongside ? result.rows[0]!.appended : (result.rowCount ?? 0);
  } catch (err) {
    if ((err as { code?: string }).code === '23505') {
      throw new LedgerConcurrentWriteError(first.actionId, first.seq, `events ${first.seq}–${first.seq + events.length - 1} of action ${first.actionId} were written by a concurrent transaction; retry`);
    }
    throw err;
  }
  if (rowCount === 0) return null;
  if (rowCount !== events.length) {
    throw new LedgerIntegrityError(`Postgres inserted ${rowCount} of ${events.length} events of ${first.actionId} from seq ${first.seq}`);
  }
  return results;
}

function prepareEvent(ev: AppendEventInput): { bodyJson: string; dataJson: string; at: string } {
  if (typeof ev.actionId !== 'string' || ev.actionId.length === 0) throw new InvalidLedgerEventError('actionId must be a non-empty string');
  if (!Number.isInteger(ev.seq) || ev.seq < 1 || ev.seq > 2_147_483_647) throw new InvalidLedgerEventError(`seq must be a positive integer, got ${ev.seq}`);
  if (!isLedgerEventType(ev.type)) throw new InvalidLedgerEventError(`unknown ledger event type ${JSON.stringify(ev.type)}`);
  if (!ev.actor || typeof ev.actor.id !== 'string' || !isLedgerActorKind(ev.actor.kind)) {
    throw new InvalidLedgerEventError('actor must be { id: string, kind: "agent" | "human" | "system" }');
  }
  if (ev.data === undefined) throw new InvalidLedgerEventError('data is undefined (use {} or null)');
  let at: string;
  let dataJson: string;
  try {
    at = normalizeEventTime(ev.at);
    dataJson = canonicalJsonFast(ev.data);
  } catch (err) {
    throw new InvalidLedgerEventError((err as Error).message);
  }
  const body = { actionId: ev.actionId, seq: ev.seq, type: ev.type, at, actor: { id: ev.actor.id, kind: ev.actor.kind }, data: null };
  return { bodyJson: eventBodyJson(body, dataJson), dataJson, at };
}

// `at` as the exact ISO string that was hashed (microseconds kept, so a sub-millisecond
// edit does not hide behind Date's millisecond precision) and `data` as its stored text.
const EVENT_COLUMNS = `action_id, seq, type, actor_id, actor_kind,
  to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS at_text, data::text AS data_json, prev_hash, hash`;

interface EventRow {
  action_id: string;
  seq: number;
  type: string;
  actor_id: string;
  actor_kind: string;
  at_text: string;
  data_json: string;
  prev_hash: string;
  hash: string;
}

/** Postgres microsecond text -> the ISO millisecond form `Date#toISOString` gives. */
function isoFromPg(text: string): string {
  return text.endsWith('000') ? `${text.slice(0, -3)}Z` : `${text}Z`;
}

function eventFromRow(row: EventRow): LedgerEvent {
  return {
    actionId: row.action_id,
    seq: row.seq,
    type: row.type as LedgerEventType,
    at: isoFromPg(row.at_text),
    actor: { id: row.actor_id, kind: row.actor_kind as LedgerActor['kind'] },
    data: JSON.parse(row.data_json) as unknown,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

/** All events of an action, in seq order (empty when none). */
export async function readActionEvents(db: LedgerDb, actionId: string): Promise<LedgerEvent[]> {
  const { rows } = await query<EventRow>(db, {
    name: 'countersign_ledger_read_action_v1',
    text: `SELECT ${EVENT_COLUMNS} FROM ledger_events WHERE action_id = $1 ORDER BY seq`,
    values: [actionId],
  });
  return rows.map(eventFromRow);
}

/** The last event of an action's chain, or null when it has none. */
export async function readActionHead(db: LedgerDb, actionId: string): Promise<{ seq: number; hash: string } | null> {
  const { rows } = await query<{ seq: number; hash: string }>(
    db,
    'SELECT seq, hash FROM ledger_events WHERE action_id = $1 ORDER BY seq DESC LIMIT 1',
    [actionId],
  );
  return rows[0] ?? null;
}

// ---------------------------------------------------------------------------------------
// Checkpoints

/** A signed checkpoint over the heads of the chains written since the previous one. */
export interface LedgerCheckpoint {
  seq: number;
  at: string;
  /** Heads covered, sorted by actionId (UTF-16 code units). */
  covers: ChainHead[];
  headCount: number;
  /** RFC 6962 Merkle root of `covers` (ledger/merkle.ts). */
  headsRoot: string;
  /** Highest `global_seq` among the covered events. */
  throughGlobalSeq: number;
  /** Transaction horizon (xid8 as text): every transaction below it had finished. */
  horizon: string;
  prevHash: string;
  hash: string;
  keyId: string;
  /** Base64 Ed25519 over the UTF-8 bytes of `hash`. */
  signature: string;
}

/** The part of a checkpoint that is hashed: everything except links, covers (via headsRoot) and signature. */
export type CheckpointHeader = Omit<LedgerCheckpoint, 'covers' | 'prevHash' | 'hash' | 'signature'>;

/**
 * `hash = sha256hex(prevHash + canonicalJson({ seq, at, headCount, headsRoot,
 * throughGlobalSeq, horizon, keyId }))`; the signature is Ed25519 over the hash's UTF-8 bytes.
 */
export function checkpointHash(prevHash: string, header: CheckpointHeader): string {
  const { seq, at, headCount, headsRoot: root, throughGlobalSeq, horizon, keyId } = header;
  return chainHash(prevHash, canonicalJson({ seq, at, headCount, headsRoot: root, throughGlobalSeq, horizon, keyId }));
}

/** Order of `covers`: by actionId in UTF-16 code units (JS string order, not a DB collation). */
function byActionId(a: { actionId: string }, b: { actionId: string }): number {
  return a.actionId < b.actionId ? -1 : a.actionId > b.actionId ? 1 : 0;
}

const CHECKPOINT_COLUMNS = `seq, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS at_text, covers,
  head_count, heads_root, through_global_seq, horizon::text AS horizon, prev_hash, hash, key_id, signature`;

interface CheckpointRow {
  seq: string;
  at_text: string;
  covers: ChainHead[];
  head_count: number;
  heads_root: string;
  through_global_seq: string;
  horizon: string;
  prev_hash: string;
  hash: string;
  key_id: string;
  signature: string;
}

function checkpointFromRow(r: CheckpointRow): LedgerCheckpoint {
  return {
    seq: Number(r.seq),
    at: isoFromPg(r.at_text),
    covers: r.covers,
    headCount: r.head_count,
    headsRoot: r.heads_root,
    throughGlobalSeq: Number(r.through_global_seq),
    horizon: r.horizon,
    prevHash: r.prev_hash,
    hash: r.hash,
    keyId: r.key_id,
    signature: r.signature,
  };
}

/**
 * Write a signed checkpoint over the heads of the chains written since the previous
 * checkpoint, chained to it (like CloudTrail digest files). Returns null when nothing new.
 *
 * "Written since" is decided by transaction id, not by `global_seq`: a checkpoint covers the
 * events of transactions with id in [previous horizon, own horizon), where the horizon is
 * the oldest transaction still running. Every such transaction has finished, so an event
 * committed late (with a lower global_seq) is never skipped, and none is covered twice.
 * Concurrent callers are safe: one wins the next seq, the others retry and usually find
 * nothing new. Needs no transaction of its own.
 */
export async function writeCheckpoint(db: LedgerDb, signer: LedgerSigner, opts: { now?: Date } = {}): Promise<LedgerCheckpoint | null> {
  await registerSigningKey(db, signer);
  for (let attempt = 0; attempt < 5; attempt++) {
    const prevRow = (await query<CheckpointRow>(db, `SELECT ${CHECKPOINT_COLUMNS} FROM ledger_checkpoints ORDER BY seq DESC LIMIT 1`)).rows[0];
    const prev = prevRow ? checkpointFromRow(prevRow) : null;
    const { rows: hz } = await query<{ horizon: string; now: string }>(
      db,
      `SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS horizon, to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS now`,
    );
    const horizon = hz[0]!.horizon;
    // The database's clock, not this process's (workers on several hosts disagree), and never
    // before the previous checkpoint: verification requires them in time order.
    const dbNow = hz[0]!.now;
    const at = opts.now ? normalizeEventTime(opts.now) : prev && prev.at > dbNow ? prev.at : dbNow;
    const { rows: headRows } = await query<{ action_id: string; seq: number; hash: string; global_seq: string }>(
      db,
      `SELECT DISTINCT ON (action_id) action_id, seq, hash, global_seq FROM ledger_events
        WHERE tx_id >= $1::xid8 AND tx_id < $2::xid8 ORDER BY action_id, seq DESC`,
      [prev?.horizon ?? '0', horizon],
    );
    if (headRows.length === 0) return null;
    const covers: ChainHead[] = headRows.map((r) => ({ actionId: r.action_id, seq: r.seq, hash: r.hash })).sort(byActionId);
    const header: CheckpointHeader = {
      seq: (prev?.seq ?? 0) + 1,
      at,
      headCount: covers.length,
      headsRoot: headsRoot(covers),
      throughGlobalSeq: headRows.reduce((max, r) => Math.max(max, Number(r.global_seq)), 0),
      horizon,
      keyId: signer.keyId,
    };
    const prevHash = prev?.hash ?? GENESIS_HASH;
    const hash = checkpointHash(prevHash, header);
    const signature = signer.sign(hash);
    const { rowCount } = await query(
      db,
      `INSERT INTO ledger_checkpoints (seq, at, covers, head_count, heads_root, through_global_seq, horizon, prev_hash, hash, key_id, signature)
       VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7::xid8, $8, $9, $10, $11) ON CONFLICT (seq) DO NOTHING`,
      [header.seq, header.at, JSON.stringify(covers), header.headCount, header.headsRoot, header.throughGlobalSeq, horizon, prevHash, hash, signer.keyId, signature],
    );
    if (rowCount === 1) return { ...header, covers, prevHash, hash, signature };
    // Another process wrote this seq first: start over from its checkpoint.
  }
  throw new LedgerConcurrentWriteError('', 0, 'concurrent checkpoint writers kept taking the next seq; retry');
}

/** The latest checkpoint covering a head of `actionId`, or null. */
export async function readCheckpointFor(db: LedgerDb, actionId: string): Promise<LedgerCheckpoint | null> {
  const { rows } = await query<CheckpointRow>(
    db,
    `SELECT ${CHECKPOINT_COLUMNS} FROM ledger_checkpoints WHERE covers @> $1::jsonb ORDER BY seq DESC LIMIT 1`,
    [JSON.stringify([{ actionId }])],
  );
  return rows[0] ? checkpointFromRow(rows[0]) : null;
}

/**
 * Copy to each witness the checkpoints it does not hold yet (those above its last seq), in order.
 * A witness that fails is reported, not thrown: the next sync starts again from what it holds.
 * @returns per witness, how many it was sent, or why not
 */
export async function syncWitnesses(db: LedgerDb, witnesses: readonly CheckpointWitness[]): Promise<Array<{ witness: string; sent: number; error?: string }>> {
  const out: Array<{ witness: string; sent: number; error?: string }> = [];
  for (const w of witnesses) {
    let sent = 0;
    try {
      let after = await w.lastSeq();
      for (;;) {
        const { rows } = await query<CheckpointRow>(db, `SELECT ${CHECKPOINT_COLUMNS} FROM ledger_checkpoints WHERE seq > $1 ORDER BY seq LIMIT 500`, [after]);
        if (rows.length === 0) break;
        const batch = rows.map((r) => witnessCopy(checkpointFromRow(r)));
        await w.append(batch);
        sent += batch.length;
        after = batch[batch.length - 1]!.seq;
      }
      const { rows } = await query<{ max: string | null }>(db, 'SELECT max(seq)::text AS max FROM ledger_checkpoints');
      const inDb = Number(rows[0]?.max ?? 0);
      if (inDb < after) out.push({ witness: w.name, sent, error: `the witness holds checkpoint ${after} but the database only goes up to ${inDb}: checkpoints were deleted` });
      else out.push({ witness: w.name, sent });
    } catch (err) {
      out.push({ witness: w.name, sent, error: (err as Error).message });
    }
  }
  return out;
}

/**
 * Check one checkpoint on its own: links, order of covers, Merkle root, hash and a trusted
 * signature. (Whether its heads are still in the ledger is checked by {@link verifyLedger}.)
 * @returns null when it holds, otherwise why not
 */
export function checkCheckpoint(cp: LedgerCheckpoint, prevHash: string, trustedKeys: readonly TrustedKey[]): string | null {
  if (cp.prevHash !== prevHash) return `checkpoint ${cp.seq} prevHash does not link to the previous checkpoint`;
  if (!Array.isArray(cp.covers) || cp.covers.length !== cp.headCount) return `checkpoint ${cp.seq} covers ${cp.covers?.length} heads, not ${cp.headCount}`;
  for (let i = 1; i < cp.covers.length; i++) {
    if (byActionId(cp.covers[i - 1]!, cp.covers[i]!) >= 0) return `checkpoint ${cp.seq} covers are not sorted by actionId`;
  }
  if (headsRoot(cp.covers) !== cp.headsRoot) return `checkpoint ${cp.seq} headsRoot does not match its covers (altered)`;
  if (checkpointHash(cp.prevHash, cp) !== cp.hash) return `checkpoint ${cp.seq} hash does not match its content (altered)`;
  const bad = checkSignature(trustedKeys, cp.keyId, cp.hash, cp.signature) ?? keyWindowRefusal(trustedKeys, cp.keyId, cp.at);
  return bad ? `checkpoint ${cp.seq}: ${bad}` : null;
}

// ---------------------------------------------------------------------------------------
// Verification

/** Outcome of {@link verifyLedger}. */
export interface LedgerVerification {
  ok: boolean;
  /** Events verified (before the first failure). */
  events: number;
  /** Action chains verified. */
  chains: number;
  /** Checkpoints verified. */
  checkpoints: number;
  /** With `actionId`: the first event that does not verify. */
  firstBadSeq?: number;
  actionId?: string;
  /** The first checkpoint that does not verify. */
  checkpointSeq?: number;
  reason?: string;
  /**
   * Actions stopped because Postgres refused one of their writes permanently, not yet
   * acknowledged (ledger/action-faults.ts). Not part of `ok`: `ok` says the recorded evidence
   * is intact, and a fault is evidence that could not be recorded, which no chain shows.
   */
  faults: ActionFault[];
}

/** Options of {@link verifyLedger}. */
export interface VerifyLedgerOptions {
  batchSize?: number;
  /**
   * Checkpoints must keep up: an event recorded before this time that no checkpoint covers yet
   * fails verification (checkpoints stopped, or are held back). Undefined: see
   * {@link checkpointIntervalSeconds}; neither: not checked.
   */
  coveredBefore?: Date;
  /**
   * The checkpoint interval: events recorded more than two intervals plus a minute (the
   * checkpoint activity's timeout) ago, by the database's clock, must be covered.
   */
  checkpointIntervalSeconds?: number;
  /**
   * Copies of the checkpoints kept outside Postgres: each one a witness holds must be in the
   * database, unchanged (a deleted or rewritten checkpoint is caught here).
   */
  witnesses?: readonly CheckpointWitness[];
}

/**
 * Verify the whole ledger, streaming (keyset batches of `batchSize` rows): every action's
 * chain (content hashes, links, no gaps), then every checkpoint (chain of checkpoints,
 * Merkle root, signature by a key in `trustedKeys`, and each covered head still present
 * with the same hash — which also catches a chain whose tail was cut off or rewritten).
 * Stops at the first failure. Also lists the open action faults (`faults`), whatever `ok` is.
 */
export async function verifyLedger(
  db: LedgerDb,
  trustedKeys: readonly TrustedKey[],
  opts: VerifyLedgerOptions = {},
): Promise<LedgerVerification> {
  const [faults, integrity] = await Promise.all([openFaults(db), verifyIntegrity(db, trustedKeys, opts)]);
  return { ...integrity, faults };
}

// A database the running version has not migrated yet (e.g. the CLI pointed at it first) has no
// fault table, and so no faults.
async function openFaults(db: LedgerDb): Promise<ActionFault[]> {
  try {
    return await listActionFaults(db);
  } catch (err) {
    if ((err as { code?: string }).code === '42P01') return [];
    throw err;
  }
}

async function verifyIntegrity(
  db: LedgerDb,
  trustedKeys: readonly TrustedKey[],
  opts: VerifyLedgerOptions,
): Promise<Omit<LedgerVerification, 'faults'>> {
  const batchSize = opts.batchSize ?? 5000;
  // Which events must be covered is decided by transaction id, which the application role cannot
  // set and which decides what the checkpointer looks at: every event of a transaction below the
  // newest checkpoint's horizon was in some checkpoint's range, so a chain head past the covered
  // one there was written afterwards, under a chosen id. An id at or past the database's next one
  // cannot have been assigned at all. Checked against the newest checkpoint once it is verified.
  const { rows: clock } = await query<{ horizon: string | null; xmax: string; cutoff: string | null }>(
    db,
    `SELECT (SELECT horizon::text FROM ledger_checkpoints ORDER BY seq DESC LIMIT 1) AS horizon,
            pg_snapshot_xmax(pg_current_snapshot())::text AS xmax,
            to_char(COALESCE($1::timestamptz, clock_timestamp() - make_interval(secs => $2::double precision)) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS cutoff`,
    [opts.coveredBefore?.toISOString() ?? null, opts.checkpointIntervalSeconds === undefined ? null : 2 * opts.checkpointIntervalSeconds + 60],
  );
  const horizon = clock[0]!.horizon;
  const xmax = clock[0]!.xmax;
  const cutoff = opts.coveredBefore || opts.checkpointIntervalSeconds !== undefined ? clock[0]!.cutoff : null;
  // Per chain, the highest seq below the horizon, and the highest recorded before the cut-off.
  const belowHorizon = new Map<string, number>();
  const beforeCutoff = new Map<string, number>();
  let events = 0;
  let chains = 0;
  let verifier: ChainVerifier | null = null;
  let currentAction: string | null = null;
  const fail = (v: ChainVerifier, actionId: string): Omit<LedgerVerification, 'faults'> => {
    const r = v.result();
    return { ok: false, events: events + r.events, chains, checkpoints: 0, firstBadSeq: r.firstBadSeq, actionId, reason: r.reason };
  };
  // The next batch is read while this one is verified.
  type Row = EventRow & { below: boolean | null; future: boolean; old: boolean | null; tx: string };
  const extra = (p: number) => `, tx_id < $${p}::xid8 AS below, tx_id >= $${p + 1}::xid8 AS future, recorded_at < $${p + 2}::timestamptz AS old, tx_id::text AS tx`;
  const fetchBatch = (after: [string, number] | null): Promise<Row[]> =>
    query<Row>(
      db,
      after
        ? `SELECT ${EVENT_COLUMNS}${extra(3)} FROM ledger_events WHERE (action_id, seq) > ($1, $2) ORDER BY action_id, seq LIMIT ${batchSize}`
        : `SELECT ${EVENT_COLUMNS}${extra(1)} FROM ledger_events ORDER BY action_id, seq LIMIT ${batchSize}`,
      [...(after ?? []), horizon, xmax, cutoff],
    ).then((r) => r.rows);
  let pending: Promise<Row[]> | null = fetchBatch(null);
  while (pending) {
    const rows: Row[] = await pending;
    const last = rows.length === batchSize ? rows[rows.length - 1]! : null;
    pending = last ? fetchBatch([last.action_id, last.seq]) : null;
    for (const row of rows) {
      if (row.action_id !== currentAction) {
        if (verifier) {
          events += verifier.result().events;
          chains++;
        }
        verifier = new ChainVerifier(row.action_id);
        currentAction = row.action_id;
      }
      const event = eventFromRowLazy(row);
      if (!verifier!.push(event, row.data_json)) {
        pending?.catch(() => {});
        return fail(verifier!, row.action_id);
      }
      if (row.future) {
        pending?.catch(() => {});
        return {
          ok: false,
          events,
          chains,
          checkpoints: 0,
          actionId: row.action_id,
          firstBadSeq: row.seq,
          reason: `event ${row.seq} of ${row.action_id} carries transaction id ${row.tx}, which the database has not assigned yet (next is ${xmax}): it was written with a chosen id`,
        };
      }
      if (row.below) belowHorizon.set(row.action_id, row.seq);
      else if (row.old) beforeCutoff.set(row.action_id, row.seq);
    }
  }
  if (verifier) {
    events += verifier.result().events;
    chains++;
  }

  let checkpoints = 0;
  let prevHash = GENESIS_HASH;
  let prevAt = '';
  let afterSeq = 0;
  // Per chain, the highest seq a checkpoint covers; per checkpoint, its hash (for the witnesses).
  const covered = new Map<string, number>();
  const hashes = new Map<number, string>();
  const ckBatch = Math.max(1, Math.floor(batchSize / 100));
  for (;;) {
    const { rows } = await query<CheckpointRow>(
      db,
      `SELECT ${CHECKPOINT_COLUMNS} FROM ledger_checkpoints WHERE seq > $1 ORDER BY seq LIMIT ${ckBatch}`,
      [afterSeq],
    );
    for (const row of rows) {
      const cp = checkpointFromRow(row);
      const failCp = (reason: string): Omit<LedgerVerification, 'faults'> => ({ ok: false, events, chains, checkpoints, checkpointSeq: cp.seq, reason });
      if (cp.seq !== checkpoints + 1) return failCp(`checkpoint ${checkpoints + 1} is missing (next is ${cp.seq})`);
      const bad = checkCheckpoint(cp, prevHash, trustedKeys);
      if (bad) return failCp(bad);
      // Checkpoints are written in time order; one dated before its predecessor was made later, by someone else.
      if (cp.at < prevAt) return failCp(`checkpoint ${cp.seq} is dated ${cp.at}, before checkpoint ${cp.seq - 1} (${prevAt})`);
      const missing = await findMissingHeads(db, cp.covers, batchSize);
      if (missing) {
        return { ...failCp(`checkpoint ${cp.seq} covers event ${missing.seq} of ${missing.actionId} with hash ${missing.hash}, but the ledger ${missing.found ? `has ${missing.found}` : 'has no such event'}`), actionId: missing.actionId, firstBadSeq: missing.seq };
      }
      prevHash = cp.hash;
      prevAt = cp.at;
      hashes.set(cp.seq, cp.hash);
      for (const c of cp.covers) if ((covered.get(c.actionId) ?? 0) < c.seq) covered.set(c.actionId, c.seq);
      checkpoints++;
    }
    if (rows.length < ckBatch) break;
    afterSeq = Number(rows[rows.length - 1]!.seq);
  }

  const uncovered = (seqs: Map<string, number>, why: (seq: number, actionId: string) => string): Omit<LedgerVerification, 'faults'> | undefined => {
    for (const [actionId, seq] of seqs) {
      const through = covered.get(actionId) ?? 0;
      if (through < seq) return { ok: false, events, chains, checkpoints, actionId, firstBadSeq: through + 1, reason: why(through + 1, actionId) };
    }
    return undefined;
  };
  const inserted = uncovered(
    belowHorizon,
    (seq, actionId) =>
      `event ${seq} of ${actionId} belongs to a transaction below the newest checkpoint's horizon (${horizon}), yet no signed checkpoint covers it: it was written afterwards, where the checkpointer does not look`,
  );
  if (inserted) return inserted;
  const behind = uncovered(
    beforeCutoff,
    (seq, actionId) =>
      `event ${seq} of ${actionId} was recorded before ${cutoff} and no signed checkpoint covers it yet: checkpoints are behind (stopped, or held back by a long transaction); run countersign ledger checkpoint and verify again`,
  );
  if (behind) return behind;

  for (const w of opts.witnesses ?? []) {
    for (const copy of await w.readAll()) {
      const inDb = hashes.get(copy.seq);
      const failW = (reason: string): Omit<LedgerVerification, 'faults'> => ({ ok: false, events, chains, checkpoints, checkpointSeq: copy.seq, reason });
      if (inDb === undefined) return failW(`checkpoint ${copy.seq} is in the witness ${w.name} but not in the database: checkpoints were deleted (the ledger was truncated or rewritten)`);
      if (inDb !== copy.hash) return failW(`checkpoint ${copy.seq} in the database differs from the witness ${w.name}'s copy: it was rewritten`);
    }
  }
  return { ok: true, events, chains, checkpoints };
}

// Verification only needs the fields that are hashed; data stays as text (dataJson).
function eventFromRowLazy(row: EventRow): LedgerEvent {
  return {
    actionId: row.action_id,
    seq: row.seq,
    type: row.type as LedgerEventType,
    at: isoFromPg(row.at_text),
    actor: { id: row.actor_id, kind: row.actor_kind as LedgerActor['kind'] },
    data: undefined,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

async function findMissingHeads(
  db: LedgerDb,
  covers: readonly ChainHead[],
  chunk: number,
): Promise<(ChainHead & { found: string | null }) | null> {
  for (let i = 0; i < covers.length; i += chunk) {
    const part = covers.slice(i, i + chunk);
    const { rows } = await query<{ action_id: string; seq: number; hash: string }>(
      db,
      `SELECT e.action_id, e.seq, e.hash FROM unnest($1::text[], $2::int[]) AS c(action_id, seq)
         JOIN ledger_events e ON e.action_id = c.action_id AND e.seq = c.seq`,
      [part.map((c) => c.actionId), part.map((c) => c.seq)],
    );
    const found = new Map(rows.map((r) => [`${r.seq}\u0000${r.action_id}`, r.hash]));
    for (const c of part) {
      const hash = found.get(`${c.seq}\u0000${c.actionId}`) ?? null;
      if (hash !== c.hash) return { ...c, found: hash };
    }
  }
  return null;
}

