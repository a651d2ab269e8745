import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTracing, type Tracing } from '../../runtime/tracing';
import { bundleWorkflows } from '../../workers/worker';
import { testPolicy } from '../fixtures/policy';
import { eventually, startTestStack, type TestStack } from '../helpers/stack';
import { startTarget } from '../helpers/target';
import { FIXTURES_DIR, loadFixtures } from '../replay/load-fixtures';
import fs from 'node:fs';
import path from 'node:path';

// Tracing (issue 19, part 4) against the real stack, with a stand-in for an OTLP/HTTP collector:
// one trace from the agent's request through the API, the workflow start, the workflow and its
// activities to the executor call, each span's parent the one before, and `traceparent` on the
// request the executor target receives.

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: { key: string; value: { stringValue?: string; intValue?: string | number } }[];
}

/** A local OTLP/HTTP (JSON) receiver: keeps every span it is sent. */
async function startCollector() {
  const spans: OtlpSpan[] = [];
  const contentTypes = new Set<string>();
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      contentTypes.add(String(req.headers['content-type']));
      if (req.url === '/v1/traces' && req.method === 'POST') {
        const body = JSON.parse(raw) as { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] };
        for (const rs of body.resourceSpans) for (const ss of rs.scopeSpans) spans.push(...ss.spans);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, spans, contentTypes, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const attr = (s: OtlpSpan, key: string) => s.attributes?.find((a) => a.key === key)?.value.stringValue;

describe('tracing', () => {
  let collector: Awaited<ReturnType<typeof startCollector>>;
  let tracing: Tracing;
  let stack: TestStack;
  let target: Awaited<ReturnType<typeof startTarget>>;
  let agent: string;
  let bundle: Awaited<ReturnType<typeof bundleWorkflows>>;

  beforeAll(async () => {
    collector = await startCollector();
    tracing = startTracing({ url: `${collector.url}/v1/traces`, serviceName: 'countersign-test' });
    target = await startTarget();
    bundle = await bundleWorkflows({ tracing: true });
    stack = await startTestStack(testPolicy(target.url), { tracing, workflowBundle: bundle });
    agent = await stack.principal('traced-agent', 'agent', ['agent']);
  });
  afterAll(async () => {
    await stack?.stop();
    await tracing?.shutdown();
    await target?.close();
    await collector?.close();
  });

  it('when an agent proposes with a traceparent, then one trace links its request, the API, the workflow, the activities and the executor call', async () => {
    const traceId = randomBytes(16).toString('hex');
    const agentSpan = randomBytes(8).toString('hex');
    const r = await stack.call(
      agent,
      'POST',
      '/v1/actions?wait=20',
      { action: 'payments.transfer', params: { amount: 42, currency: 'EUR', to: 'acme' }, model: { provider: 'test', name: 'scripted', traceId: 'agent-run-7' } },
      { traceparent: `00-${traceId}-${agentSpan}-01` },
    );
    expect(r.body.status).toBe('succeeded');

    // The executor got the trace, as the child of a span of the trace.
    const delivered = target.received.find((q) => q.body?.actionId === r.body.id)!;
    const tp = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/.exec(String(delivered.headers.traceparent));
    expect(tp, `traceparent ${delivered.headers.traceparent}`).not.toBeNull();
    expect(tp![1]).toBe(traceId);

    await tracing.flush();
    const inTrace = await eventually(
      async () => {
        await tracing.flush();
        const mine = collector.spans.filter((s) => s.traceId === traceId);
        return mine.some((s) => s.spanId === tp![2]) && mine.some((s) => s.name.startsWith('RunWorkflow')) ? mine : undefined;
      },
      20_000,
      'the spans of the trace at the collector',
    );
    expect([...collector.contentTypes]).toContain('application/json');
    const byId = new Map(inTrace.map((s) => [s.spanId, s]));
    const one = (pred: (s: OtlpSpan) => boolean, what: string) => {
      const found = inTrace.filter(pred);
      expect(found.length, what).toBeGreaterThanOrEqual(1);
      return found[0]!;
    };

    // The API's span continues the agent's and carries its model trace id.
    const api = one((s) => s.name === 'POST /v1/actions', 'the API span');
    expect(api.parentSpanId).toBe(agentSpan);
    expect(attr(api, 'countersign.model.trace_id')).toBe('agent-run-7');
    // The workflow start is its child; the workflow run the start's.
    const start = one((s) => s.name === 'StartWorkflow:governedAction', 'the StartWorkflow span');
    expect(start.parentSpanId).toBe(api.spanId);
    const run = one((s) => s.name === 'RunWorkflow:governedAction', 'the RunWorkflow span');
    expect(run.parentSpanId).toBe(start.spanId);
    // Activities ran inside the workflow's span.
    const activities = inTrace.filter((s) => /^(RunActivity|StartActivity|StartLocalActivity|RunLocalActivity)/.test(s.name));
    expect(activities.length).toBeGreaterThan(0);

    // The executor call's parent chain climbs, span by span, to the agent's span.
    const chain: string[] = [];
    for (let id: string | undefined = tp![2]; id && id !== agentSpan; id = byId.get(id)?.parentSpanId) {
      const span = byId.get(id);
      expect(span, `span ${id} (parent of ${chain.at(-1) ?? 'the executor call'}) was exported`).toBeDefined();
      chain.push(span!.name);
    }
    expect(chain).toEqual(expect.arrayContaining(['RunWorkflow:governedAction', 'StartWorkflow:governedAction', 'POST /v1/actions']));
    expect(chain.at(-1)).toBe('POST /v1/actions');
  });

  it('when a decision is made, then its Update is traced under the reviewer request', async () => {
    const reviewer = await stack.principal('traced-reviewer', 'human', ['reviewer'], ['finance']);
    const p = await stack.call(agent, 'POST', '/v1/actions?wait=20', { action: 'payments.transfer', params: { amount: 500, currency: 'EUR', to: 'acme' } });
    expect(p.body.status).toBe('awaiting_approval');
    const traceId = randomBytes(16).toString('hex');
    const d = await stack.call(reviewer, 'POST', `/v1/actions/${p.body.id}/decisions`, { decision: 'approve' }, { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` });
    expect(d.status).toBe(200);
    const spans = await eventually(
      async () => {
        await tracing.flush();
        const mine = collector.spans.filter((s) => s.traceId === traceId);
        return mine.some((s) => s.name.startsWith('StartWorkflowUpdate')) ? mine : undefined;
      },
      20_000,
      'the decision spans',
    );
    const api = spans.find((s) => s.name === 'POST /v1/actions/:id/decisions')!;
    expect(api).toBeDefined();
    expect(spans.find((s) => s.name.startsWith('StartWorkflowUpdate'))!.parentSpanId).toBe(api.spanId);
  });

  it('when the recorded histories of every generation are replayed with the tracing interceptors, then none diverges', async () => {
    const files = fs
      .readdirSync(FIXTURES_DIR)
      .filter((g) => g !== process.env.RECORD_REPLAY_FIXTURES && fs.statSync(path.join(FIXTURES_DIR, g)).isDirectory())
      .flatMap((g) => fs.readdirSync(path.join(FIXTURES_DIR, g)).filter((f) => f.endsWith('.json')).map((f) => `${g}/${f}`));
    const { histories, fixtureOf } = loadFixtures(files);
    const { interceptors, sinks } = tracing.workerOptions();
    const errors: string[] = [];
    let replayed = 0;
    for await (const result of Worker.runReplayHistories({ workflowBundle: bundle, interceptors, sinks }, histories)) {
      replayed++;
      if (result.error) errors.push(`${fixtureOf.get(result.workflowId)}: ${(result.error as Error).message}`);
    }
    expect(replayed).toBe(histories.length);
    expect(errors).toEqual([]);
  });
});
