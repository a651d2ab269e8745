import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GENERATED_TYPES_PATH, renderOpenApiTypes } from './openapi-types';

// `npm run generate -w sdk`: rewrite sdk/src/generated/openapi.ts from the API's OpenAPI document.
const root = fileURLToPath(new URL('../..', import.meta.url));
renderOpenApiTypes().then(
  (text) => {
    fs.writeFileSync(path.join(root, GENERATED_TYPES_PATH), text);
    console.log(`wrote ${GENERATED_TYPES_PATH}`);
  },
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
