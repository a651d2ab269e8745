import fc from 'fast-check';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPolicy } from '../fixtures/policy';
import { startTestStack, type TestStack } from '../helpers/stack';
import { startTarget } from '../helpers/target';

// Who may call what: every endpoint against every kind of caller, and a campaign of generated
// bad input that must only ever get 4xx problem+json answers and start nothing.
describe('access control and bad input', () => {
  let stack: TestStack;
  let target: Awaited<ReturnType<typeof startTarget>>;
  const tokens: Record<string, string | undefined> = {};
  let pendingId: string;

  beforeAll(async () => {
    target = await startTarget();
    stack = await startTestStack(testPolicy(target.url));
    tokens.none = undefined;
    tokens.agent = await stack.principal('agent-a', 'agent', ['agent']);
    tokens.otherAgent = await stack.principal('agent-b', 'agent', ['agent']);
    tokens.reviewerIn = await stack.principal('rita', 'human', ['reviewer'], ['finance']);
    tokens.reviewerOut = await stack.principal('rolf', 'human', ['reviewer'], ['comms']);
    tokens.operator = await stack.principal('otto', 'human', ['operator']);
    tokens.admin = stack.admin;
    const r = await stack.call(tokens.agent, 'POST', '/v1/actions?wait=10', { action: 'payments.transfer', params: { amount: 500, currency: 'EUR', to: 'x' } });
    expect(r.body.status).toBe('awaiting_approval');
    pendingId = r.body.id;
  });
  afterAll(async () => {
    await stack?.stop();
    await target?.close();
  });

  // Read-only or refused-before-effect requests only, so the matrix does not change state.
  const matrix: { name: string; method: string; path: () => string; body?: unknown; expect: Record<string, number> }[] = [
    {
      name: 'read a pending action',
      method: 'GET',
      path: () => `/v1/actions/${pendingId}`,
      expect: { none: 401, agent: 200, otherAgent: 404, reviewerIn: 200, reviewerOut: 404, operator: 200, admin: 200 },
    },
    { name: 'list actions', method: 'GET', path: () => '/v1/actions', expect: { none: 401, agent: 200, otherAgent: 200, reviewerIn: 200, reviewerOut: 200, operator: 200, admin: 200 } },
    // admin does not imply reviewer: an admin without the reviewer role has no inbox and cannot decide.
    { name: 'approvals inbox', method: 'GET', path: () => '/v1/approvals', expect: { none: 401, agent: 403, otherAgent: 403, reviewerIn: 200, reviewerOut: 200, operator: 403, admin: 403 } },
    {
      name: 'propose (invalid params: refused before any effect)',
      method: 'POST',
      path: () => '/v1/actions',
      body: { action: 'payments.transfer', params: {} },
      expect: { none: 401, agent: 422, otherAgent: 422, reviewerIn: 403, reviewerOut: 403, operator: 403, admin: 422 },
    },
    {
      name: 'decide (bad body: refused before any effect)',
      method: 'POST',
      path: () => `/v1/actions/${pendingId}/decisions`,
      body: { decision: 'perhaps' },
      expect: { none: 401, agent: 403, otherAgent: 403, reviewerIn: 422, reviewerOut: 422, operator: 403, admin: 403 },
    },
    {
      name: 'report a result of an action not waiting for one',
      method: 'POST',
      path: () => `/v1/actions/${pendingId}/result`,
      body: { ok: true },
      expect: { none: 401, agent: 409, otherAgent: 404, reviewerIn: 403, reviewerOut: 404, operator: 403, admin: 403 },
    },
    {
      name: 'create a principal (invalid body)',
      method: 'POST',
      path: () => '/v1/principals',
      body: { id: '' },
      expect: { none: 401, agent: 403, otherAgent: 403, reviewerIn: 403, reviewerOut: 403, operator: 403, admin: 422 },
    },
    { name: 'read the policy', method: 'GET', path: () => '/v1/policy', expect: { none: 401, agent: 403, otherAgent: 403, reviewerIn: 403, reviewerOut: 403, operator: 200, admin: 200 } },
    { name: 'policy versions', method: 'GET', path: () => '/v1/policy/versions', expect: { none: 401, agent: 403, otherAgent: 403, reviewerIn: 403, reviewerOut: 403, operator: 200, admin: 200 } },
    {
      name: 'dry-run policy',
      method: 'POST',
      path: () => '/v1/policy/evaluate',
      body: { action: 'payments.transfer', params: { amount: 1, currency: 'EUR', to: 'x' } },
      expect: { none: 401, agent: 403, otherAgent: 403, reviewerIn: 403, reviewerOut: 403, operator: 200, admin: 200 },
    },
    {
      name: 'activate policy (invalid bundle)',
      method: 'PUT',
      path: () => '/v1/policy',
      body: 'rules: [',
      expect: { none: 401, agent: 403, otherAgent: 403, reviewerIn: 403, reviewerOut: 403, operator: 422, admin: 422 },
    },
    { name: 'health', method: 'GET', path: () => '/healthz', expect: { none: 200, agent: 200, operator: 200 } },
    { name: 'openapi', method: 'GET', path: () => '/openapi.json', expect: { none: 200 } },
    { name: 'metrics', method: 'GET', path: () => '/metrics', expect: { none: 200 } },
  ];

  for (const row of matrix) {
    it(`when each kind of caller tries to ${row.name}, then each gets its expected status`, async () => {
      const got: Record<string, number> = {};
      for (const who of Object.keys(row.expect)) {
        const r = await stack.call(tokens[who], row.method, row.path(), row.body);
        got[who] = r.status;
        if (r.status >= 400) expect(r.headers.get('content-type')).toMatch(/application\/problem\+json/);
      }
      expect(got).toEqual(row.expect);
    });
  }

  it('when the matrix has run, then the pending action is untouched', async () => {
    const r = await stack.call(tokens.operator, 'GET', `/v1/actions/${pendingId}`);
    expect(r.body).toMatchObject({ status: 'awaiting_approval', approval: { approvals: [] } });
  });

  it('when /openapi.json is read, then it documents every endpoint of the contract with schemas from the domain', async () => {
    const doc = (await stack.call(undefined, 'GET', '/openapi.json')).body;
    expect(doc.openapi).toMatch(/^3\./);
    const paths = Object.keys(doc.paths);
    for (const p of [
      '/v1/principals', '/v1/actions', '/v1/actions/{id}', '/v1/actions/{id}/cancel', '/v1/actions/{id}/result', '/v1/actions/{id}/decisions',
      '/v1/approvals', '/v1/policy', '/v1/policy/evaluate', '/v1/actions/{id}/evidence', '/v1/ledger/verify', '/healthz', '/readyz', '/metrics',
    ]) expect(paths).toContain(p);
    expect(doc.components.schemas.ProposeAction.properties).toHaveProperty('params');
    expect(doc.components.schemas.ActionView.properties.status.enum).toContain('awaiting_approval');
  });

  it('when requests have been served, then /metrics exposes them for Prometheus', async () => {
    const r = await fetch(`${stack.url}/metrics`);
    const text = await r.text();
    expect(r.headers.get('content-type')).toMatch(/text\/plain/);
    expect(text).toMatch(/countersign_http_requests_total\{method="GET",route="\/v1\/actions\/:id",status="200"\} \d+/);
    expect(text).toContain('countersign_actions_proposed_total');
  });

  it('when a body is over the limit, then 413 problem+json', async () => {
    const big = { action: 'payments.transfer', params: { amount: 1, currency: 'EUR', to: 'x'.repeat(1024 * 1024 + 10) } };
    const r = await stack.call(tokens.agent, 'POST', '/v1/actions', big);
    expect(r.status).toBe(413);
    expect(r.body.type).toMatch(/payload-too-large$/);
  });

  it('when a caller without a valid token sends a body, then it is refused 401 before the body is read; one declared over the limit is 413 at once; one still streaming has its connection closed', async () => {
    // Malformed JSON and the wrong media type: 401 first (the body is never looked at), or 429
    // once this address has failed authentication often (the matrix above sends no token a lot).
    for (const [body, type] of [['{"not json', 'application/json'], ['action=x', 'application/x-www-form-urlencoded']]) {
      const r = await fetch(`${stack.url}/v1/actions`, { method: 'POST', headers: { 'content-type': type }, body });
      expect([401, 429]).toContain(r.status);
      await r.arrayBuffer();
    }
    // A body declared over the limit: 413 before authentication, without reading it, and the connection closes.
    const declared = await rawRequest(stack.url, 'POST /v1/actions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000000\r\n\r\n{', 0);
    expect(declared.head).toMatch(/^HTTP\/1.1 413/);
    expect(declared.closedBy).toBe('server');
    // A chunked body that keeps coming, without a token: 401, then the server closes the
    // connection rather than take in the rest.
    const streaming = await rawRequest(stack.url, 'POST /v1/actions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n', 40);
    expect(streaming.head).toMatch(/^HTTP\/1.1 (401|429)/);
    expect(streaming.closedBy).toBe('server');
    // The legitimate path still works: a valid token and a valid body.
    const ok = await stack.call(tokens.agent, 'POST', '/v1/actions', { action: 'payments.transfer', params: { amount: 1, currency: 'EUR', to: 'x' } }, { 'idempotency-key': 'body-after-auth' });
    expect(ok.status).toBe(201);
  });

  it('when a body is not JSON, then 415', async () => {
    const r = await stack.call(tokens.agent, 'POST', '/v1/actions', 'action=x', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(r.status).toBe(415);
  });

  it('when thousands of generated bodies, headers and queries are sent, then every answer is a 4xx problem or a success and no invalid proposal starts anything', async () => {
    const count = async () => Number((await stack.pool.query('SELECT count(*) FROM actions')).rows[0].count);
    const before = await count();
    const json = fc.jsonValue({ maxDepth: 3 });
    const bodies = fc.oneof(
      json,
      fc.record({ action: fc.oneof(fc.string(), fc.constant('payments.transfer')), params: json }, { requiredKeys: [] }),
      fc.record({ action: fc.constant('payments.transfer'), params: fc.record({ amount: fc.oneof(fc.double(), fc.string(), fc.constant(-1)), currency: fc.string(), to: fc.oneof(fc.string(), fc.integer()) }) }),
    );
    const paths = fc.oneof(
      fc.constant('/v1/actions'),
      fc.string().map((s) => `/v1/actions?wait=${encodeURIComponent(s)}`),
      fc.string().map((s) => `/v1/actions/${encodeURIComponent(s)}`),
      fc.string().map((s) => `/v1/actions?status=${encodeURIComponent(s)}&limit=${encodeURIComponent(s)}&cursor=${encodeURIComponent(s)}`),
      fc.string().map((s) => `/v1/actions/${encodeURIComponent(s)}/decisions`),
      fc.constant('/v1/policy/evaluate'),
    );
    const seen = new Set<number>();
    let created = 0;
    await fc.assert(
      fc.asyncProperty(paths, bodies, fc.option(fc.string({ maxLength: 300 })), fc.constantFrom('agent', 'reviewerIn', 'operator'), async (p, body, key, who) => {
        const method = p.includes('?status=') || (p.startsWith('/v1/actions/') && !p.endsWith('/decisions')) ? 'GET' : 'POST';
        const headers: Record<string, string> = {};
        if (key !== null && /^[\x20-\x7e]*$/.test(key)) headers['idempotency-key'] = key;
        const r = await stack.call(tokens[who], method, p, method === 'POST' ? body : undefined, headers);
        seen.add(r.status);
        if (method === 'POST' && p.startsWith('/v1/actions') && !p.includes('/decisions') && r.status === 201) created++;
        expect(r.status).toBeLessThan(500);
        if (r.status >= 400) expect(r.headers.get('content-type')).toMatch(/application\/problem\+json/);
      }),
      { numRuns: 1500 },
    );
    // Only the proposals that were accepted (201) exist; no invalid one left a trace.
    expect(await count()).toBe(before + created);
    expect([...seen].some((s) => s >= 400)).toBe(true);
  });
});

/**
 * Send `head` on a raw connection, then (if `chunks` > 0) a 1 KiB chunk every 50 ms up to
 * `chunks` of them, never the last chunk; answer what came back and who closed the connection.
 */
function rawRequest(base: string, head: string, chunks: number): Promise<{ head: string; closedBy: 'server' | 'client' }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(url.port), url.hostname);
    let received = '';
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    const finish = (closedBy: 'server' | 'client') => {
      clearInterval(timer);
      resolve({ head: received.split('\r\n')[0] ?? '', closedBy });
    };
    socket.on('data', (d) => (received += d.toString('latin1')));
    socket.on('error', () => finish('server'));
    socket.on('close', () => finish('server'));
    socket.on('connect', () => {
      socket.write(head);
      if (chunks === 0) return;
      timer = setInterval(() => {
        if (socket.destroyed) return;
        if (++sent > chunks) {
          clearInterval(timer);
          socket.removeAllListeners('close');
          socket.destroy();
          return finish('client');
        }
        socket.write(`400\r\n${'x'.repeat(1024)}\r\n`);
      }, 50);
    });
    setTimeout(() => reject(new Error('no answer in 10 s')), 10_000).unref();
  });
}
