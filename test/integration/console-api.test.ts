import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatedTypes, TYPES_FILE } from '../../console/gen-types';
import { testPolicy } from '../fixtures/policy';
import { buildConsole } from '../helpers/browser';
import { eventually, startTestStack, type TestStack } from '../helpers/stack';

/** Read a server-sent event stream into a list of `{ event, data }` until `stop()`. */
function readEvents(url: string, token: string) {
  const events: { event: string; data: any }[] = [];
  const ctl = new AbortController();
  const done = (async () => {
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }, signal: ctl.signal });
    if (res.status !== 200 || !res.body) {
      events.push({ event: 'http', data: { status: res.status, type: res.headers.get('content-type') } });
      return;
    }
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event) events.push({ event, data: data ? JSON.parse(data) : null });
        }
      }
    } catch {
      // aborted
    }
  })();
  return { events, stop: async () => (ctl.abort(), await done) };
}

/** The console's server side over HTTP: static files, the inbox stream and the review reads. */
describe('the console over HTTP', () => {
  let stack: TestStack;
  let agent: string;
  let alice: string;
  let bob: string;
  let carol: string;
  let olga: string;

  beforeAll(async () => {
    await buildConsole();
    stack = await startTestStack(testPolicy('http://127.0.0.1:9'));
    agent = await stack.principal('bot', 'agent', ['agent']);
    alice = await stack.principal('alice', 'human', ['reviewer'], ['finance']);
    bob = await stack.principal('bob', 'human', ['reviewer'], ['finance']);
    carol = await stack.principal('carol', 'human', ['reviewer'], ['comms']);
    olga = await stack.principal('olga', 'human', ['operator']);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  const propose = async (amount: number) => {
    const r = await stack.call(agent, 'POST', '/v1/actions?wait=20', { action: 'payments.transfer', params: { amount, currency: 'EUR', to: 'acct' } });
    expect(r.status).toBe(201);
    expect(r.body.status).toBe('awaiting_approval');
    return r.body as { id: string };
  };

  it('when the committed console types are compared with what /openapi.json gives, then they are current (npm run console:types)', async () => {
    expect(fs.readFileSync(TYPES_FILE, 'utf8') === (await generatedTypes()), 'console/src/api-types.ts is stale: run npm run console:types').toBe(true);
  });

  it('when /console and a client route are fetched, then the app page comes back with a strict CSP; assets are cached for good; sign-in pages and unknown assets are not the app', async () => {
    for (const p of ['/console', '/console/', '/console/actions/act_0123456789abcdef01234567', '/console/policy']) {
      const res = await fetch(stack.url + p);
      expect(res.status, p).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/text\/html/);
      expect(res.headers.get('cache-control')).toBe('no-cache');
      expect(res.headers.get('content-security-policy')).toMatch(/script-src 'self'.*frame-ancestors 'none'/);
      expect(await res.text()).toContain('<div id="app">');
    }
    const html = await (await fetch(`${stack.url}/console`)).text();
    const asset = /src="(\/console\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset).toBeDefined();
    const js = await fetch(stack.url + asset);
    expect(js.status).toBe(200);
    expect(js.headers.get('cache-control')).toMatch(/max-age=31536000.*immutable/);
    expect((await fetch(`${stack.url}/console/assets/nope.js`)).status).toBe(404);
    const signIn = await fetch(`${stack.url}/console/sign-in`);
    expect(await signIn.text()).not.toContain('<div id="app">');
    // Writes to /console are not the app's either.
    expect((await fetch(`${stack.url}/console/actions`, { method: 'POST' })).status).toBe(404);
  });

  it('when a pending action changes, then the stream sends it only to reviewers who may see it: upsert while they may decide, remove when it leaves, nothing to others', async () => {
    const a = await propose(400);
    const aliceEvents = readEvents(`${stack.url}/v1/approvals/events`, alice);
    const carolEvents = readEvents(`${stack.url}/v1/approvals/events`, carol);
    await eventually(async () => aliceEvents.events.some((e) => e.event === 'ready') && carolEvents.events.some((e) => e.event === 'ready'), 10_000, 'both streams');

    const b = await propose(500);
    const upsert = await eventually(async () => aliceEvents.events.find((e) => e.event === 'upsert' && e.data.action.id === b.id), 10_000, 'upsert of the new action');
    expect(upsert.data.action).toMatchObject({ id: b.id, status: 'awaiting_approval', agent: 'bot' });

    expect((await stack.call(bob, 'POST', `/v1/actions/${a.id}/decisions`, { decision: 'deny', reason: 'no' })).status).toBe(200);
    const removed = await eventually(async () => aliceEvents.events.find((e) => e.event === 'remove' && e.data.id === a.id), 10_000, 'remove of the decided action');
    expect(removed.data).toEqual({ id: a.id, status: 'denied' });

    // Carol (comms) may decide neither: she hears nothing about them, not even their ids.
    await new Promise((r) => setTimeout(r, 500));
    expect(JSON.stringify(carolEvents.events)).not.toContain(a.id);
    expect(JSON.stringify(carolEvents.events)).not.toContain(b.id);
    await aliceEvents.stop();
    await carolEvents.stop();
  });

  it('when the stream is asked for without a token, or by an agent, then 401 and 403 and no stream', async () => {
    expect((await fetch(`${stack.url}/v1/approvals/events`)).status).toBe(401);
    const r = await fetch(`${stack.url}/v1/approvals/events`, { headers: { authorization: `Bearer ${agent}` } });
    expect(r.status).toBe(403);
    expect(r.headers.get('content-type')).toMatch(/problem\+json/);
  });

  it('when a reviewer reads an action for review, then it has the masked view, plan, timeline and whether they may decide; an outsider gets 404', async () => {
    const a = await propose(600);
    const r = await stack.call(alice, 'GET', `/v1/actions/${a.id}/review`);
    expect(r.status).toBe(200);
    expect(r.body.action.id).toBe(a.id);
    expect(r.body.paramsSchema.properties.amount).toEqual({ type: 'number', exclusiveMinimum: 0 });
    expect(r.body.plan.steps).toEqual([{ group: 'finance', quorum: 1, timeoutMs: 3_600_000, escalateTo: [] }]);
    expect(r.body.timeline.map((e: { type: string }) => e.type)).toEqual(['proposed', 'policy_decided', 'approval_requested']);
    expect(r.body.mayDecide).toEqual({ approve: true, deny: true, why: null });
    expect((await stack.call(carol, 'GET', `/v1/actions/${a.id}/review`)).status).toBe(404);
    const asOperator = await stack.call(olga, 'GET', `/v1/actions/${a.id}/review`);
    expect(asOperator.status).toBe(200);
    expect(asOperator.body.mayDecide.approve).toBe(false);
  });

  it('when a reviewer previews an edit, then policy answers the plan the edited params need; bad params are 422 with paths; outsiders and non-reviewers are refused; nothing is decided', async () => {
    const a = await propose(700);
    const stricter = await stack.call(alice, 'POST', `/v1/actions/${a.id}/edit-preview`, { params: { amount: 20000, currency: 'EUR', to: 'acct' } });
    expect(stricter.status).toBe(200);
    expect(stricter.body).toMatchObject({ decision: 'require_approval', ruleIds: ['large-transfers'], plan: { steps: [{ group: 'finance', quorum: 2 }] } });
    const denied = await stack.call(alice, 'POST', `/v1/actions/${a.id}/edit-preview`, { params: { amount: 700, currency: 'XXX', to: 'acct' } });
    expect(denied.body).toMatchObject({ decision: 'deny', ruleIds: expect.arrayContaining(['blocked-currency']) });
    const bad = await stack.call(alice, 'POST', `/v1/actions/${a.id}/edit-preview`, { params: { amount: 'lots', currency: 'EUR', to: 'acct' } });
    expect(bad.status).toBe(422);
    expect(bad.body.errors[0].path).toBe('/params/amount');
    expect((await stack.call(carol, 'POST', `/v1/actions/${a.id}/edit-preview`, { params: { amount: 1 } })).status).toBe(403);
    expect((await stack.call(olga, 'POST', `/v1/actions/${a.id}/edit-preview`, { params: { amount: 1 } })).status).toBe(403);
    expect((await stack.call(agent, 'GET', `/v1/actions/${a.id}`)).body.approval.approvals).toEqual([]);
  });

  it('when an operator asks for a stored policy version, then its text comes back; a reviewer is refused and an unknown version is 404', async () => {
    const { version } = (await stack.call(olga, 'GET', '/v1/policy')).body;
    const r = await stack.call(olga, 'GET', `/v1/policy/versions/${version}`);
    expect(r.status).toBe(200);
    expect(r.body.source).toContain('medium-transfers');
    expect((await stack.call(alice, 'GET', `/v1/policy/versions/${version}`)).status).toBe(403);
    expect((await stack.call(olga, 'GET', '/v1/policy/versions/nope')).status).toBe(404);
  });
});
