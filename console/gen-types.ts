/**
 * The console's API types, generated from the API's own OpenAPI document (api/openapi.ts
 * `buildOpenApi`) with openapi-typescript into console/src/api-types.ts, which is committed.
 *
 *   npm run console:types            write the file
 *   npm run console:types -- --check exit 1 when the committed file is not what the document gives
 *
 * test/integration/console-types.test.ts runs the check, so a change to the API's schemas
 * without regenerating fails the tests.
 */
import fs from 'node:fs';
import path from 'node:path';
import { buildOpenApi } from '../api/openapi';

export const TYPES_FILE = path.join(__dirname, 'src', 'api-types.ts');

const HEADER = `/**
 * Generated from /openapi.json by console/gen-types.ts (npm run console:types). Do not edit:
 * change the API's schemas and regenerate.
 */
/* eslint-disable */
`;

/** The file's text as the current document gives it. */
export async function generatedTypes(): Promise<string> {
  const { default: openapiTS, astToString } = await import('openapi-typescript');
  const ast = await openapiTS(buildOpenApi() as never, { alphabetize: false });
  return HEADER + astToString(ast);
}

if (require.main === module) {
  generatedTypes().then(
    (text) => {
      if (process.argv.includes('--check')) {
        const current = fs.existsSync(TYPES_FILE) ? fs.readFileSync(TYPES_FILE, 'utf8') : '';
        if (current !== text) {
          console.error(`${path.relative(process.cwd(), TYPES_FILE)} is not current: run npm run console:types`);
          process.exit(1);
        }
        console.log(`${path.relative(process.cwd(), TYPES_FILE)} is current`);
        return;
      }
      fs.writeFileSync(TYPES_FILE, text);
      console.log(`wrote ${path.relative(process.cwd(), TYPES_FILE)}`);
    },
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
