import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../runtime/config';
import { createLogger } from '../../runtime/logger';
import { startInfrastructure, type Infrastructure } from '../../runtime/stack';
import { eventually } from '../helpers/stack';
import { freePorts } from '../helpers/ports';

// `npm start` starts the dev server's Web UI with the API's codec endpoint, so the UI asks the
// API to decode payloads. Checked on the UI's own settings endpoint (what its pages read), with a
// real `temporal server start-dev`; Postgres is the test run's.
describe('the development stack and the codec endpoint', () => {
  let infra: Infrastructure | undefined;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-devstack-'));
  afterAll(async () => {
    await infra?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("when the infrastructure starts a Temporal dev server, then its UI's codec endpoint is COUNTERSIGN_PUBLIC_URL/codec", async () => {
    const [temporalPort, uiPort] = await freePorts(2);
    const config = loadConfig({
      COUNTERSIGN_DATA_DIR: dataDir,
      DATABASE_URL: inject('databaseUrl'),
      TEMPORAL_CLI: inject('temporalCli'),
      TEMPORAL_PORT: String(temporalPort),
      TEMPORAL_UI_PORT: String(uiPort),
      COUNTERSIGN_PUBLIC_URL: 'https://countersign.example.com/',
    });
    infra = await startInfrastructure(config, createLogger('silent'));
    expect(infra.temporalUiUrl).toBe(`http://localhost:${uiPort}`);
    const settings = await eventually(async () => {
      const r = await fetch(`http://127.0.0.1:${uiPort}/api/v1/settings`);
      return r.ok && ((await r.json()) as { Codec: { Endpoint: string } });
    }, 30_000, 'the Temporal UI settings');
    expect(settings.Codec.Endpoint).toBe('https://countersign.example.com/codec');
  });
});
