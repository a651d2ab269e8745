/**
 * `npm run bench:controls`: how fast a pause takes effect across processes (docs/controls.md).
 * Two API processes on one Temporal dev server and one Postgres: A (with the worker) takes the
 * `POST /v1/controls/pauses`, B (API only, as behind a load balancer) gets the traffic.
 *
 * - proposals: from the moment A is sent the pause to the first proposal sent through B that ends
 *   `denied` by the control (the worker's copy of the pauses), and to that proposal's answer;
 * - decisions: from the pause to the first decision B refuses with 409 `paused` (B's own copy).
 *
 * Each try lifts the pause and waits until B lets a proposal through again. Target: p99 <= 1 s.
 *
 *   npm run bench:controls                 100 tries
 *   npm run bench:controls -- --tries 20
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { NO_RATE_LIMITS } from '../domain/rate-limits';
import type { Logger } from '../runtime/logger';
import { startPostgres, type PostgresHandle } from '../runtime/postgres';
import { installTemporalRuntime, startServices, type Services } from '../runtime/stack';
import { resolveTemporalCli } from '../runtime/temporal-cli';
import { startTemporalDevServer, type TemporalServerHandle } from '../runtime/temporal-server';
import { startTarget } from '../test/helpers/target';
import { bundleWorkflows } from '../workers/worker';
import { fmt, freePort, mean, nowMs, percentile, round, table } from './stats';

const progress = (line: string) => process.stderr.write(`[bench:controls] ${line}\n`);

const policy = (targetUrl: string) => `
defaults: { decision: deny, approval: { timeout: 24h, onTimeout: deny } }
actions:
  bench.transfer:
    owner: bench
    category: financial
    params: { type: object, required: [amount], properties: { amount: { type: number } } }
    executor: { type: http, url: "${targetUrl}/transfers" }
rules:
  - id: small
    action: bench.transfer
    when: params.amount <= 100
    decision: allow
  - id: big
    action: bench.transfer
    when: params.amount > 100
    decision: require_approval
    approval: { steps: [ { group: bench, quorum: 1, timeout: 24h } ] }
`;

async function main(): Promise<number> {
  const i = process.argv.indexOf('--tries');
  const tries = i > 0 ? Number(process.argv[i + 1]) : 100;
  if (!Number.isInteger(tries) || tries < 1) throw new Error('--tries needs a positive integer');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-bench-controls-'));
  let temporal: TemporalServerHandle | undefined;
  let postgres: PostgresHandle | undefined;
  let target: Awaited<ReturnType<typeof startTarget>> | undefined;
  const services: Services[] = [];
  try {
    installTemporalRuntime();
    const log = pino({ level: process.env.LOG_LEVEL ?? 'warn' }, pino.destination(2)) as Logger;
    progress('starting Temporal dev server (in memory), Postgres, and bundling workflows');
    const cliPath = resolveTemporalCli({ explicitPath: process.env.TEMPORAL_CLI, log: progress });
    const [temporalPort, pgPort] = [await freePort(), await freePort()];
    let workflowBundle;
    [temporal, postgres, workflowBundle] = await Promise.all([
      startTemporalDevServer({ cliPath, port: temporalPort, uiPort: null }),
      startPostgres({ dir: path.join(dir, 'pg'), port: pgPort }),
      bundleWorkflows(),
    ]);
    target = await startTarget();
    const policyFile = path.join(dir, 'policy.yaml');
    fs.writeFileSync(policyFile, policy(target.url));
    const adminToken = randomBytes(24).toString('base64url');
    const options = {
      databaseUrl: postgres.url,
      temporalAddress: temporal.address,
      namespace: 'default',
      taskQueue: 'bench-controls',
      dataDir: dir,
      port: 0,
      policyFile,
      adminToken,
      executorSecret: 'bench-executor-secret-0123456789',
      temporalUiUrl: 'http://localhost:8233',
      maxBodyBytes: 1024 * 1024,
      rateLimits: NO_RATE_LIMITS,
      log,
      workflowBundle,
    };
    const a = await startServices(options);
    services.push(a);
    const b = await startServices({ ...options, worker: false });
    services.push(b);

    const call = async (base: string, token: string, method: string, p: string, body?: unknown) => {
      const r = await fetch(base + p, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: r.status, body: (await r.json().catch(() => null)) as any };
    };
    const principal = async (id: string, kind: string, roles: string[], groups: string[] = []) => (await call(a.url, adminToken, 'POST', '/v1/principals', { id, kind, roles, groups })).body.token as string;
    const agent = await principal('bench-agent', 'agent', ['agent']);
    const operator = await principal('bench-operator', 'human', ['operator']);
    const reviewer = await principal('bench-reviewer', 'human', ['reviewer'], ['bench']);
    const propose = (amount: number) => call(b.url, agent, 'POST', '/v1/actions?wait=10', { action: 'bench.transfer', params: { amount } });

    progress(`${tries} tries: pause in A, probe B`);
    const toRefusal: number[] = [];
    const toAnswer: number[] = [];
    const toDecisionRefusal: number[] = [];
    for (let t = 0; t < tries; t++) {
      const pending = await propose(500);
      if (pending.body?.status !== 'awaiting_approval') throw new Error(`setup: ${JSON.stringify(pending.body)}`);
      const t0 = nowMs();
      const pausing = call(a.url, operator, 'POST', '/v1/controls/pauses', { scope: { agent: 'bench-agent' }, reason: `bench ${t}` });
      // Probe decisions and proposals through B in parallel, each until refused.
      const decisionProbe = (async () => {
        for (;;) {
          // A stale expectedDigest: refused 409 stale-view (changing nothing) until the pause, which is checked first, lands.
          const r = await call(b.url, reviewer, 'POST', `/v1/actions/${pending.body.id}/decisions`, { decision: 'deny', reason: 'probe', expectedDigest: `sha256:${'0'.repeat(64)}` });
          if (r.status === 409 && String(r.body?.type).endsWith('/paused')) return nowMs() - t0;
          if (r.status !== 409) return Number.NaN;
        }
      })();
      const proposalProbe = (async () => {
        for (;;) {
          const sent = nowMs();
          const r = await propose(1);
          if (r.body?.outcome?.by === 'control') return { sent: sent - t0, answered: nowMs() - t0 };
        }
      })();
      const [pause, decided, proposed] = await Promise.all([pausing, decisionProbe, proposalProbe]);
      toRefusal.push(Math.max(0, proposed.sent));
      toAnswer.push(proposed.answered);
      if (Number.isFinite(decided)) toDecisionRefusal.push(decided);
      await call(a.url, operator, 'DELETE', `/v1/controls/pauses/${pause.body.id}`);
      await call(a.url, operator, 'POST', `/v1/actions/${pending.body.id}/cancel`, { reason: 'bench' });
      // Until B lets proposals through again.
      for (;;) if ((await propose(1)).body?.status === 'succeeded') break;
      if ((t + 1) % 10 === 0) progress(`${t + 1}/${tries}`);
    }

    const row = (name: string, v: number[]) => [name, String(v.length), fmt(percentile(v, 0.5)), fmt(percentile(v, 0.9)), fmt(percentile(v, 0.99)), fmt(Math.max(...v)), fmt(mean(v))];
    const summary = {
      tries,
      proposalRefusedP50Ms: round(percentile(toRefusal, 0.5)),
      proposalRefusedP99Ms: round(percentile(toRefusal, 0.99)),
      proposalAnsweredP99Ms: round(percentile(toAnswer, 0.99)),
      decisionRefusedP50Ms: round(percentile(toDecisionRefusal, 0.5)),
      decisionRefusedP99Ms: round(percentile(toDecisionRefusal, 0.99)),
    };
    const out = [
      `bench:controls — ${new Date().toISOString()} — ${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}, node ${process.version}; 1-min load ${os.loadavg()[0].toFixed(2)}`,
      'from POST /v1/controls/pauses (API process A) to the first refusal through API process B, ms:',
      '',
      table([
        ['measure', 'n', 'p50', 'p90', 'p99', 'max', 'mean'],
        row('proposal refused (its send)', toRefusal),
        row('proposal refused (its answer)', toAnswer),
        row('decision refused 409 paused', toDecisionRefusal),
      ]),
      '',
      // Conservative: until the refused proposal's answer arrived (its send time can precede the pause's commit, since policy decides later).
      `pause propagation p99 (POST pause to the first refused proposal's answer through B): ${summary.proposalAnsweredP99Ms} ms (target <= 1000: ${(summary.proposalAnsweredP99Ms ?? Infinity) <= 1000 ? 'met' : 'missed'})`,
      JSON.stringify(summary),
    ];
    process.stdout.write(out.join('\n') + '\n');
    return 0;
  } catch (err) {
    progress(`failed: ${(err as Error).stack ?? err}`);
    return 1;
  } finally {
    for (const s of services.reverse()) await s.stop().catch(() => {});
    await target?.close().catch(() => {});
    await temporal?.stop().catch(() => {});
    await postgres?.stop().catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().then((code) => process.exit(code));
