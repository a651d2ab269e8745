/**
 * Copies of the signed checkpoints kept outside Postgres, so that whoever owns the database cannot
 * rewrite or truncate the ledger without `ledger verify` noticing (docs/security-model.md,
 * "Ledger anchoring"). A checkpoint commits to every chain head it covers (Merkle root) and to the
 * checkpoint before it; a copy of its hash held elsewhere pins all of that history.
 *
 * Two kinds of witness:
 * - a file (default `<dataDir>/ledger-witness.jsonl`): one JSON checkpoint per line, only ever
 *   appended (O_APPEND), mode 0600. Ship it off the host (log shipping, WORM storage) for it to
 *   outlive a compromise of the host.
 * - an HTTP witness (`COUNTERSIGN_LEDGER_WITNESS_URL`, bearer `COUNTERSIGN_LEDGER_WITNESS_TOKEN`):
 *   `POST <url>` with `{ "checkpoints": [...] }` appends (a seq it already holds with the same hash
 *   is accepted again, with another hash refused with 409); `GET <url>?after=<seq>` answers
 *   `{ "checkpoints": [...] }`, those with a higher seq, in order.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { LedgerCheckpoint } from './store';

/** What a witness keeps of a checkpoint: all of it but the covered heads (committed by headsRoot). */
export type WitnessedCheckpoint = Omit<LedgerCheckpoint, 'covers'>;

/** A place outside Postgres that keeps every signed checkpoint. */
export interface CheckpointWitness {
  /** For messages: the file path or the URL. */
  readonly name: string;
  /** The highest seq it holds (0 when none). */
  lastSeq(): Promise<number>;
  /** Keep these (in seq order). */
  append(checkpoints: readonly WitnessedCheckpoint[]): Promise<void>;
  /** Everything it holds, in the order it was written. */
  readAll(): Promise<WitnessedCheckpoint[]>;
}

/** Raised when a witness cannot be read or written, or holds something that is not a checkpoint. */
export class WitnessError extends Error {
  override name = 'WitnessError';
}

/** The default witness file of a data dir. */
export function defaultWitnessFile(dataDir: string): string {
  return path.join(dataDir, 'ledger-witness.jsonl');
}

/**
 * The witnesses an installation keeps: the data dir's file, and the HTTP witness when a URL is
 * configured. `existingFileOnly`: leave the file out until it exists (to verify against, in a
 * process or on a host where no checkpoint was written yet).
 */
export function configuredWitnesses(opts: { dataDir: string; url?: string; token?: string; existingFileOnly?: boolean }): CheckpointWitness[] {
  const file = defaultWitnessFile(opts.dataDir);
  const withFile = !opts.existingFileOnly || fs.existsSync(file);
  return [...(withFile ? [new FileWitness(file)] : []), ...(opts.url ? [new HttpWitness(opts.url, opts.token)] : [])];
}

export function witnessCopy(cp: LedgerCheckpoint | WitnessedCheckpoint): WitnessedCheckpoint {
  const { seq, at, headCount, headsRoot, throughGlobalSeq, horizon, keyId, prevHash, hash, signature } = cp;
  return { seq, at, headCount, headsRoot, throughGlobalSeq, horizon, keyId, prevHash, hash, signature };
}

function parseCheckpoint(value: unknown, where: string): WitnessedCheckpoint {
  const v = value as Partial<WitnessedCheckpoint> | null;
  if (!v || typeof v !== 'object' || !Number.isInteger(v.seq) || typeof v.hash !== 'string' || typeof v.at !== 'string') {
    throw new WitnessError(`${where}: not a checkpoint`);
  }
  return witnessCopy(v as WitnessedCheckpoint);
}

/** Appends checkpoints to a local file, one JSON line each. */
export class FileWitness implements CheckpointWitness {
  constructor(readonly file: string) {}

  get name(): string {
    return this.file;
  }

