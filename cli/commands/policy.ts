/**
 * `countersign policy lint <bundle>` and `countersign policy test <bundle> [tests...]`.
 *
 * The only file of the policy feature that does I/O: it reads files and writes lines;
 * parsing, validation and evaluation are the pure functions in policy/.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import {
  type CompiledPolicyBundle,
  type PolicyIssue,
  parsePolicyTestSuite,
  runPolicyTests,
  validatePolicyBundle,
} from '../../policy';

/** Where the command writes; defaults to the process streams. */
export interface PolicyCommandIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

const USAGE = `usage:
  countersign policy lint <bundle.yaml>...
      validate bundles; prints file:line:col: message (hint) per problem, and
      file:line:col: warning: message (hint) per warning (warnings do not fail)
  countersign policy test <bundle.yaml> [tests.test.yaml...]
      run test cases (default: <bundle>.test.yaml next to the bundle)
`;

/**
 * Run a `policy` subcommand.
 *
 * @param argv the arguments after `policy`, e.g. `["lint", "policies/default.yaml"]`.
 * @returns the exit code: 0 success, 1 lint errors / failing or malformed tests /
 *   unreadable files, 2 usage error.
 */
export async function runPolicyCommand(argv: string[], io: PolicyCommandIo = process): Promise<number> {
  const [sub, ...args] = argv;
  const out = (line: string) => io.stdout.write(`${line}\n`);
  const err = (line: string) => io.stderr.write(`${line}\n`);

  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    (sub === undefined ? io.stderr : io.stdout).write(USAGE);
    return sub === undefined ? 2 : 0;
  }
  if (sub === 'lint') {
    if (args.length === 0) return usageError(io, 'policy lint needs a bundle file');
    let code = 0;
    for (const file of args) {
      const bundle = await loadBundleFile(file, err, { warnings: true });
      if (bundle === undefined) code = 1;
      else out(`ok: version ${bundle.version} (${file})`);
    }
    return code;
  }
  if (sub === 'test') {
    if (args.length === 0) return usageError(io, 'policy test needs a bundle file');
    const [bundleFile, ...given] = args as [string, ...string[]];
    const testFiles = given.length > 0 ? given : [defaultTestFile(bundleFile)];
    const bundle = await loadBundleFile(bundleFile, err);
    if (bundle === undefined) return 1;
    return runTests(bundle, bundleFile, testFiles, out, err);
  }
  return usageError(io, `unknown policy subcommand "${sub}"`);
}

/** `policies/default.yaml` -> `policies/default.test.yaml`. */
function defaultTestFile(bundleFile: string): string {
  const ext = path.extname(bundleFile);
  const stem = ext === '.yaml' || ext === '.yml' || ext === '.json' ? bundleFile.slice(0, -ext.length) : bundleFile;
  return `${stem}.test.yaml`;
}

async function loadBundleFile(file: string, err: (line: string) => void, opts: { warnings?: boolean } = {}): Promise<CompiledPolicyBundle | undefined> {
  const text = await readText(file, err);
  if (text === undefined) return undefined;
  const result = validatePolicyBundle(text, { filename: file });
  if (opts.warnings) for (const issue of result.warnings) err(formatIssue(issue, file, 'warning: '));
  if (result.ok) return result.bundle;
  for (const issue of result.errors) err(formatIssue(issue, file));
  err(`${file}: ${result.errors.length} error${result.errors.length === 1 ? '' : 's'}`);
  return undefined;
}

async function runTests(
  bundle: CompiledPolicyBundle,
  bundleFile: string,
  testFiles: string[],
  out: (line: string) => void,
  err: (line: string) => void,
): Promise<number> {
  let passed = 0;
  let failed = 0;
  let broken = 0;
  for (const file of testFiles) {
    const text = await readText(file, err);
    if (text === undefined) {
      broken++;
      continue;
    }
    const suite = parsePolicyTestSuite(text, { filename: file });
    if (!suite.ok) {
      for (const issue of suite.errors) err(formatIssue(issue, file));
      err(`${file}: malformed test file (${suite.errors.length} error${suite.errors.length === 1 ? '' : 's'})`);
      broken++;
      continue;
    }
    for (const result of runPolicyTests(bundle, suite.cases)) {
      if (result.passed) {
        passed++;
        out(`PASS ${result.name}`);
      } else {
        failed++;
        out(`FAIL ${result.name} (${file}:${result.line})`);
        for (const line of result.failures) out(`     ${line}`);
      }
    }
  }
  const total = passed + failed;
  const brokenNote = broken > 0 ? `, ${broken} test file${broken === 1 ? '' : 's'} unusable` : '';
  out(`${failed === 0 && broken === 0 ? 'ok' : 'FAILED'}: ${passed} passed, ${failed} failed of ${total} case${total === 1 ? '' : 's'}${brokenNote} (${bundleFile} version ${bundle.version.slice(0, 12)})`);
  return failed > 0 || broken > 0 ? 1 : 0;
}

async function readText(file: string, err: (line: string) => void): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    err(`${file}: cannot read file${code ? ` (${code})` : ''}`);
    return undefined;
  }
}

function formatIssue(issue: PolicyIssue, fallbackFile: string, label = ''): string {
  return `${issue.file ?? fallbackFile}:${issue.line}:${issue.column}: ${label}${issue.message} (${issue.hint})`;
}

function usageError(io: PolicyCommandIo, message: string): number {
  io.stderr.write(`${message}\n${USAGE}`);
  return 2;
}
