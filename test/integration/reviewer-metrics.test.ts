import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestStack, type TestStack } from '../helpers/stack';
import { startTarget } from '../helpers/target';

// Reviewer metrics (docs/reviewer-metrics.md): GET /v1/reports/reviewers and /metrics, from real
// decisions on real workflows.
const policy = (targetUrl: string) => `
defaults: { decision: deny, approval: { timeout: 1h, onTimeout: deny } }
actions:
  payments.transfer:
    owner: finance
    category: financial
    params:
      type: object
      required: [amount, to]
      properties: { amount: { type: number }, to: { type: string } }
    executor: { type: http, url: "${targetUrl}/transfers" }
rules:
  - id: two-approvers
    action: payments.transfer
    decision: require_approval
    approval: { steps: [ { group: finance, quorum: 2, timeout: 1h } ] }
`;

describe('reviewer metrics', () => {
  let stack: TestStack;
  let target: Awaited<ReturnType<typeof startTarget>>;
  let agent: string;
  let operator: string;
  const r: Record<string, string> = {};
  const started = new Date();

  beforeAll(async () => {
    target = await startTarget();
    stack = await startTestStack(policy(target.url));
    agent = await stack.principal('bot', 'agent', ['agent']);
    operator = await stack.principal('olga', 'human', ['operator']);
    for (const id of ['alice', 'bob', 'carol']) r[id] = await stack.principal(id, 'human', ['reviewer'], ['finance']);
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
    await target?.close();
  });

  const propose = async (amount: number) => {
    const a = await stack.call(agent, 'POST', '/v1/actions?wait=10', { action: 'payments.transfer', params: { amount, to: 'x' } });
    expect(a.body.status).toBe('awaiting_approval');
    return a.body.id as string;
  };
  const decide = async (who: string, id: string, body: Record<string, unknown>) => {
    const a = await stack.call(r[who], 'POST', `/v1/actions/${id}/decisions`, body);
    expect(a.status, JSON.stringify(a.body)).toBe(200);
  };

  it('when reviewers approve, deny, edit and disagree, then the report gives each one decisions, rates, times, fast decisions and disagreements', async () => {
    const one = await propose(10);
    await decide('alice', one, { decision: 'approve' });
    await decide('bob', one, { decision: 'deny', reason: 'no' }); // one deny denies: bob and alice disagree
    const two = await propose(20);
    await decide('alice', two, { decision: 'approve', params: { amount: 15, to: 'x' } }); // an edit
    await decide('carol', two, { decision: 'approve' });
    const three = await propose(30);
    await new Promise((res) => setTimeout(res, 5_200)); // slower than the 5 s default
    await decide('bob', three, { decision: 'deny', reason: 'late no' });

    const report = await stack.call(operator, 'GET', `/v1/reports/reviewers?since=${encodeURIComponent(started.toISOString())}`);
    expect(report.status).toBe(200);
    expect(report.body.fastDecisionMs).toBe(5000);
    const byName = Object.fromEntries(report.body.reviewers.map((x: { reviewer: string }) => [x.reviewer, x]));
    expect(byName.alice).toMatchObject({
      decisions: 2, approvals: 2, denials: 0, edits: 1, approveRate: 1, denyRate: 0, editRate: 0.5,
      fastDecisions: 2, sharedDecisions: 2, disagreements: 1, disagreementRate: 0.5,
    });
    expect(byName.bob).toMatchObject({ decisions: 2, approvals: 0, denials: 2, denyRate: 1, fastDecisions: 1, sharedDecisions: 1, disagreements: 1, disagreementRate: 1 });
    expect(byName.bob.p90TimeToDecideMs).toBeGreaterThanOrEqual(5_000);
    expect(byName.bob.medianTimeToDecideMs).toBeLessThan(5_000);
    expect(byName.carol).toMatchObject({ decisions: 1, approvals: 1, fastDecisions: 1, sharedDecisions: 1, disagreements: 0, disagreementRate: 0 });
    expect(report.body.reviewers.map((x: { reviewer: string }) => x.reviewer)).toEqual(['alice', 'bob', 'carol']);

    // The same decisions as Prometheus metrics.
    const metrics = await (await fetch(`${stack.url}/metrics`)).text();
    expect(metrics).toContain('countersign_reviewer_decisions_total{reviewer="alice",outcome="approve"} 1');
    expect(metrics).toContain('countersign_reviewer_decisions_total{reviewer="alice",outcome="edit"} 1');
    expect(metrics).toContain('countersign_reviewer_decisions_total{reviewer="bob",outcome="deny"} 2');
    expect(metrics).toContain('countersign_fast_decisions_total{reviewer="bob"} 1');
    expect(metrics).toMatch(/countersign_time_to_decision_seconds_count\{outcome="deny"\} 2/);
    expect(metrics).toMatch(/countersign_time_to_decision_seconds_bucket\{le="5",outcome="deny"\} 1/);
  }, 60_000);

  it('when the period has no decisions, then the report is empty; when since is after until, or a time is malformed, then 422', async () => {
    const empty = await stack.call(operator, 'GET', '/v1/reports/reviewers?since=2020-01-01T00:00:00Z&until=2020-02-01T00:00:00Z');
    expect(empty.body).toEqual({ since: '2020-01-01T00:00:00.000Z', until: '2020-02-01T00:00:00.000Z', fastDecisionMs: 5000, reviewers: [] });
    const reversed = await stack.call(operator, 'GET', '/v1/reports/reviewers?since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z');
    expect(reversed.status).toBe(422);
    expect(reversed.headers.get('content-type')).toContain('application/problem+json');
    expect(reversed.body.errors).toEqual([{ path: 'since', message: 'must not be after until' }]);
    const malformed = await stack.call(operator, 'GET', '/v1/reports/reviewers?since=yesterday');
    expect(malformed.status).toBe(422);
    expect(malformed.body.errors[0].path).toBe('since');
    const unknown = await stack.call(operator, 'GET', '/v1/reports/reviewers?from=2026-01-01T00:00:00Z');
    expect(unknown.status).toBe(422);
  });

  it('when a reviewer asks for the report, then 403', async () => {
    expect((await stack.call(r.alice, 'GET', '/v1/reports/reviewers')).status).toBe(403);
  });
});