  async lastSeq(): Promise<number> {
    if (!fs.existsSync(this.file)) return 0;
    // The last complete line is enough: read the file's tail only.
    const fd = fs.openSync(this.file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const length = Math.min(size, 64 * 1024);
      const buf = Buffer.alloc(length);
      fs.readSync(fd, buf, 0, length, size - length);
      const lines = buf.toString('utf8').split('\n').filter((l) => l.trim() !== '');
      for (let i = lines.length - 1; i >= 0; i--) {
        try {
          return parseCheckpoint(JSON.parse(lines[i]!), this.file).seq;
        } catch {
          // a torn first line of the tail, or a half-written last one: look further back
        }
      }
      return 0;
    } finally {
      fs.closeSync(fd);
    }
  }

  async append(checkpoints: readonly WitnessedCheckpoint[]): Promise<void> {
    if (checkpoints.length === 0) return;
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    // One write per batch with O_APPEND: two processes appending at once never interleave lines.
    // A line cut short by a crash is ended first, so the next one starts on a line of its own.
    const torn = fs.existsSync(this.file) && endsMidLine(this.file);
    const fd = fs.openSync(this.file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT, 0o600);
    try {
      fs.writeSync(fd, (torn ? '\n' : '') + checkpoints.map((cp) => `${JSON.stringify(witnessCopy(cp))}\n`).join(''));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  async readAll(): Promise<WitnessedCheckpoint[]> {
    if (!fs.existsSync(this.file)) throw new WitnessError(`${this.file} does not exist`);
    const lines = fs.readFileSync(this.file, 'utf8').split('\n');
    const out: WitnessedCheckpoint[] = [];
    lines.forEach((line, i) => {
      if (line.trim() === '') return;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        // A line cut short by a crash mid-append (the next append starts a new line): skipped;
        // what it held was written again by the next sync.
        return;
      }
      out.push(parseCheckpoint(value, `${this.file} line ${i + 1}`));
    });
    return out;
  }
}

/** Whether the file's last byte is not a newline (a write was cut short). */
function endsMidLine(file: string): boolean {
  const size = fs.statSync(file).size;
  if (size === 0) return false;
  const fd = fs.openSync(file, 'r');
  try {
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, size - 1);
    return b[0] !== 0x0a;
  } finally {
    fs.closeSync(fd);
  }
}

/** Sends checkpoints to an HTTP witness (see the module comment for the protocol). */
export class HttpWitness implements CheckpointWitness {
  private known = 0;

  constructor(
    readonly url: string,
    private readonly token?: string,
    private readonly timeoutMs = 10_000,
  ) {}

  get name(): string {
    return this.url;
  }

  private async request(method: 'GET' | 'POST', url: string, body?: unknown): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
        headers: { ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
    } catch (err) {
      throw new WitnessError(`witness ${this.url}: ${(err as Error).message}`);
    }
    const text = await res.text();
    if (!res.ok) throw new WitnessError(`witness ${this.url} answered ${method} with HTTP ${res.status}${res.status === 409 ? ' (it holds a different checkpoint with that seq)' : ''}: ${text.slice(0, 200)}`);
    try {
      return text ? JSON.parse(text) : null;
    } catch {
      throw new WitnessError(`witness ${this.url} answered ${method} with something that is not JSON`);
    }
  }

  private async after(seq: number): Promise<WitnessedCheckpoint[]> {
    const u = new URL(this.url);
    u.searchParams.set('after', String(seq));
    const body = (await this.request('GET', u.toString())) as { checkpoints?: unknown } | null;
    if (!body || !Array.isArray(body.checkpoints)) throw new WitnessError(`witness ${this.url}: the answer has no checkpoints list`);
    return body.checkpoints.map((c, i) => parseCheckpoint(c, `witness ${this.url} checkpoint ${i}`));
  }

  async lastSeq(): Promise<number> {
    // Remembered between calls, so each sync asks only for what is new.
    for (const cp of await this.after(this.known)) this.known = Math.max(this.known, cp.seq);
    return this.known;
  }

  async append(checkpoints: readonly WitnessedCheckpoint[]): Promise<void> {
    if (checkpoints.length === 0) return;
    await this.request('POST', this.url, { checkpoints: checkpoints.map(witnessCopy) });
    this.known = Math.max(this.known, ...checkpoints.map((c) => c.seq));
  }

  readAll(): Promise<WitnessedCheckpoint[]> {
    return this.after(0);
  }
}
