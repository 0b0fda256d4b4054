// Builds bench/browser/speed.html for `pnpm bench browser`, from the packages' sources.
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: './',
  resolve: { conditions: ['source', 'browser', 'module', 'import', 'default'] },
  build: { target: 'es2022', emptyOutDir: true, chunkSizeWarningLimit: 4096, rollupOptions: { input: { speed: `${import.meta.dirname}/speed.html` } } },
  logLevel: 'warn',
});
