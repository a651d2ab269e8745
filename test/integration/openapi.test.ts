import type { Router } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type ApiDeps } from '../../api/app';
import { buildOpenApi } from '../../api/openapi';
import { createLogger } from '../../runtime/logger';
import { testPolicy } from '../fixtures/policy';
import { startTestStack, type TestStack } from '../helpers/stack';

type Operation = { responses: Record<string, { content?: Record<string, { schema?: { $ref?: string } }> }> };

/** "METHOD /path/{param}" of every route express serves, found by walking its routers. */
function expressRoutes(extra: Partial<ApiDeps> = {}): string[] {
  // Building the app opens nothing: dependencies are used per request, and none is sent here.
  const app = createApp({ log: createLogger('silent'), maxBodyBytes: 1024, ...extra } as unknown as ApiDeps);
  const out: string[] = [];
  const walk = (stack: Router['stack']) => {
    for (const layer of stack) {
      const route = layer.route as { path: string; methods: Record<string, boolean> } | undefined;
      if (route) {
        for (const m of Object.keys(route.methods)) out.push(`${m.toUpperCase()} ${route.path.replace(/:(\w+)/g, '{$1}')}`);
      } else if ((layer.handle as Partial<Router>).stack) {
        walk((layer.handle as Router).stack);
      }
    }
  };
  walk((app as unknown as { router: Router }).router.stack);
  return out.sort();
}

describe('the OpenAPI document and undeclared methods', () => {
  const doc = buildOpenApi() as { openapi: string; paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, any> } };
  const operations = Object.entries(doc.paths).flatMap(([p, item]) => Object.entries(item).map(([m, op]) => ({ label: `${m.toUpperCase()} ${p}`, path: p, op })));

  it('when express routes are compared with the document, then each serves exactly what the other declares', () => {
    expect(expressRoutes()).toEqual(operations.map((o) => o.label).sort());
  });

  it('when /metrics has its own port, then the API neither serves nor declares it, and serves exactly what it declares', () => {
    const own = buildOpenApi({ metrics: false }) as { paths: Record<string, Record<string, unknown>> };
    const labels = Object.entries(own.paths).flatMap(([p, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${p}`));
    expect(labels).not.toContain('GET /metrics');
    expect(expressRoutes({ metricsOnOwnPort: true })).toEqual(labels.sort());
  });

  it('when the document is read, then every /v1 operation lists the statuses it can answer, each with a body schema', () => {
    expect(doc.openapi).toBe('3.1.0');
    for (const { label, path, op } of operations) {
      const codes = Object.keys(op.responses);
      if (path.startsWith('/v1/')) expect(codes, label).toEqual(expect.arrayContaining(['401', '422', '500', '503']));
      if (path.includes('{id}')) expect(codes, label).toEqual(expect.arrayContaining(['400', '404']));
      if (label.startsWith('POST') || label.startsWith('PUT')) expect(codes, label).toEqual(expect.arrayContaining(['413', '415']));
      // Any authenticated operation can meet a rate limit (api/rate-limit.ts): failed authentications per address at least.
      if (codes.includes('401')) expect(codes, `${label} documents 429`).toContain('429');
      for (const [code, answer] of Object.entries(op.responses)) {
        const content = answer.content ?? {};
        // Every answer has a body schema, except 204 No Content.
        if (code !== '204') expect(Object.keys(content).length, `${label} ${code}`).toBeGreaterThan(0);
        // The console's sign-in pages answer a browser with HTML pages, errors included.
        if (Number(code) >= 400 && !content['text/html']) expect(content['application/problem+json']?.schema?.$ref, `${label} ${code}`).toBe('#/components/schemas/Problem');
        if (content['text/html']) expect(path, `${label} ${code}: HTML only for the console's pages`).toMatch(/^\/console\//);
      }
    }
  });

  it('when the answer schemas are read, then they name every field the API writes', () => {
    const s = doc.components.schemas;
    expect(Object.keys(s.Problem.properties.errors.items.properties)).toEqual(['path', 'message', 'line', 'column', 'hint']);
    expect(s.ActivePolicy.required).toContain('activatedBy');
    expect(s.LedgerVerification.required).toEqual(expect.arrayContaining(['chains', 'checkpoints', 'faults']));
    expect(s.ActionPage.required).toEqual(['items', 'nextCursor']);
    expect(s.Lineage.properties.root).toEqual({ $ref: '#/components/schemas/LineageNode' });
    expect(JSON.stringify(s)).not.toMatch(/"\$schema"|"nullable"/);
  });

  describe('over HTTP', () => {
    let stack: TestStack;
    beforeAll(async () => {
      stack = await startTestStack(testPolicy('http://127.0.0.1:9')); // no action is executed here
    });
    afterAll(async () => {
      await stack?.stop();
    });

    it('when a method the document does not declare is sent to a known path, then 405 problem+json with Allow, even without a token', async () => {
      for (const [method, path, allow] of [
        ['DELETE', '/v1/actions', 'POST, GET, HEAD, OPTIONS'],
        ['PUT', '/v1/actions/act_0123456789abcdef01234567', 'GET, HEAD, OPTIONS'],
        ['GET', '/v1/actions/x/decisions', 'POST, OPTIONS'],
        ['PATCH', '/v1/policy', 'GET, PUT, HEAD, OPTIONS'],
        ['POST', '/healthz', 'GET, HEAD, OPTIONS'],
      ]) {
        const r = await stack.call(undefined, method, path);
        expect(r.status, `${method} ${path}`).toBe(405);
        expect(r.headers.get('allow')).toBe(allow);
        expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        expect(r.body).toMatchObject({ type: 'https://countersign.dev/problems/method-not-allowed', status: 405 });
      }
    });

    it('when OPTIONS is sent to a known path, then 204 with Allow; an unknown path is still 404', async () => {
      const r = await stack.call(undefined, 'OPTIONS', '/v1/approvals');
      expect(r.status).toBe(204);
      expect(r.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
      expect((await stack.call(stack.admin, 'DELETE', '/v1/nothing-here')).status).toBe(404);
    });

    it('when a declared method is sent, then the route answers (HEAD as GET)', async () => {
      expect((await stack.call(undefined, 'HEAD', '/healthz')).status).toBe(200);
      expect((await stack.call(stack.admin, 'GET', '/v1/policy')).body).toHaveProperty('activatedBy');
    });

    it('when a cancel body is JSON null, then 422 (an absent body is still fine)', async () => {
      const r = await stack.call(stack.admin, 'POST', '/v1/actions/act_0123456789abcdef01234567/cancel', 'null', { 'content-type': 'application/json' });
      expect(r.status).toBe(422);
      expect((await stack.call(stack.admin, 'POST', '/v1/actions/act_0123456789abcdef01234567/cancel')).status).toBe(404);
    });

    it('when the backtest limit is sent empty, then it counts as absent', async () => {
      const bundle = testPolicy('http://127.0.0.1:9');
      const r = await stack.call(stack.admin, 'POST', '/v1/policy/backtest?limit=', bundle, { 'content-type': 'application/yaml' });
      expect(r.status).toBe(200);
      expect((await stack.call(stack.admin, 'POST', '/v1/policy/backtest?limit=0', bundle, { 'content-type': 'application/yaml' })).status).toBe(422);
    });
  });
});
