import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON, payloadToJSON, type History, type Payload } from '@temporalio/common/lib/proto-utils';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ENCRYPTED_ENCODING, KEY_ID_METADATA, PayloadEncryptionCodec } from '../../runtime/payload-codec';
import type { PayloadKey } from '../../runtime/payload-keys';
import { testPolicy } from '../fixtures/policy';
import { eventually, startTestStack, type TestStack } from '../helpers/stack';
import { startTarget } from '../helpers/target';

// Temporal sees ciphertext: what a reader of Temporal's own store (its UI, its CLI, a raw client
// without Countersign's codec) gets of an action is encrypted, while the API works end to end;
// operators read the plaintext through /codec. Real API, worker, Temporal and Postgres.

/** The Temporal UI's origin for the test stacks (test/helpers/stack.ts: temporalUiUrl). */
const UI_ORIGIN = 'http://localhost:8233';
const b64 = (s: string) => Buffer.from(s).toString('base64');
const unb64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

/** Every payload object in a history (JSON form), with where it sits. */
function payloadsIn(history: History): { at: string; payload: { metadata?: Record<string, string>; data?: string } }[] {
  const found: { at: string; payload: { metadata?: Record<string, string>; data?: string } }[] = [];
  const walk = (v: unknown, at: string) => {
    if (Array.isArray(v)) return v.forEach((x, i) => walk(x, `${at}[${i}]`));
    if (!v || typeof v !== 'object') return;
    const o = v as Record<string, unknown>;
    if (o.metadata && typeof o.metadata === 'object' && 'encoding' in (o.metadata as object)) {
      found.push({ at, payload: o as { metadata?: Record<string, string>; data?: string } });
      return;
    }
    for (const [k, x] of Object.entries(o)) walk(x, `${at}.${k}`);
  };
  walk(JSON.parse(historyToJSON(history)), '');
  return found;
}

/** Payloads the SDK core writes itself (not through a data converter): local activity and patch markers' metadata, search attributes. */
const writtenByTemporal = (at: string) => /searchAttributes|markerRecordedEventAttributes\.details\.(data|patch-data)\./.test(at);

/** The history as Temporal stores it, in protobuf bytes and in its JSON form, for searching. */
const serialized = (history: History) => Buffer.concat([Buffer.from(temporal.api.history.v1.History.encode(history).finish()), Buffer.from(historyToJSON(history))]);

