/**
 * `countersign ledger verify [--public-key <file>]... [--batch-size <n>]`,
 * `countersign ledger checkpoint`, `countersign ledger rotate-key`,
 * `countersign ledger ack-fault <actionId>` and `countersign ledger digest-key export`: check,
 * anchor or re-key the whole Postgres evidence ledger, acknowledge an action stopped by a write
 * Postgres refused, and hand auditors the key that checks the ledger's keyed digests.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { digestKeyId, digestKeyPath, readDigestKey } from '../../ledger/digest-key';
import { loadCliConfig } from '../../runtime/config';
import { acknowledgeActionFaults, type ActionFault } from '../../ledger/action-faults';
import { keysDir, loadOrCreateSigningKey, rotateSigningKey, type TrustedKey } from '../../ledger/signing';
import { syncWitnesses, verifyLedger, writeCheckpoint } from '../../ledger/store';
import { configuredWitnesses, defaultWitnessFile, FileWitness, HttpWitness, type CheckpointWitness } from '../../ledger/witness';
import { resolveTrustedKeys, type EvidenceCommandDeps, type EvidenceCommandIo } from './evidence';

/** Same dependencies as the evidence command. */
export type LedgerCommandDeps = EvidenceCommandDeps;

const USAGE = `usage:
  countersign ledger verify [--public-key <file>]... [--witness <file|url>]... [--batch-size <n>]
                            [--checkpoint-interval <seconds>]
      verify every action's hash chain and every signed checkpoint (trusted keys: --public-key
      files, default the keys in $COUNTERSIGN_DATA_DIR/keys, each within its validity window),
      that every event older than two checkpoint intervals (default
      $COUNTERSIGN_CHECKPOINT_INTERVAL, 60 s) is covered by a checkpoint, and that every
      checkpoint the witnesses hold is in the database unchanged (default witnesses:
      $COUNTERSIGN_DATA_DIR/ledger-witness.jsonl and $COUNTERSIGN_LEDGER_WITNESS_URL); list the
      actions stopped because Postgres refused one of their writes permanently (exit 3 when
      there are any)
  countersign ledger checkpoint
      write a signed checkpoint over the chains written since the last one, and copy every
      checkpoint a witness lacks to it
  countersign ledger rotate-key
      replace the signing key in $COUNTERSIGN_DATA_DIR/keys with a new one; the old public key
      stays there (and in signing_keys, marked retired) so everything it signed still verifies;
      restart Countersign to sign with the new key
  countersign ledger ack-fault <actionId> [--by <name>]
      mark an action's write faults as dealt with: verify stops listing them and the
      countersign_action_faults gauge drops (the rows stay)
  countersign ledger digest-key export [--out <file>]
      print (or write, mode 0600) the digest key as hex: COUNTERSIGN_DIGEST_KEY, else the one in
      $COUNTERSIGN_DATA_DIR/keys/digest-key. With it an auditor checks a value against the
      ledger's keyed digests (countersign evidence check-digest); whoever holds it can test
      guesses of sensitive values, so hand it over as you would the values
`;

/**
 * Run a `ledger` subcommand.
 * @param argv the arguments after `ledger`, e.g. `["verify"]`
 * @returns exit code: 0 ok, 1 verification failed or error, 2 usage error, 3 the ledger holds
 *   but actions were stopped by writes Postgres refused (`verify`, see README "Permanent write
 *   failures")
 */
