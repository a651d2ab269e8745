import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The console is served by the API process at /console (api/routes/console.ts), from dist/.
// Preact through the automatic JSX runtime: no framework plugin needed.
const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/console/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Modern browsers only (evergreen Chromium, Firefox, Safari): no legacy bundle, smaller files.
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: false,
  },
  logLevel: 'warn',
});
