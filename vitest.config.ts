// Tests run against the TypeScript sources (the "source" export condition), so
// `pnpm test` needs no build step; `pnpm build` checks the published dist/ separately.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['source', 'module', 'node', 'import', 'default'] },
  ssr: { resolve: { conditions: ['source', 'node', 'import', 'default'], externalConditions: ['source'] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    // WebGPU on llvmpipe is one shared device per process; keep files in one
    // fork at a time so two Dawn instances never compete for the 2 cores.
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
