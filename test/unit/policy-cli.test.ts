import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runPolicyCommand } from '../../cli/commands/policy';

const POLICIES = path.resolve(__dirname, '../../policies');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-policy-cli-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function run(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runPolicyCommand(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
  });
  return { code, stdout, stderr };
}

function write(name: string, text: string): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, text);
  return file;
}

const BUNDLE = `actions:
  email.send:
    owner: comms
    category: external_communication
    params: { type: object, required: [to], properties: { to: { type: string } } }
    executor: { type: agent }
rules:
  - { id: internal, action: email.send, when: 'params.to.endsWith("@example.com")', decision: allow }
  - { id: external, action: email.send, when: '!params.to.endsWith("@example.com")', decision: require_approval }
`;

describe('policy lint', () => {
  it('when the bundle is valid, then it prints ok with the version and exits 0', async () => {
    const file = write('good.yaml', BUNDLE);
    const { code, stdout, stderr } = await run('lint', file);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^ok: version [0-9a-f]{64} /);
    expect(stderr).toBe('');
  });

  it('when the bundle has errors, then each is printed as file:line:col: message (hint) and it exits 1', async () => {
    const file = write('bad.yaml', BUNDLE.replace('owner: comms', 'owner: Comms').replace("endsWith(\"@example.com\")', decision: allow", "endsWith(\"@example.com\")', decision: allwo"));
    const { code, stderr } = await run('lint', file);
    expect(code).toBe(1);
    const lines = stderr.trim().split('\n');
    expect(lines[0]).toBe(`${file}:3:12: invalid group name "Comms" (group names match ^[a-z0-9][a-z0-9._-]*$ (lowercase letters, digits, ".", "_", "-"), e.g. finance-leads)`);
    expect(lines[1]).toMatch(new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:8:\\d+: invalid decision "allwo" \\(did you mean "allow"\\? expected one of: allow, deny, require_approval\\)$`));
    expect(lines[2]).toBe(`${file}: 2 errors`);
  });

  it('when the file does not exist, then it says so and exits 1', async () => {
    const { code, stderr } = await run('lint', path.join(tmp, 'missing.yaml'));
    expect(code).toBe(1);
    expect(stderr).toContain('cannot read file (ENOENT)');
  });

  it('when arguments are missing or unknown, then usage is printed and it exits 2', async () => {
    expect((await run()).code).toBe(2);
    expect((await run('lint')).code).toBe(2);
    const unknown = await run('frobnicate');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('usage:');
  });
});

describe('policy test', () => {
  it('when tests sit next to the bundle, then they are found, PASS is printed per case, and it exits 0', async () => {
    const bundle = write('mail.yaml', BUNDLE);
    write(
      'mail.test.yaml',
      `cases:
  - name: internal mail is allowed
    input: { action: email.send, params: { to: a@example.com }, agent: bot }
    expect: { decision: allow, ruleIds: [internal] }
  - name: external mail is reviewed
    input: { action: email.send, params: { to: a@other.org }, agent: bot }
    expect: { decision: require_approval }
`,
    );
    const { code, stdout } = await run('test', bundle);
    expect(stdout).toContain('PASS internal mail is allowed\nPASS external mail is reviewed\n');
    expect(stdout).toMatch(/ok: 2 passed, 0 failed of 2 cases/);
    expect(code).toBe(0);
  });

  it('when a case fails, then FAIL shows the differences and it exits 1', async () => {
    const bundle = write('mail2.yaml', BUNDLE);
    const tests = write(
      'wrong.test.yaml',
      `cases:
  - name: wrong expectation
    input: { action: email.send, params: { to: a@other.org }, agent: bot }
    expect: { decision: allow, ruleIds: [internal] }
`,
    );
    const { code, stdout } = await run('test', bundle, tests);
    expect(code).toBe(1);
    expect(stdout).toContain(`FAIL wrong expectation (${tests}:2)`);
    expect(stdout).toContain('decision: expected allow, got require_approval');
    expect(stdout).toContain('ruleIds: expected ["internal"], got ["external"]');
    expect(stdout).toMatch(/FAILED: 0 passed, 1 failed of 1 case /);
  });

  it('when a case has params the schema refuses, then it fails saying the API would refuse it', async () => {
    const bundle = write('mail3.yaml', BUNDLE);
    const tests = write(
      'params.test.yaml',
      `cases:\n  - name: no recipient\n    input: { action: email.send, params: {}, agent: bot }\n    expect: { decision: deny }\n`,
    );
    const { code, stdout } = await run('test', bundle, tests);
    expect(code).toBe(1);
    expect(stdout).toContain('params/to is required (the API would refuse this action with 422)');
  });

  it('when the test file is malformed, then the error is precise and it exits 1', async () => {
    const bundle = write('mail4.yaml', BUNDLE);
    const tests = write(
      'broken.test.yaml',
      `cases:
  - name: typo in expect
    input: { action: email.send, params: { to: a@example.com }, agent: bot }
    expect: { decison: allow }
`,
    );
    const { code, stderr, stdout } = await run('test', bundle, tests);
    expect(code).toBe(1);
    expect(stderr).toContain(`${tests}:4:15: unknown key "decison" (did you mean "decision"?) (allowed keys here: decision, ruleIds)`);
    expect(stderr).toContain(`${tests}:4:13: missing required key "decision"`);
    expect(stdout).toContain('1 test file unusable');
  });

  it('when the default test file is missing, then it exits 1 naming the file it looked for', async () => {
    const bundle = write('lonely.yaml', BUNDLE);
    const { code, stderr } = await run('test', bundle);
    expect(code).toBe(1);
    expect(stderr).toContain(`${path.join(tmp, 'lonely.test.yaml')}: cannot read file (ENOENT)`);
  });

  it('when the bundle itself is invalid, then its errors are printed and no test runs', async () => {
    const bundle = write('invalid.yaml', BUNDLE.replace('decision: allow', 'decision: permit'));
    const { code, stdout, stderr } = await run('test', bundle);
    expect(code).toBe(1);
    expect(stderr).toContain('invalid decision "permit"');
    expect(stdout).toBe('');
  });
});

describe('example bundles in policies/', () => {
  const bundles = fs
    .readdirSync(POLICIES)
    .filter((f) => f.endsWith('.yaml') && !f.endsWith('.test.yaml'))
    .sort();

  it('when listing policies/, then there is a bundle per risk category plus the demo bundle, each with tests', () => {
    expect(bundles).toEqual([
      'account-changes.yaml',
      'data-access.yaml',
      'default.yaml',
      'external-communications.yaml',
      'financial.yaml',
      'production-changes.yaml',
    ]);
    for (const b of bundles) expect(fs.existsSync(path.join(POLICIES, b.replace(/\.yaml$/, '.test.yaml')))).toBe(true);
  });

  it.each(bundles)('when running policy test on %s, then every case passes', async (name) => {
    const { code, stdout, stderr } = await run('test', path.join(POLICIES, name));
    expect(stderr).toBe('');
    expect(stdout).not.toContain('FAIL');
    expect(stdout).toMatch(/\nok: \d+ passed, 0 failed/);
    expect(code).toBe(0);
  });
});
