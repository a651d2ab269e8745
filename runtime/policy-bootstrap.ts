import fs from 'node:fs';
import path from 'node:path';
import { NoActivePolicyError, type PolicyStore } from '../ledger/policy-store';
import { compileOr422 } from '../policy';
import type { Logger } from './logger';

/**
 * Activate the configured bundle when nothing is active yet, or when it was named explicitly
 * (`force`) and differs from the active one. An operator's later `PUT /v1/policy` survives
 * restarts that do not name a file.
 */
export async function bootstrapPolicy(policies: PolicyStore, file: string, force: boolean, log: Logger): Promise<void> {
  let activeVersion: string | undefined;
  try {
    activeVersion = (await policies.active()).version;
  } catch (err) {
    if (!(err instanceof NoActivePolicyError)) throw err;
  }
  if (activeVersion && !force) return;
  const source = fs.readFileSync(file, 'utf8');
  const bundle = compileOr422(source, path.basename(file));
  if (bundle.version === activeVersion) return;
  await policies.activate(bundle, source, 'bootstrap', path.relative(process.cwd(), file) || file);
  log.info({ version: bundle.version, file }, 'policy activated');
}
