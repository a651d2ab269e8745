/**
 * The `countersign` command: `up` (the whole dev stack), `demo`, `tools install`, and the
 * policy / evidence / ledger commands.
 */
import { loadConfig } from '../runtime/config';
import { resolveTemporalCli } from '../runtime/temporal-cli';
import { runBacktestCommand } from './commands/backtest';
import { runEvidenceCommand } from './commands/evidence';
import { runLedgerCommand } from './commands/ledger';
import { runMcpCommand, runMcpGateway } from './commands/mcp';
import { runPolicyCommand } from './commands/policy';
import { runSignInLinkCommand } from './commands/sign-in-link';
import { databaseDeps } from './database';
import { runDemo } from './demo';
import { runUp } from './up';

const USAGE = `usage: countersign <command>

  up                          start Temporal, Postgres, the worker and the API (same as npm start)
  demo [--url URL] [--admin-token TOKEN] [--target-port PORT]
                              a scripted agent proposes one action per policy outcome
  tools install               find or install the Temporal CLI into .tools/
  policy lint <bundle>...     validate policy bundles
  policy test <bundle> [tests...]
                              run a bundle's test cases
  policy backtest <bundle> [--limit N] [--json]
                              replay recorded actions against a candidate bundle
  evidence verify <bundle.json | export.ndjson> [--public-key <file>]...
                              verify evidence offline
  evidence export --since <iso> --until <iso> [--action <id>] [--out <file>]
                              export signed evidence bundles
  evidence check-digest <digest> (--value <json> | --string <text>) [--key-file <file>]
                              check a value against a digest in the evidence
  ledger verify [--public-key <file>]... [--batch-size N]
                              verify every chain and checkpoint in Postgres
  ledger checkpoint           write a signed checkpoint now
  ledger rotate-key           replace the data dir's signing key (the old one still verifies)
  ledger ack-fault <actionId> [--by NAME]
                              acknowledge an action stopped by a write Postgres refused
  ledger digest-key export [--out <file>]
                              the key that checks keyed digests, for auditors (hex)
  sign-in-link <principal>    print a one-use, 15-minute console sign-in link for a human
  mcp-gateway --config <gateway.yaml> [--http <port>] [--hold <duration>]
                              an MCP server whose tool calls Countersign governs
  mcp import --config <gateway.yaml>
                              print catalog entries for the gateway's upstream tools
  help                        this list; \`countersign <command> help\` for policy, evidence and ledger
`;

/** Run a command; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'up':
      return runUp();
    case 'demo':
      return runDemo(rest);
    case 'tools': {
      if (rest[0] !== 'install') break;
      const path = resolveTemporalCli({ explicitPath: loadConfig().temporalCli, log: (l) => console.log(l) });
      console.log(`temporal CLI: ${path}`);
      return 0;
    }
    case 'policy': {
      if (rest[0] === 'backtest') {
        const deps = databaseDeps(loadConfig());
        try {
          return await runBacktestCommand(rest.slice(1), deps);
        } finally {
          await deps.close();
        }
      }
      return runPolicyCommand(rest);
    }
    case 'sign-in-link': {
      const config = loadConfig();
      const deps = databaseDeps(config);
      try {
        return await runSignInLinkCommand(rest, { getPool: deps.getPool, publicUrl: config.publicUrl });
      } finally {
        await deps.close();
      }
    }
    case 'evidence':
    case 'ledger': {
      const deps = databaseDeps(loadConfig());
      try {
        if (command === 'evidence') return await runEvidenceCommand(rest, deps);
        return await runLedgerCommand(rest, deps);
      } finally {
        await deps.close();
      }
    }
    case 'mcp-gateway':
      return runMcpGateway(rest);
    case 'mcp':
      return runMcpCommand(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return command === undefined ? 1 : 0;
  }
  console.error(`unknown command: ${argv.join(' ')}\n\n${USAGE}`);
  return 2;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(err instanceof Error ? err.message : `failed: ${String(err)}`);
      process.exit(1);
    },
  );
}
