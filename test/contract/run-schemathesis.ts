/**
 * The API contract test: start a real stack (embedded Postgres, Temporal dev server, API and
 * worker) in a temporary data dir on free ports, then let Schemathesis generate requests from
 * /openapi.json and check every answer against the document.
 *
 *   npm run test:contract            (CONTRACT_MAX_TIME=<seconds per role> to change the budget)
 *
 * Exits non-zero when any Schemathesis run reports a failure or an error.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { loadConfig } from '../../runtime/config';
import { createLogger } from '../../runtime/logger';
import { startStack } from '../../runtime/stack';
import { freePorts } from '../helpers/ports';

const REPO = path.resolve(__dirname, '..', '..');
const SCHEMATHESIS = process.env.SCHEMATHESIS ?? path.join(REPO, '.tools', 'schemathesis', 'bin', 'schemathesis');
const CONFIG = path.join(__dirname, 'schemathesis.toml');
/** Each pass's whole output (git-ignored, like everything under .tools/). */
const LOG_DIR = path.join(REPO, '.tools', 'contract-logs');
/**
 * Seconds each role's run may spend (`--max-time`: the coverage phase runs once, fuzzing and
 * stateful sequences repeat until the budget is spent). Five runs of 30 s plus ~25 s to start the
 * stack keep the whole step near 3.5 minutes on 2 cores.
 */
const MAX_TIME = Number(process.env.CONTRACT_MAX_TIME ?? 30);

/**
 * Who calls what. Each operation is fuzzed with the token of the role it is meant for, so
 * valid data reaches the handler (and its 2xx answers are checked) instead of stopping at 403;
 * the checks still send requests without a token, or with a wrong one (ignored_auth). The
 * unauthenticated endpoints run without one. Every operation of the document must be listed.
 * The admin runs after the other roles: it may disable their principals or revoke their tokens
 * (PATCH /v1/principals/{id}, DELETE …/tokens/{tokenId} with ids it lists), and then every later
 * run would stop at 401.
 */
const ROLES: { role: string; kind: 'agent' | 'human'; roles: string[]; groups: string[]; operations: string[] }[] = [
  {
    role: 'agent',
    kind: 'agent',
    roles: ['agent'],
    groups: [],
    operations: [
      'POST /v1/actions',
      'GET /v1/actions',
      'GET /v1/actions/{id}',
      'POST /v1/actions/{id}/cancel',
      'POST /v1/actions/{id}/result',
      'GET /v1/actions/{id}/evidence',
      'GET /v1/actions/{id}/lineage',
    ],
  },
  {
    role: 'reviewer',
    kind: 'human',
    roles: ['reviewer'],
    groups: ['finance'],
    operations: ['POST /v1/actions/{id}/decisions', 'GET /v1/approvals', 'GET /v1/actions/{id}/review', 'POST /v1/actions/{id}/edit-preview'],
  },
  {
    role: 'operator',
    kind: 'human',
    roles: ['operator'],
    groups: [],
    operations: [
      'GET /v1/policy',
      'PUT /v1/policy',
      'GET /v1/policy/versions',
      'POST /v1/policy/backtest',
      'POST /v1/policy/evaluate',
      'GET /v1/ledger/verify',
      'GET /v1/policy/versions/{version}',
      'GET /v1/controls/pauses',
      'POST /v1/controls/pauses',
      'DELETE /v1/controls/pauses/{id}',
      'GET /v1/reports/reviewers',
      // The codec endpoint the Temporal UI calls (an operator power: reviewers and agents get 403).
      'POST /codec/decode',
      'POST /codec/encode',
    ],
  },
  {
    role: 'admin',
    kind: 'human',
    roles: ['admin'],
    groups: [],
    operations: [
      'POST /v1/principals',
      'GET /v1/principals',
      'GET /v1/principals/{id}',
      'PATCH /v1/principals/{id}',
      'GET /v1/principals/{id}/tokens',
      'POST /v1/principals/{id}/tokens',
      'DELETE /v1/principals/{id}/tokens/{tokenId}',
      'POST /v1/principals/{id}/sign-in-links',
      'GET /v1/session',
      'POST /v1/session/sign-out',
    ],
  },
  { role: 'public', kind: 'human', roles: [], groups: [], operations: ['GET /healthz', 'GET /readyz', 'GET /metrics', 'GET /openapi.json'] },
];

