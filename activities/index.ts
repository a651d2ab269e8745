/**
 * Side effects of the governedAction workflow, built by a factory so one pg Pool (and one
 * policy cache) serves every activity in the worker.
 */
import type { Pool } from 'pg';
import type { PolicyStore } from '../ledger/policy-store';
import type { LedgerSigner } from '../ledger/signing';
import type { Logger } from '../runtime/logger';
import type { ChangeNotifier } from './change-notifier';
import { createPolicyActivities } from './policy';
import { createRecordingActivities } from './record-event';
import { createExecutorActivities } from './http-executor';
import { createNotificationActivities } from './notify';
import { createDigestActivities } from './approval-digest';
import { createCheckpointActivities } from './checkpoint';

/** What the activities need from the process that hosts them. */
export interface ActivityDeps {
  pool: Pool;
  /** Tells API processes (LISTEN) that an action's read model changed, after each ledger write. */
  notifier: ChangeNotifier;
  policies: PolicyStore;
  /** HMAC key for `X-Countersign-Signature` on executor requests. */
  executorSecret: string;
  /** Per-request timeout of the http executor. @default 25000 */
  executorTimeoutMs?: number;
  /**
   * Whether the first call to a target this worker has seen answer fast may run inline (a local
   * activity in the workflow task); off, every call is a regular activity. @default true
   */
  executorInline?: boolean;
  log: Logger;
  /** Signs ledger checkpoints. */
  signer: LedgerSigner;
  /** Base URL of the API, for links in notifications. */
  publicUrl?: string;
}

/** Build every activity the workflows call. */
export function createActivities(deps: ActivityDeps) {
  return {
    ...createPolicyActivities(deps),
    ...createRecordingActivities(deps),
    ...createExecutorActivities(deps),
    ...createNotificationActivities(deps),
    ...createDigestActivities(),
    ...createCheckpointActivities(deps),
  };
}

/** The activity interface, for `proxyActivities<Activities>()` in workflow code. */
export type Activities = ReturnType<typeof createActivities>;
