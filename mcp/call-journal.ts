/**
 * What the gateway keeps on disk so that its promises hold across its own restarts (and across
 * gateway processes that share the directory and the Countersign token):
 *
 * - `pending/<call digest>`: the action a `tools/call` became while it waits for approval (or for
 *   its result to be returned). The same call with the same arguments picks it up instead of
 *   proposing again. Removed once the call's outcome has been returned.
 * - `claims/<action id>`: written (exclusively: `O_EXCL`) right before the gateway calls the
 *   upstream for an approved action. A claim is never taken twice, so an upstream tool runs at
 *   most once per action even when the gateway dies mid-call and a new one picks the call up.
 *   The price: an action claimed by a gateway that died before the upstream answered is not run
 *   again; it ends `failed` with outcome-unknown at its `resultTimeout`.
 *
 * Allowed calls need neither: they are carried out by the process that proposed them, at once,
 * and no later call picks them up.
 *
 * A claim matters only while its action is `approved`: once the action has ended (reported, or
 * `outcome-unknown` at its result deadline) no call reaches the upstream for it again. The gateway
 * removes claims of ended actions an hour after they were written (governed-calls.ts).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { canonicalJson } from '../domain/canonical-json';

/** What an action id looks like, so that one never names a path outside `claims/`. */
const ACTION_ID = /^[A-Za-z0-9_-]+$/;

/** The digest that identifies "the same call with the same arguments". */
export function callDigest(action: string, args: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson({ action, args })).digest('hex');
}

/** The gateway's state directory (see the file comment). */
export class CallJournal {
  private readonly pendingDir: string;
  private readonly claimsDir: string;

  constructor(readonly dir: string) {
    this.pendingDir = path.join(dir, 'pending');
    this.claimsDir = path.join(dir, 'claims');
    fs.mkdirSync(this.pendingDir, { recursive: true, mode: 0o700 });
    fs.mkdirSync(this.claimsDir, { recursive: true, mode: 0o700 });
  }

  /** The action a call with this digest is waiting on, if any. */
  pendingAction(digest: string): string | undefined {
    try {
      const id = fs.readFileSync(path.join(this.pendingDir, digest), 'utf8').trim();
      return id || undefined;
    } catch {
      return undefined;
    }
  }

  /** Remember that the call with this digest waits on `actionId` (written aside, then renamed into place). */
  rememberPending(digest: string, actionId: string): void {
    const file = path.join(this.pendingDir, digest);
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, actionId, { mode: 0o600 });
    fs.renameSync(tmp, file);
  }

  /** The call's outcome was returned: the next identical call proposes anew. Only if it still names `actionId`. */
  forgetPending(digest: string, actionId: string): void {
    if (this.pendingAction(digest) !== actionId) return;
    fs.rmSync(path.join(this.pendingDir, digest), { force: true });
  }

  /** Action ids of claims written more than `olderThanMs` ago, oldest first, at most `limit`. */
  staleClaims(olderThanMs: number, limit: number, now = Date.now()): string[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.claimsDir);
    } catch {
      return [];
    }
    const stale: { id: string; at: number }[] = [];
    for (const name of names) {
      if (!ACTION_ID.test(name)) continue;
      try {
        const at = fs.statSync(path.join(this.claimsDir, name)).mtimeMs;
        if (at <= now - olderThanMs) stale.push({ id: name, at });
      } catch {
        // Removed meanwhile (another gateway sharing the directory).
      }
    }
    return stale
      .sort((a, b) => a.at - b.at)
      .slice(0, limit)
      .map((c) => c.id);
  }

  /** Remove the claim of an action that has ended (it can never be run again anyway). */
  removeClaim(actionId: string): void {
    if (!ACTION_ID.test(actionId)) return;
    fs.rmSync(path.join(this.claimsDir, actionId), { force: true });
  }

  /**
   * Take the right to call the upstream for `actionId`. True once per action, ever: false when
   * this or another gateway process took it before. The claim is on disk before this returns.
   */
  claim(actionId: string): boolean {
    if (!ACTION_ID.test(actionId)) throw new Error(`unexpected action id ${JSON.stringify(actionId)}`);
    let fd: number;
    try {
      fd = fs.openSync(path.join(this.claimsDir, actionId), 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    }
    try {
      fs.writeSync(fd, JSON.stringify({ pid: process.pid, at: new Date().toISOString() }));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    return true;
  }
}