/**
 * Operations in the document that are not fuzzed here, each with why and where they are tested.
 */
const NOT_FUZZED: Record<string, string> = {
  'GET /v1/approvals/events': 'a server-sent event stream open for two minutes; test/integration/console-api.test.ts and the browser tests',
  'GET /console/sign-in': 'an HTML page for browsers; test/integration/sign-in.test.ts and the browser tests',
  'GET /console/sign-in/link': 'an HTML page for browsers; test/integration/sign-in.test.ts',
  'POST /console/sign-in/link': 'an HTML form post from the sign-in page; test/integration/sign-in.test.ts',
  'GET /console/sign-in/oidc': 'a redirect to the OpenID provider; test/integration/oidc.test.ts',
  'GET /console/sign-in/oidc/callback': "the OpenID provider's redirect back; test/integration/oidc.test.ts",
  'POST /v1/integrations/slack/interactions': "Slack's signed form posts (every generated one is 401); test/integration/slack.test.ts",
};


/**
 * Run one Schemathesis pass with its output in `logFile`, not on the console: its progress bars
 * and its closing banner (shaped like another test runner's summary) would otherwise sit in the
 * middle of the CI log, where a reader looking for the test runner's summary could take the
 * banner for it. The caller prints a line of its own, and the whole log when the pass fails.
 */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, logFile: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const out = fs.openSync(logFile, 'w');
    let open = true;
    const close = () => {
      if (open) fs.closeSync(out);
      open = false;
    };
    const child = spawn(cmd, args, { stdio: ['ignore', out, out], env });
    // Node may emit both 'error' and 'exit' for one child.
    child.once('error', (err) => {
      close();
      reject(err);
    });
    child.once('exit', (code, signal) => {
      close();
      resolve(code ?? (signal ? 128 : 1));
    });
  });
}

/** What a Schemathesis log says about its cases and warnings, in one line. */
function outcomeOf(log: string): string {
  // eslint-disable-next-line no-control-regex
  const plain = log.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
  // In words of our own ("ok", not "passed"): the CI log's only test summaries are the runners'.
  const cases = /Test cases:\s*\n\s*(.+)/.exec(plain)?.[1]?.trim().replace(/(\d+) generated/, '$1 cases').replace(/ passed/, ' ok');
  const warnings = [...plain.matchAll(/^\s*⚠️\s*(.+)$/gm)].map((m) => m[1].trim());
  return `${cases ?? 'no case count in its output'}${warnings.length ? `; warnings: ${warnings.join('; ')}` : ''}`;
}

/** One regex over "METHOD path" labels that matches exactly the given operations. */
function operationsRegex(operations: string[]): string {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return `^(${operations.map(esc).join('|')})$`;
}

