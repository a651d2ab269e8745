import type { Reporter, TestCase } from 'vitest/node';

/**
 * Lists, at the end of a run, every test that failed and then passed on its retry (vitest.config.ts
 * allows integration tests one): the run passes, but a race in the suite must not go unseen.
 */
export default class RetriedReporter implements Reporter {
  private readonly retried: string[] = [];

  onTestCaseResult(testCase: TestCase): void {
    const d = testCase.diagnostic();
    if (d && d.retryCount > 0 && testCase.result().state === 'passed') {
      this.retried.push(`${testCase.module.moduleId.replace(`${process.cwd()}/`, '')} > ${testCase.fullName} (passed on retry ${d.retryCount})`);
    }
  }

  onTestRunEnd(): void {
    if (this.retried.length === 0) return;
    process.stdout.write(`\nTests that failed once and passed on retry (${this.retried.length}):\n${this.retried.map((r) => `  - ${r}`).join('\n')}\n`);
  }
}
