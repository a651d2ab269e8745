/**
 * `npm run bench:e2e`: what governing an action costs, end to end, against the same action
 * run as a bare Temporal workflow — in one run, on one Temporal dev server and one Postgres.
 *
 * - governed: `POST /v1/actions?wait=30` of an action policy allows, until the answer says
 *   `succeeded` (API + policy + ledger/read model + executor + change notification);
 * - bare: `client.workflow.execute` of bench/bare-workflow.ts, which runs only the same
 *   `executeHttp` activity against the same fake executor target.
 * - sdk: the governed action through @countersign/sdk, `propose` then `waitFor(final)`, next to
 *   the raw HTTP call above (target: SDK p50 <= 1.1 x raw).
 *
 * Sequential latency (interleaved samples, so drift hits both alike), throughput with N
 * concurrent agents/callers, then a per-phase profile of both paths (activity timings + the
 * workflow histories). Prints a table; the LAST line is the JSON summary.
 *
 *   npm run bench:e2e                 full size
 *   npm run bench:e2e -- --quick      small counts, to check it works
 *   options: --samples 200 --warmup 20 --concurrency 32 --per-agent 10 --profile-samples 50
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Context } from '@temporalio/activity';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Worker, type WorkflowBundle } from '@temporalio/worker';
import pino from 'pino';
import { createActivities } from '../activities';
import { ChangeNotifier } from '../activities/change-notifier';
import { createExecutorActivities, type HttpExecutionRequest } from '../activities/http-executor';
import { loadOrCreateSigningKey } from '../ledger/signing';
import { countersignDataConverter } from '../runtime/payload-codec';
import type { Logger } from '../runtime/logger';
import { startPostgres, type PostgresHandle } from '../runtime/postgres';
import { installTemporalRuntime, startServices, type Services, type ServicesOptions } from '../runtime/stack';
import { NO_RATE_LIMITS } from '../domain/rate-limits';
import { resolveTemporalCli } from '../runtime/temporal-cli';
import { startTemporalDevServer, type TemporalServerHandle } from '../runtime/temporal-server';
import { transferAction } from '../test/fixtures/policy';
import { startTarget } from '../test/helpers/target';
import { bundleWorkflows, createWorker } from '../workers/worker';
import { Countersign } from '../sdk/src/index';
import { bareHttpAction } from './bare-workflow';
import { measureUsageRows } from './usage-rows';
import { fmt, freePort, mean, nowMs, percentile, round, table } from './stats';

// ---------------------------------------------------------------------------------------------
// options

interface BenchOptions {
  samples: number;
  warmup: number;
  concurrency: number;
  perAgent: number;
  profileSamples: number;
}

function parseOptions(argv: string[]): BenchOptions {
  const quick = argv.includes('--quick');
  const opts: BenchOptions = quick
    ? { samples: 20, warmup: 5, concurrency: 8, perAgent: 3, profileSamples: 10 }
    : { samples: 200, warmup: 20, concurrency: 32, perAgent: 10, profileSamples: 50 };
  const flags: Record<string, keyof BenchOptions> = {
    '--samples': 'samples',
    '--warmup': 'warmup',
    '--concurrency': 'concurrency',
    '--per-agent': 'perAgent',
    '--profile-samples': 'profileSamples',
  };
  for (let i = 0; i < argv.length; i++) {
    const key = flags[argv[i]];
    if (!key) continue;
    const value = Number(argv[++i]);
    if (!Number.isInteger(value) || value < 0) throw new Error(`${argv[i - 1]} needs a non-negative integer`);
    opts[key] = value;
  }
  return opts;
}

// ---------------------------------------------------------------------------------------------
// statistics and clocks

/** Wall-clock epoch milliseconds with sub-millisecond resolution (comparable to Temporal event times). */
const progress = (line: string) => process.stderr.write(`[bench:e2e] ${line}\n`);

// ---------------------------------------------------------------------------------------------
// the system under test

const GOVERNED_QUEUE = 'bench-governed';
const BARE_QUEUE = 'bench-bare';
const EXECUTOR_SECRET = 'bench-executor-secret-0123456789';
const ACTION = 'bench.transfer';