async function main(): Promise<number> {
  if (!fs.existsSync(SCHEMATHESIS)) {
    console.error(`no Schemathesis at ${SCHEMATHESIS}: python3 -m venv .tools/schemathesis && .tools/schemathesis/bin/pip install schemathesis (the version .ci/run pins)`);
    return 2;
  }
  const started = Date.now();
  fs.mkdirSync(LOG_DIR, { recursive: true });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-contract-'));
  const [port, pgPort, temporalPort, temporalUiPort] = await freePorts(4);
  const adminToken = randomBytes(24).toString('base64url');
  const config = loadConfig({
    PORT: String(port),
    COUNTERSIGN_DATA_DIR: dataDir,
    COUNTERSIGN_PG_PORT: String(pgPort),
    TEMPORAL_PORT: String(temporalPort),
    TEMPORAL_UI_PORT: String(temporalUiPort),
    COUNTERSIGN_ADMIN_TOKEN: adminToken,
    // Its ignored_auth check sends every operation without a token and with a wrong one, from one
    // address: with the failed-authentication limit on, that address would then be refused (429) for
    // the rest of the run. The limit has its own tests (test/integration/rate-limits.test.ts).
    COUNTERSIGN_RATE_AUTH_FAILURES: '0',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'error',
    ...(process.env.TEMPORAL_CLI ? { TEMPORAL_CLI: process.env.TEMPORAL_CLI } : {}),
  });
  const log = createLogger(config.logLevel);
  // The worker's own log: keep it to errors, not the retries of the demo policy's webhooks
  // (nothing listens on their port here). startStack keeps a runtime installed before it.
  Runtime.install({ logger: new DefaultLogger('ERROR'), shutdownSignals: [] });
  const stack = await startStack(config, log);
  const url = stack.services.url;
  console.log(`--- stack up at ${url} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  let failed = 0;
  try {
    const tokens = new Map<string, string>();
    for (const r of ROLES) {
      if (!r.roles.length) continue;
      const res = await fetch(`${url}/v1/principals`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ id: `contract-${r.role}`, kind: r.kind, roles: r.roles, groups: r.groups }),
      });
      if (res.status !== 201) throw new Error(`creating the ${r.role} principal: ${res.status} ${await res.text()}`);
      tokens.set(r.role, ((await res.json()) as { token: string }).token);
    }
    // Two real actions for the operations on /v1/actions/{id} (schemathesis.toml): one the agent
    // reads, cancels and reports on, one waiting for the reviewer's group (policies/default.yaml:
    // a transfer over 100 needs one finance approver).
    const propose = async (to: string) => {
      const res = await fetch(`${url}/v1/actions?wait=5`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens.get('agent')}`, 'content-type': 'application/json' },
        body: JSON.stringify({ action: 'payments.transfer', params: { amount: 500, currency: 'EUR', to } }),
      });
      const view = (await res.json()) as { id: string; status: string };
      if (res.status !== 201 || view.status !== 'awaiting_approval') throw new Error(`proposing a transfer to ${to}: ${res.status} ${JSON.stringify(view)}`);
      return view.id;
    };
    const doc = (await (await fetch(`${url}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    const unlisted = Object.entries(doc.paths)
      .flatMap(([p, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${p}`))
      .filter((op) => !ROLES.some((r) => r.operations.includes(op)) && !(op in NOT_FUZZED));
    if (unlisted.length) throw new Error(`operations no role runs (add them to ROLES): ${unlisted.join(', ')}`);
    const env = { ...process.env, NO_COLOR: '1', CONTRACT_ACTION_ID: await propose('acme'), CONTRACT_PENDING_ACTION_ID: await propose('globex') };
    for (const r of ROLES) {
      const t0 = Date.now();
      console.log(`\n--- Schemathesis as ${r.role}: ${r.operations.join(', ')}`);
      const token = tokens.get(r.role);
      const args = [
        '--config-file',
        CONFIG,
        'run',
        `${url}/openapi.json`,
        '--include-name-regex',
        operationsRegex(r.operations),
        '--max-time',
        String(MAX_TIME),
        ...(token ? ['--header', `Authorization: Bearer ${token}`] : []),
      ];
      console.log(`    ${[SCHEMATHESIS, ...args].map((a) => (a.startsWith('Authorization') ? "'Authorization: Bearer …'" : a.includes(' ') || a.includes('|') ? `'${a}'` : a)).join(' ')}`);
      const logFile = path.join(LOG_DIR, `${r.role}.log`);
      const code = await run(SCHEMATHESIS, args, env, logFile);
      const log = fs.readFileSync(logFile, 'utf8');
      if (code !== 0) {
        failed++;
        console.log(log);
      }
      console.log(`    ${r.role}: exit ${code} after ${((Date.now() - t0) / 1000).toFixed(1)} s: ${outcomeOf(log)} (whole output: ${path.relative(process.cwd(), logFile)})`);
    }
  } finally {
    await stack.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  console.log(`\n--- contract: ${failed ? `${failed} run(s) failed` : 'all runs passed'} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
