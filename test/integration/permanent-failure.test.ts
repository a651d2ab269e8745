/**
 * A ledger write Postgres refuses for good stops the action visibly instead of being retried
 * forever; one it refuses for a while is still retried. Real API, worker, Temporal and
 * Postgres; the refusals come from a trigger this test puts on ledger_events (as the database
 * superuser), raising the SQLSTATE a real refusal would carry.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { runLedgerCommand } from '../../cli/commands/ledger';
import { WRITE_FAILURES } from '../../domain/action-types';
import { testPolicy } from '../fixtures/policy';
import { eventually, startTestStack, type TestStack } from '../helpers/stack';
import { startTarget } from '../helpers/target';

describe('permanent ledger write failures', () => {
  let stack: TestStack;
  let target: Awaited<ReturnType<typeof startTarget>>;
  /** The test database as its superuser: the application role may not create triggers. */
  let superuser: pg.Pool;
  let agent: string;
  let alice: string;
  let operator: string;
  let tmp: string;
  const faulted: string[] = [];

  beforeAll(async () => {
    target = await startTarget();
    stack = await startTestStack(testPolicy(target.url));
    agent = await stack.principal('agent-1', 'agent', ['agent']);
    alice = await stack.principal('alice', 'human', ['reviewer'], ['finance']);
    operator = await stack.principal('olga', 'human', ['operator']);
    const { rows } = await stack.pool.query<{ db: string }>('SELECT current_database() AS db');
    superuser = new pg.Pool({ connectionString: inject('databaseUrl').replace(/\/[^/]+$/, `/${rows[0]!.db}`), max: 2 });
    // A row whose action id is a marker, or whose data holds one, is refused with the marker's
    // SQLSTATE: every time, or its first `times` times. Each try counts on the marker's own
    // sequence, which a rolled-back transaction does not undo.
    await superuser.query(`
      CREATE TABLE test_write_faults (marker text PRIMARY KEY, sqlstate text NOT NULL, times int, counter regclass NOT NULL);
      CREATE FUNCTION test_refuse_write() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        f test_write_faults;
        n bigint;
      BEGIN
        SELECT * INTO f FROM test_write_faults WHERE NEW.action_id = marker OR strpos(NEW.data::text, marker) > 0 LIMIT 1;
        IF NOT FOUND THEN RETURN NEW; END IF;
        n := nextval(f.counter);
        IF f.times IS NULL OR n <= f.times THEN
          RAISE EXCEPTION 'unsupported Unicode escape sequence (injected by the test: %)', f.sqlstate
            USING ERRCODE = f.sqlstate, DETAIL = '\\u0000 cannot be converted to text.';
        END IF;
        RETURN NEW;
      END $$ SECURITY DEFINER;
      CREATE TRIGGER test_refuse_write BEFORE INSERT ON ledger_events FOR EACH ROW EXECUTE FUNCTION test_refuse_write();
    `);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-faults-'));
  });
  afterAll(async () => {
    await superuser?.end();
    await stack?.stop();
    await target?.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  let markers = 0;
  /** Refuse the writes `marker` matches with `sqlstate` (`times` times, or always). */
  async function refuse(marker: string, sqlstate: string, times: number | null = null): Promise<() => Promise<number>> {
    const counter = `test_hits_${++markers}`;
    await superuser.query(`CREATE SEQUENCE ${counter}`);
    await superuser.query('INSERT INTO test_write_faults (marker, sqlstate, times, counter) VALUES ($1, $2, $3, $4)', [marker, sqlstate, times, counter]);
    // How many writes the trigger saw for the marker (refused or not).
    return async () => {
      const { rows } = await superuser.query<{ n: string; is_called: boolean }>(`SELECT last_value AS n, is_called FROM ${counter}`);
      return rows[0]!.is_called ? Number(rows[0]!.n) : 0;
    };
  }

  const propose = (params: Record<string, unknown>) => stack.call(agent, 'POST', '/v1/actions?wait=20', { action: 'payments.transfer', params });
  const handleOf = (actionId: string) => stack.services.temporal.workflow.getHandle(`action-${actionId}`);
  const row = async (actionId: string) =>
    (await stack.pool.query<{ status: string; error: string | null }>('SELECT status, error FROM actions WHERE id = $1', [actionId])).rows[0]!;
  const faultGauge = async () => {
    const text = await (await fetch(`${stack.url}/metrics`)).text();
    const m = /^countersign_action_faults (\d+)$/m.exec(text);
    return m ? Number(m[1]) : undefined;
  };

  /** The workflow's failure, once it has ended. */
  async function workflowFailure(actionId: string): Promise<ApplicationFailure> {
    await eventually(async () => (await handleOf(actionId).describe()).status.name !== 'RUNNING', 20_000, 'the workflow to end');
    const err = await handleOf(actionId).result().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    return cause as ApplicationFailure;
  }

  it('when an action is written normally, then it succeeds (and its target is now known fast: the next calls may run inline)', async () => {
    const r = await propose({ amount: 40, currency: 'EUR', to: 'acct-normal' });
    expect(r.body.status).toBe('succeeded');
    const types = await stack.pool.query<{ type: string }>('SELECT type FROM ledger_events WHERE action_id = $1 ORDER BY seq', [r.body.id]);
    expect(types.rows.map((t) => t.type)).toEqual(['proposed', 'policy_decided', 'execution_started', 'executed']);
  });

  it('when Postgres refuses an approval for good, then the decision fails, nothing runs, and the workflow fails with PermanentWriteFailure after one try', async () => {
    const proposed = await propose({ amount: 500, currency: 'EUR', to: 'acct-decision' });
    expect(proposed.body.status).toBe('awaiting_approval');
    const id = proposed.body.id as string;
    faulted.push(id);
    const hits = await refuse(id, '22P05');

    const decided = await stack.call(alice, 'POST', `/v1/actions/${id}/decisions`, { decision: 'approve', reason: 'ok' });
    // The reviewer's request ends (it does not hang) and does not claim the vote counted.
    expect(decided.status).toBe(409);
    expect(decided.body.type).toMatch(/action-stopped$/);

    const failure = await workflowFailure(id);
    expect(failure.type).toBe(WRITE_FAILURES.permanent);
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toContain('22P05');
    expect((await handleOf(id).describe()).status.name).toBe('FAILED');
    // One try: the refused batch was not retried, and nothing was written after it.
    expect(await hits()).toBe(1);
    const { events } = await handleOf(id).fetchHistory();
    expect(events?.length ?? 0).toBeLessThan(40);
    const ledger = await stack.pool.query<{ type: string }>('SELECT type FROM ledger_events WHERE action_id = $1 ORDER BY seq', [id]);
    expect(ledger.rows.map((r) => r.type)).toEqual(['proposed', 'policy_decided', 'approval_requested']);
    // No executor call on a vote that is not in the ledger.
    expect(target.forAction(id)).toEqual([]);

    const view = await stack.call(operator, 'GET', `/v1/actions/${id}`);
    expect(view.body.status).toBe('failed');
    expect(view.body.error).toMatch(/could not record this action's next step \(event 4, decision_recorded\)/);
    expect(view.body.error).toMatch(/An operator must look/);
    expect(await faultGauge()).toBe(1);
  });

  it("when a new action's first write is refused for good, then the agent's wait ends with status failed and the outcome is said to be unknown", async () => {
    const hits = await refuse('acct-first-write', '22P05');
    const proposed = await propose({ amount: 50, currency: 'EUR', to: 'acct-first-write' });
    const id = proposed.body.id as string;
    faulted.push(id);
    const settled = await eventually(async () => {
      const r = await row(id);
      return r.status === 'failed' && r;
    }, 20_000, 'the read model to say failed');
    // The batch [proposed, policy_decided, execution_started] went to Postgres while the executor was called.
    expect(settled.error).toMatch(/^Outcome unknown: the executor may or may not have run\./);
    const failure = await workflowFailure(id);
    expect(failure.type).toBe(WRITE_FAILURES.permanent);
    expect(await hits()).toBe(1);
    expect((await stack.pool.query('SELECT 1 FROM ledger_events WHERE action_id = $1', [id])).rowCount).toBe(0);
    expect(await faultGauge()).toBe(2);
  });

  it('when the write of an accepted cancel is refused for good, then the cancel request ends with an error instead of hanging, and the workflow fails', async () => {
    const proposed = await propose({ amount: 700, currency: 'EUR', to: 'acct-cancel' });
    expect(proposed.body.status).toBe('awaiting_approval');
    const id = proposed.body.id as string;
    faulted.push(id);
    await refuse(id, '23514');
    const cancelled = await stack.call(agent, 'POST', `/v1/actions/${id}/cancel`, { reason: 'changed my mind' });
    expect(cancelled.status).toBe(409);
    expect(cancelled.body.type).toMatch(/action-stopped$/);
    expect((await workflowFailure(id)).type).toBe(WRITE_FAILURES.permanent);
    expect(await row(id)).toMatchObject({ status: 'failed', error: expect.stringContaining('(event 4, cancelled)') });
    expect(await faultGauge()).toBe(3);
  });

  it('when Postgres refuses a write twice with a serialization failure, then it is retried and the action completes', async () => {
    const hits = await refuse('acct-transient', '40001', 2);
    const r = await propose({ amount: 60, currency: 'EUR', to: 'acct-transient' });
    await eventually(async () => (await row(r.body.id)).status === 'succeeded', 20_000, 'the action to succeed');
    expect(await handleOf(r.body.id).result()).toMatchObject({ status: 'succeeded' });
    expect(await hits()).toBeGreaterThanOrEqual(3);
    expect((await stack.pool.query('SELECT 1 FROM action_faults WHERE action_id = $1', [r.body.id])).rowCount).toBe(0);
    expect(await faultGauge()).toBe(3);
  });

  it('when the ledger is verified, then the evidence holds and the faulted actions are listed, by the API and by the CLI (exit 3) until acknowledged', async () => {
    const verify = await stack.call(operator, 'GET', '/v1/ledger/verify');
    expect(verify.status).toBe(200);
    expect(verify.body.ok).toBe(true);
    expect(verify.body.faults).toEqual([
      expect.objectContaining({ actionId: faulted[0], seq: 4, type: 'decision_recorded', events: ['decision_recorded', 'execution_started'], code: '22P05' }),
      expect.objectContaining({ actionId: faulted[1], seq: 1, type: 'proposed', code: '22P05' }),
      expect.objectContaining({ actionId: faulted[2], seq: 4, type: 'cancelled', code: '23514' }),
    ]);
    expect(verify.body.faults[0].message).toMatch(/unsupported Unicode escape sequence/);
    expect(Date.parse(verify.body.faults[0].at)).not.toBeNaN();

    // The CLI verifies against the public keys the stack registered.
    const keyFiles = (await stack.pool.query<{ key_id: string; public_key: string }>('SELECT key_id, public_key FROM signing_keys')).rows.map((k) => {
      const file = path.join(tmp, `${k.key_id}.pub`);
      fs.writeFileSync(file, k.public_key);
      return file;
    });
    const run = async (argv: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const io = { stdout: { write: (t: string) => out.push(t) }, stderr: { write: (t: string) => err.push(t) } };
      const code = await runLedgerCommand(argv, { getPool: async () => superuser, dataDir: tmp, io, env: {} });
      return { code, out: out.join(''), err: err.join('') };
    };
    const cli = await run(['verify', ...keyFiles.flatMap((f) => ['--public-key', f])]);
    expect(cli.code).toBe(3);
    expect(cli.out).toMatch(/^ok: ledger holds/);
    expect(cli.err).toContain(`FAULT: action ${faulted[0]} stopped at event 4 (decision_recorded, execution_started)`);
    expect(cli.err).toContain(`FAULT: action ${faulted[1]} stopped at event 1`);

    expect(await run(['ack-fault', faulted[0]!, '--by', 'olga'])).toMatchObject({ code: 0 });
    expect(await run(['ack-fault', faulted[0]!])).toMatchObject({ code: 1 });
    expect(await faultGauge()).toBe(2);
    expect((await stack.call(operator, 'GET', '/v1/ledger/verify')).body.faults.map((f: { actionId: string }) => f.actionId)).toEqual(faulted.slice(1));
    for (const id of faulted.slice(1)) expect(await run(['ack-fault', id])).toMatchObject({ code: 0 });
    const clean = await run(['verify', ...keyFiles.flatMap((f) => ['--public-key', f])]);
    expect(clean.code).toBe(0);
    expect(clean.err).not.toContain('FAULT');
    expect(await faultGauge()).toBe(0);
  });
});
