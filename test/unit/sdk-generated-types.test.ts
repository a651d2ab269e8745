import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GENERATED_TYPES_PATH, renderOpenApiTypes } from '../../sdk/scripts/openapi-types';

// The SDK's request and answer types are generated from the API's OpenAPI document; a schema
// change that is not regenerated would ship an SDK whose types lie about the API.
describe('@countersign/sdk generated types', () => {
  it('when the API schemas change, then sdk/src/generated/openapi.ts must be regenerated (npm run generate -w sdk)', async () => {
    const committed = fs.readFileSync(path.join(__dirname, '..', '..', GENERATED_TYPES_PATH), 'utf8');
    const fresh = await renderOpenApiTypes();
    // A diff here means: run `npm run generate -w sdk` and commit the file.
    expect(committed === fresh, 'sdk/src/generated/openapi.ts is stale: run `npm run generate -w sdk`').toBe(true);
  });

  it('when generated, then the types name the ActionView statuses the client waits on', async () => {
    const text = await renderOpenApiTypes();
    expect(text).toMatch(/status: "evaluating" \| "awaiting_approval" \| "approved" \| "executing" \| "succeeded" \| "failed" \| "denied" \| "expired" \| "cancelled"/);
  });
});