describe('payload encryption: Temporal sees ciphertext', () => {
  let stack: TestStack;
  let target: Awaited<ReturnType<typeof startTarget>>;
  let rawClient: Client;
  let agent: string;
  let alice: string;
  let operator: string;
  let admin: string;
  // A value found nowhere else: if it is anywhere in the history in plaintext, this test finds it.
  const marker = `acct-plaintext-${randomBytes(6).toString('hex')}`;
  let actionId: string;

  beforeAll(async () => {
    target = await startTarget();
    stack = await startTestStack(testPolicy(target.url));
    agent = await stack.principal('agent-1', 'agent', ['agent']);
    alice = await stack.principal('alice', 'human', ['reviewer'], ['finance']);
    operator = await stack.principal('olga', 'human', ['operator']);
    admin = await stack.principal('adam', 'human', ['admin']);
    // A client as any Temporal tool has it: Temporal's default data converter, no codec.
    rawClient = new Client({ connection: await Connection.connect({ address: inject('temporalAddress') }) });

    const proposed = await stack.call(agent, 'POST', '/v1/actions?wait=20', { action: 'payments.transfer', params: { amount: 500, currency: 'EUR', to: marker } });
    expect(proposed.body.status).toBe('awaiting_approval');
    actionId = proposed.body.id;
    const decided = await stack.call(alice, 'POST', `/v1/actions/${actionId}/decisions`, { decision: 'approve', reason: `fine for ${marker}` });
    expect(decided.status).toBe(200);
    await stack.services.temporal.workflow.getHandle(`action-${actionId}`).result();
  });
  afterAll(async () => {
    await rawClient?.connection.close();
    await stack?.stop();
    await target?.close();
  });

  const rawHistory = async (id: string) => rawClient.workflow.getHandle(`action-${id}`).fetchHistory();

  it('when an action is approved and executed, then the API answers with its params while its history holds them nowhere in plaintext', async () => {
    // The API end to end: the view (read back from the workflow and the read model) and the executor got the params.
    const view = await stack.call(agent, 'GET', `/v1/actions/${actionId}`);
    expect(view.body).toMatchObject({ status: 'succeeded', params: { amount: 500, currency: 'EUR', to: marker } });
    expect(target.forAction(actionId)[0].body.params.to).toBe(marker);

    const history = await rawHistory(actionId);
    expect(serialized(history).includes(marker)).toBe(false);

    // Every payload Countersign wrote is encrypted under the data dir's key; only what Temporal's core writes itself is plain.
    const payloads = payloadsIn(history);
    const ours = payloads.filter((p) => !writtenByTemporal(p.at));
    expect(ours.length).toBeGreaterThan(5);
    for (const { at, payload } of ours) {
      expect(unb64(payload.metadata!.encoding), at).toBe(ENCRYPTED_ENCODING);
      expect(unb64(payload.metadata![KEY_ID_METADATA]), at).toBe('1');
    }
    // What the SDK writes itself (markers' metadata, search attributes) is plain, and holds no params.
    for (const { payload } of payloads.filter((p) => writtenByTemporal(p.at))) expect(unb64(payload.data ?? '')).not.toContain(marker);

    // The control: decoded with the stack's codec, the same history does hold the params.
    const decoded = await stack.services.payloadCodec.decode(
      (history.events ?? []).flatMap((e) => [
        ...(e.workflowExecutionStartedEventAttributes?.input?.payloads ?? []),
        ...(e.activityTaskScheduledEventAttributes?.input?.payloads ?? []),
        ...(e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.args?.payloads ?? []),
      ]) as Payload[],
    );
    expect(Buffer.concat(decoded.map((p) => Buffer.from(p.data ?? new Uint8Array()))).includes(marker)).toBe(true);
  });

  describe('the codec endpoint', () => {
    /** The workflow's start input as stored: encrypted. */
    const storedInput = async () => {
      const started = (await rawHistory(actionId)).events?.find((e) => e.workflowExecutionStartedEventAttributes)?.workflowExecutionStartedEventAttributes;
      return payloadToJSON(started!.input!.payloads![0]);
    };
    const codec = (token: string | undefined, direction: 'decode' | 'encode', body: unknown, headers: Record<string, string> = {}) =>
      stack.call(token, 'POST', `/codec/${direction}`, body, headers);

    it('when an operator (or an admin) decodes a stored payload, then it gets the plaintext', async () => {
      const stored = await storedInput();
      expect(unb64(stored.metadata!.encoding)).toBe(ENCRYPTED_ENCODING);
      for (const token of [operator, admin]) {
        const r = await codec(token, 'decode', { payloads: [stored] }, { 'x-namespace': 'default' });
        expect(r.status).toBe(200);
        expect(r.headers.get('cache-control')).toBe('no-store');
        expect(r.body.payloads).toHaveLength(1);
        expect(unb64(r.body.payloads[0].metadata.encoding)).toBe('json/plain');
        expect(unb64(r.body.payloads[0].data)).toContain(marker);
      }
    });

    it('when there is no token, then 401; a reviewer or an agent, 403', async () => {
      const body = { payloads: [await storedInput()] };
      const anonymous = await codec(undefined, 'decode', body);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(JSON.stringify(anonymous.body)).not.toContain(marker);
      for (const token of [alice, agent]) {
        const r = await codec(token, 'decode', body);
        expect(r.status).toBe(403);
        expect(JSON.stringify(r.body)).not.toContain(marker);
      }
      expect((await codec(alice, 'encode', { payloads: [] })).status).toBe(403);
    });

    it('when a payload cannot be decoded (plaintext, an unknown key, tampered), then it comes back exactly as sent', async () => {
      const stored = await storedInput();
      const tampered = Buffer.from(stored.data!, 'base64');
      tampered[tampered.length - 1] ^= 0x01;
      const payloads = [
        { metadata: { encoding: b64('json/plain') }, data: b64('{"a":1}') },
        { metadata: { ...stored.metadata, [KEY_ID_METADATA]: b64('retired-key') }, data: stored.data },
        { metadata: stored.metadata, data: tampered.toString('base64') },
        // Unpadded base64 and no data at all are protobuf JSON too.
        { metadata: { encoding: b64('binary/null').replace(/=+$/, '') } },
      ];
      const r = await codec(operator, 'decode', { payloads });
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ payloads });
    });

    it('when payloads are encoded, then they come back encrypted under the current key, and decode to what was sent', async () => {
      const sent = { metadata: { encoding: b64('json/plain') }, data: b64(JSON.stringify({ to: marker })) };
      const encoded = await codec(operator, 'encode', { payloads: [sent] });
      expect(encoded.status).toBe(200);
      expect(unb64(encoded.body.payloads[0].metadata.encoding)).toBe(ENCRYPTED_ENCODING);
      expect(unb64(encoded.body.payloads[0].metadata[KEY_ID_METADATA])).toBe('1');
      expect(unb64(encoded.body.payloads[0].data)).not.toContain(marker);
      const decoded = await codec(operator, 'decode', encoded.body);
      expect(decoded.body).toEqual({ payloads: [sent] });
    });

    it('when the body is not a payload list, then 422', async () => {
      for (const body of [{}, { payloads: [{ data: 'not base64!' }] }, { payloads: [{ metadata: { encoding: 7 } }] }]) {
        expect((await codec(operator, 'decode', body)).status, JSON.stringify(body)).toBe(422);
      }
    });

    it('when the Temporal UI preflights a decode, then it gets exact-origin CORS with credentials, without a token', async () => {
      const r = await stack.call(undefined, 'OPTIONS', '/codec/decode', undefined, {
        origin: UI_ORIGIN,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-namespace',
      });
      expect(r.status).toBe(204);
      expect(r.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
      expect(r.headers.get('access-control-allow-credentials')).toBe('true');
      expect(r.headers.get('access-control-allow-methods')).toBe('POST');
      expect(r.headers.get('access-control-allow-headers')).toBe('Authorization, Content-Type, X-Namespace');
      expect(r.headers.get('vary')).toMatch(/Origin/);
      expect(r.headers.get('allow')).toBe('POST, OPTIONS');
    });

    it('when another origin preflights or posts, then no CORS header allows it', async () => {
      for (const origin of ['http://evil.example', 'http://localhost:8234', 'http://127.0.0.1:8233', 'null']) {
        const preflight = await stack.call(undefined, 'OPTIONS', '/codec/decode', undefined, { origin, 'access-control-request-method': 'POST' });
        const post = await codec(operator, 'decode', { payloads: [] }, { origin });
        for (const r of [preflight, post]) {
          expect(r.headers.get('access-control-allow-origin'), origin).toBeNull();
          expect(r.headers.get('access-control-allow-credentials'), origin).toBeNull();
        }
      }
    });

    it('when the UI posts, then the answer carries the CORS headers, a 401 too (so the UI can tell why)', async () => {
      const ok = await codec(operator, 'decode', { payloads: [] }, { origin: UI_ORIGIN });
      expect(ok.status).toBe(200);
      expect(ok.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
      expect(ok.headers.get('access-control-allow-credentials')).toBe('true');
      const refused = await codec(undefined, 'decode', { payloads: [] }, { origin: UI_ORIGIN, cookie: 'session=not-a-console-session' });
      expect(refused.status).toBe(401);
      expect(refused.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    });
  });
});

describe('payload key rotation across a restart', () => {
  let stack: TestStack;
  let target: Awaited<ReturnType<typeof startTarget>>;
  const key = (id: string): PayloadKey => ({ id, key: randomBytes(32) });
  const oldKey = key('2024-01');
  const newKey = key('2024-06');

  beforeAll(async () => {
    target = await startTarget();
    stack = await startTestStack(testPolicy(target.url), { payloadKeys: [oldKey] });
  });
  afterAll(async () => {
    await stack?.stop();
    await target?.close();
  });

  it('when a new key is added in front of the old one, then a pending action written under the old key is approved and executed, and what is written after uses the new key', async () => {
    const agent = await stack.principal('agent-1', 'agent', ['agent']);
    const alice = await stack.principal('alice', 'human', ['reviewer'], ['finance']);
    const proposed = await stack.call(agent, 'POST', '/v1/actions?wait=20', { action: 'payments.transfer', params: { amount: 500, currency: 'EUR', to: 'acct-rotation' } });
    expect(proposed.body.status).toBe('awaiting_approval');
    const id = proposed.body.id as string;

    await stack.restart({ payloadKeys: [newKey, oldKey] });
    // The old key decrypts what was written before: the view is read back from the workflow.
    expect((await stack.call(agent, 'GET', `/v1/actions/${id}`)).body.params).toEqual({ amount: 500, currency: 'EUR', to: 'acct-rotation' });
    const decided = await stack.call(alice, 'POST', `/v1/actions/${id}/decisions`, { decision: 'approve' });
    expect(decided.status).toBe(200);
    const done = await eventually(async () => {
      const r = await stack.call(agent, 'GET', `/v1/actions/${id}?wait=10`);
      return r.body.status === 'succeeded' && r.body;
    }, 30_000, 'the action to succeed');
    expect(done.result).toMatchObject({ status: 200 });
    expect(target.forAction(id)[0].body.params.to).toBe('acct-rotation');

    const history = await stack.services.temporal.workflow.getHandle(`action-${id}`).fetchHistory();
    const keyIds = (history.events ?? []).map((e) => {
      const p = e.workflowExecutionStartedEventAttributes?.input?.payloads?.[0] ?? e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.args?.payloads?.[0];
      return p ? Buffer.from(p.metadata![KEY_ID_METADATA]).toString() : undefined;
    }).filter(Boolean);
    // Started before the rotation, decided after it.
    expect(keyIds).toEqual(['2024-01', '2024-06']);
    // A process still holding only the old key could not read what the new one wrote.
    const stale = new PayloadEncryptionCodec([oldKey]);
    const update = (history.events ?? []).find((e) => e.workflowExecutionUpdateAcceptedEventAttributes)!.workflowExecutionUpdateAcceptedEventAttributes!.acceptedRequest!.input!.args!.payloads![0] as Payload;
    expect((await stale.decode([update]))[0]).toBe(update);
  });
});
