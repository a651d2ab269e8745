import { createHash, randomBytes } from 'node:crypto';
import { WorkflowNotFoundError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { proposeActionSchema } from '../../domain/api-schemas';
import { canonicalJson } from '../../domain/canonical-json';
import { loadPolicyBundle, validateActionParams, type CompiledPolicyBundle } from '../../policy';
import { transferAction } from '../fixtures/policy';
import { eventually, startTestStack, type Answer, type TestStack } from '../helpers/stack';
import { startTarget } from '../helpers/target';

// Races between an operator, an agent and a reviewer, against the real Temporal dev server and
// Postgres: a bundle switched while proposals are in flight, a stored proposal started again
// after a switch, and an approval racing the agent's cancel.

/**
 * Bundle A: any positive amount fits the schema; up to 1,000 is allowed outright, 1,000 to
 * 5,000 needs one finance approver.
 */
function bundleA(targetUrl: string): string {
  return `
defaults:
  decision: deny
  approval: { timeout: 1h, onTimeout: deny }
actions:
${transferAction(targetUrl)}
rules:
  - id: a-small-transfers
    action: payments.transfer
    when: params.amount <= 1000
    decision: allow
  - id: a-one-approver
    action: payments.transfer
    when: params.amount > 1000 && params.amount <= 5000
    decision: require_approval
    approval:
      steps:
        - { group: finance, quorum: 1, timeout: 1h }
`;
}

/**
 * Bundle B: the same action, but its params schema caps the amount at 100. Its rule would
 * allow up to 1,000 too, so params that break B's schema execute if anything decides them
 * under B's rules without B's schema.
 */
function bundleB(targetUrl: string): string {
  const stricter = transferAction(targetUrl).replace(
    'amount: { type: number, exclusiveMinimum: 0 }',
    'amount: { type: number, exclusiveMinimum: 0, maximum: 100 }',
  );
  if (stricter === transferAction(targetUrl)) throw new Error('bundle B must cap the amount: transferAction changed shape');
  return `
defaults:
  decision: deny
  approval: { timeout: 1h, onTimeout: deny }
actions:
${stricter}
rules:
  - id: b-small-transfers
    action: payments.transfer
    when: params.amount <= 1000
    decision: allow
`;
}

const TERMINAL = ['succeeded', 'failed', 'denied', 'expired', 'cancelled'];
const jitter = (maxMs: number) => new Promise((r) => setTimeout(r, Math.floor(Math.random() * maxMs)));

/** Run `fn` over `items` with at most `limit` calls in flight. */
async function bounded<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i], i);
    }),
  );
  return out;
}

