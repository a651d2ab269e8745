/**
 * `countersign ledger verify [--public-key <file>]... [--batch-size <n>]`,
 * `countersign ledger checkpoint` and `countersign ledger rotate-key`: check, anchor or
 * re-key the whole Postgres evidence ledger.
 */
import { parseArgs } from 'node:util';
import { keysDir, loadOrCreateSigningKey, rotateSigningKey, type TrustedKey } from '../../ledger/signing';
import { verifyLedger, writeCheckpoint } from '../../ledger/store';
import { resolveTrustedKeys, signingKeyOptionsFromEnv, type EvidenceCommandDeps, type EvidenceCommandIo } from './evidence';

/** Same dependencies as the evidence command. */
export type LedgerCommandDeps = EvidenceCommandDeps;

const USAGE = `usage:
  countersign ledger verify [--public-key <file>]... [--batch-size <n>]
      verify every action's hash chain and every signed checkpoint (trusted keys: --public-key
      files, default the keys in $COUNTERSIGN_DATA_DIR/keys)
  countersign ledger checkpoint
      write a signed checkpoint over the chains written since the last one
  countersign ledger rotate-key
      replace the signing key in $COUNTERSIGN_DATA_DIR/keys with a new one; the old public key
      stays there (and in signing_keys, marked retired) so everything it signed still verifies;
      restart Countersign to sign with the new key
`;

/**
 * Run a `ledger` subcommand.
 * @param argv the arguments after `ledger`, e.g. `["verify"]`
 * @returns exit code: 0 ok, 1 verification failed or error, 2 usage error
 */
export async function runLedgerCommand(argv: string[], deps: LedgerCommandDeps): Promise<number> {
  const io: EvidenceCommandIo = deps.io ?? process;
  const env = deps.env ?? process.env;
  const out = (line: string) => io.stdout.write(`${line}\n`);
  const err = (line: string) => io.stderr.write(`${line}\n`);
  const [sub, ...rest] = argv[0] === 'ledger' ? argv.slice(1) : argv;

  if (sub === undefined || sub === 'help' || sub === '--help' || sub === '-h') {
    (sub === undefined ? io.stderr : io.stdout).write(USAGE);
    return sub === undefined ? 2 : 0;
  }
  let values: { 'public-key'?: string[]; 'batch-size'?: string };
  try {
    ({ values } = parseArgs({
      args: rest,
      strict: true,
      options: { 'public-key': { type: 'string', multiple: true }, 'batch-size': { type: 'string' } },
    }));
  } catch (e) {
    return usageError(io, (e as Error).message);
  }

  if (sub === 'verify') {
    const batchSize = values['batch-size'] === undefined ? undefined : Number(values['batch-size']);
    if (batchSize !== undefined && (!Number.isInteger(batchSize) || batchSize < 1)) return usageError(io, '--batch-size must be a positive integer');
    let trusted: TrustedKey[];
    try {
      trusted = resolveTrustedKeys(values['public-key'] ?? [], deps.dataDir, env);
      const pool = await deps.getPool();
      const v = await verifyLedger(pool, trusted, { batchSize });
      if (v.ok) {
        out(`ok: ledger holds: ${v.events} events in ${v.chains} chains, ${v.checkpoints} checkpoints`);
        return 0;
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
      const signer = loadOrCreateSigningKey(deps.dataDir, signingKeyOptionsFromEnv(env));
      const pool = await deps.getPool();
      const cp = await writeCheckpoint(pool, signer);
      out(cp ? `checkpoint ${cp.seq}: ${cp.headCount} chain heads, hash ${cp.hash}, key ${cp.keyId}` : 'nothing new since the last checkpoint');
      return 0;
    } catch (e) {
      err(`ledger checkpoint: ${(e as Error).message}`);
      return 1;
    }
  }
  if (sub === 'rotate-key') {
    if (env.COUNTERSIGN_SIGNING_KEY || env.COUNTERSIGN_SIGNING_KEY_FILE) {
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
  return usageError(io, `unknown ledger subcommand "${sub}"`);
}

function usageError(io: EvidenceCommandIo, message: string): number {
  io.stderr.write(`countersign ledger: ${message}\n${USAGE}`);
  return 2;
}
