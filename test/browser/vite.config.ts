// Builds the browser parity page (parity.html) for test/browser.test.ts, from the packages'
// TypeScript sources.
import { defineConfig } from 'vite';

export default defineConfig({
  root: __dirname,
  base: './',
  resolve: { conditions: ['source', 'browser', 'module', 'import', 'default'] },
  build: { target: 'es2022', emptyOutDir: true, rollupOptions: { input: { parity: `${__dirname}/parity.html` } } },
  logLevel: 'warn',
});
