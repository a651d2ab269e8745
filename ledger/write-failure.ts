/**
 * Which failures of a ledger or read-model write a retry can cure. Pure: no I/O, so the rule is
 * unit-tested on its own and every writer asks the same question.
 */

/**
 * `transient`: the write may go in later (Postgres down, restarting, overloaded, a lost
 * connection, a serialization or deadlock abort): retry, as long as it takes.
 * `permanent`: Postgres refused what was written and will refuse it again (bad data, a
 * violated constraint, a row too big): retrying only hides the action's failure.
 */
export type WriteFailureKind = 'transient' | 'permanent';

/**
 * SQLSTATE classes (the first two characters) whose errors no retry of the same write cures:
 * 22 data exception (e.g. 22P05 "\u0000 cannot be converted to text", 22001 value too long),
 * 23 integrity constraint violation (not-null, check, foreign key, exclusion), 54 program limit
 * exceeded (e.g. 54000 row too big).
 */
const PERMANENT_CLASSES: ReadonlySet<string> = new Set(['22', '23', '54']);

/**
 * Codes inside a permanent class that a retry does cure. 23505 unique_violation on the ledger's
 * primary key is a concurrent writer of the same seq: the retry finds the row and tells a
 * replay from a conflict (ledger/store.ts LedgerConflictError) by its hash.
 */
const TRANSIENT_CODES: ReadonlySet<string> = new Set(['23505']);

/**
 * Classes that are transient by definition: 08 connection exception, 40 transaction rollback
 * (40001 serialization failure, 40P01 deadlock), 53 insufficient resources (disk full, out of
 * memory, too many connections), 57 operator intervention (admin shutdown, crash shutdown,
 * cannot connect now), 58 system error (I/O error). Listed for the reader; anything not
 * permanent is retried anyway.
 */
export const TRANSIENT_CLASSES: ReadonlySet<string> = new Set(['08', '40', '53', '57', '58']);

/**
 * Classify a failed write.
 *
 * - An error with a SQLSTATE (`code` of five characters, as node-postgres reports it) is
 *   permanent when its class is 22, 23 (except 23505) or 54; otherwise transient.
 * - An error of our own that says whether it is retryable (`retryable: boolean`, e.g.
 *   InvalidLedgerEventError, LedgerGapError in ledger/store.ts) is taken at its word.
 * - Anything else is transient: node socket errors (ECONNREFUSED, ECONNRESET, EPIPE, ETIMEDOUT,
 *   …), "Connection terminated unexpectedly", pool timeouts, and whatever is not recognised.
 *   Retrying an unknown failure is what the writer always did, so only a failure known to be
 *   final stops an action.
 *
 * Deployment problems every action hits (42501 a missing grant, 42P01 a missing table) are
 * transient on purpose: the operator's fix cures them, and failing every action meanwhile would
 * be worse than waiting.
 */
export function classifyWriteFailure(err: unknown): WriteFailureKind {
  if (err === null || typeof err !== 'object') return 'transient';
  const { code, retryable } = err as { code?: unknown; retryable?: unknown };
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
    if (TRANSIENT_CODES.has(code)) return 'transient';
    return PERMANENT_CLASSES.has(code.slice(0, 2)) ? 'permanent' : 'transient';
  }
  if (retryable === false) return 'permanent';
  return 'transient';
}
