/**
 * `countersign evidence verify <file> [--public-key <file>]...` (offline),
 * `countersign evidence export --since <iso> --until <iso> [--action <id>] [--out <file>]` and
 * `countersign evidence check-digest <digest> (--value <json> | --string <text>) [--key-file <file>]` (offline).
 *
 * The I/O shell around ledger/evidence.ts: it reads files and settings (runtime/config.ts), writes lines.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import type { Pool } from 'pg';
import { loadCliConfig } from '../../runtime/config';
import { parseDigestKey, readDigestKey } from '../../ledger/digest-key';
import { exportEvidence, verifyEvidenceBundle, verifyEvidenceExport } from '../../ledger/evidence';
import { digestValue } from '../../ledger/redact';
import {
  loadOrCreateSigningKey,
  loadTrustedKeyFiles,
  signerFromPrivateKey,
  trustedPublicKeys,
  type SigningKeyOptions,
  type TrustedKey,
} from '../../ledger/signing';

/** Where the command writes; defaults to the process streams. */
export interface EvidenceCommandIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

/** What the evidence and ledger commands need from the CLI. */
export interface EvidenceCommandDeps {
  /** Opens (or starts) the database; only called by subcommands that need it. */
  getPool: () => Promise<Pool>;
  /** `COUNTERSIGN_DATA_DIR`: where the signing key and the known public keys live. */
  dataDir: string;
  io?: EvidenceCommandIo;
  /** Environment to read the CLI's settings from (see `loadCliConfig`). @default process.env */
  env?: NodeJS.ProcessEnv;
}

const USAGE = `usage:
  countersign evidence verify <bundle.json | export.ndjson> [--public-key <file>]...
      verify offline; trusts only the given public keys (default: the keys in $COUNTERSIGN_DATA_DIR/keys)
  countersign evidence export --since <iso> --until <iso> [--action <id>] [--out <file>]
      NDJSON bundles of the actions with events in [since, until), then a signed manifest line
  countersign evidence check-digest <digest> (--value <json> | --string <text>) [--key-file <file>]
      whether a digest in the evidence (a sensitive value's {"$digest": ...}, an approval
      digest) is the digest of this value: its canonical JSON, hashed (sha256:) or under the
      digest key (hmac-sha256:). --key-file: the hex an operator exported with
      \`countersign ledger digest-key export\` (default COUNTERSIGN_DIGEST_KEY, else the data dir's)
`;

/**
 * Trusted keys for verification: the `--public-key` files when given, otherwise the public
 * keys kept in the data dir plus the configured production signing key's public key.
 */
export function resolveTrustedKeys(publicKeyFiles: readonly string[], dataDir: string, opts: SigningKeyOptions): TrustedKey[] {
  if (publicKeyFiles.length > 0) return loadTrustedKeyFiles(publicKeyFiles);
  const keys = trustedPublicKeys(dataDir);
  const pem = opts.keyPem ?? (opts.keyFile && fs.existsSync(opts.keyFile) ? fs.readFileSync(opts.keyFile, 'utf8') : undefined);
  if (pem) {
    const signer = signerFromPrivateKey(pem);
    if (!keys.some((k) => k.keyId === signer.keyId)) keys.push({ keyId: signer.keyId, publicKeyPem: signer.publicKeyPem });
  }
  return keys;
}

/**
 * Run an `evidence` subcommand.
 * @param argv the arguments after `evidence`, e.g. `["verify", "bundle.json"]`
 * @returns exit code: 0 verified/exported, 1 verification failed or I/O error, 2 usage error
 */
