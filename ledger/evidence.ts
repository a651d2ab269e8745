/**
 * Evidence bundles: one action's whole chain, signed, verifiable offline by an auditor who
 * holds only the Countersign public key(s) — and exports of many bundles with a signed manifest.
 *
 * Bundle signature (Ed25519, base64) over the UTF-8 bytes of
 *
 *   canonicalJson({ kind: "countersign.evidence-bundle.v1", actionId, workflowId, runId,
 *                   policyVersion, head: { seq, hash }, eventCount, keyId })
 *
 * The events themselves are covered through `head`: the hash chain ties every event to it.
 * `links` and the embedded `publicKey` are conveniences outside the signature; verification
 * trusts only the keys it is given, never the embedded one.
 */
import { createHash } from 'node:crypto';
import type { Pool } from 'pg';
import { canonicalJson } from '../domain/canonical-json';
import { ActionRepository } from './action-repository';
import { ChainVerifier, normalizeEventTime, type LedgerActor, type LedgerEvent, type LedgerEventType } from './chain';
import { headProof, verifyHeadProof, type ChainHead } from './merkle';
import { SIGNATURE_ALG, checkSignature, keyIdOf, parsePublicKey, type LedgerSigner, type TrustedKey } from './signing';
import {
  LedgerNotFoundError,
  checkpointHash,
  readActionEvents,
  readCheckpointFor,
  type LedgerCheckpoint,
  type LedgerDb,
} from './store';

/** An event as it appears in a bundle (the bundle's actionId applies to all). */
export interface BundleEvent {
  seq: number;
  type: LedgerEventType;
  at: string;
  actor: LedgerActor;
  data: unknown;
  prevHash: string;
  hash: string;
}

/**
 * The latest ledger checkpoint that anchored a head of this action: the checkpoint's signed
 * header plus a Merkle audit path from the action's covered head to `headsRoot`.
 */
export interface BundleCheckpoint extends Omit<LedgerCheckpoint, 'covers'> {
  /** The head of this action the checkpoint covered (may be older than the bundle's head). */
  cover: ChainHead;
  /** Position of `cover` among the checkpoint's heads, and its audit path (hex, bottom-up). */
  index: number;
  proof: string[];
}

/** Signature block of bundles and manifests. */
export interface EvidenceSignature {
  alg: typeof SIGNATURE_ALG;
  keyId: string;
  /** Base64 Ed25519 signature. */
  value: string;
}

/** The evidence bundle (docs/api.md, "Evidence bundles"). */
export interface EvidenceBundle {
  actionId: string;
  workflowId: string;
  runId: string | null;
  policyVersion: string;
  events: BundleEvent[];
  head: { seq: number; hash: string };
  checkpoint?: BundleCheckpoint;
  signature: EvidenceSignature;
  /** SPKI PEM of the signing key, for convenience only (not a trust anchor). */
  publicKey: string;
  links?: { temporalUi?: string };
}

/** What the caller knows about the action beyond the ledger. */
export interface EvidenceExtra {
  workflowId: string;
  runId?: string | null;
  policyVersion: string;
  /** Full URL of the workflow in the Temporal Web UI, copied into `links.temporalUi`. */
  temporalUiUrl?: string;
}

/** Outcome of verifying a bundle. */
export interface EvidenceVerification {
  ok: boolean;
  /** Events that verified (all of them when `ok`). */
  events: number;
  firstBadSeq?: number;
  reason?: string;
}

const BUNDLE_KIND = 'countersign.evidence-bundle.v1';
const EXPORT_KIND = 'countersign.evidence-export.v1';

/** The exact text a bundle signature covers (see the file comment). */
export function bundleSigningPayload(b: Pick<EvidenceBundle, 'actionId' | 'workflowId' | 'runId' | 'policyVersion' | 'head'> & { eventCount: number; keyId: string }): string {
  return canonicalJson({
    kind: BUNDLE_KIND,
    actionId: b.actionId,
    workflowId: b.workflowId,
    runId: b.runId,
    policyVersion: b.policyVersion,
    head: { seq: b.head.seq, hash: b.head.hash },
    eventCount: b.eventCount,
    keyId: b.keyId,
  });
}

function bundleCheckpoint(cp: LedgerCheckpoint, actionId: string): BundleCheckpoint | undefined {
  const index = cp.covers.findIndex((c) => c.actionId === actionId);
  if (index < 0) return undefined;
  const { covers, ...header } = cp;
  return { ...header, cover: covers[index]!, index, proof: headProof(covers, index) };
}

