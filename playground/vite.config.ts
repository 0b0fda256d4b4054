// The playground as a static site: `pnpm playground build` writes playground/dist/ (index.html
// at its root, relative asset paths so it can be served from any folder); `pnpm playground
// dev` serves it with reloads. The workspace packages are taken from their TypeScript sources
// (the "source" export condition), so no package build is needed first.
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: './',
  resolve: { conditions: ['source', 'browser', 'module', 'import', 'default'] },
  build: { outDir: 'dist', emptyOutDir: true, target: 'es2022' },
  server: { host: '127.0.0.1' },
});
