import { describe, expect, it } from 'vitest';
import { decisionSchema, proposeActionSchema } from '../../domain/api-schemas';
import { approvalDigest } from '../../activities/approval-digest';
import { loadConfig, ConfigError } from '../../runtime/config';

describe('proposal schema', () => {
  it('when a proposal is complete, then it parses', () => {
    const r = proposeActionSchema.safeParse({ action: 'payments.transfer', params: { amount: 1 }, model: { provider: 'x', traceId: 't' } });
    expect(r.success).toBe(true);
  });

  it('when a proposal has unknown fields or a bad action name, then every problem is reported', () => {
    const r = proposeActionSchema.safeParse({ action: 'Payments Transfer', params: [], extra: 1 });
    expect(r.success).toBe(false);
    const paths = r.error!.issues.map((i) => i.path.join('.') || i.code);
    expect(paths).toEqual(expect.arrayContaining(['action', 'params']));
    expect(r.error!.issues.some((i) => i.code === 'unrecognized_keys')).toBe(true);
  });

  it('when a decision is neither approve nor deny, then it is refused', () => {
    expect(decisionSchema.safeParse({ decision: 'maybe' }).success).toBe(false);
    expect(decisionSchema.safeParse({ decision: 'deny', reason: 'no' }).success).toBe(true);
  });
});

describe('approval digest', () => {
  const base = { action: 'a.b', params: { x: 1, y: [1, 2] }, resource: null, policyVersion: 'v' };
  it('when only key order differs, then the digest is the same', () => {
    expect(approvalDigest(base)).toBe(approvalDigest({ ...base, params: { y: [1, 2], x: 1 } }));
  });
  it('when a param, the resource or the policy version changes, then the digest changes', () => {
    const d = approvalDigest(base);
    expect(approvalDigest({ ...base, params: { x: 2, y: [1, 2] } })).not.toBe(d);
    expect(approvalDigest({ ...base, resource: 'acct:1' })).not.toBe(d);
    expect(approvalDigest({ ...base, policyVersion: 'w' })).not.toBe(d);
  });
});

describe('configuration', () => {
  it('when nothing is set, then the documented defaults apply', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ port: 3000, temporalNamespace: 'default', taskQueue: 'countersign', maxBodyBytes: 1048576, policyFileExplicit: false, executorInline: true });
    expect(c.policyFile).toMatch(/policies\/default\.yaml$/);
  });
  it('when inline executor calls are switched off, then the configuration says so', () => {
    expect(loadConfig({ COUNTERSIGN_EXECUTOR_INLINE: 'false' }).executorInline).toBe(false);
  });
  it('when a variable is invalid, then the error names it', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig({ COUNTERSIGN_EXECUTOR_INLINE: 'no' })).toThrow(/COUNTERSIGN_EXECUTOR_INLINE/);
    expect(() => loadConfig({ COUNTERSIGN_ADMIN_TOKEN: 'short' })).toThrow(/COUNTERSIGN_ADMIN_TOKEN/);
  });
});