/** Assemble and sign a bundle from events already read. */
export function signEvidenceBundle(
  signer: LedgerSigner,
  actionId: string,
  events: readonly LedgerEvent[],
  extra: EvidenceExtra,
  checkpoint?: LedgerCheckpoint | null,
): EvidenceBundle {
  const last = events[events.length - 1];
  if (!last) throw new LedgerNotFoundError(actionId);
  const head = { seq: last.seq, hash: last.hash };
  const runId = extra.runId ?? null;
  const value = signer.sign(
    bundleSigningPayload({ actionId, workflowId: extra.workflowId, runId, policyVersion: extra.policyVersion, head, eventCount: events.length, keyId: signer.keyId }),
  );
  const bundle: EvidenceBundle = {
    actionId,
    workflowId: extra.workflowId,
    runId,
    policyVersion: extra.policyVersion,
    events: events.map((e) => ({ seq: e.seq, type: e.type, at: e.at, actor: e.actor, data: e.data, prevHash: e.prevHash, hash: e.hash })),
    head,
    signature: { alg: SIGNATURE_ALG, keyId: signer.keyId, value },
    publicKey: signer.publicKeyPem,
  };
  const cp = checkpoint ? bundleCheckpoint(checkpoint, actionId) : undefined;
  if (cp) bundle.checkpoint = cp;
  if (extra.temporalUiUrl) bundle.links = { temporalUi: extra.temporalUiUrl };
  return bundle;
}

/**
 * The evidence bundle of one action, signed now by `signer`, with the latest checkpoint that
 * anchored the action (when there is one).
 * @throws LedgerNotFoundError when the action has no events
 */
