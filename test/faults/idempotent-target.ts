/**
 * The executor target of the fault suite: a tiny HTTP service that behaves like a real
 * idempotent payments API. Countersign delivers at least once; the target performs each action
 * once per `Idempotency-Key` and answers a repeated key with the stored result. It counts
 * deliveries (what arrived) and performs (what it did) separately, so a test can assert
 * "performed exactly once" and report how many deliveries it took.
 *
 * A test scripts faults per delivery: answer 500, reset the connection, perform and then drop
 * the connection (the answer is lost), perform and hold the answer (until the socket dies),
 * or reject with a 4xx.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';

/** What the target does with one delivery. */
export type Behaviour =
  /** Perform (first time for the key) or replay the stored answer; 200 (after `delayMs`). */
  | { kind: 'perform'; delayMs?: number }
  /** Answer this status without doing anything (e.g. 500, or a 4xx refusal). */
  | { kind: 'answer'; status: number; body?: unknown }
  /** Drop the connection without doing anything (a network error). */
  | { kind: 'reset'; afterMs?: number }
  | { kind: 'hold' }
  /** Perform, then drop the connection instead of answering (the answer is lost). */
  | { kind: 'perform-then-reset'; afterMs?: number }
  /** Perform, then never answer (until the caller goes away or the target closes). */
  | { kind: 'perform-then-hold' };

/** One request as it arrived. */
export interface Delivery {
  actionId: string;
  idempotencyKey: string | undefined;
  /** 1 for the first delivery of this key, 2 for the next, ... */
  attempt: number;
  signatureValid: boolean;
  behaviour: Behaviour['kind'];
  at: number;
}

/** Starts the target; `script(actionId, attempt)` picks each delivery's behaviour (default: perform). */
export async function startIdempotentTarget(secret: string, script?: (actionId: string, attempt: number, body: any) => Behaviour | undefined) {
  const deliveries: Delivery[] = [];
  // Performed actions by Idempotency-Key. Counted per action id too: were a retry ever sent
  // under a different key, the target would perform it twice and the count would show it.
  const performed = new Map<string, { actionId: string; receipt: string }>();
  const sockets = new Set<net.Socket>();
  let receipts = 0;

  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const body = raw ? JSON.parse(raw) : {};
      const key = req.headers['idempotency-key'] as string | undefined;
      const actionId = String(body.actionId ?? '');
      const attempt = deliveries.filter((d) => d.idempotencyKey === key).length + 1;
      const expected = 'sha256=' + createHmac('sha256', secret).update(raw).digest('hex');
      const got = String(req.headers['x-countersign-signature'] ?? '');
      const signatureValid = got.length === expected.length && timingSafeEqual(Buffer.from(got), Buffer.from(expected));
      const behaviour = script?.(actionId, attempt, body) ?? { kind: 'perform' };
      deliveries.push({ actionId, idempotencyKey: key, attempt, signatureValid, behaviour: behaviour.kind, at: Date.now() });

      const reply = (status: number, payload: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(payload));
      // A real target refuses unsigned or unkeyed requests before doing anything.
      if (!signatureValid) return reply(401, { error: 'bad signature' });
      if (!key) return reply(400, { error: 'Idempotency-Key required' });
      /** Do the action once per key; a repeat gets the stored receipt. */
      const perform = () => {
        const done = performed.get(key);
        if (done) return { receipt: done.receipt, replayed: true };
        const receipt = `rcpt-${++receipts}`;
        performed.set(key, { actionId, receipt });
        return { receipt, replayed: false };
      };
      switch (behaviour.kind) {
        case 'perform': {
          const answer = perform();
          return void setTimeout(() => reply(200, answer), behaviour.delayMs ?? 0);
        }
        case 'answer':
          return reply(behaviour.status, behaviour.body ?? {});
        case 'reset':
          return void setTimeout(() => req.socket.destroy(), behaviour.afterMs ?? 0);
        case 'perform-then-reset':
          perform();
          return void setTimeout(() => req.socket.destroy(), behaviour.afterMs ?? 0);
        case 'hold':
          return; // never answered, nothing done: the client times out
        case 'perform-then-hold':
          perform();
          return; // never answered
      }
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    deliveries,
    /** Deliveries of one action (its id is the Idempotency-Key). */
    deliveriesOf: (actionId: string) => deliveries.filter((d) => d.idempotencyKey === actionId),
    /** How many times the action was actually performed (under any key). */
    performedCount: (actionId: string) => [...performed.values()].filter((p) => p.actionId === actionId).length,
    /** The receipt the target gave for an action (what a 2xx answer carried). */
    receiptOf: (actionId: string) => [...performed.values()].find((p) => p.actionId === actionId)?.receipt,
    /** Every action performed, by key. */
    performedKeys: () => [...performed.keys()],
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The target's type, for declarations in tests. */
export type IdempotentTarget = Awaited<ReturnType<typeof startIdempotentTarget>>;