describe('races', () => {
  let stack: TestStack;
  let target: Awaited<ReturnType<typeof startTarget>>;
  let operator: string;
  let agent: string;
  let alice: string;
  let sourceA: string;
  let sourceB: string;
  /** Compiled bundles by version, to check params against the schema an action was decided under. */
  const bundles = new Map<string, CompiledPolicyBundle>();

  const putPolicy = async (source: string): Promise<string> => {
    const r = await stack.call(operator, 'PUT', '/v1/policy', source, { 'content-type': 'application/yaml' });
    expect(r.status).toBe(200);
    return r.body.version as string;
  };
  const transfer = (amount: number, to = 'acct') => ({ action: 'payments.transfer', params: { amount, currency: 'EUR', to } });
  const settle = async (id: string) =>
    (
      await eventually(async () => {
        const r = await stack.call(operator, 'GET', `/v1/actions/${id}?wait=10`);
        return TERMINAL.includes(r.body.status) && r;
      }, 30_000, `action ${id} to finish`)
    ).body;
  const fitsSchemaOf = (version: string, params: unknown) => {
    const bundle = bundles.get(version);
    if (!bundle) throw new Error(`action decided under a version this test never activated: ${version}`);
    return validateActionParams(bundle, 'payments.transfer', params);
  };

  beforeAll(async () => {
    target = await startTarget();
    sourceA = bundleA(target.url);
    sourceB = bundleB(target.url);
    stack = await startTestStack(sourceA);
    for (const source of [sourceA, sourceB]) {
      const compiled = loadPolicyBundle(source);
      bundles.set(compiled.version, compiled);
    }
    operator = await stack.principal('olga', 'human', ['operator']);
    agent = await stack.principal('agent-r', 'agent', ['agent']);
    alice = await stack.principal('alice', 'human', ['reviewer'], ['finance']);
  });
  afterAll(async () => {
    await stack?.stop();
    await target?.close();
  });

  it('when the active bundle is switched back and forth while proposals are in flight, then each action is decided under the bundle its params were checked against', async () => {
    // Arrange: half the proposals fit both bundles (50), half only A (500).
    const versionA = await putPolicy(sourceA);
    const versionB = await putPolicy(sourceB);
    expect([...bundles.keys()].sort()).toEqual([versionA, versionB].sort());
    const amounts = Array.from({ length: 80 }, (_, i) => (i % 2 === 0 ? 50 : 500));

    // Act: proposals 16 at a time while an operator keeps switching A <-> B.
    let proposing = true;
    const switches: Answer[] = [];
    const switcher = (async () => {
      for (let i = 0; proposing && i < 400; i++) {
        switches.push(await stack.call(operator, 'PUT', '/v1/policy', i % 2 === 0 ? sourceA : sourceB, { 'content-type': 'application/yaml' }));
      }
    })();
    const answers = await bounded(amounts, 16, async (amount) => {
      await jitter(10);
      return { amount, answer: await stack.call(agent, 'POST', '/v1/actions?wait=20', transfer(amount)) };
    });
    proposing = false;
    await switcher;
    await putPolicy(sourceA);

    // Assert: nothing failed on the server; a proposal is accepted or refused for its params.
    expect(switches.length).toBeGreaterThan(2);
    expect(switches.filter((s) => s.status !== 200).map((s) => s.status)).toEqual([]);
    for (const { amount, answer } of answers) {
      expect(answer.status, JSON.stringify(answer.body)).toBeLessThan(500);
      if (amount === 50) expect(answer.status).toBe(201);
      else expect([201, 422]).toContain(answer.status);
      if (answer.status === 422) expect(answer.body.type).toMatch(/invalid-params$/);
    }
    const created = answers.filter((a) => a.answer.status === 201);
    // The switch really raced the proposals: 500 was accepted under A and refused under B.
    expect(created.filter((a) => a.amount === 500).length).toBeGreaterThan(0);
    expect(answers.filter((a) => a.answer.status === 422).length).toBeGreaterThan(0);

    const finals = await bounded(created, 16, async ({ answer }) => settle(answer.body.id as string));
    const misdecided: string[] = [];
    for (const done of finals) {
      expect(TERMINAL).toContain(done.status);
      const version = done.policy.version as string;
      expect([versionA, versionB]).toContain(version);
      const fits = fitsSchemaOf(version, done.params);
      if (fits.ok) {
        // Decided by the rules of the very bundle it was checked against.
        expect(done.status).toBe('succeeded');
        expect(done.policy.ruleIds).toEqual([version === versionA ? 'a-small-transfers' : 'b-small-transfers']);
        expect(target.forAction(done.id)).toHaveLength(1);
      } else {
        misdecided.push(`${done.id} (amount ${done.params.amount}, ${done.status} under ${version})`);
        expect(done.status).toBe('denied');
        expect(done.outcome).toMatchObject({ by: 'policy' });
        expect(done.policy.reasons.join(' ')).toMatch(`params do not match the schema of payments.transfer in policy version ${version}`);
        expect(target.forAction(done.id)).toHaveLength(0);
      }
    }
    // The API passed the version it checked, so none was even evaluated under a bundle its params break.
    expect(misdecided).toEqual([]);
    for (const done of finals) if (done.params.amount === 500) expect(done.policy.version).toBe(versionA);
  });

  describe('when the API stored a proposal but died before starting its workflow', () => {
    /**
     * The row `propose` inserts before it starts the workflow, written as it writes it: same
     * columns, the same request hash (of the parsed body without the key), last_seq 0, and no
     * workflow on Temporal. A retry with the same key and body then starts the workflow.
     */
    const storeUnstarted = async (key: string, body: ReturnType<typeof transfer>) => {
      const { idempotencyKey: _none, ...request } = proposeActionSchema.parse(body);
      const requestHash = createHash('sha256').update(canonicalJson(request)).digest('hex');
      const id = `act_${randomBytes(12).toString('hex')}`;
      await stack.pool.query(
        `INSERT INTO actions (id, agent, idempotency_key, request_hash, action, status, params, workflow_id)
         VALUES ($1, 'agent-r', $2, $3, $4, 'evaluating', $5, $6)`,
        [id, key, requestHash, body.action, JSON.stringify(body.params), `action-${id}`],
      );
      await expect(stack.services.temporal.workflow.getHandle(`action-${id}`).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
      return id;
    };
    const retry = (key: string, body: unknown) => stack.call(agent, 'POST', '/v1/actions?wait=20', body, { 'idempotency-key': key });

    it('and the bundle still accepts its params, then the retry starts it and it executes once', async () => {
      // Arrange
      const versionA = await putPolicy(sourceA);
      const body = transfer(500, 'replayed-under-a');
      const key = `replay-a-${randomBytes(4).toString('hex')}`;
      const id = await storeUnstarted(key, body);

      // Act
      const r = await retry(key, body);

      // Assert
      expect(r.status).toBe(200);
      expect(r.body.id).toBe(id);
      const done = await settle(id);
      expect(done).toMatchObject({ status: 'succeeded', policy: { version: versionA, ruleIds: ['a-small-transfers'] } });
      expect(target.forAction(id)).toHaveLength(1);
    });

    it('and a bundle its params break is activated before the retry, then the retry ends denied with the schema reason and never executes', async () => {
      // Arrange: stored while A was active (500 fits A), then B (amount <= 100) is activated.
      await putPolicy(sourceA);
      const body = transfer(500, 'replayed-under-b');
      const key = `replay-b-${randomBytes(4).toString('hex')}`;
      const id = await storeUnstarted(key, body);
      const versionB = await putPolicy(sourceB);

      // Act
      const r = await retry(key, body);
      const again = await retry(key, body);

      // Assert
      expect(r.status).toBe(200);
      expect(r.body.id).toBe(id);
      expect(again.status).toBe(200);
      expect(again.body.id).toBe(id);
      const done = await settle(id);
      expect(done.status).toBe('denied');
      expect(done.policy.version).toBe(versionB);
      expect(done.outcome).toMatchObject({ by: 'policy', actor: null });
      expect(done.outcome.reason).toMatch(`params do not match the schema of payments.transfer in policy version ${versionB}`);
      expect(done.outcome.reason).toMatch(/amount/);
      const ledger = await stack.pool.query<{ type: string }>('SELECT type FROM ledger_events WHERE action_id = $1 ORDER BY seq', [id]);
      expect(ledger.rows.map((e) => e.type)).toEqual(['proposed', 'policy_decided']);
      // Give a (wrong) execution time to show up before checking that none happened.
      await new Promise((res) => setTimeout(res, 500));
      expect(target.forAction(id)).toHaveLength(0);
      await putPolicy(sourceA);
    });
  });

  it('when an approval and the agent’s cancel race on many pending actions, then exactly one of them is answered 200 and the outcome is the winner’s', async () => {
    // Arrange: 40 actions waiting for one finance approval under A. (Before the fix, 40 pairs so
    // jittered answered 200 to both in 2 to 12 pairs a run, over five runs; 32 pairs, at times none.)
    await putPolicy(sourceA);
    const proposed = await bounded(Array.from({ length: 40 }, (_, i) => i), 16, async (i) => {
      const r = await stack.call(agent, 'POST', '/v1/actions?wait=20', transfer(2000, `race-${i}`));
      expect(r.status).toBe(201);
      expect(r.body.status).toBe('awaiting_approval');
      return r.body.id as string;
    });

    // Act: for each, the decisive approval and the agent's cancel, each after 0-20 ms.
    const pairs = await Promise.all(
      proposed.map(async (id) => {
        const [approve, cancel] = await Promise.all([
          jitter(20).then(() => stack.call(alice, 'POST', `/v1/actions/${id}/decisions`, { decision: 'approve' })),
          jitter(20).then(() => stack.call(agent, 'POST', `/v1/actions/${id}/cancel`, { reason: 'changed my mind' })),
        ]);
        return { id, approve, cancel };
      }),
    );

    // Assert
    const bothYes = pairs.filter((p) => p.approve.status === 200 && p.cancel.status === 200).map((p) => p.id);
    expect(bothYes, 'answered 200 to both the approval and the cancel').toEqual([]);
    for (const { id, approve, cancel } of pairs) {
      expect([approve.status, cancel.status].sort(), `${id}: approve ${JSON.stringify(approve.body)} cancel ${JSON.stringify(cancel.body)}`).toEqual([200, 409]);
      const done = await settle(id);
      if (approve.status === 200) {
        expect(cancel.body.type).toMatch(/not-cancellable$/);
        expect(['executing', 'succeeded']).toContain(approve.body.status);
        expect(done.status).toBe('succeeded');
        expect(target.forAction(id)).toHaveLength(1);
      } else {
        expect(approve.body.type).toMatch(/not-pending$/);
        expect(cancel.body.status).toBe('cancelled');
        expect(done.status).toBe('cancelled');
        expect(done.outcome).toMatchObject({ by: 'agent', actor: 'agent-r' });
        expect(done.approval.approvals).toEqual([]);
        expect(target.forAction(id)).toHaveLength(0);
      }
    }
    // Cancelled actions stay unexecuted: no late call to the target.
    await new Promise((res) => setTimeout(res, 500));
    for (const { id, approve } of pairs) expect(target.forAction(id)).toHaveLength(approve.status === 200 ? 1 : 0);
  });
});
