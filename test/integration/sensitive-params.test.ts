import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Payload } from '@temporalio/common';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runEvidenceCommand } from '../../cli/commands/evidence';
import { runLedgerCommand } from '../../cli/commands/ledger';
import { digestKeyPath } from '../../ledger/digest-key';
import { startServices, type Services } from '../../runtime/stack';
import { call, eventually } from '../helpers/stack';
import { startTarget } from '../helpers/target';

/**
 * `x-sensitive` params end to end, on a real Temporal and Postgres: a value in an array item and
 * a whole object never reach the ledger, evidence, webhooks or logs in clear (only keyed
 * digests an auditor can check with the exported key), while the executor gets them.
 */

// Distinctive, so any appearance anywhere is found by a plain text search.
const IBAN_ANN = 'IBAN-PLAINTEXT-ann-5c1d';
const IBAN_BOB = 'IBAN-PLAINTEXT-bob-77e0';
const IBAN_BOB_EDITED = 'IBAN-PLAINTEXT-bob-edited-e4a9';
const PASSWORD = 'PASSWORD-PLAINTEXT-0b3f';
const SECRETS = [IBAN_ANN, IBAN_BOB, IBAN_BOB_EDITED, PASSWORD];

const policy = (targetUrl: string, hookUrl: string) => `
defaults:
  decision: deny
  approval: { timeout: 1h, onTimeout: deny }
notifications:
  webhooks:
    payroll: ["${hookUrl}/payroll"]
actions:
  hr.payroll:
    owner: payroll
    category: financial
    params:
      type: object
      required: [month, employees, bankLogin]
      additionalProperties: false
      properties:
        month: { type: string }
        employees:
          type: array
          items:
            type: object
            required: [name, iban]
            additionalProperties: false
            properties:
              name: { type: string }
              iban: { type: string, x-sensitive: true }
        bankLogin:
          type: object
          x-sensitive: true
          required: [user, password]
          properties: { user: { type: string }, password: { type: string } }
    executor: { type: http, url: "${targetUrl}/payroll" }
rules:
  - id: payroll-needs-review
    action: hr.payroll
    decision: require_approval
    approval:
      steps:
        - { group: payroll, quorum: 1, timeout: 1h }
`;

/** Every payload anywhere in a history (inputs, results, Update args, markers, …). */
function payloadsIn(history: unknown): Payload[] {
  const found: Payload[] = [];
  const walk = (node: unknown): void => {
    if (node === null || typeof node !== 'object' || node instanceof Uint8Array) return;
    const n = node as Record<string, unknown>;
    if (n.data instanceof Uint8Array && n.metadata && typeof n.metadata === 'object') {
      found.push(n as Payload);
      return;
    }
    for (const v of Object.values(n)) walk(v);
  };
  walk(history);
  return found;
}

const params = {
  month: '2026-01',
  employees: [
    { name: 'Ann', iban: IBAN_ANN },
    { name: 'Bob', iban: IBAN_BOB },
  ],
  bankLogin: { user: 'payroll-bot', password: PASSWORD },
};

