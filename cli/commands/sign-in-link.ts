/**
 * `countersign sign-in-link <principal>`: print a one-use, 15-minute console sign-in link for a
 * human principal, written straight to Postgres (the embedded one `npm start` runs, or
 * DATABASE_URL), so it works without an admin token. The link is on COUNTERSIGN_PUBLIC_URL;
 * the ledger records that it was issued, by the shell user.
 */
import { parseArgs } from 'node:util';
import type { Pool } from 'pg';
import { PrincipalStore, type Principal } from '../../api/auth';
import { CountersignError } from '../../domain/errors';
import { loadCliConfig } from '../../runtime/config';
import type { EvidenceCommandIo } from './evidence';

/** What the command needs. */
export interface SignInLinkCommandDeps {
  getPool: () => Promise<Pool>;
  /** Where links point (`COUNTERSIGN_PUBLIC_URL`). */
  publicUrl: string;
  io?: EvidenceCommandIo;
  env?: NodeJS.ProcessEnv;
}

const USAGE = `usage:
  countersign sign-in-link <principal>
      print a one-use console sign-in link for a human principal, valid 15 minutes
      (on COUNTERSIGN_PUBLIC_URL; the database is DATABASE_URL or the data dir's)
`;

/**
 * Run the command.
 * @returns exit code: 0 printed, 1 refused (unknown principal, an agent, disabled), 2 usage error
 */
export async function runSignInLinkCommand(argv: string[], deps: SignInLinkCommandDeps): Promise<number> {
  const io: EvidenceCommandIo = deps.io ?? process;
  let positionals: string[];
  try {
    ({ positionals } = parseArgs({ args: argv, allowPositionals: true, options: {} }));
  } catch (err) {
    io.stderr.write(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (positionals[0] === 'help' || positionals.length !== 1) {
    (positionals[0] === 'help' ? io.stdout : io.stderr).write(USAGE);
    return positionals[0] === 'help' ? 0 : 2;
  }
  const id = positionals[0]!;
  const { operator } = loadCliConfig(deps.env);
  // Recorded in the ledger as the issuer: whoever ran the command on this machine.
  const issuer: Principal = { id: `cli:${operator}`, kind: 'human', roles: ['admin'], groups: [], attributes: {}, delegates: [] };
  const store = new PrincipalStore(await deps.getPool());
  try {
    const link = await store.createSignInLink(id, deps.publicUrl, issuer);
    if (!link) {
      io.stderr.write(`no principal ${id}\n`);
      return 1;
    }
    io.stdout.write(`${link.url}\n`);
    io.stderr.write(`one use, expires ${link.expiresAt}\n`);
    return 0;
  } catch (err) {
    if (err instanceof CountersignError) {
      io.stderr.write(`${err.message}\n`);
      return 1;
    }
    if ((err as { code?: string }).code === '42P01') {
      io.stderr.write('this database has no sign-in links yet: start Countersign once (npm start) so it applies its migrations\n');
      return 1;
    }
    throw err;
  }
}
