/**
 * The `agent` executor: the proposing agent carries the action out itself once it is approved,
 * and reports what happened (the reportResult Update, executors/report.ts). An executor run by
 * someone else outside the workflow (e.g. an MCP gateway) can be another entry with this
 * one's `execute`.
 */
import { condition } from '@temporalio/workflow';
import { finishCancelled } from '../outcome';
import type { Executor } from './executor';

/** Waits for the report (or a cancel) and records it as the outcome. */
export const agentExecutor: Executor<{ type: 'agent' }> = {
  waitsForReport: true,

  async execute(run, spec) {
    const { view } = run;
    // The agent may report only once 'approved' is in Postgres (the API checks the read model).
    await run.flush();
    await condition(() => run.report !== undefined || run.cancelRequest !== undefined);
    if (!run.report) return finishCancelled(run);
    const r = run.report;
    view.result = r.output ?? null;
    view.error = r.ok ? null : (r.error ?? 'the agent reported a failure');
    run.setStatus(r.ok ? 'succeeded' : 'failed');
    run.record(r.ok ? 'executed' : 'execution_failed', { id: r.by, kind: 'agent' }, {
      executor: spec.type,
      ok: r.ok,
      output: r.output ?? null,
      error: view.error,
    });
    return run.snapshot();
  },
};
