/**
 * Side effects of the governedAction workflow, built by a factory so one pg Pool (and one
 * policy cache) serves every activity in the worker.
 */
import type { TrustRoot } from '../domain/message-signature';
import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import type { PolicyStore } from '../ledger/policy-store';
import type { LedgerSigner } from '../ledger/signing';
import type { Logger } from '../runtime/logger';
import type { ChangeNotifier } from './change-notifier';
import type { SlackSettings } from './slack';
import { createPauseActivities, createPolicyActivities } from './policy';
import type { PauseRegistry } from '../ledger/pause-store';
import { createRecordingActivities } from './record-event';
import { createExecutorActivities } from './http-executor';
import { createNotificationActivities } from './notify';
import { createDigestActivities } from './approval-digest';
import { createCheckpointActivities } from './checkpoint';
import type { CheckpointWitness } from '../ledger/witness';

/** What the activities need from the process that hosts them. */
export interface ActivityDeps {
  pool: Pool;
  /** Tells API processes (LISTEN) that an action's read model changed, after each ledger write. */
  notifier: ChangeNotifier;
  policies: PolicyStore;
  /**
   * HMAC key of the legacy `X-Countersign-Signature: sha256=<hex>`, on executor requests and
   * webhooks whose target has no `secret` of its own in the bundle.
   */
  executorSecret: string;
  /**
   * Where a target's `secret: env:NAME` is read (activities/request-signing.ts): the worker's
   * environment. @default process.env
   */
  secretEnv?: NodeJS.ProcessEnv;
  /** Per-request timeout of the http executor. @default 25000 */
  executorTimeoutMs?: number;
  /**
   * How many bytes of an executor's or webhook's answer are read; the rest is not
   * (activities/outbound-fetch.ts). @default 1048576
   */
  fetchMaxBytes?: number;
  /**
   * Whether the first call to a target this worker has seen answer fast may run inline (a local
   * activity in the workflow task); off, every call is a regular activity. @default true
   */
  executorInline?: boolean;
  log: Logger;
  /** Signs ledger checkpoints. */
  signer: LedgerSigner;
  /** Where each signed checkpoint is also kept, outside Postgres (ledger/witness.ts). @default none */
  ledgerWitnesses?: CheckpointWitness[];
  /** Base URL of the API, for links in notifications. */
  publicUrl?: string;
  /** Slack approvals (activities/slack.ts): without a bot token, nothing is posted to Slack. */
  slack?: SlackSettings;
  /**
   * The digest key (ledger/digest-key.ts): sensitive values go into the ledger as its HMACs, and
   * approval and executor request digests of actions with sensitive params are keyed with it.
   * Every worker must hold the same one. @default a random key of this process only, so digests
   * nobody can check later (benchmarks); buildCore passes the configured key
   */
  digestKey?: Uint8Array;
  /**
   * The message roots this installation trusts (runtime/message-keys.ts): the policy step
   * refuses to decide a workflow whose start input names another root. @default none: every
   * start naming a root is refused (a worker must be given the roots to run signed workflows)
   */
  trustedRoots?: readonly TrustRoot[];
  /**
   * The active pauses (ledger/pause-store.ts): a proposal a pause covers is denied by it, and an
   * approved action waits while one covers it. @default none: nothing is ever paused
   */
  pauses?: PauseRegistry;
}

/** Build every activity the workflows call. */
export function createActivities(options: ActivityDeps) {
  const deps = { ...options, digestKey: options.digestKey ?? randomBytes(32) };
  return {
    ...createPolicyActivities(deps),
    ...createPauseActivities(deps),
    ...createRecordingActivities(deps),
    ...createExecutorActivities(deps),
    ...createNotificationActivities(deps),
    ...createDigestActivities(deps),
    ...createCheckpointActivities(deps),
  };
}

/** The activity interface, for `proxyActivities<Activities>()` in workflow code. */
export type Activities = ReturnType<typeof createActivities>;
