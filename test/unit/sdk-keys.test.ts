import { describe, expect, it } from 'vitest';
import { IDEMPOTENCY_KEY_RE } from '../../domain/api-schemas';
import { ActionDenied, ActionExpired, CountersignProblem, canonicalJson, idempotencyKeyFor, randomIdempotencyKey, type ActionView } from '../../sdk/src/index';
import { describeNotPerformed, toolCallKey } from '../../sdk/src/tool-call';

const view = (over: Partial<ActionView>): ActionView =>
  ({ id: 'act_1', status: 'denied', action: 'email.send', params: {}, outcome: { by: 'policy', actor: null, reason: 'Never email a competitor' }, ...over }) as ActionView;

describe('@countersign/sdk keys and errors', () => {
  it('when the same call is keyed twice with keys in another order, then the idempotency key is the same and the API accepts it', async () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { y: 1, x: 0 }], c: null } })).toBe('{"a":{"c":null,"d":[2,{"x":0,"y":1}]},"b":1}');
    const a = await idempotencyKeyFor('tool-call', 'email.send', 'call_1', { to: 'x', subject: 'y' });
    const b = await idempotencyKeyFor('tool-call', 'email.send', 'call_1', { subject: 'y', to: 'x' });
    expect(a).toBe(b);
    expect(a).toMatch(IDEMPOTENCY_KEY_RE);
    expect(randomIdempotencyKey()).toMatch(IDEMPOTENCY_KEY_RE);
  });

  it('when a tool call has another call id or other arguments, then it is another action; without a call id every call is new', async () => {
    const base = await toolCallKey('email.send', 'call_1', { to: 'x' });
    expect(await toolCallKey('email.send', 'call_2', { to: 'x' })).not.toBe(base);
    expect(await toolCallKey('email.send', 'call_1', { to: 'y' })).not.toBe(base);
    expect(await toolCallKey('email.send', undefined, { to: 'x' })).not.toBe(await toolCallKey('email.send', undefined, { to: 'x' }));
  });

  it('when a problem+json arrives, then its code is the last segment of its type', () => {
    const p = new CountersignProblem({ type: 'https://countersign.dev/problems/not-pending', title: 'Conflict', status: 409, detail: 'action is approved' });
    expect(p).toMatchObject({ code: 'not-pending', status: 409, detail: 'action is approved', errors: [] });
    expect(new CountersignProblem({ type: 'about:blank', title: 'Bad Gateway', status: 502 }).code).toBe('http-502');
  });

  it('when an action was not performed, then the error and the model-facing text carry the reason and say what it means', () => {
    const denied = new ActionDenied(view({}));
    expect(denied).toMatchObject({ reason: 'Never email a competitor', by: 'policy' });
    expect(new ActionExpired(view({ status: 'expired', outcome: { by: 'timeout', actor: null, reason: null } })).reason).toBeNull();
    expect(describeNotPerformed({ status: 'denied', reason: 'Never email a competitor', action: view({}) })).toMatch(/^NOT DONE\. email\.send \(Countersign action act_1\) was denied: Never email a competitor\. Do not retry/);
    expect(describeNotPerformed({ status: 'expired', reason: null, action: view({ status: 'expired' }) })).toContain('not rejected on its merits');
    expect(describeNotPerformed({ status: 'pending', reason: null, action: view({ status: 'awaiting_approval' }) })).toMatch(/^PENDING/);
  });
});
