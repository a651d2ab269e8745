import { DatabaseError } from 'pg';
import { describe, expect, it } from 'vitest';
import { permanentFailureMessage } from '../../activities/record-event';
import { InvalidLedgerEventError, LedgerConcurrentWriteError, LedgerGapError, LedgerIntegrityError } from '../../ledger/store';
import { classifyWriteFailure } from '../../ledger/write-failure';

/** An error as node-postgres raises it for an ErrorResponse with this SQLSTATE. */
function pgError(code: string, message = `error ${code}`): DatabaseError {
  const err = new DatabaseError(message, message.length, 'error');
  err.code = code;
  return err;
}

/** A socket error as node raises it. */
const socketError = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), { code, errno: -1, syscall: 'connect' });

describe('classifyWriteFailure', () => {
  it.each([
    ['22P05', 'unsupported Unicode escape sequence (\\u0000 cannot be converted to text)'],
    ['22001', 'value too long for type character varying(10)'],
    ['22P02', 'invalid input syntax for type json'],
    ['23502', 'null value in column "status" violates not-null constraint'],
    ['23514', 'new row violates check constraint "ledger_events_type_check"'],
    ['23503', 'insert or update violates foreign key constraint'],
    ['23P01', 'conflicting key value violates exclusion constraint'],
    ['54000', 'row is too big: size 9000, maximum size 8160'],
    ['54001', 'stack depth limit exceeded'],
  ])('when Postgres refuses a write with %s, then it is permanent', (code, message) => {
    expect(classifyWriteFailure(pgError(code, message))).toBe('permanent');
  });

  it.each([
    ['08006', 'connection failure'],
    ['08003', 'connection does not exist'],
    ['40001', 'could not serialize access due to concurrent update'],
    ['40P01', 'deadlock detected'],
    ['53100', 'could not extend file: No space left on device'],
    ['53300', 'sorry, too many clients already'],
    ['57P01', 'terminating connection due to administrator command'],
    ['57P03', 'the database system is starting up'],
    ['58030', 'could not write to file'],
    // The ledger's primary key hit by a concurrent writer of the same seq: the retry sorts it out.
    ['23505', 'duplicate key value violates unique constraint "ledger_events_pkey"'],
    // A deployment problem every action hits, cured by the operator's fix.
    ['42501', 'permission denied for table action_faults'],
    ['42P01', 'relation "action_faults" does not exist'],
    ['XX000', 'internal error'],
  ])('when Postgres fails a write with %s, then it is transient', (code, message) => {
    expect(classifyWriteFailure(pgError(code, message))).toBe('transient');
  });

  it.each(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH'])(
    'when the connection fails with %s, then it is transient',
    (code) => {
      expect(classifyWriteFailure(socketError(code))).toBe('transient');
    },
  );

  it('when node-postgres loses the connection without a code, or an unknown value is thrown, then it is transient', () => {
    expect(classifyWriteFailure(new Error('Connection terminated unexpectedly'))).toBe('transient');
    expect(classifyWriteFailure(new Error('timeout exceeded when trying to connect'))).toBe('transient');
    expect(classifyWriteFailure(new Error('Client has encountered a connection error and is not queryable'))).toBe('transient');
    expect(classifyWriteFailure(undefined)).toBe('transient');
    expect(classifyWriteFailure('boom')).toBe('transient');
    expect(classifyWriteFailure({ code: 42 })).toBe('transient');
  });

  it('when the ledger says whether its own error is retryable, then that is taken at its word', () => {
    expect(classifyWriteFailure(new InvalidLedgerEventError('data is undefined (use {} or null)'))).toBe('permanent');
    expect(classifyWriteFailure(new LedgerIntegrityError('Postgres hashed event 3 differently'))).toBe('permanent');
    expect(classifyWriteFailure(new LedgerGapError('a-1', 4))).toBe('transient');
    expect(classifyWriteFailure(new LedgerConcurrentWriteError('a-1', 4))).toBe('transient');
  });
});

describe('permanentFailureMessage', () => {
  const fault = { seq: 2, type: 'policy_decided', code: '22P05', message: 'unsupported Unicode escape sequence' };

  it('when the refused batch is before execution, then the read model says the action was stopped and an operator must look', () => {
    const text = permanentFailureMessage({ ...fault, events: ['policy_decided', 'approval_requested'] });
    expect(text).toMatch(/^Countersign could not record this action's next step \(event 2, policy_decided\)/);
    expect(text).toContain('22P05: unsupported Unicode escape sequence');
    expect(text).toContain('An operator must look');
    expect(text).not.toMatch(/outcome unknown/i);
  });

  it('when the refused batch may have let the executor run, then the read model says the outcome is unknown', () => {
    for (const events of [['execution_started'], ['decision_recorded', 'execution_started'], ['executed'], ['execution_failed']]) {
      expect(permanentFailureMessage({ ...fault, events })).toMatch(/^Outcome unknown: the executor may or may not have run\./);
    }
  });
});
