/**
 * Checks every fault case ends with: the action's evidence (as the API exports it) verifies
 * against the data dir's keys, its events are seq 1..n with no gap or duplicate, and the read
 * model points at the last one.
 */
import { expect } from 'vitest';
import { verifyEvidenceBundle } from '../../ledger/evidence';
import { trustedPublicKeys } from '../../ledger/signing';
import type { FaultStack } from '../helpers/processes';

/** One ledger event as the evidence bundle carries it. */
export interface EvidenceEvent {
  seq: number;
  type: string;
  data: any;
  actor: { id: string; kind: string };
}

/** Assert the action's ledger is whole and verifies; returns its events. */
export async function expectSoundLedger(stack: FaultStack, actionId: string): Promise<EvidenceEvent[]> {
  const evidence = await stack.call(stack.admin, 'GET', `/v1/actions/${actionId}/evidence`);
  expect(evidence.status, `evidence of ${actionId}`).toBe(200);
  const verdict = verifyEvidenceBundle(evidence.body, trustedPublicKeys(stack.dataDir));
  expect(verdict, `evidence of ${actionId} verifies`).toMatchObject({ ok: true });
  const events = evidence.body.events as EvidenceEvent[];
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));

  const { rows } = await stack.pool.query<{ seqs: number; distinct_seqs: number; max_seq: number; last_seq: number }>(
    `SELECT count(*)::int AS seqs, count(DISTINCT e.seq)::int AS distinct_seqs, max(e.seq)::int AS max_seq, a.last_seq
       FROM actions a JOIN ledger_events e ON e.action_id = a.id
      WHERE a.id = $1 GROUP BY a.last_seq`,
    [actionId],
  );
  expect(rows[0], `ledger rows of ${actionId}`).toEqual({ seqs: events.length, distinct_seqs: events.length, max_seq: events.length, last_seq: events.length });
  return events;
}

/**
 * Long-poll the action until its status is none of `transient` (default: evaluating, executing),
 * for at most `ms`. Returns the last view either way, so a stuck action fails the test with
 * its status rather than with a timeout.
 */
export async function settledView(stack: FaultStack, token: string, actionId: string, ms: number, transient = ['evaluating', 'executing']): Promise<any> {
  const deadline = Date.now() + ms;
  let view: any;
  for (;;) {
    const wait = Math.max(1, Math.min(20, Math.floor((deadline - Date.now()) / 1000)));
    const r = await stack.call(token, 'GET', `/v1/actions/${actionId}?wait=${wait}${transient.length === 1 ? `&since=${transient[0]}` : ''}`).catch(() => undefined);
    if (r?.status === 200) view = r.body;
    if (view && !transient.includes(view.status)) return view;
    if (Date.now() >= deadline) return view;
    if (r?.status !== 200) await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Event types in order. */
export const typesOf = (events: EvidenceEvent[]) => events.map((e) => e.type);
