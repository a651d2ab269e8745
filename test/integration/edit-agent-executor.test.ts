import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, saveReplayFixtures, startTestStack, type TestStack } from '../helpers/stack';

// An approval with edits that meets the re-planned plan at once, on an action the agent carries
// out itself: `approved` must reach the agent (it used to stay `awaiting_approval` in the read
// model while the workflow waited for a report the agent could never send).
const POLICY = `
defaults:
  decision: deny
  approval: { timeout: 1h, onTimeout: deny }
actions:
  notes.send:
    owner: comms
    category: external_communication
    params:
      type: object
      required: [to, text]
      additionalProperties: false
      properties:
        to: { type: string }
        text: { type: string }
    executor: { type: agent, resultTimeout: 1h }
rules:
  - id: one-reviewer
    action: notes.send
    decision: require_approval
    approval:
      steps:
        - { group: comms, quorum: 1, timeout: 1h }
`;

describe('approve with edits, agent executor', () => {
  let stack: TestStack;
  let agent: string;
  let reviewer: string;
  const recorded: string[] = [];

  beforeAll(async () => {
    stack = await startTestStack(POLICY);
    agent = await stack.principal('writer', 'agent', ['agent']);
    reviewer = await stack.principal('rhea', 'human', ['reviewer'], ['comms']);
  });
  afterAll(async () => {
    if (stack) await saveReplayFixtures(stack, recorded);
    await stack?.stop();
  });

  it('when a reviewer approves with edits and the edited params need no one else, then the agent sees approved with the edited params, reports, and the action succeeds', async () => {
    const p = await stack.call(agent, 'POST', '/v1/actions?wait=10', { action: 'notes.send', params: { to: 'customer@example.com', text: 'Your refund is on its way!!' } });
    expect(p.body.status).toBe('awaiting_approval');
    const edited = { to: 'customer@example.com', text: 'Your refund is on its way.' };
    const d = await stack.call(reviewer, 'POST', `/v1/actions/${p.body.id}/decisions`, { decision: 'approve', reason: 'tone', params: edited });
    expect(d.status).toBe(200);
    const approved = await eventually(async () => {
      const v = await stack.call(agent, 'GET', `/v1/actions/${p.body.id}?wait=5&since=awaiting_approval`);
      return v.body.status === 'approved' && v.body;
    }, 15_000, 'the agent to see approved');
    expect(approved.params).toEqual(edited);
    const reported = await stack.call(agent, 'POST', `/v1/actions/${p.body.id}/result`, { ok: true, output: { sent: true } });
    expect(reported.status).toBe(200);
    expect(reported.body.status).toBe('succeeded');
    const { rows } = await stack.pool.query<{ type: string }>('SELECT type FROM ledger_events WHERE action_id = $1 ORDER BY seq', [p.body.id]);
    expect(rows.map((r) => r.type)).toEqual(['proposed', 'policy_decided', 'approval_requested', 'edited', 'decision_recorded', 'approval_requested', 'execution_started', 'executed']);
    recorded.push(`edit-agent=action-${p.body.id}`);
  });
});
