import { describe, expect, it, vi } from 'vitest';
import { runEvidenceCommand } from '../../cli/commands/evidence';
import { runLedgerCommand } from '../../cli/commands/ledger';
import { runPolicyCommand } from '../../cli/commands/policy';
import { main } from '../../cli/index';

/** What a command writes to stdout. */
async function stdoutOf(run: (io: { stdout: { write(t: string): unknown }; stderr: { write(t: string): unknown } }) => Promise<number>): Promise<string> {
  let text = '';
  await run({ stdout: { write: (t) => (text += t) }, stderr: { write: () => {} } });
  return text;
}

describe('countersign help', () => {
  it('when help is asked for, then it lists every subcommand the policy, evidence and ledger commands accept, and every demo option', async () => {
    // Arrange: the subcommands as each command's own usage names them.
    const noDatabase = { getPool: () => Promise.reject(new Error('not needed')), dataDir: '/nonexistent', env: {} };
    const subUsages = [
      await stdoutOf((io) => runPolicyCommand(['help'], io)),
      await stdoutOf((io) => runEvidenceCommand(['help'], { ...noDatabase, io })),
      await stdoutOf((io) => runLedgerCommand(['help'], { ...noDatabase, io })),
    ].join('\n');
    const subcommands = [...subUsages.matchAll(/countersign (\w+ [\w-]+)/g)].map((m) => m[1]!);
    expect(subcommands).toEqual(expect.arrayContaining(['ledger checkpoint', 'ledger rotate-key', 'ledger ack-fault', 'policy test']));
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});

    // Act
    const code = await main(['help']);
    const usage = log.mock.calls.map((c) => String(c[0])).join('\n');
    log.mockRestore();

    // Assert
    expect(code).toBe(0);
    for (const sub of [...new Set(subcommands), 'policy backtest', 'tools install', 'up']) expect(usage).toContain(`  ${sub}`);
    for (const option of ['--url', '--admin-token', '--target-port']) expect(usage).toContain(option);
  });
});
