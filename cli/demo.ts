import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { parseArgs } from 'node:util';
import { loadCliConfig } from '../runtime/config';

/**
 * `countersign demo`: a scripted agent against a running stack (default policy bundle). It
 * runs the executor target itself (a tiny HTTP server on :9000, as policies/default.yaml
 * names) and proposes one transfer per policy outcome: allowed, denied by policy, approved
 * by a reviewer, denied by a reviewer.
 */
export async function runDemo(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { url: { type: 'string', default: 'http://localhost:3000' }, 'admin-token': { type: 'string' }, 'target-port': { type: 'string', default: '9000' } },
  });
  const base = values.url as string;
  const adminToken = values['admin-token'] ?? loadCliConfig().adminToken;
  if (!adminToken) {
    console.error('demo needs the admin token: --admin-token <t> or COUNTERSIGN_ADMIN_TOKEN (npm start prints it)');
    return 2;
  }
  const received: unknown[] = [];
  const target = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      // The default bundle also sends reviewer notifications here (/notify/...); count transfers only.
      if (req.url === '/transfers') received.push(JSON.parse(body));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ transferId: `tr_${received.length}` }));
    });
  });
  await new Promise<void>((resolve, reject) => target.listen(Number(values['target-port']), '127.0.0.1', resolve).once('error', reject));

  const call = async (token: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(base + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = (await res.json()) as Record<string, any>;
    if (res.status >= 400) throw new Error(`${method} ${path} -> ${res.status}: ${json.detail ?? JSON.stringify(json)}`);
    return json;
  };
  try {
    const run = randomBytes(3).toString('hex');
    const principal = async (id: string, kind: string, roles: string[], groups: string[] = []) =>
      (await call(adminToken, 'POST', '/v1/principals', { id: `${id}-${run}`, kind, roles, groups })).token as string;
    const agent = await principal('demo-agent', 'agent', ['agent']);
    const alice = await principal('alice', 'human', ['reviewer'], ['finance']);
    const bob = await principal('bob', 'human', ['reviewer'], ['finance']);
    console.log(`principals: demo-agent-${run}, alice-${run}, bob-${run} (finance reviewers)\n`);

    const propose = (params: Record<string, unknown>) =>
      call(agent, 'POST', '/v1/actions?wait=10', { action: 'payments.transfer', params, justification: 'demo' }, { 'idempotency-key': randomBytes(8).toString('hex') });
    const show = (label: string, v: Record<string, any>) =>
      console.log(`${label.padEnd(34)} -> ${v.status.padEnd(17)} rules=${(v.policy?.ruleIds ?? []).join(',') || '-'}${v.outcome?.reason ? `  reason: ${v.outcome.reason}` : ''}`);

    show('50 EUR (auto-allowed)', await propose({ amount: 50, currency: 'EUR', to: 'acct-1' }));
    show('50 XXX (currency not allowed)', await propose({ amount: 50, currency: 'XXX', to: 'acct-1' }));

    const pending = await propose({ amount: 2500, currency: 'EUR', to: 'acct-2' });
    show('2,500 EUR (needs a finance approver)', pending);
    await call(alice, 'POST', `/v1/actions/${pending.id}/decisions`, { decision: 'approve', reason: 'invoice checked' });
    show('  after alice approves', await call(agent, 'GET', `/v1/actions/${pending.id}?wait=10&since=executing`));

    const refused = await propose({ amount: 900, currency: 'EUR', to: 'acct-3' });
    show('900 EUR (needs a finance approver)', refused);
    await call(bob, 'POST', `/v1/actions/${refused.id}/decisions`, { decision: 'deny', reason: 'unknown payee' });
    show('  after bob denies', await call(agent, 'GET', `/v1/actions/${refused.id}`));

    console.log(`\nthe executor target received ${received.length} request(s); evidence: GET /v1/actions/<id>/evidence`);
    return received.length === 2 ? 0 : 1;
  } finally {
    target.close();
  }
}