export async function runLedgerCommand(argv: string[], deps: LedgerCommandDeps): Promise<number> {
  const io: EvidenceCommandIo = deps.io ?? process;
  const { signingKey, operator, digestKey, checkpointIntervalSeconds, ledgerWitnessUrl, ledgerWitnessToken } = loadCliConfig(deps.env);
  const out = (line: string) => io.stdout.write(`${line}\n`);
  const err = (line: string) => io.stderr.write(`${line}\n`);
  const [sub, ...rest] = argv[0] === 'ledger' ? argv.slice(1) : argv;

  if (sub === undefined || sub === 'help' || sub === '--help' || sub === '-h') {
    (sub === undefined ? io.stderr : io.stdout).write(USAGE);
    return sub === undefined ? 2 : 0;
  }
  let values: { 'public-key'?: string[]; 'batch-size'?: string; by?: string; out?: string; witness?: string[]; 'checkpoint-interval'?: string };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: rest,
      strict: true,
      allowPositionals: sub === 'ack-fault' || sub === 'digest-key',
      options: {
        'public-key': { type: 'string', multiple: true },
        'batch-size': { type: 'string' },
        by: { type: 'string' },
        out: { type: 'string' },
        witness: { type: 'string', multiple: true },
        'checkpoint-interval': { type: 'string' },
      },
    }));
  } catch (e) {
    return usageError(io, (e as Error).message);
  }

  if (sub === 'verify') {
    const batchSize = values['batch-size'] === undefined ? undefined : Number(values['batch-size']);
    if (batchSize !== undefined && (!Number.isInteger(batchSize) || batchSize < 1)) return usageError(io, '--batch-size must be a positive integer');
    const interval = values['checkpoint-interval'] === undefined ? checkpointIntervalSeconds : Number(values['checkpoint-interval']);
    if (!Number.isInteger(interval) || interval < 1) return usageError(io, '--checkpoint-interval must be a positive number of seconds');
    let trusted: TrustedKey[];
    try {
      trusted = resolveTrustedKeys(values['public-key'] ?? [], deps.dataDir, signingKey);
      const witnesses = values.witness ? values.witness.map((w) => witnessOf(w, ledgerWitnessToken)) : configuredWitnesses({ dataDir: deps.dataDir, url: ledgerWitnessUrl, token: ledgerWitnessToken, existingFileOnly: true });
      const pool = await deps.getPool();
      const v = await verifyLedger(pool, trusted, { batchSize, witnesses, checkpointIntervalSeconds: interval });
      if (witnesses.length === 0 && v.checkpoints > 0) {
        err(`warning: no witness copy of the checkpoints (${defaultWitnessFile(deps.dataDir)} does not exist, COUNTERSIGN_LEDGER_WITNESS_URL is not set): deleted trailing checkpoints would go unnoticed; pass --witness`);
      }
      // Faults are not a broken chain (`ok` is about the recorded evidence), but an operator must act on them.
      for (const f of v.faults) err(faultLine(f));
      if (v.faults.length > 0) {
        err(
          `${v.faults.length} action(s) stopped: Postgres refused a write permanently; see README "Permanent write failures", ` +
            'then `countersign ledger ack-fault <actionId>`',
        );
      }
      if (v.ok) {
        out(`ok: ledger holds: ${v.events} events in ${v.chains} chains, ${v.checkpoints} checkpoints`);
        return v.faults.length > 0 ? 3 : 0;
      }
      const where = v.checkpointSeq !== undefined ? `checkpoint ${v.checkpointSeq}` : '';
      const event = v.actionId !== undefined ? `action ${v.actionId} first bad seq ${v.firstBadSeq}` : '';
      err(`FAILED: ${[where, event].filter(Boolean).join(', ')}: ${v.reason} (${v.events} events verified before)`);
      return 1;
    } catch (e) {
      err(`ledger verify: ${(e as Error).message}`);
      return 1;
    }
  }

  if (sub === 'checkpoint') {
    try {
      const signer = loadOrCreateSigningKey(deps.dataDir, signingKey);
      const pool = await deps.getPool();
      const cp = await writeCheckpoint(pool, signer);
      out(cp ? `checkpoint ${cp.seq}: ${cp.headCount} chain heads, hash ${cp.hash}, key ${cp.keyId}` : 'nothing new since the last checkpoint');
      const witnesses = configuredWitnesses({ dataDir: deps.dataDir, url: ledgerWitnessUrl, token: ledgerWitnessToken });
      let failed = false;
      for (const r of await syncWitnesses(pool, witnesses)) {
        if (r.error) {
          failed = true;
          err(`witness ${r.witness}: ${r.error}`);
        } else if (r.sent > 0) out(`witness ${r.witness}: ${r.sent} checkpoint(s) copied`);
      }
      return failed ? 1 : 0;
    } catch (e) {
      err(`ledger checkpoint: ${(e as Error).message}`);
      return 1;
    }
  }
  if (sub === 'rotate-key') {
    if (signingKey.keyPem || signingKey.keyFile) {
      err(
        'ledger rotate-key: the signing key comes from COUNTERSIGN_SIGNING_KEY(_FILE), not the data dir. To rotate it, create a new Ed25519 key ' +
          '(openssl genpkey -algorithm ed25519 -out new.pem), point COUNTERSIGN_SIGNING_KEY_FILE at it and restart every Countersign process; ' +
          'the old key stays in signing_keys, and verifiers need its public key (--public-key) for what it signed.',
      );
      return 1;
    }
    try {
      const pool = await deps.getPool();
      const { previousKeyId, signer } = await rotateSigningKey(deps.dataDir, { db: pool });
      out(
        previousKeyId
          ? `rotated: new key ${signer.keyId} replaces ${previousKeyId} (retired; its public key stays in ${keysDir(deps.dataDir)}). Restart Countersign processes to sign with the new key.`
          : `created signing key ${signer.keyId} in ${keysDir(deps.dataDir)}`,
      );
      return 0;
    } catch (e) {
      err(`ledger rotate-key: ${(e as Error).message}`);
      return 1;
    }
  }
  if (sub === 'ack-fault') {
    const [actionId, ...extra] = positionals;
    if (!actionId || extra.length > 0) return usageError(io, 'ack-fault takes exactly one action id');
    try {
      const pool = await deps.getPool();
      const n = await acknowledgeActionFaults(pool, actionId, values.by ?? operator);
      if (n === 0) {
        err(`ledger ack-fault: action ${actionId} has no open fault`);
        return 1;
      }
      out(`acknowledged ${n} fault(s) of action ${actionId}`);
      return 0;
    } catch (e) {
      err(`ledger ack-fault: ${(e as Error).message}`);
      return 1;
    }
  }
  if (sub === 'digest-key') {
    if (positionals.length !== 1 || positionals[0] !== 'export') return usageError(io, 'digest-key takes one action: export');
    try {
      const key = readDigestKey(deps.dataDir, { keyHex: digestKey });
      if (!key) {
        err(`ledger digest-key export: no digest key: COUNTERSIGN_DIGEST_KEY is not set and ${digestKeyPath(deps.dataDir)} does not exist (Countersign creates it at its first start)`);
        return 1;
      }
      const hex = key.toString('hex');
      if (values.out) {
        fs.writeFileSync(values.out, hex + '\n', { mode: 0o600, flag: 'wx' });
        out(`wrote digest key ${digestKeyId(key)} to ${values.out}`);
      } else {
        out(hex);
        err(`digest key ${digestKeyId(key)}: whoever holds it can test guesses of sensitive values against the ledger's digests`);
      }
      return 0;
    } catch (e) {
      err(`ledger digest-key export: ${(e as Error).message}`);
      return 1;
    }
  }
  return usageError(io, `unknown ledger subcommand "${sub}"`);
}

/** A `--witness` argument: an http(s) URL, else a file. */
function witnessOf(arg: string, token: string | undefined): CheckpointWitness {
  return /^https?:\/\//i.test(arg) ? new HttpWitness(arg, token) : new FileWitness(arg);
}

/** One open fault, for people: which action, which event, what Postgres said, when. */
function faultLine(f: ActionFault): string {
  const code = f.code ? ` ${f.code}` : '';
  return `FAULT: action ${f.actionId} stopped at event ${f.seq} (${f.events.join(', ')}) at ${f.at}:${code} ${f.message}`;
}

function usageError(io: EvidenceCommandIo, message: string): number {
  io.stderr.write(`countersign ledger: ${message}\n${USAGE}`);
  return 2;
}
