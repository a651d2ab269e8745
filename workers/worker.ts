import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Worker, type WorkflowBundle } from '@temporalio/worker';
import type { Activities } from '../activities';

/** Options for {@link createWorker}. */
export interface CountersignWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  activities: Activities;
  /** A pre-built bundle (tests and restarts reuse one); built from workflows/ when omitted. */
  workflowBundle?: WorkflowBundle;
  /**
   * Workflows kept in memory; the rest are replayed from history when they wake. Bounds the
   * worker's RSS with thousands of pending approvals.
   * @default 1000
   */
  maxCachedWorkflows?: number;
  /** How long in-flight activities get to finish on shutdown. @default "20s" */
  shutdownGraceTime?: string;
}

/** Bundle the workflow code once (webpack; a few seconds). */
export function bundleWorkflows(): Promise<WorkflowBundle> {
  return bundleWorkflowCode({ workflowsPath: path.resolve(__dirname, '..', 'workflows', 'index.ts'), logger: new DefaultLogger('WARN') });
}

/** A worker for the governedAction workflow and its activities. */
export async function createWorker(opts: CountersignWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    activities: opts.activities,
    workflowBundle: opts.workflowBundle ?? (await bundleWorkflows()),
    maxCachedWorkflows: opts.maxCachedWorkflows ?? 1000,
    shutdownGraceTime: opts.shutdownGraceTime ?? '20s',
  });
}