export async function runEvidenceCommand(argv: string[], deps: EvidenceCommandDeps): Promise<number> {
  const io = deps.io ?? process;
  const { signingKey, digestKey } = loadCliConfig(deps.env);
  const out = (line: string) => io.stdout.write(`${line}\n`);
  const err = (line: string) => io.stderr.write(`${line}\n`);
  const [sub, ...rest] = argv[0] === 'evidence' ? argv.slice(1) : argv;

  if (sub === undefined || sub === 'help' || sub === '--help' || sub === '-h') {
    (sub === undefined ? io.stderr : io.stdout).write(USAGE);
    return sub === undefined ? 2 : 0;
  }
  let parsed: ReturnType<typeof parseEvidenceArgs>;
  try {
    parsed = parseEvidenceArgs(rest);
  } catch (e) {
    return usageError(io, (e as Error).message);
  }
  const { values, positionals } = parsed;

  if (sub === 'verify') {
    if (positionals.length !== 1) return usageError(io, 'evidence verify needs exactly one file');
    const file = positionals[0]!;
    let trusted: TrustedKey[];
    let text: string;
    try {
      trusted = resolveTrustedKeys(values['public-key'] ?? [], deps.dataDir, signingKey);
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      err(`evidence verify: ${(e as Error).message}`);
      return 1;
    }
    if (trusted.length === 0) {
      err('evidence verify: no trusted public key (pass --public-key <file>)');
      return 1;
    }
    return verifyText(file, text, trusted, out, err);
  }

  if (sub === 'export') {
    if (positionals.length > 0) return usageError(io, `unexpected argument "${positionals[0]}"`);
    const { since, until, action, out: outFile } = values;
    if (!since || !until) return usageError(io, 'evidence export needs --since and --until');
    for (const [name, v] of [['--since', since], ['--until', until]] as const) {
      if (Number.isNaN(Date.parse(v))) return usageError(io, `${name} is not an ISO date: ${v}`);
    }
    let fd: number | null = null;
    try {
      const signer = loadOrCreateSigningKey(deps.dataDir, signingKey);
      const pool = await deps.getPool();
      fd = outFile ? fs.openSync(outFile, 'w') : null;
      const write = fd !== null ? (line: string) => void fs.writeSync(fd!, line) : (line: string) => void io.stdout.write(line);
      const manifest = await exportEvidence(pool, signer, { since, until, actionId: action }, write);
      const summary = `exported ${manifest.count} bundle${manifest.count === 1 ? '' : 's'} (sha256 ${manifest.sha256}, key ${manifest.keyId})`;
      if (fd !== null) out(`${summary} to ${outFile}`);
      else err(summary);
      return 0;
    } catch (e) {
      err(`evidence export: ${(e as Error).message}`);
      return 1;
    } finally {
      if (fd !== null) fs.closeSync(fd);
    }
  }
  if (sub === 'check-digest') {
    if (positionals.length !== 1) return usageError(io, 'evidence check-digest needs exactly one digest');
    const digest = positionals[0]!;
    const form = /^(sha256|hmac-sha256):[0-9a-f]{64}$/.exec(digest)?.[1];
    if (!form) return usageError(io, `not a digest (sha256:<64 hex> or hmac-sha256:<64 hex>): ${digest}`);
    if ((values.value === undefined) === (values.string === undefined)) return usageError(io, 'evidence check-digest needs one of --value <json> and --string <text>');
    let value: unknown;
    try {
      value = values.string ?? JSON.parse(values.value!);
    } catch (e) {
      return usageError(io, `--value is not JSON: ${(e as Error).message}`);
    }
    try {
      let key: Buffer | undefined;
      if (form === 'hmac-sha256') {
        key = values['key-file'] ? parseDigestKey(fs.readFileSync(values['key-file'], 'utf8')) : readDigestKey(deps.dataDir, { keyHex: digestKey });
        if (!key) {
          err('evidence check-digest: an hmac-sha256 digest needs the digest key (--key-file <file>, from `countersign ledger digest-key export`)');
          return 1;
        }
      }
      const actual = digestValue(value, { key }).$digest;
      if (actual === digest) {
        out(`ok: ${digest} is the digest of this value`);
        return 0;
      }
      err(`MISMATCH: the value's digest is ${actual}, not ${digest}${key ? ' (or the key is not the one that made it)' : ''}`);
      return 1;
    } catch (e) {
      err(`evidence check-digest: ${(e as Error).message}`);
      return 1;
    }
  }
  return usageError(io, `unknown evidence subcommand "${sub}"`);
}

function parseEvidenceArgs(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      'public-key': { type: 'string', multiple: true },
      since: { type: 'string' },
      until: { type: 'string' },
      action: { type: 'string' },
      out: { type: 'string' },
      value: { type: 'string' },
      string: { type: 'string' },
      'key-file': { type: 'string' },
    },
  });
}

function verifyText(
  file: string,
  text: string,
  trusted: readonly TrustedKey[],
  out: (line: string) => void,
  err: (line: string) => void,
): number {
  let single: unknown;
  try {
    single = JSON.parse(text);
  } catch {
    single = undefined;
  }
  if (single !== undefined && !(typeof single === 'object' && single !== null && 'manifest' in single)) {
    const v = verifyEvidenceBundle(single, trusted);
    const actionId = (single as { actionId?: unknown })?.actionId;
    if (v.ok) {
      out(`ok: ${file}: action ${String(actionId)}, ${v.events} event${v.events === 1 ? '' : 's'}, chain and signature hold`);
      return 0;
    }
    err(`FAILED: ${file}: ${v.firstBadSeq !== undefined ? `first bad seq ${v.firstBadSeq}: ` : ''}${v.reason}`);
    return 1;
  }
  const v = verifyEvidenceExport(text, trusted);
  if (v.ok) {
    out(`ok: ${file}: ${v.bundles} bundle${v.bundles === 1 ? '' : 's'}, ${v.events} events, manifest holds`);
    return 0;
  }
  const where = [v.line !== undefined ? `line ${v.line}` : '', v.actionId ? `action ${v.actionId}` : '', v.firstBadSeq !== undefined ? `first bad seq ${v.firstBadSeq}` : '']
    .filter(Boolean)
    .join(', ');
  err(`FAILED: ${file}: ${where ? `${where}: ` : ''}${v.reason}`);
  return 1;
}

function usageError(io: EvidenceCommandIo, message: string): number {
  io.stderr.write(`countersign evidence: ${message}\n${USAGE}`);
  return 2;
}
