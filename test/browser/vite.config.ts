// Builds the browser parity page (parity.html) for test/browser.test.ts, from the packages'
// TypeScript sources.
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: './',
  resolve: { conditions: ['source', 'browser', 'module', 'import', 'default'] },
  build: { target: 'es2022', emptyOutDir: true, rollupOptions: { input: { parity: `${import.meta.dirname}/parity.html` } } },
  logLevel: 'warn',
});