describe('sensitive params', () => {
  let services: Services;
  let dataDir: string;
  let target: Awaited<ReturnType<typeof startTarget>>;
  let hook: Awaited<ReturnType<typeof startTarget>>;
  let admin: pg.Client;
  const logLines: string[] = [];
  let api: (token: string | undefined, method: string, urlPath: string, body?: unknown) => ReturnType<typeof call>;
  let agent: string;
  let rita: string;
  let olga: string;

  beforeAll(async () => {
    target = await startTarget();
    hook = await startTarget();
    // A stack of our own (not test/helpers/stack.ts): the auditor needs its data dir's digest key.
    const database = `t_${randomBytes(4).toString('hex')}`;
    admin = new pg.Client({ connectionString: inject('databaseUrl') });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${database}`);
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-sensitive-'));
    const policyFile = path.join(dataDir, 'policy.yaml');
    fs.writeFileSync(policyFile, policy(target.url, hook.url));
    const adminToken = randomBytes(24).toString('base64url');
    services = await startServices({
      databaseUrl: inject('databaseUrl').replace(/\/[^/]+$/, `/${database}`),
      temporalAddress: inject('temporalAddress'),
      namespace: 'default',
      taskQueue: `test-sensitive-${database}`,
      dataDir,
      port: 0,
      policyFile,
      adminToken,
      executorSecret: 'test-executor-secret-0123456789',
      temporalUiUrl: 'http://localhost:8233',
      maxBodyBytes: 1024 * 1024,
      log: pino({ level: 'trace' }, { write: (line: string) => void logLines.push(line) }),
      workflowBundle: { code: fs.readFileSync(inject('workflowBundlePath'), 'utf8') },
    });
    api = (token, method, urlPath, body) => call(services.url, token, method, urlPath, body);
    const principal = async (id: string, kind: 'agent' | 'human', roles: string[], groups: string[] = []) => {
      const r = await api(adminToken, 'POST', '/v1/principals', { id, kind, roles, groups });
      if (r.status !== 201) throw new Error(`creating principal ${id}: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body.token as string;
    };
    agent = await principal('agent-payroll', 'agent', ['agent']);
    rita = await principal('rita', 'human', ['reviewer'], ['payroll']);
    olga = await principal('olga', 'human', ['operator']);
  });
  afterAll(async () => {
    await services?.stop();
    await admin?.end();
    await target?.close();
    await hook?.close();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const expectNoPlaintext = (what: string, text: string) => {
    for (const secret of SECRETS) expect(text, `${what} holds ${secret}`).not.toContain(secret);
  };
  const ledgerRows = async (actionId: string) =>
    (await services.pool.query<{ type: string; data: any; text: string }>('SELECT type, data, data::text AS text FROM ledger_events WHERE action_id = $1 ORDER BY seq', [actionId])).rows;

  it('when an action with a sensitive array-item field and a sensitive object is approved with an edit, then the ledger, evidence, webhooks and logs hold only keyed digests, an auditor checks one with the exported key, and the executor gets the values', async () => {
    // Arrange: proposed and waiting for rita.
    const proposed = await api(agent, 'POST', '/v1/actions?wait=20', { action: 'hr.payroll', params, justification: 'January payroll' });
    expect(proposed.status).toBe(201);
    const id = proposed.body.id as string;
    await eventually(async () => (await api(olga, 'GET', `/v1/actions/${id}`)).body.status === 'awaiting_approval', 20_000, 'awaiting_approval');

    // Act: rita approves with Bob's IBAN replaced (sent in full: this part does not rely on the
    // API putting back masked values), the action executes, the evidence is exported.
    const edited = { ...params, employees: [params.employees[0], { name: 'Bob', iban: IBAN_BOB_EDITED }] };
    const decided = await api(rita, 'POST', `/v1/actions/${id}/decisions`, { decision: 'approve', params: edited });
    expect(decided.status).toBe(200);
    await eventually(async () => (await api(olga, 'GET', `/v1/actions/${id}`)).body.status === 'succeeded', 20_000, 'succeeded');
    const evidence = await api(olga, 'GET', `/v1/actions/${id}/evidence`);
    const exported: string[] = [];
    const cliIo = (sink: string[]) => ({ stdout: { write: (t: string) => sink.push(t) }, stderr: { write: (t: string) => sink.push(t) } });
    const exportCode = await runEvidenceCommand(['export', '--since', '2000-01-01T00:00:00Z', '--until', '2100-01-01T00:00:00Z', '--action', id], {
      getPool: async () => services.pool,
      dataDir,
      io: cliIo(exported),
      env: {},
    });
    const rows = await ledgerRows(id);

    // Assert: the executor got exactly the approved values.
    const [sent] = target.forAction(id);
    expect(sent?.body.params).toEqual(edited);

    // The ledger, read straight from Postgres: no value in clear, keyed digests where they were.
    const event = (type: string) => {
      const row = rows.find((r) => r.type === type);
      if (!row) throw new Error(`no ${type} event in ${rows.map((r) => r.type).join(', ')}`);
      return row.data;
    };
    expectNoPlaintext('the ledger', rows.map((r) => r.text).join('\n'));
    const keyedDigest = { $digest: expect.stringMatching(/^hmac-sha256:[0-9a-f]{64}$/) };
    const proposedData = event('proposed');
    expect(proposedData.params).toEqual({ month: '2026-01', employees: [{ name: 'Ann', iban: keyedDigest }, { name: 'Bob', iban: keyedDigest }], bankLogin: keyedDigest });
    const editedData = event('edited');
    expect(editedData.edits['/employees'].to).toEqual([{ name: 'Ann', iban: keyedDigest }, { name: 'Bob', iban: keyedDigest }]);
    expect(editedData.edits['/employees'].from[1].iban).not.toEqual(editedData.edits['/employees'].to[1].iban);
    expect(editedData.edits['/employees'].from[0].iban).toEqual(proposedData.params.employees[0].iban);
    expect(event('decision_recorded').edits['/employees'].to[1].iban).toEqual(editedData.edits['/employees'].to[1].iban);
    expect(event('executed').requestDigest).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(rows.map((r) => r.text).join('\n')).not.toMatch(/"\$digest": ?"sha256:/);

    // The evidence, through the API and the CLI export.
    expect(evidence.status).toBe(200);
    expectNoPlaintext('the evidence bundle', JSON.stringify(evidence.body));
    expect(exportCode).toBe(0);
    expectNoPlaintext('the evidence export', exported.join(''));
    expect(exported.join('')).toContain('hmac-sha256:');

    // Webhooks: the approval request (and the outcome) went out masked.
    const notifications = await eventually(async () => {
      const mine = hook.received.filter((r) => r.body?.countersign?.actionId === id);
      return mine.length >= 2 && mine;
    }, 20_000, 'the approval request and outcome webhooks');
    for (const n of notifications) expectNoPlaintext('a webhook', n.rawBody);
    expect(notifications[0]!.body.blocks[1].text.text).toContain('params: {"month":"2026-01","employees":[{"name":"Ann","iban":"***"},{"name":"Bob","iban":"***"}],"bankLogin":"***"}');

    // Logs of the API and worker, at trace level.
    expect(logLines.length).toBeGreaterThan(5);
    expectNoPlaintext('the logs', logLines.join(''));

    // The auditor: the operator exports the key; with it and the value they hold, the digest of
    // Ann's IBAN in the proposal checks, and a wrong value does not.
    const keyFile = path.join(dataDir, 'auditor-digest-key.hex');
    const keyOut: string[] = [];
    expect(await runLedgerCommand(['digest-key', 'export', '--out', keyFile], { getPool: async () => services.pool, dataDir, io: cliIo(keyOut), env: {} })).toBe(0);
    expect(fs.readFileSync(keyFile, 'utf8').trim()).toBe(fs.readFileSync(digestKeyPath(dataDir)).toString('hex'));
    const auditorDir = fs.mkdtempSync(path.join(os.tmpdir(), 'auditor-'));
    const check = async (value: string) => {
      const out: string[] = [];
      const code = await runEvidenceCommand(['check-digest', proposedData.params.employees[0].iban.$digest, '--string', value, '--key-file', keyFile], {
        getPool: () => Promise.reject(new Error('offline')),
        dataDir: auditorDir,
        io: cliIo(out),
        env: {},
      });
      return { code, out: out.join('') };
    };
    expect(await check(IBAN_ANN)).toMatchObject({ code: 0, out: expect.stringContaining('ok:') });
    expect(await check(IBAN_BOB)).toMatchObject({ code: 1, out: expect.stringContaining('MISMATCH') });
    fs.rmSync(auditorDir, { recursive: true, force: true });

    // The digest key never entered the workflow's Temporal history, decoded (control: the
    // decoded history does hold the params, so the search can find what is there).
    const history = await services.temporal.workflow.getHandle(`action-${id}`).fetchHistory();
    const decoded = Buffer.concat((await services.payloadCodec.decode(payloadsIn(history))).map((p) => Buffer.from(p.data ?? new Uint8Array()))).toString('utf8');
    expect(decoded).toContain(IBAN_ANN);
    const key = fs.readFileSync(digestKeyPath(dataDir));
    for (const form of [key.toString('hex'), key.toString('base64'), key.toString('base64url'), JSON.stringify([...key])]) expect(decoded).not.toContain(form);
    expect(Buffer.concat(payloadsIn(history).map((p) => Buffer.from(p.data ?? new Uint8Array()))).includes(key)).toBe(false);
  });

  it('when reviewers read the action, the list and the inbox, then sensitive values show as "***"; when one approves the masked view with one value replaced, then the others are kept and the approval digest is keyed', async () => {
    // Arrange
    const proposed = await api(agent, 'POST', '/v1/actions?wait=20', { action: 'hr.payroll', params });
    const id = proposed.body.id as string;
    await eventually(async () => (await api(olga, 'GET', `/v1/actions/${id}`)).body.status === 'awaiting_approval', 20_000, 'awaiting_approval');

    // Act: what a reviewer, the agent and an operator read.
    const view = await api(rita, 'GET', `/v1/actions/${id}`);
    const list = await api(olga, 'GET', '/v1/actions');
    const inbox = await api(rita, 'GET', '/v1/approvals');
    const ownView = await api(agent, 'GET', `/v1/actions/${id}`);

    // Assert
    const masked = { month: '2026-01', employees: [{ name: 'Ann', iban: '***' }, { name: 'Bob', iban: '***' }], bankLogin: '***' };
    expect(proposed.status).toBe(201);
    expectNoPlaintext('the proposal answer', JSON.stringify(proposed.body));
    expect(view.body.params).toEqual(masked);
    expect(ownView.body.params).toEqual(masked);
    expect(list.body.items.find((a: { id: string }) => a.id === id).params).toEqual(masked);
    expect(inbox.body.items.find((a: { id: string }) => a.id === id).params).toEqual(masked);
    for (const [what, r] of Object.entries({ view, list, inbox })) expectNoPlaintext(what, JSON.stringify(r.body));
    expect(view.body.approval.digest).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);

    // Act: rita approves what she saw, with Bob's IBAN replaced and everything else still "***".
    const decision = await api(rita, 'POST', `/v1/actions/${id}/decisions`, {
      decision: 'approve',
      expectedDigest: view.body.approval.digest,
      params: { ...view.body.params, employees: [view.body.params.employees[0], { name: 'Bob', iban: IBAN_BOB_EDITED }] },
    });

    // Assert: her answer is masked too, the executor got the kept values and the new one, and the
    // vote is bound by a keyed digest.
    expect(decision.status).toBe(200);
    expectNoPlaintext('the decision answer', JSON.stringify(decision.body));
    expect(decision.body.approval.approvals[0].edits['/employees']).toEqual({ from: masked.employees, to: masked.employees });
    await eventually(async () => (await api(olga, 'GET', `/v1/actions/${id}`)).body.status === 'succeeded', 20_000, 'succeeded');
    expect(target.forAction(id)[0]?.body.params).toEqual({ ...params, employees: [params.employees[0], { name: 'Bob', iban: IBAN_BOB_EDITED }] });
    const recorded = (await ledgerRows(id)).find((r) => r.type === 'decision_recorded');
    expect(recorded?.data.digest).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expectNoPlaintext('the ledger', (await ledgerRows(id)).map((r) => r.text).join('\n'));
  });
});