export async function buildEvidenceBundle(db: LedgerDb, signer: LedgerSigner, actionId: string, extra: EvidenceExtra): Promise<EvidenceBundle> {
  const events = await readActionEvents(db, actionId);
  if (events.length === 0) throw new LedgerNotFoundError(actionId);
  const checkpoint = await readCheckpointFor(db, actionId);
  return signEvidenceBundle(signer, actionId, events, extra, checkpoint);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Verify a bundle offline, trusting only `trustedKeys`: the chain (every event's hash, links,
 * seq 1..n), that `head` is its last event, the signature by a trusted key, that the
 * embedded `publicKey` (if any) is that key, and the checkpoint (if any): its hash, trusted
 * signature, Merkle audit path, and that the head it anchored is in this chain.
 * Pure; never throws on malformed input.
 */
export function verifyEvidenceBundle(bundle: unknown, trustedKeys: readonly TrustedKey[]): EvidenceVerification {
  if (!isObject(bundle)) return { ok: false, events: 0, reason: 'bundle is not a JSON object' };
  const b = bundle as Partial<EvidenceBundle> & Record<string, unknown>;
  if (typeof b.actionId !== 'string' || !b.actionId) return { ok: false, events: 0, reason: 'bundle has no actionId' };
  if (!Array.isArray(b.events) || b.events.length === 0) return { ok: false, events: 0, reason: 'bundle has no events' };
  if (typeof b.workflowId !== 'string' || typeof b.policyVersion !== 'string' || !(b.runId === null || typeof b.runId === 'string')) {
    return { ok: false, events: 0, reason: 'bundle workflowId, runId or policyVersion is malformed' };
  }

  const verifier = new ChainVerifier(b.actionId);
  for (const e of b.events as unknown[]) {
    const event = isObject(e) ? ({ ...e, actionId: b.actionId } as unknown as LedgerEvent) : (e as LedgerEvent);
    if (!verifier.push(event)) break;
  }
  const chain = verifier.result();
  if (!chain.ok) return chain;
  const n = chain.events;
  const fail = (reason: string): EvidenceVerification => ({ ok: false, events: n, reason });

  const last = b.events[b.events.length - 1] as BundleEvent;
  if (!isObject(b.head) || b.head.seq !== last.seq || b.head.hash !== last.hash) {
    return fail(`head does not match the last event (seq ${last.seq}): events were removed or added`);
  }
  const sig = b.signature;
  if (!isObject(sig) || sig.alg !== SIGNATURE_ALG || typeof sig.keyId !== 'string' || typeof sig.value !== 'string') {
    return fail('signature block is malformed');
  }
  if (b.publicKey !== undefined) {
    let embeddedId: string | null = null;
    try {
      embeddedId = keyIdOf(parsePublicKey(String(b.publicKey)));
    } catch {
      embeddedId = null;
    }
    if (embeddedId !== sig.keyId) return fail(`embedded publicKey is not the signing key ${sig.keyId}`);
  }
  const payload = bundleSigningPayload({
    actionId: b.actionId,
    workflowId: b.workflowId,
    runId: b.runId ?? null,
    policyVersion: b.policyVersion,
    head: b.head,
    eventCount: b.events.length,
    keyId: sig.keyId,
  });
  const badSig = checkSignature(trustedKeys, sig.keyId, payload, sig.value);
  if (badSig) return fail(badSig);

  if (b.checkpoint !== undefined) {
    const badCp = checkBundleCheckpoint(b.checkpoint, b.actionId, b.events as BundleEvent[], trustedKeys);
    if (badCp) return { ...fail(badCp.reason), ...(badCp.seq ? { firstBadSeq: badCp.seq } : {}) };
  }
  return { ok: true, events: n };
}

function checkBundleCheckpoint(
  cp: unknown,
  actionId: string,
  events: readonly BundleEvent[],
  trustedKeys: readonly TrustedKey[],
): { reason: string; seq?: number } | null {
  if (!isObject(cp) || !isObject(cp.cover) || !Array.isArray(cp.proof) || typeof cp.hash !== 'string' || typeof cp.prevHash !== 'string') {
    return { reason: 'checkpoint is malformed' };
  }
  const c = cp as unknown as BundleCheckpoint;
  if (!HEX64.test(c.prevHash) || !HEX64.test(c.hash)) return { reason: 'checkpoint is malformed' };
  let expected: string;
  try {
    expected = checkpointHash(c.prevHash, c);
  } catch {
    return { reason: 'checkpoint is malformed' };
  }
  if (expected !== c.hash) return { reason: `checkpoint ${c.seq} hash does not match its content (altered)` };
  const badSig = checkSignature(trustedKeys, String(c.keyId), c.hash, String(c.signature));
  if (badSig) return { reason: `checkpoint ${c.seq}: ${badSig}` };
  if (c.cover.actionId !== actionId) return { reason: `checkpoint ${c.seq} covers action ${c.cover.actionId}, not ${actionId}` };
  if (!c.proof.every((h) => typeof h === 'string' && HEX64.test(h)) || !verifyHeadProof(c.cover, c.index, c.headCount, c.proof, c.headsRoot)) {
    return { reason: `checkpoint ${c.seq} does not include this action's head (bad Merkle proof)` };
  }
  const anchored = events[c.cover.seq - 1];
  if (!anchored || anchored.seq !== c.cover.seq || anchored.hash !== c.cover.hash) {
    return { reason: `event ${c.cover.seq} differs from the one checkpoint ${c.seq} anchored`, seq: c.cover.seq };
  }
  return null;
}

// ---------------------------------------------------------------------------------------
// Export

/** The signed summary written as the last line of an export. */
export interface ExportManifest {
  kind: typeof EXPORT_KIND;
  /** Number of bundle lines. */
  count: number;
  /** Hex sha256 of all bundle lines, each with its trailing "\n" (the file minus this line). */
  sha256: string;
  range: { since: string; until: string; actionId?: string };
  generatedAt: string;
  keyId: string;
}

/** The manifest line: `{ manifest, signature, publicKey }`; the signature covers canonicalJson(manifest). */
export interface ExportManifestLine {
  manifest: ExportManifest;
  signature: EvidenceSignature;
  publicKey: string;
}

/** Selects the actions of an export. */
export interface ExportRange {
  /** Actions with at least one event at or after `since` … */
  since: Date | string;
  /** … and before `until` (exclusive). */
  until: Date | string;
  /** Only this action. */
  actionId?: string;
}

/** Resolves workflowId/runId/policyVersion of an action; the default reads the `actions` table. */
export type ExtraResolver = (actionId: string, events: readonly LedgerEvent[]) => Promise<EvidenceExtra>;

/**
 * Write an NDJSON export: one canonical-JSON bundle per line for every action with an event
 * in [since, until) (each bundle holds the action's whole chain), then the signed manifest
 * line. `write` receives complete lines including "\n" and may return a promise (back-pressure).
 * Streams: actions are read in batches, one bundle in memory at a time.
 */
export async function exportEvidence(
  db: LedgerDb,
  signer: LedgerSigner,
  range: ExportRange,
  write: (line: string) => void | Promise<void>,
  opts: { resolveExtra?: ExtraResolver; now?: Date; batchSize?: number } = {},
): Promise<ExportManifest> {
  const since = normalizeEventTime(range.since);
  const until = normalizeEventTime(range.until);
  const resolve = opts.resolveExtra ?? (await actionsTableResolver(db));
  const batchSize = opts.batchSize ?? 500;
  const digest = createHash('sha256');
  let count = 0;
  let after = '';
  for (;;) {
    const params: unknown[] = [since, until, after];
    if (range.actionId !== undefined) params.push(range.actionId);
    const { rows } = await (db as Pool).query<{ action_id: string }>(
      `SELECT action_id FROM ledger_events
        WHERE at >= $1 AND at < $2 AND action_id > $3 ${range.actionId !== undefined ? 'AND action_id = $4' : ''}
        GROUP BY action_id ORDER BY action_id LIMIT ${batchSize}`,
      params,
    );
    for (const { action_id: actionId } of rows) {
      const events = await readActionEvents(db, actionId);
      if (events.length === 0) continue;
      const [extra, checkpoint] = await Promise.all([resolve(actionId, events), readCheckpointFor(db, actionId)]);
      const line = canonicalJson(signEvidenceBundle(signer, actionId, events, extra, checkpoint)) + '\n';
      digest.update(line);
      count++;
      await write(line);
    }
    if (rows.length < batchSize) break;
    after = rows[rows.length - 1]!.action_id;
  }
  const manifest: ExportManifest = {
    kind: EXPORT_KIND,
    count,
    sha256: digest.digest('hex'),
    range: { since, until, ...(range.actionId !== undefined ? { actionId: range.actionId } : {}) },
    generatedAt: normalizeEventTime(opts.now ?? new Date()),
    keyId: signer.keyId,
  };
  const line: ExportManifestLine = {
    manifest,
    signature: { alg: SIGNATURE_ALG, keyId: signer.keyId, value: signer.sign(canonicalJson(manifest)) },
    publicKey: signer.publicKeyPem,
  };
  await write(canonicalJson(line) + '\n');
  return manifest;
}

/** The policy version recorded by the `policy_decided` event, if any. */
function policyVersionFromEvents(events: readonly LedgerEvent[]): string | null {
  for (const e of events) {
    if (e.type !== 'policy_decided' || !isObject(e.data)) continue;
    const v = e.data.policyVersion ?? e.data.version ?? (isObject(e.data.policy) ? e.data.policy.version : undefined);
    if (typeof v === 'string') return v;
  }
  return null;
}

async function actionsTableResolver(db: LedgerDb): Promise<ExtraResolver> {
  const actions = new ActionRepository(db);
  const hasActions = await actions.tableExists();
  return async (actionId, events) => {
    const row = hasActions ? await actions.evidenceRefs(actionId) : undefined;
    return {
      // Without an actions row (ledger used on its own) the action id stands in for the workflow id.
      workflowId: row?.workflow_id ?? actionId,
      runId: row?.run_id ?? null,
      policyVersion: row?.policy_version ?? policyVersionFromEvents(events) ?? 'unknown',
    };
  };
}

/** Outcome of verifying an NDJSON export. */
export interface ExportVerification {
  ok: boolean;
  bundles: number;
  events: number;
  /** 1-based line of the first bundle or manifest that does not verify. */
  line?: number;
  actionId?: string;
  firstBadSeq?: number;
  reason?: string;
}

/**
 * Verify an export offline: every bundle line, then the manifest (trusted signature, count
 * and sha256 of the bundle lines). Pure.
 */
export function verifyEvidenceExport(text: string, trustedKeys: readonly TrustedKey[]): ExportVerification {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) return { ok: false, bundles: 0, events: 0, reason: 'export is empty' };
  const digest = createHash('sha256');
  let events = 0;
  for (let i = 0; i < lines.length - 1; i++) {
    const lineNo = i + 1;
    let bundle: unknown;
    try {
      bundle = JSON.parse(lines[i]!);
    } catch {
      return { ok: false, bundles: i, events, line: lineNo, reason: `line ${lineNo} is not JSON` };
    }
    const v = verifyEvidenceBundle(bundle, trustedKeys);
    if (!v.ok) {
      const actionId = isObject(bundle) && typeof bundle.actionId === 'string' ? bundle.actionId : undefined;
      return { ok: false, bundles: i, events: events + v.events, line: lineNo, actionId, firstBadSeq: v.firstBadSeq, reason: v.reason };
    }
    events += v.events;
    digest.update(lines[i]! + '\n');
  }
  const bundles = lines.length - 1;
  const lineNo = lines.length;
  const fail = (reason: string): ExportVerification => ({ ok: false, bundles, events, line: lineNo, reason });
  let m: unknown;
  try {
    m = JSON.parse(lines[lineNo - 1]!);
  } catch {
    return fail('manifest line is not JSON');
  }
  if (!isObject(m) || !isObject(m.manifest) || !isObject(m.signature)) return fail('last line is not a manifest');
  const manifest = m.manifest as unknown as ExportManifest;
  const sig = m.signature as unknown as EvidenceSignature;
  if (manifest.kind !== EXPORT_KIND) return fail('last line is not a Countersign export manifest');
  if (sig.keyId !== manifest.keyId) return fail('manifest keyId differs from its signature keyId');
  let payload: string;
  try {
    payload = canonicalJson(manifest);
  } catch {
    return fail('manifest is malformed');
  }
  const badSig = checkSignature(trustedKeys, String(sig.keyId), payload, String(sig.value));
  if (badSig) return fail(`manifest: ${badSig}`);
  if (manifest.count !== bundles) return fail(`manifest counts ${manifest.count} bundles, the file has ${bundles}`);
  if (manifest.sha256 !== digest.digest('hex')) return fail('manifest sha256 does not match the bundle lines');
  return { ok: true, bundles, events };
}
