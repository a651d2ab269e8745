/**
 * Pauses in the workflow (docs/controls.md, patch operator-controls-v6): an approved action that
 * would execute while a pause covers it waits in `approved` with `paused: true` until every pause
 * that covers it is lifted (then it executes, once) or it is cancelled.
 *
 * The workflow cannot see the pauses itself: it asks the `pauseHolding` local activity before it
 * executes (the worker's in-memory copy, current within the notification's latency), and again,
 * from the table, whenever the API tells it a pause was lifted (the `pausesChanged` signal, which
 * carries nothing and only makes it ask again, so it needs no signature; the API sends it after
 * the lifting committed, possibly before this worker's copy has heard of it), or at the latest
 * every {@link RECHECK}, in case that signal was lost. A signal that arrives while it is asking
 * makes it ask once more.
 */
import { condition, defineSignal, upsertSearchAttributes } from '@temporalio/workflow';
import { SYSTEM, type ActionState } from './action-state';
import { local } from './local-activities';
import { searchAttributeKeys } from './search-attribute-keys';

/** Sent by the API to the actions a lifted pause covered: ask again whether a pause holds them. */
export const pausesChangedSignal = defineSignal<[]>('pausesChanged');

/** How often a held action asks again without being told (a lost signal costs at most this). */
const RECHECK = '10 minutes';

/** Set by {@link pausesChangedSignal}. Module state is per workflow. */
let nudged = false;

/** The signal's handler: registered with the others, before the workflow's first await. */
export function onPausesChanged(): void {
  nudged = true;
}

/**
 * Wait while a pause covers the action; `cancelled` when a cancel came in meanwhile. An action
 * whose decisive approval already recorded `execution_started` (the API accepted that decision
 * while no pause covered it) goes on: it is executing, not about to.
 */
export async function holdWhilePaused(run: ActionState): Promise<'go' | 'cancelled'> {
  if (run.executionAnnounced || run.cancelRequest) return 'go';
  const subject = { agent: run.input.agent, action: run.input.action };
  let held = await local.pauseHolding(subject);
  if (!held) return 'go';
  const { view } = run;
  view.paused = true;
  run.setStatus('approved');
  upsertSearchAttributes([{ key: searchAttributeKeys.paused, value: true }]);
  run.record('execution_held', SYSTEM, { pauseId: held.pauseId, by: held.by, reason: held.reason });
  await run.flush();
  for (;;) {
    await condition(() => nudged || run.cancelRequest !== undefined, RECHECK);
    if (run.cancelRequest) break;
    // Reset before asking, not before waiting: a signal during the question is not lost.
    nudged = false;
    held = await local.pauseHolding(subject, true);
    if (!held) break;
  }
  delete view.paused;
  upsertSearchAttributes([{ key: searchAttributeKeys.paused, value: null }]);
  if (run.cancelRequest) return 'cancelled';
  run.record('execution_resumed', SYSTEM, {});
  return 'go';
}
