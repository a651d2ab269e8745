import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Worker, type WorkflowBundle } from '@temporalio/worker';
import type { DataConverter } from '@temporalio/common';
import type { Activities } from '../activities';
import { FAILURE_CONVERTER_PATH } from '../runtime/payload-codec';
import { WORKFLOW_TRACING_MODULE, type Tracing } from '../runtime/tracing';

/** Options for {@link createWorker}. */
export interface CountersignWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  activities: Activities;
  /**
   * The payload codec and failure converter of runtime/payload-codec.ts (`countersignDataConverter`):
   * the same as every client's, or the worker cannot read what they wrote.
   */
  dataConverter: DataConverter;
  /** A pre-built bundle (tests and restarts reuse one); built from workflows/ when omitted. */
  workflowBundle?: WorkflowBundle;
  /**
   * Workflows kept in memory; the rest are replayed from history when they wake. Bounds the
   * worker's RSS with thousands of pending approvals.
   * @default 700
   */
  maxCachedWorkflows?: number;
  /** How long in-flight activities get to finish on shutdown. @default "20s" */
  shutdownGraceTime?: string;
  /**
   * OpenTelemetry (runtime/tracing.ts): workflow and activity spans. A `workflowBundle` given with
   * it must have been built with `bundleWorkflows({ tracing: true })`.
   */
  tracing?: Tracing;
}

/**
 * Pure, stateless modules the workflow imports, evaluated once per worker thread and shared by
 * every workflow instead of once per workflow: a workflow that was evicted from the cache is
 * recreated on each wake-up, and evaluating @noble/hashes' sha2 (its SHA-512 tables are built
 * with BigInt) was over a third of that cost. Nothing here may hold per-workflow state: the
 * SDK freezes shared modules, and a module listed here is the same object for all workflows.
 */
const SHARED_WORKFLOW_MODULES = [
  // Brings @noble/hashes' sha2 and utils with it. Listed on their own, webpack drops them:
  // the package declares itself free of side effects.
  path.resolve(__dirname, '..', 'domain', 'approval-digest.ts'),
  path.resolve(__dirname, '..', 'domain', 'canonical-json.ts'),
  path.resolve(__dirname, '..', 'domain', 'action-types.ts'),
  path.resolve(__dirname, '..', 'domain', 'access-rules.ts'),
  path.resolve(__dirname, '..', 'domain', 'failure-types.ts'),
  path.resolve(__dirname, '..', 'domain', 'search-attributes.ts'),
  // Brings @noble/curves' ed25519 (its point tables are built once per thread, not per workflow).
  path.resolve(__dirname, '..', 'domain', 'message-signature.ts'),
];

/**
 * Bundle the workflow code once (webpack; a few seconds), with the failure converter every client
 * and worker uses (inside the sandbox, workflow failures are converted by the bundle's own copy).
 */
export function bundleWorkflows(opts: { tracing?: boolean } = {}): Promise<WorkflowBundle> {
  return bundleWorkflowCode({
    workflowsPath: path.resolve(__dirname, '..', 'workflows', 'index.ts'),
    preloadModules: SHARED_WORKFLOW_MODULES,
    // Only with tracing on: its spans cost CPU on the workflow thread.
    ...(opts.tracing ? { workflowInterceptorModules: [WORKFLOW_TRACING_MODULE] } : {}),
    failureConverterPath: FAILURE_CONVERTER_PATH,
    logger: new DefaultLogger('WARN'),
  });
}

/** A worker for the governedAction workflow and its activities. */
export async function createWorker(opts: CountersignWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    activities: opts.activities,
    dataConverter: opts.dataConverter,
    workflowBundle: opts.workflowBundle ?? (await bundleWorkflows({ tracing: Boolean(opts.tracing) })),
    maxCachedWorkflows: opts.maxCachedWorkflows ?? 700,
    shutdownGraceTime: opts.shutdownGraceTime ?? '20s',
    ...opts.tracing?.workerOptions(),
  });
}
