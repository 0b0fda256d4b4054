// The docs must be true: every ```ts block in docs/*.md compiles (strict tsc) and runs as
// written, each as its own program; a block whose first line is `// not run: <reason>` is
// only type-checked. And `pnpm run docs` (typedoc) must pass: it fails on an undocumented
// export of a package entry or a broken link. (Plain `pnpm docs` is pnpm's own command,
// which opens a package's homepage: the script must be run with `run`.)

import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { disposeWebGpu, setBackend } from '@aitm/tensor';

const root = fileURLToPath(new URL('..', import.meta.url));
const docsDir = join(root, 'docs');
// Inside the workspace, so `@aitm/*` imports resolve as they do for a user of the packages.
const genDir = join(root, 'test', '.docs-gen');

interface Block {
  readonly page: string;
  readonly index: number;
  readonly line: number;
  readonly code: string;
  /** The reason given by a leading `// not run: <reason>`, or null for a block that runs. */
  readonly notRun: string | null;
}

function blocks(): Block[] {
  const out: Block[] = [];
  for (const page of readdirSync(docsDir).filter((f) => f.endsWith('.md')).sort()) {
    const text = readFileSync(join(docsDir, page), 'utf8');
    let index = 0;
    for (const m of text.matchAll(/^```ts\n([\s\S]*?)^```$/gm)) {
      const code = m[1]!;
      const line = text.slice(0, m.index).split('\n').length;
      const notRun = /^\/\/ not run: (.+)/.exec(code.split('\n')[0]!)?.[1] ?? null;
      out.push({ page, index: index++, line, code, notRun });
    }
  }
  return out;
}

const all = blocks();
const fileOf = (b: Block): string => join(genDir, `${b.page.replace(/\.md$/, '')}-${b.index}.ts`);

rmSync(genDir, { recursive: true, force: true });
mkdirSync(genDir, { recursive: true });
for (const b of all) writeFileSync(fileOf(b), `// ${b.page}, the block at line ${b.line}\n${b.code}`);
writeFileSync(
  join(genDir, 'tsconfig.json'),
  JSON.stringify({
    extends: '../../tsconfig.base.json',
    compilerOptions: { noEmit: true, composite: false, declaration: false, declarationMap: false, customConditions: ['source'], lib: ['ES2023', 'DOM'], types: ['node'] },
    include: ['*.ts'],
  }),
);

afterAll(() => {
  disposeWebGpu();
  rmSync(genDir, { recursive: true, force: true });
});

// Each block runs as in a fresh program: new tensors on the CPU until one calls initBackend.
beforeEach(() => setBackend('cpu'));

describe('docs/*.md', () => {
  it('has ts blocks on the tour and the PyTorch page', () => {
    expect(all.filter((b) => b.page === 'tour.md').length).toBeGreaterThanOrEqual(6);
    expect(all.filter((b) => b.page === 'coming-from-pytorch.md').length).toBeGreaterThanOrEqual(1);
  });

  it('every ts block type-checks (strict)', { timeout: 300_000 }, () => {
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    let output = '';
    try {
      execFileSync(process.execPath, [tsc, '-p', join(genDir, 'tsconfig.json')], { cwd: root, stdio: 'pipe' });
    } catch (e) {
      output = String((e as { stdout?: Buffer }).stdout ?? e);
    }
    expect(output).toBe('');
  });

  for (const b of all) {
    const name = `${b.page} block ${b.index + 1} (line ${b.line})`;
    // A block marked `// not run: <reason>` is only type-checked (the test above).
    if (b.notRun !== null) continue;
    it(`${name} runs as written`, { timeout: 120_000 }, async () => {
      const log = vi.spyOn(console, 'log').mockImplementation(() => {});
      try {
        await import(/* @vite-ignore */ fileOf(b));
        expect(log).toHaveBeenCalled();
        if (b.page === 'tour.md' && b.index === 0) expect(log.mock.calls[0]).toEqual([14, [2, 4, 6]]);
      } finally {
        log.mockRestore();
      }
    });
  }
});

describe('pnpm run docs (the API reference)', () => {
  it('builds with every public export documented and no broken link', { timeout: 600_000 }, () => {
    let output = '';
    let failed = false;
    try {
      output = execFileSync('pnpm', ['run', 'docs'], { cwd: root, stdio: 'pipe', encoding: 'utf8' });
    } catch (e) {
      failed = true;
      output = `${(e as { stdout?: string }).stdout ?? ''}${(e as { stderr?: string }).stderr ?? ''}`;
    }
    expect(failed ? output : '').toBe('');
    expect(output).not.toMatch(/\[warning\]/);
  });
});
