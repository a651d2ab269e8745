import openapiTS, { astToString } from 'openapi-typescript';
import { buildOpenApi } from '../../api/openapi';

/** Where the generated types live, relative to the repository root. */
export const GENERATED_TYPES_PATH = 'sdk/src/generated/openapi.ts';

const HEADER = `/*
 * GENERATED from the Countersign API's /openapi.json by openapi-typescript. Do not edit:
 * run \`npm run generate -w sdk\` after changing the API's schemas (a unit test fails while this
 * file is stale).
 */
`;

/**
 * The SDK's request and answer types, generated from the same OpenAPI document the API serves
 * at /openapi.json (built in-process from the zod schemas, so no server has to run).
 */
export async function renderOpenApiTypes(): Promise<string> {
  // The document as any deployment describes itself; /metrics may move to its own port, which the SDK never calls.
  const ast = await openapiTS(buildOpenApi() as unknown as Parameters<typeof openapiTS>[0], { exportType: false, alphabetize: true });
  return HEADER + astToString(ast);
}
