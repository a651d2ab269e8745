import fs from 'node:fs';
import type { Pool } from 'pg';
import { backtestPolicy, formatBacktest } from '../../ledger/backtest';
import { loadPolicyBundle, PolicyValidationError } from '../../policy';

/** `countersign policy backtest <bundle> [--limit N] [--json]`: what the bundle would change. */
export async function runBacktestCommand(argv: string[], deps: { getPool: () => Promise<Pool> }): Promise<number> {
  const file = argv.find((a) => !a.startsWith('--'));
  const limitArg = argv.indexOf('--limit');
  const limit = limitArg >= 0 ? Number(argv[limitArg + 1]) : undefined;
  if (!file || (limit !== undefined && !(limit > 0))) {
    console.error('usage: countersign policy backtest <bundle.yaml> [--limit N] [--json]');
    return 2;
  }
  let bundle;
  try {
    bundle = loadPolicyBundle(fs.readFileSync(file, 'utf8'), { filename: file });
  } catch (err) {
    if (!(err instanceof PolicyValidationError)) throw err;
    for (const e of err.errors) console.error(`${file}:${e.line ?? 0}:${e.column ?? 0}: ${e.message}${e.hint ? ` (${e.hint})` : ''}`);
    return 1;
  }
  const report = await backtestPolicy(await deps.getPool(), bundle, { limit });
  console.log(argv.includes('--json') ? JSON.stringify(report, null, 2) : formatBacktest(report));
  return 0;
}
