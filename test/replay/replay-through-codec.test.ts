import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { countersignDataConverter, PayloadEncryptionCodec } from '../../runtime/payload-codec';
import { bundleWorkflows } from '../../workers/worker';
import { loadFixtures } from './load-fixtures';

// Histories recorded before payloads were encrypted are plaintext. A worker of today replays them
// through its payload codec (when a cached workflow is evicted, or a worker restarts), so they
// must replay through it unchanged: the codec passes plaintext on, and nothing diverges.
const dir = path.join(__dirname, 'fixtures');
const fixtures = fs
  .readdirSync(dir)
  .filter((g) => g !== process.env.RECORD_REPLAY_FIXTURES && fs.statSync(path.join(dir, g)).isDirectory())
  .flatMap((g) => fs.readdirSync(path.join(dir, g)).filter((f) => f.endsWith('.json')).map((f) => `${g}/${f}`))
  .sort();

describe('replay of plaintext histories through the payload codec', () => {
  it("when every recorded history is replayed with the worker's data converter, then none diverges and the codec finds nothing it cannot decode", async () => {
    const undecodable: string[] = [];
    const codec = new PayloadEncryptionCodec([{ id: 'k1', key: randomBytes(32) }], { onUndecodable: (reason, keyId) => undecodable.push(`${reason} ${keyId}`) });
    // Counts what goes through it, so the test shows the codec was on the replay's path.
    let seen = 0;
    const counting: PayloadCodec = { encode: (p: Payload[]) => codec.encode(p), decode: (p: Payload[]) => ((seen += p.length), codec.decode(p)) };
    const { histories } = loadFixtures(fixtures);
    const results: { workflowId: string; error?: unknown }[] = [];
    const replay = Worker.runReplayHistories({ workflowBundle: await bundleWorkflows(), dataConverter: countersignDataConverter(counting) }, histories);
    for await (const r of replay) results.push({ workflowId: r.workflowId, error: r.error });
    expect(results.length).toBeGreaterThanOrEqual(30);
    expect(results.filter((r) => r.error).map((r) => `${r.workflowId}: ${(r.error as Error).message}`)).toEqual([]);
    expect(seen).toBeGreaterThan(histories.length);
    expect(undecodable).toEqual([]);
  });
});
