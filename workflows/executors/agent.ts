/**
 * The `agent` executor: the proposing agent carries the action out itself once it is approved,
 * and reports what happened (the reportResult Update, executors/report.ts). An executor run by
 * someone else outside the workflow (e.g. an MCP gateway) can be another entry with this
 * one's `execute`.
 *
 * The report has a deadline (`resultTimeout`, patch agent-result-timeout-v6): an agent or
 * gateway that crashed after approval cannot leave the action `approved` forever. When it
 * passes, nobody knows whether the action was carried out, and the action says exactly that.
 */
import { condition } from '@temporalio/workflow';
import { DEFAULT_AGENT_RESULT_TIMEOUT_MS } from '../../domain/policy-types';
import { OUTCOME_UNKNOWN } from '../../domain/failure-types';
import { SYSTEM, type ActionState } from '../action-state';
import { finishCancelled } from '../outcome';
import { agentResultDeadline } from '../patches';
import type { Executor } from './executor';

/** Waits for the report (or a cancel, or the deadline) and records it as the outcome. */
export const agentExecutor: Executor<{ type: 'agent'; resultTimeoutMs?: number }> = {
  waitsForReport: true,

  async execute(run, spec) {
    const { view } = run;
    // The agent may report only once 'approved' is in Postgres (the API checks the read model).
    await run.flush();
    const answered = () => run.report !== undefined || run.cancelRequest !== undefined;
    if (agentResultDeadline()) {
      const timeoutMs = spec.resultTimeoutMs ?? DEFAULT_AGENT_RESULT_TIMEOUT_MS;
      if (!(await condition(answered, timeoutMs))) return outcomeUnknown(run, timeoutMs);
    } else {
      await condition(answered);
    }
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

/** No report within the deadline: `failed`, outcome unknown; a late report is refused (409). */
function outcomeUnknown(run: ActionState, timeoutMs: number) {
  const { view } = run;
  view.result = null;
  view.error = `${OUTCOME_UNKNOWN}: no result was reported within ${describeMs(timeoutMs)} of approval; whether the action was carried out is not known`;
  view.outcome = { by: 'timeout', actor: null, reason: view.error };
  run.setStatus('failed');
  run.record('execution_failed', SYSTEM, { executor: 'agent', ok: false, code: OUTCOME_UNKNOWN, resultTimeoutMs: timeoutMs, error: view.error });
  return run.snapshot();
}

/** `90000` -> `1m30s`, as bundles write durations. */
function describeMs(ms: number): string {
  const parts: string[] = [];
  let rest = Math.round(ms / 1000);
  for (const [unit, s] of [['d', 86_400], ['h', 3_600], ['m', 60], ['s', 1]] as const) {
    if (rest >= s) {
      parts.push(`${Math.floor(rest / s)}${unit}`);
      rest %= s;
    }
  }
  return parts.join('') || `${ms}ms`;
}
