#!/usr/bin/env node
// `countersign` runs the TypeScript sources through tsx (no build step).
require('tsx/cjs');
require('./index.ts')
  .main(process.argv.slice(2))
  .then((code) => process.exit(code ?? 0))
  .catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
