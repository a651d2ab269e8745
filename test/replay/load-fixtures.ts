import fs from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { installTemporalRuntime } from '../../runtime/core';

/** Where the recorded histories are, one folder per workflow generation. */
export const FIXTURES_DIR = path.join(__dirname, 'fixtures');

/**
 * The recorded histories, each replayed under the workflow id it ran as: since v5 a workflow checks
 * that its start was signed for its own id, so a replay under another id would refuse its start.
 */
export function loadFixtures(files: string[]): { histories: { workflowId: string; history: ReturnType<typeof historyFromJSON> }[]; fixtureOf: Map<string, string> } {
  // The replay worker logs each state change at INFO otherwise, which buries the test summary.
  installTemporalRuntime();
  const fixtureOf = new Map<string, string>();
  const histories = files.map((f) => {
    const json = JSON.parse(fs.readFileSync(path.join(FIXTURES_DIR, f), 'utf8'));
    const workflowId: string = json.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowId ?? f.replace(/\.json$/, '');
    fixtureOf.set(workflowId, f);
    return { workflowId, history: historyFromJSON(json) };
  });
  return { histories, fixtureOf };
}
