import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sdkPolicy } from '../../sdk/test/policy';
import { startTestStack, type TestStack } from '../helpers/stack';
import { startTarget } from '../helpers/target';

const root = path.join(__dirname, '..', '..');
/** Run a command without blocking this process (the API under test answers from its event loop). */
const run = async (cmd: string, args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }) =>
  (await promisify(execFile)(cmd, args, { ...opts, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 })).stdout;

/** What a user's program does with the installed package: propose, wait, and hit a typed problem. */
const PROGRAM = `
import { Countersign, CountersignProblem, idempotencyKeyFor } from '@countersign/sdk';
const cs = new Countersign({ url: process.env.COUNTERSIGN_URL, token: process.env.COUNTERSIGN_TOKEN });
const proposed = await cs.propose({ action: 'payments.transfer', params: { amount: 5, currency: 'EUR', to: 'acct-pack' } },
  { idempotencyKey: await idempotencyKeyFor('pack-test') });
const done = await cs.waitFor(proposed, { until: 'final', timeoutMs: 30000 });
let code;
try { await cs.propose({ action: 'no.such', params: {} }); } catch (e) { code = e instanceof CountersignProblem ? e.code : String(e); }
console.log(JSON.stringify({ status: done.status, code }));
`;

/** The same, type-checked as a TypeScript user would compile it against the shipped declarations. */
const TYPED_PROGRAM = `
import { Countersign, ActionDenied, type ActionView } from '@countersign/sdk';
import type { NotPerformed } from '@countersign/sdk/openai-agents';
const cs = new Countersign({ url: 'http://localhost:3000', token: 't' });
export async function f(): Promise<string> {
  const v: ActionView = await cs.waitFor('a', { until: 'decided' });
  const n: NotPerformed | undefined = undefined;
  try { return await cs.governed(async (p) => String(p.x), { action: 'a.b', params: {} }); }
  catch (e) { if (e instanceof ActionDenied) return e.reason ?? v.status + String(n); throw e; }
}
`;

// `npm pack` gives a package that works installed into an empty project, offline (it has no
// runtime dependencies; the frameworks are optional peers).
describe('@countersign/sdk packed', () => {
  let stack: TestStack;
  let target: Awaited<ReturnType<typeof startTarget>>;
  let dir: string;

  beforeAll(async () => {
    target = await startTarget();
    stack = await startTestStack(sdkPolicy(target.url));
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-sdk-pack-'));
  });
  afterAll(async () => {
    await stack?.stop();
    await target?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('when the packed tarball is installed into an empty project, then a program and a typed program use it', { timeout: 300_000 }, async () => {
    const out = await run('npm', ['pack', '--pack-destination', dir, '--silent'], { cwd: path.join(root, 'sdk') });
    const tarball = path.join(dir, out.trim().split('\n').at(-1) as string);
    expect(fs.existsSync(tarball)).toBe(true);

    const project = path.join(dir, 'app');
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    await run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball], { cwd: project });
    const installed = JSON.parse(fs.readFileSync(path.join(project, 'node_modules', '@countersign', 'sdk', 'package.json'), 'utf8'));
    expect(installed.dependencies ?? {}).toEqual({});
    expect(fs.readdirSync(path.join(project, 'node_modules')).filter((n) => !n.startsWith('.'))).toEqual(['@countersign']);

    fs.writeFileSync(path.join(project, 'main.mjs'), PROGRAM);
    const token = await stack.principal('pack-agent', 'agent', ['agent']);
    const printed = await run(process.execPath, ['main.mjs'], { cwd: project, env: { ...process.env, COUNTERSIGN_URL: stack.url, COUNTERSIGN_TOKEN: token } });
    expect(JSON.parse(printed.trim())).toEqual({ status: 'succeeded', code: 'unknown-action' });

    // The adapters, built as packed, load next to their frameworks (installed in this repository).
    for (const [subpath, exported] of [['openai-agents', 'governedTool'], ['ai-sdk', 'countersignToolApproval'], ['langchain', 'hitlDecisions']]) {
      const printed = await run(process.execPath, ['--input-type=module', '-e', `const m = await import('@countersign/sdk/${subpath}'); console.log(typeof m.${exported});`], { cwd: root });
      expect(printed.trim(), subpath).toBe('function');
    }

    fs.writeFileSync(path.join(project, 'typed.ts'), TYPED_PROGRAM);
    // The user's compiler, with node's own resolution of the package's `exports`.
    const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    await run(process.execPath, [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--skipLibCheck', 'typed.ts'], { cwd: project });
  });
});
