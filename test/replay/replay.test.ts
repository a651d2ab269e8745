import fs from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { bundleWorkflows } from '../../workers/worker';
import { loadFixtures } from './load-fixtures';

// Histories recorded from the integration tests (RECORD_REPLAY_FIXTURES=<generation> npm test),
// one folder per generation of the workflow code, replayed offline against today's code: a
// change that breaks determinism fails here, before it can break workflows that are already
// running. v1: before the patch leaner-approval-v2; v2: with it; v3: with one-write-decision-v3;
// v4: with local-first-executor-v4; v5: with trust-model-v5; v6: with agent-result-timeout-v6,
// operator-controls-v6 and approved-after-edit-v6.
const dir = path.join(__dirname, 'fixtures');
// The generation being recorded in this run is still being written: it is replayed from the next run on.
const recording = process.env.RECORD_REPLAY_FIXTURES;
const generations = fs.existsSync(dir)
  ? fs.readdirSync(dir).filter((g) => g !== recording && fs.statSync(path.join(dir, g)).isDirectory()).sort()
  : [];
const fixtures = generations.flatMap((g) =>
  fs.readdirSync(path.join(dir, g)).filter((f) => f.endsWith('.json')).sort().map((f) => `${g}/${f}`),
);

describe('replay of recorded histories', () => {
  it('when the fixtures exist, then every generation has one per lifecycle path', () => {
    expect(generations.length).toBeGreaterThanOrEqual(2);
    for (const g of generations) {
      expect(fixtures.filter((f) => f.startsWith(`${g}/`)).map((f) => f.slice(g.length + 1))).toEqual(
        expect.arrayContaining(['allowed.json', 'denied-by-policy.json', 'denied-by-reviewer.json', 'cancelled.json', 'escalation.json', 'expiry.json', 'edits.json', 'two-steps.json']),
      );
    }
  });

  it('when every recorded history is replayed with the current workflow code, then none diverges', async () => {
    const bundle = await bundleWorkflows();
    const { histories, fixtureOf } = loadFixtures(fixtures);
    const results: { workflowId: string; error?: unknown }[] = [];
    for await (const r of Worker.runReplayHistories({ workflowBundle: bundle }, histories)) results.push({ workflowId: r.workflowId, error: r.error });
    expect(results.map((r) => r.workflowId).sort()).toEqual(histories.map((h) => h.workflowId).sort());
    expect(results.filter((r) => r.error).map((r) => `${fixtureOf.get(r.workflowId)}: ${(r.error as Error).message}`)).toEqual([]);
  });
});
