// The module graph of every package. No runtime import cycle (type-only imports are erased by
// the compiler and do not count; dpdm's `transform` drops them), so the order in which a
// program first touches the modules never matters; and, to prove it, every built module
// loads as the first import of a fresh Node process.

import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseCircular, parseDependencyTree } from 'dpdm';
import { beforeAll, describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const PACKAGES = ['tensor', 'nn', 'aitm'];

function filesUnder(dir: string, keep: (f: string) => boolean): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p, keep));
    else if (keep(p)) out.push(p);
  }
  return out.sort();
}

/**
 * Runtime import cycles among `entries` and what they import, as paths relative to the repo.
 * Imports resolve through `cwd`'s tsconfig.json (which maps './x.js' to x.ts); an import that
 * does not resolve would hide its edges, so that is an error too.
 */
async function runtimeCycles(entries: string[], cwd: string): Promise<string[][]> {
  const tree = await parseDependencyTree(entries, { context: cwd, cwd, transform: true, skipDynamicImports: false });
  const unresolved = Object.entries(tree).flatMap(([file, deps]) =>
    (deps ?? []).filter((d) => d.id === null && d.request.startsWith('.')).map((d) => `${file}: '${d.request}'`),
  );
  expect(unresolved, 'relative imports the cycle check could not resolve').toEqual([]);
  return parseCircular(tree).map((cycle) => cycle.map((f) => relative(root, join(cwd, f))));
}

describe('import graph', () => {
  it('the cycle check finds a runtime cycle, and ignores one made only of type imports', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aitm-cycle-'));
    try {
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true } }));
      writeFileSync(join(dir, 'a.ts'), "import { b } from './b.js';\nexport const a = () => b;\n");
      writeFileSync(join(dir, 'b.ts'), "import { a } from './a.js';\nexport const b = () => a;\n");
      writeFileSync(join(dir, 'c.ts'), "import type { D } from './d.js';\nexport interface C { d?: D }\n");
      writeFileSync(join(dir, 'd.ts'), "import type { C } from './c.js';\nexport interface D { c?: C }\n");
      const cycles = await runtimeCycles([join(dir, 'a.ts'), join(dir, 'c.ts')], dir);
      expect(cycles.map((c) => c.map((f) => f.split('/').pop()).sort())).toEqual([['a.ts', 'b.ts']]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const pkg of [...PACKAGES.map((p) => `packages/${p}`), 'bench']) {
    it(`${pkg} has no runtime import cycle`, async () => {
      const src = pkg === 'bench' ? join(root, pkg) : join(root, pkg, 'src');
      const entries = filesUnder(src, (f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.includes('node_modules') && !f.includes('/dist/'));
      expect(entries.length).toBeGreaterThan(5);
      expect(await runtimeCycles(entries, root)).toEqual([]);
    });
  }
});

describe('every built module loads as the first import of a fresh process', () => {
  beforeAll(() => {
    // dist/ as the sources are now (a no-op when setup's build is current).
    execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-b', join(root, 'packages', 'aitm')], { stdio: 'pipe' });
  }, 300_000);

  for (const pkg of PACKAGES) {
    it(`@aitm/${pkg}`, async () => {
      const modules = filesUnder(join(root, 'packages', pkg, 'dist'), (f) => f.endsWith('.js'));
      expect(modules.length).toBeGreaterThan(5);
      const failures: string[] = [];
      // Two at a time: each is a whole Node start-up on a 2-core machine.
      const queue = [...modules];
      const worker = async (): Promise<void> => {
        for (let m = queue.shift(); m !== undefined; m = queue.shift()) {
          // --help: the CLI module runs its command line when loaded; this makes it print usage and exit 0.
          const r = await run(['--input-type=module', '-e', 'await import(process.argv[1])', pathToFileURL(m).href, '--help']);
          if (r.code !== 0) failures.push(`${relative(root, m)} (exit ${r.code}): ${r.stderr.split('\n').slice(0, 4).join(' | ')}`);
        }
      };
      await Promise.all([worker(), worker()]);
      expect(failures).toEqual([]);
    }, 600_000);
  }
});

function run(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr }));
  });
}
