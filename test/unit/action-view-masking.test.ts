import { describe, expect, it } from 'vitest';
import type { ApprovalView } from '../../domain/action-types';
import { toActionView, type ActionRow } from '../../ledger/action-repository';
import { sensitivePatternsFor, sensitivePatternsOfRow } from '../../ledger/sensitive-patterns';
import { NoActivePolicyError, type PolicyStore } from '../../ledger/policy-store';
import { loadPolicyBundle } from '../../policy';

const bundle = loadPolicyBundle(`
defaults: { decision: deny }
actions:
  hr.payroll:
    owner: hr
    category: account_change
    params:
      type: object
      properties:
        month: { type: string }
        employees: { type: array, items: { type: object, properties: { name: { type: string }, iban: { type: string, x-sensitive: true } } } }
        bankLogin: { type: object, x-sensitive: true }
    executor: { type: agent }
rules: []
`);
const policies = {
  byVersion: async (v: string) => {
    if (v !== bundle.version) throw new NoActivePolicyError(`policy version ${v} is not stored`);
    return bundle;
  },
  active: async () => ({ bundle }),
} as unknown as PolicyStore;

const plan: ApprovalView['plan'] = { steps: [{ group: 'hr', quorum: 1, timeoutMs: 1000, escalateTo: [] }], onTimeout: 'deny' };
const params = { month: '2026-01', employees: [{ name: 'Ann', iban: 'IBAN-SECRET-ANN' }], bankLogin: { user: 'u', password: 'LOGIN-SECRET' } };
const created = new Date('2026-01-01T00:00:00.000Z');
const row: ActionRow = {
  id: 'act_1', agent: 'agent-1', idempotency_key: null, request_hash: 'h', action: 'hr.payroll', status: 'approved', params,
  resource: null, on_behalf_of: null, parent_action_id: null, justification: null, policy: { decision: 'require_approval', ruleIds: ['r'], reasons: [], version: bundle.version },
  approval: {
    step: 1, steps: 1, group: 'hr', quorum: 1, deadline: null, escalations: [], eligibleGroups: [], plan,
    approvals: [{
      reviewer: 'rita', decision: 'approve', reason: null, at: 't', step: 1, digest: 'hmac-sha256:00',
      edits: { '/employees': { from: [{ name: 'Ann', iban: 'IBAN-SECRET-OLD' }], to: params.employees }, '/month': { from: '2025-12', to: '2026-01' } },
    }],
  },
  outcome: null, result: null, error: null, workflow_id: 'action-act_1', run_id: 'r', eligible_groups: [], voters: ['rita'],
  deadline: null, created_at: created, updated_at: created, last_seq: 4,
};
const links = { temporalUiUrl: 'http://ui', namespace: 'default' };

describe('ActionView masking', () => {
  it('when the action has sensitive params, then its view shows "***" for them in params and in the edits of votes, and the row keeps them', async () => {
    // Act
    const view = toActionView(row, links, await sensitivePatternsOfRow(policies, row));

    // Assert
    expect(view.params).toEqual({ month: '2026-01', employees: [{ name: 'Ann', iban: '***' }], bankLogin: '***' });
    expect(view.approval?.approvals[0]?.edits).toEqual({
      '/employees': { from: [{ name: 'Ann', iban: '***' }], to: [{ name: 'Ann', iban: '***' }] },
      '/month': { from: '2025-12', to: '2026-01' },
    });
    expect(JSON.stringify(view)).not.toContain('SECRET');
    expect(row.params).toBe(params);
  });

  it('when the action or its version is unknown, then every top-level value is masked rather than none', async () => {
    expect(await sensitivePatternsFor(policies, 'gone.action', bundle.version)).toEqual(['/']);
    expect(await sensitivePatternsFor(policies, 'hr.payroll', 'not-stored')).toEqual(['/']);
    expect(await sensitivePatternsFor(policies, 'hr.payroll', null)).toEqual(['/employees/*/iban', '/bankLogin']);
    const view = toActionView(row, links, await sensitivePatternsFor(policies, 'gone.action', bundle.version));
    expect(view.params).toEqual({ month: '***', employees: '***', bankLogin: '***' });
  });
});