/** A small bundle whose one rule auto-allows the benchmark action (a real CEL condition, as in production). */
function benchPolicy(targetUrl: string): string {
  return `
defaults:
  decision: deny
  approval: { timeout: 1h, onTimeout: deny }
actions:
${transferAction(targetUrl, ACTION, 'bench')}
rules:
  - id: small-transfers
    action: ${ACTION}
    when: params.amount <= 100
    decision: allow
`;
}

const params = (n: number) => ({ amount: 1 + (n % 100), currency: 'EUR', to: `payee-${n % 17}` });

/** One measured run of either path: latency in ms plus what is needed to profile it. */
interface Sample {
  ms: number;
  workflowId: string;
  sentAt: number;
  receivedAt: number;
}

/** Everything the run started, so it can all be stopped. */
class Resources {
  dir?: string;
  temporal?: TemporalServerHandle;
  postgres?: PostgresHandle;
  target?: Awaited<ReturnType<typeof startTarget>>;
  services?: Services;
  /** Stacks besides the measured one (the one without payload encryption). */
  extraServices: Services[] = [];
  workers: { worker: Worker; run: Promise<void> }[] = [];
  connections: { close(): Promise<void> }[] = [];

  async stop(): Promise<void> {
    for (const w of this.workers.splice(0)) {
      if (w.worker.getState() === 'RUNNING') w.worker.shutdown();
      await w.run.catch(() => {});
    }
    for (const s of this.extraServices.splice(0)) await s.stop().catch((err) => progress(`services stop: ${(err as Error).message}`));
    await this.services?.stop().catch((err) => progress(`services stop: ${(err as Error).message}`));
    for (const c of this.connections.splice(0)) await c.close().catch(() => {});
    await this.target?.close().catch(() => {});
    await this.temporal?.stop().catch(() => {});
    await this.postgres?.stop().catch(() => {});
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

async function startWorkerOn(res: Resources, connection: NativeConnection, taskQueue: string, activities: object, workflowBundle: WorkflowBundle) {
  const worker = await Worker.create({ connection, namespace: 'default', taskQueue, activities, workflowBundle });
  const entry = { worker, run: worker.run() };
  res.workers.push(entry);
  return entry;
}

async function stopWorker(res: Resources, entry: { worker: Worker; run: Promise<void> }) {
  if (entry.worker.getState() === 'RUNNING') entry.worker.shutdown();
  await entry.run;
  res.workers.splice(res.workers.indexOf(entry), 1);
}

// ---------------------------------------------------------------------------------------------
// profiling: activity spans (by workflow id) + history event times

interface Span {
  label: string;
  start: number;
  end: number;
}

const spans = new Map<string, Span[]>();

/** Wrap activities so each call records its wall-clock span under its workflow id. */
function timed<T extends object>(activities: T): T {
  return Object.fromEntries(
    Object.entries(activities).map(([name, fn]) => [
      name,
      async (...args: unknown[]) => {
        const start = nowMs();
        try {
          return await (fn as (...a: unknown[]) => Promise<unknown>)(...args);
        } finally {
          const end = nowMs();
          const workflowId = Context.current().info.workflowExecution?.workflowId ?? 'unknown';
          const label = name === 'recordEvents' ? `recordEvents(${(args[0] as { type: string }[]).map((e) => e.type).join(',')})` : name;
          const list = spans.get(workflowId) ?? [];
          list.push({ label, start, end });
          spans.set(workflowId, list);
        }
      },
    ]),
  ) as T;
}

interface Timestamp {
  seconds?: { toString(): string } | number | null;
  nanos?: number | null;
}
const eventMs = (ts: Timestamp | null | undefined) => Number(String(ts?.seconds ?? 0)) * 1000 + (ts?.nanos ?? 0) / 1e6;

interface HistoryTimes {
  started: number;
  wftStarted: number[];
  wftCompleted: number[];
  activityScheduled: number;
  activityStarted: number;
  activityCompleted: number;
  completed: number;
}

async function historyTimes(client: Client, workflowId: string): Promise<HistoryTimes> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const t: HistoryTimes = { started: NaN, wftStarted: [], wftCompleted: [], activityScheduled: NaN, activityStarted: NaN, activityCompleted: NaN, completed: NaN };
  for (const ev of history.events ?? []) {
    const at = eventMs(ev.eventTime as Timestamp);
    if (ev.workflowExecutionStartedEventAttributes) t.started = at;
    else if (ev.workflowTaskStartedEventAttributes) t.wftStarted.push(at);
    else if (ev.workflowTaskCompletedEventAttributes) t.wftCompleted.push(at);
    else if (ev.activityTaskScheduledEventAttributes) t.activityScheduled = at;
    else if (ev.activityTaskStartedEventAttributes) t.activityStarted = at;
    else if (ev.activityTaskCompletedEventAttributes) t.activityCompleted = at;
    else if (ev.workflowExecutionCompletedEventAttributes) t.completed = at;
  }
  return t;
}

/** Named durations (ms) along the critical path of one sample; they add up to its latency. */
type Phases = [string, number][];

function governedPhases(s: Sample, h: HistoryTimes, sp: Span[]): Phases {
  const find = (label: string) => sp.find((x) => x.label === label) as Span;
  const executed = sp.filter((x) => x.label.startsWith('recordEvents(') && x.label.includes('executed')).at(-1) as Span;
  // Inline (tryExecuteHttpInline sent it) or, when the worker did not know the target yet, executeHttp.
  const exec = sp.find((x) => x.label === 'executeHttp') ?? find('tryExecuteHttpInline');
  const firstTask = sp.filter((x) => x.end <= exec.start).sort((a, b) => a.start - b.start);
  const phases: Phases = [
    ['API: auth, validate, INSERT, start workflow', h.started - s.sentAt],
    ['server: start -> workflow task 1 picked up', h.wftStarted[0] - h.started],
    ['worker: task 1 activation -> 1st local activity', firstTask[0].start - h.wftStarted[0]],
  ];
  let prevEnd = firstTask[0].start;
  let gaps = 0;
  for (const x of firstTask) {
    gaps += x.start - prevEnd;
    phases.push([`  local ${x.label}`, x.end - x.start]);
    prevEnd = x.end;
  }
  phases.push(['  gaps between local activities (SDK)', gaps]);
  if (Number.isNaN(h.activityScheduled)) {
    // Since local-first-executor-v4 the call is a local activity of task 1: the batch with
    // execution_started is written beside it, and the outcome follows in the same task.
    phases.push(['  -> tryExecuteHttpInline started', exec.start - prevEnd]);
    phases.push(['  local tryExecuteHttpInline (target round trip; the batch before it is written beside it)', exec.end - exec.start]);
    phases.push(['  -> recordEvents(executed) started', executed.start - exec.end]);
  } else {
    const wft2 = h.wftStarted.find((t) => t >= exec.end) ?? NaN;
    phases.push(['task 1 complete -> activity started (dispatch)', exec.start - prevEnd]);
    phases.push(['  executeHttp (target round trip)', exec.end - exec.start]);
    phases.push(['activity complete -> workflow task 2 picked up', wft2 - exec.end]);
    phases.push(['worker: task 2 activation -> recordEvents', executed.start - wft2]);
  }
  phases.push([`  local ${executed.label}`, executed.end - executed.start]);
  phases.push(['commit -> NOTIFY -> API re-read -> response', s.receivedAt - executed.end]);
  return phases;
}

function barePhases(s: Sample, h: HistoryTimes, sp: Span[]): Phases {
  const exec = sp.find((x) => x.label === 'executeHttp') as Span;
  const wft2 = h.wftStarted.find((t) => t >= exec.end) ?? NaN;
  return [
    ['client: start workflow', h.started - s.sentAt],
    ['server: start -> workflow task 1 picked up', h.wftStarted[0] - h.started],
    ['task 1 -> activity started (run, complete, dispatch)', exec.start - h.wftStarted[0]],
    ['  executeHttp (target round trip)', exec.end - exec.start],
    ['activity complete -> workflow task 2 picked up', wft2 - exec.end],
    ['task 2 -> workflow completed', h.completed - wft2],
    ['completed -> client has the result', s.receivedAt - h.completed],
  ];
}

/** Mean and median of each phase over the samples (a phase missing from a sample is left out of its figures). */
function summarizePhases(all: Phases[]): string[][] {
  // By label, in first-seen order: which local activities end before the executor starts
  // varies from sample to sample.
  const byLabel = new Map<string, number[]>();
  for (const [label, v] of all.flat()) {
    if (!Number.isFinite(v)) continue;
    if (!byLabel.has(label)) byLabel.set(label, []);
    byLabel.get(label)?.push(v);
  }
  const rows = [...byLabel].map(([label, values]) => [label, fmt(mean(values)), fmt(percentile(values, 0.5))]);
  const totals = all.map((p) => p.reduce((sum, [, v]) => sum + v, 0));
  return [['phase', 'mean ms', 'p50 ms'], ...rows, ['sum of phases', fmt(mean(totals)), fmt(percentile(totals, 0.5))]];
}

// ---------------------------------------------------------------------------------------------
// the benchmark

async function main(): Promise<number> {
  const opts = parseOptions(process.argv.slice(2));
  const res = new Resources();
  let stopping = false;
  const onSignal = () => {
    if (stopping) return;
    stopping = true;
    progress('interrupted: stopping everything');
    res.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  try {
    installTemporalRuntime();
    const loadAtStart = os.loadavg()[0];
    // Logs go to stderr so stdout stays the table and the JSON line.
    const log = pino({ level: process.env.LOG_LEVEL ?? 'warn' }, pino.destination(2)) as Logger;
    res.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-bench-'));

    progress('starting Temporal dev server (in memory), Postgres, and bundling workflows');
    const cliPath = resolveTemporalCli({ explicitPath: process.env.TEMPORAL_CLI, log: progress });
    const [temporalPort, pgPort] = [await freePort(), await freePort()];
    const [temporal, postgres, governedBundle, bareBundle] = await Promise.all([
      startTemporalDevServer({ cliPath, port: temporalPort, uiPort: null }),
      startPostgres({ dir: path.join(res.dir, 'pg'), port: pgPort }),
      bundleWorkflows(),
      bundleWorkflowCode({ workflowsPath: path.join(__dirname, 'bare-workflow.ts'), logger: new DefaultLogger('WARN') }),
    ]);
    res.temporal = temporal;
    res.postgres = postgres;
    const target = await startTarget();
    res.target = target;
    const targetUrl = `${target.url}/transfers`;

    const policyFile = path.join(res.dir, 'policy.yaml');
    fs.writeFileSync(policyFile, benchPolicy(target.url));
    const adminToken = randomBytes(24).toString('base64url');
    const stackOptions: ServicesOptions = {
      databaseUrl: postgres.url,
      temporalAddress: temporal.address,
      namespace: 'default',
      taskQueue: GOVERNED_QUEUE,
      dataDir: res.dir,
      port: 0,
      policyFile,
      adminToken,
      executorSecret: EXECUTOR_SECRET,
      temporalUiUrl: 'http://localhost:8233',
      maxBodyBytes: 1024 * 1024,
      // The engine's throughput, not the per-principal limits (bench:rate-limits measures those).
      rateLimits: NO_RATE_LIMITS,
      log,
      workflowBundle: governedBundle,
    };
    const services = await startServices(stackOptions);
    res.services = services;
    // The same stack without payload encryption (same database and principals, its own task queue
    // and data dir): what encrypting everything Countersign writes to Temporal costs, measured in
    // the same run. Signatures stay on in both: they are not optional.
    const plainDir = path.join(res.dir, 'plain');
    fs.mkdirSync(plainDir);
    const plain = await startServices({ ...stackOptions, taskQueue: `${GOVERNED_QUEUE}-plain`, dataDir: plainDir, encryptPayloads: false });
    res.extraServices.push(plain);

    // The bare path: its own worker (own task queue) and its own client connection. It keeps
    // Temporal's default data converter on purpose: it is the baseline, so the cost of encrypting
    // payloads (runtime/payload-codec.ts) shows on the governed side, where Countersign pays it.
    const bareWorkerConnection = await NativeConnection.connect({ address: temporal.address });
    res.connections.push(bareWorkerConnection);
    let bareWorker = await startWorkerOn(res, bareWorkerConnection, BARE_QUEUE, createExecutorActivities({ executorSecret: EXECUTOR_SECRET }), bareBundle);
    const bareConnection = await Connection.connect({ address: temporal.address });
    res.connections.push(bareConnection);
    const bareClient = new Client({ connection: bareConnection, namespace: 'default' });

    // One agent principal per concurrent agent.
    const tokens: string[] = [];
    for (let i = 0; i < Math.max(1, opts.concurrency); i++) {
      const r = await fetch(`${services.url}/v1/principals`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ id: `bench-agent-${i}`, kind: 'agent', roles: ['agent'] }),
      });
      const body = (await r.json()) as { token?: string };
      if (r.status !== 201 || !body.token) throw new Error(`creating agent principal: HTTP ${r.status} ${JSON.stringify(body)}`);
      tokens.push(body.token);
    }

    let seq = 0;
    const governedOn = async (url: string, agent: number): Promise<Sample> => {
      const n = seq++;
      const sentAt = nowMs();
      const r = await fetch(`${url}/v1/actions?wait=30`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens[agent]}`, 'content-type': 'application/json' },
        body: JSON.stringify({ action: ACTION, params: params(n), justification: 'benchmark' }),
      });
      const body = (await r.json()) as { id?: string; status?: string };
      const receivedAt = nowMs();
      if (r.status !== 201 || body.status !== 'succeeded') throw new Error(`governed action: HTTP ${r.status} status ${body.status} ${JSON.stringify(body).slice(0, 300)}`);
      return { ms: receivedAt - sentAt, workflowId: `action-${body.id}`, sentAt, receivedAt };
    };
    const governedOnce = (agent: number) => governedOn(services.url, agent);
    const plainOnce = (agent: number) => governedOn(plain.url, agent);
    // The same governed action through @countersign/sdk: propose, then waitFor the final status.
    const sdkClients = tokens.map((token) => new Countersign({ url: services.url, token }));
    const sdkOnce = async (agent: number): Promise<Sample> => {
      const n = seq++;
      const cs = sdkClients[agent];
      const sentAt = nowMs();
      const view = await cs.waitFor(await cs.propose({ action: ACTION, params: params(n), justification: 'benchmark' }), { until: 'final', timeoutMs: 30_000 });
      const receivedAt = nowMs();
      if (view.status !== 'succeeded') throw new Error(`sdk action: status ${view.status}`);
      return { ms: receivedAt - sentAt, workflowId: `action-${view.id}`, sentAt, receivedAt };
    };
    const bareOnce = async (): Promise<Sample> => {
      const n = seq++;
      const actionId = `bare_${randomBytes(12).toString('hex')}`;
      const req: HttpExecutionRequest = { actionId, action: ACTION, params: params(n), url: targetUrl };
      const workflowId = `bare-${actionId}`;
      const sentAt = nowMs();
      const result = await bareClient.workflow.execute(bareHttpAction, { taskQueue: BARE_QUEUE, workflowId, args: [req] });
      const receivedAt = nowMs();
      if (result.status !== 200) throw new Error(`bare action: target answered ${result.status}`);
      return { ms: receivedAt - sentAt, workflowId, sentAt, receivedAt };
    };

    progress(`warm-up: ${opts.warmup} sequential actions on each path`);
    for (let i = 0; i < opts.warmup; i++) {
      await governedOnce(0);
      await plainOnce(0);
      await sdkOnce(0);
      await bareOnce();
    }

    progress(`latency: ${opts.samples} sequential samples per path, interleaved`);
    const governedLat: number[] = [];
    const plainLat: number[] = [];
    const bareLat: number[] = [];
    const sdkLat: number[] = [];
    for (let i = 0; i < opts.samples; i++) {
      governedLat.push((await governedOnce(0)).ms);
      plainLat.push((await plainOnce(0)).ms);
      sdkLat.push((await sdkOnce(0)).ms);
      bareLat.push((await bareOnce()).ms);
    }
    // Only the encrypted stack from here on (throughput, profile): the plain one's worker would
    // otherwise share the cores with it.
    await plain.stop();
    res.extraServices.splice(res.extraServices.indexOf(plain), 1);

    const throughput = async (one: (agent: number) => Promise<Sample>) => {
      const lat: number[] = [];
      const start = nowMs();
      await Promise.all(
        Array.from({ length: opts.concurrency }, async (_, agent) => {
          for (let i = 0; i < opts.perAgent; i++) lat.push((await one(agent)).ms);
        }),
      );
      const elapsed = nowMs() - start;
      return { perSec: (lat.length / elapsed) * 1000, p50: percentile(lat, 0.5), p99: percentile(lat, 0.99), n: lat.length, elapsed };
    };
    progress(`throughput: ${opts.concurrency} concurrent agents x ${opts.perAgent} actions, governed`);
    const governedTp = await throughput(governedOnce);
    progress(`throughput: ${opts.concurrency} concurrent callers x ${opts.perAgent} workflows, bare`);
    const bareTp = await throughput(() => bareOnce());

    // Budgets in policy: the same allow rule with and without usage.sum over 24 h, 10,000 recorded
    // actions per agent, in this run (bench/usage-rows.ts). Activates a bundle with both rules.
    const usage = await measureUsageRows({
      url: services.url,
      adminToken,
      pool: services.pool,
      tokens,
      agentIds: tokens.map((_, i) => `bench-agent-${i}`),
      targetUrl: target.url,
      action: ACTION,
      samples: opts.samples,
      concurrency: opts.concurrency,
      perAgent: opts.perAgent,
      progress,
    });

    // Profile: the same workers, with activities wrapped in timers, and each sample's history.
    let governedProfile: string[][] | undefined;
    let bareProfile: string[][] | undefined;
    if (opts.profileSamples > 0) {
      progress(`profile: ${opts.profileSamples} sequential samples per path with per-phase timings`);
      await services.stopWorker();
      const governedWorkerConnection = await NativeConnection.connect({ address: temporal.address });
      res.connections.push(governedWorkerConnection);
      const notifier = new ChangeNotifier(services.pool, log);
      res.connections.push({ close: () => notifier.end() });
      const profiledGoverned = await createWorker({
        connection: governedWorkerConnection,
        namespace: 'default',
        taskQueue: GOVERNED_QUEUE,
        activities: timed(
          createActivities({
            pool: services.pool,
            notifier,
            policies: services.policies,
            executorSecret: EXECUTOR_SECRET,
            signer: loadOrCreateSigningKey(res.dir),
            log,
            trustedRoots: services.messages.trustedRoots,
            digestKey: services.digestKey,
          }),
        ),
        dataConverter: countersignDataConverter(services.payloadCodec),
        workflowBundle: governedBundle,
      });
      const governedEntry = { worker: profiledGoverned, run: profiledGoverned.run() };
      res.workers.push(governedEntry);
      await stopWorker(res, bareWorker);
      bareWorker = await startWorkerOn(res, bareWorkerConnection, BARE_QUEUE, timed(createExecutorActivities({ executorSecret: EXECUTOR_SECRET })), bareBundle);

      for (let i = 0; i < Math.min(5, opts.warmup); i++) {
        await governedOnce(0);
        await bareOnce();
      }
      const gPhases: Phases[] = [];
      const bPhases: Phases[] = [];
      for (let i = 0; i < opts.profileSamples; i++) {
        const g = await governedOnce(0);
        const b = await bareOnce();
        // The governed workflow may still be completing after the API answered; its history is read once it has.
        await services.temporal.workflow.getHandle(g.workflowId).result();
        // A sample whose spans are incomplete (e.g. a retried executor call) is left out of the profile.
        try {
          gPhases.push(governedPhases(g, await historyTimes(services.temporal, g.workflowId), spans.get(g.workflowId) ?? []));
          bPhases.push(barePhases(b, await historyTimes(bareClient, b.workflowId), spans.get(b.workflowId) ?? []));
        } catch (err) {
          progress(`profile sample ${i} skipped: ${(err as Error).message}`);
        }
      }
      governedProfile = summarizePhases(gPhases);
      bareProfile = summarizePhases(bPhases);
    }

    const summary = {
      governedP50Ms: round(percentile(governedLat, 0.5)),
      governedP99Ms: round(percentile(governedLat, 0.99)),
      bareP50Ms: round(percentile(bareLat, 0.5)),
      bareP99Ms: round(percentile(bareLat, 0.99)),
      overheadRatioP50: round(percentile(governedLat, 0.5) / percentile(bareLat, 0.5), 3),
      governedPlainP50Ms: round(percentile(plainLat, 0.5)),
      encryptionRatioP50: round(percentile(governedLat, 0.5) / percentile(plainLat, 0.5), 3),
      sdkP50Ms: round(percentile(sdkLat, 0.5)),
      sdkRatioP50: round(percentile(sdkLat, 0.5) / percentile(governedLat, 0.5), 3),
      governedPerSec: round(governedTp.perSec, 1),
      barePerSec: round(bareTp.perSec, 1),
      ...usage.summary,
    };

    const loadAtEnd = os.loadavg()[0];
    progress('stopping everything');
    await res.stop();

    const out: string[] = [];
    out.push(`bench:e2e — ${new Date().toISOString()} — ${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}, node ${process.version}`);
    // Everything shares the machine's cores: a busy machine inflates both paths (report it with the figures).
    out.push(`1-min load average: ${loadAtStart.toFixed(2)} at start, ${loadAtEnd.toFixed(2)} at end`);
    out.push(`sequential: ${opts.samples} samples/path after ${opts.warmup} warm-up; concurrent: ${opts.concurrency} x ${opts.perAgent} per path`);
    out.push('');
    out.push(
      table([
        ['path', 'p50 ms', 'p90 ms', 'p99 ms', 'mean ms', 'conc. actions/s', 'conc. p50 ms', 'conc. p99 ms'],
        ['governed (POST /v1/actions?wait)', fmt(percentile(governedLat, 0.5)), fmt(percentile(governedLat, 0.9)), fmt(percentile(governedLat, 0.99)), fmt(mean(governedLat)), fmt(governedTp.perSec), fmt(governedTp.p50), fmt(governedTp.p99)],
        ['governed, payloads not encrypted', fmt(percentile(plainLat, 0.5)), fmt(percentile(plainLat, 0.9)), fmt(percentile(plainLat, 0.99)), fmt(mean(plainLat)), '', '', ''],
        ['governed via @countersign/sdk (propose + waitFor)', fmt(percentile(sdkLat, 0.5)), fmt(percentile(sdkLat, 0.9)), fmt(percentile(sdkLat, 0.99)), fmt(mean(sdkLat)), '', '', ''],
        ['bare (workflow.execute)', fmt(percentile(bareLat, 0.5)), fmt(percentile(bareLat, 0.9)), fmt(percentile(bareLat, 0.99)), fmt(mean(bareLat)), fmt(bareTp.perSec), fmt(bareTp.p50), fmt(bareTp.p99)],
        ...usage.rows,
      ]),
    );
    out.push('');
    out.push(`overhead ratio at p50: ${summary.overheadRatioP50} (target <= 1.5: ${(summary.overheadRatioP50 ?? Infinity) <= 1.5 ? 'met' : 'missed'})`);
    out.push(`encryption ratio at p50 (governed, codec on / off): ${summary.encryptionRatioP50} (target <= 1.15: ${(summary.encryptionRatioP50 ?? Infinity) <= 1.15 ? 'met' : 'missed'})`);
    out.push(`SDK ratio at p50 (@countersign/sdk propose + waitFor / raw HTTP POST ?wait): ${summary.sdkRatioP50} (target <= 1.1: ${(summary.sdkRatioP50 ?? Infinity) <= 1.1 ? 'met' : 'missed'})`);
    out.push(...usage.lines);
    if (governedProfile && bareProfile) {
      out.push('', `governed path, per phase (${opts.profileSamples} samples, activities timed, history event times):`, table(governedProfile));
      out.push('', 'bare path, per phase:', table(bareProfile));
    }
    out.push('');
    out.push(JSON.stringify(summary));
    process.stdout.write(out.join('\n') + '\n');
    return 0;
  } catch (err) {
    progress(`failed: ${(err as Error).stack ?? err}`);
    await res.stop().catch(() => {});
    return 1;
  }
}

main().then((code) => process.exit(code));
