// Every TypeScript block of every README (README.md, packages/*/README.md) must run exactly
// as written (and type-check: see the last test). A block that truly cannot run here starts with
// `// not run: <reason>` (the browser-only one, which test/browser.test.ts runs). The first
// tests check what two blocks print against closed forms; the last runs all the others.

import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { setBackend } from '@aitm/tensor';

// Each block runs as in a fresh program: new tensors on the CPU until one calls initBackend.
beforeEach(() => setBackend('cpu'));

it('the README example runs as written and prints a loss and a gradient', async () => {
  const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
  const block = /## The library in ten lines\s+```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(block).toBeDefined();
  const code = block!;
  expect(code.trim().split('\n').length).toBeLessThanOrEqual(10);
  const file = fileURLToPath(new URL('./.readme-example.gen.ts', import.meta.url));
  writeFileSync(file, code);
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  try {
    await import(/* @vite-ignore */ file);
    expect(log).toHaveBeenCalledTimes(1);
    const [loss, grad] = log.mock.calls[0] as [number, number[][]];
    expect(loss).toBeGreaterThan(0);
    expect(loss).toBeLessThan(1);
    expect(grad).toHaveLength(3);
    expect(grad.every((r) => r.length === 1 && Number.isFinite(r[0]))).toBe(true);
  } finally {
    log.mockRestore();
    rmSync(file, { force: true });
  }
});

it("the tensor README's double-backward example runs as written and matches the closed forms", async () => {
  const readme = readFileSync(fileURLToPath(new URL('../packages/tensor/README.md', import.meta.url)), 'utf8');
  const block = /## Autograd: what it guarantees[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(block).toBeDefined();
  const file = fileURLToPath(new URL('./.readme-autograd.gen.ts', import.meta.url));
  writeFileSync(file, block!);
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  try {
    await import(/* @vite-ignore */ file);
    expect(log).toHaveBeenCalledTimes(1);
    const [hv, d2] = log.mock.calls[0] as [number[], number[]];
    // f = sum(tanh(x)^2): the Hessian is diagonal, 2 (1 - t^2)(1 - 3 t^2) with t = tanh(x).
    const h = (x: number) => {
      const t = Math.tanh(x);
      return 2 * (1 - t * t) * (1 - 3 * t * t);
    };
    expect(hv[0]).toBeCloseTo(h(0.5), 12);
    expect(hv[1]).toBe(0);
    expect(d2[0]).toBeCloseTo(h(0.5), 12);
    expect(d2[1]).toBeCloseTo(h(-1), 12);
  } finally {
    log.mockRestore();
    rmSync(file, { force: true });
  }
});

const builtCli = fileURLToPath(new URL('../packages/aitm/dist/cli.js', import.meta.url));
// The built CLI exists wherever the README's test command ran its set-up (scripts/setup.sh builds).
it.runIf(existsSync(builtCli))("the README's import and predict commands run as written (through the built CLI)", async () => {
  const { mkdtempSync } = await import('node:fs');
  const { execFileSync } = await import('node:child_process');
  const { join } = await import('node:path');
  const root = fileURLToPath(new URL('..', import.meta.url));
  const cli = builtCli;
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## PyTorch and torch-rechub checkpoints, both ways'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)![1]!.replace(/\\\n\s*/g, '');
  const scratch = mkdtempSync(join((await import('node:os')).tmpdir(), 'readme-import-'));
  for (const line of block.trim().split('\n')) {
    const args = line.trim().split(/\s+/);
    expect(args.slice(0, 2)).toEqual(['pnpm', 'aitm']);
    // runs/... outputs go to a scratch folder instead of the checkout.
    const mapped = args.slice(2).map((a) => (a.startsWith('runs/') ? join(scratch, a) : a));
    execFileSync(process.execPath, [cli, ...mapped], { cwd: root, stdio: 'pipe' });
  }
  expect(existsSync(join(scratch, 'runs/imported/model.safetensors'))).toBe(true);
  expect(readFileSync(join(scratch, 'runs/imported-predictions.csv'), 'utf8').split('\n')[0]).toBe('click,purchase');
});


/** Every ```ts block of the root README and the packages' READMEs, with where it comes from. */
function readmeBlocks(): { file: string; index: number; code: string }[] {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const files = ['README.md', ...readdirSync(join(root, 'packages')).map((p) => join('packages', p, 'README.md'))].filter((f) => existsSync(join(root, f)));
  const out: { file: string; index: number; code: string }[] = [];
  for (const file of files) {
    const text = readFileSync(join(root, file), 'utf8');
    let index = 0;
    for (const m of text.matchAll(/^```ts\n([\s\S]*?)^```$/gm)) out.push({ file, index: index++, code: m[1]! });
  }
  return out;
}

/** What some blocks print, checked beyond running (the key: file and block number). */
const PRINTS: Record<string, (calls: unknown[][]) => void> = {
  'packages/nn/README.md block 1': (calls) => {
    expect(calls.map((c) => c[0])).toEqual([0, 50]);
    for (const [, loss] of calls) expect(loss).toBeGreaterThan(0);
  },
  'packages/nn/README.md block 2': (calls) => {
    expect(calls.at(-1)![0]).toEqual(['shared.weight', 'shared.bias', 'ctr.weight', 'ctr.bias', 'cvr.weight', 'cvr.bias']);
  },
  'packages/aitm/README.md block 1': (calls) => {
    const [labels, click, purchase] = calls[0] as [string[], number[], number[]];
    expect(labels).toEqual(['click', 'purchase']);
    for (const p of [...click, ...purchase]) expect(p > 0 && p < 1).toBe(true);
    // The same rows with labels (data.csv) predict the same: the labels are not read.
    const torch = readFileSync(fileURLToPath(new URL('../packages/aitm/test/fixtures/reverse/torch-predictions.csv', import.meta.url)), 'utf8').trim().split('\n').slice(1, 4);
    torch.forEach((line, i) => {
      const [c, p] = line.split(',').map(Number) as [number, number];
      expect(click[i]).toBeCloseTo(c, 5);
      expect(purchase[i]).toBeCloseTo(p, 5);
    });
  },
};

describe('every TypeScript block of every README runs as written', () => {
  const blocks = readmeBlocks();
  it('finds the blocks (README.md, packages/tensor, packages/nn, packages/aitm)', () => {
    const files = new Set(blocks.map((b) => b.file));
    for (const f of ['README.md', 'packages/tensor/README.md', 'packages/nn/README.md', 'packages/aitm/README.md']) expect(files).toContain(f);
    // Only the browser-only block is skipped, and it says why.
    const skipped = blocks.filter((b) => b.code.startsWith('// not run:'));
    expect(skipped.map((b) => b.file)).toEqual(['README.md']);
    expect(skipped[0]!.code).toMatch(/^\/\/ not run: browser-only .*test\/browser\.test\.ts/);
  });

  for (const { file, index, code } of blocks) {
    const name = `${file} block ${index + 1}`;
    it.skipIf(code.startsWith('// not run:'))(`${name} runs`, async () => {
      // Files the block writes go to a scratch folder; the repository's packages/ is linked
      // there so the block's relative paths to fixtures resolve as from the repository root.
      const root = fileURLToPath(new URL('..', import.meta.url));
      const scratch = mkdtempSync(join(tmpdir(), 'readme-block-'));
      symlinkSync(join(root, 'packages'), join(scratch, 'packages'));
      const gen = fileURLToPath(new URL(`./.readme-block-${file.replace(/[^a-z]/gi, '-')}-${index}.gen.ts`, import.meta.url));
      writeFileSync(gen, code);
      const log = vi.spyOn(console, 'log').mockImplementation(() => {});
      const cwd = process.cwd();
      process.chdir(scratch);
      try {
        await import(/* @vite-ignore */ gen);
        PRINTS[name]?.(log.mock.calls);
      } finally {
        process.chdir(cwd);
        log.mockRestore();
        rmSync(gen, { force: true });
        rmSync(scratch, { recursive: true, force: true });
      }
    });
  }
});

const builtTypes = fileURLToPath(new URL('../packages/aitm/dist/node.d.ts', import.meta.url));
// Type-checks against the built declarations (dist/), wherever pnpm build ran (setup.sh builds).
it.runIf(existsSync(builtTypes))('every TypeScript block of every README type-checks (strict), the browser one included', async () => {
  const { execFileSync } = await import('node:child_process');
  const dir = fileURLToPath(new URL('./.readme-typecheck/', import.meta.url));
  rmSync(dir, { recursive: true, force: true });
  const { mkdirSync } = await import('node:fs');
  mkdirSync(dir, { recursive: true });
  const names = readmeBlocks().map(({ file, index, code }) => {
    const name = `${file.replace(/[^a-z]/gi, '-')}-${index}.ts`;
    writeFileSync(join(dir, name), code);
    return name;
  });
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2023', 'DOM'], types: ['node'], skipLibCheck: true },
      files: names,
    }),
  );
  const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));
  try {
    execFileSync(process.execPath, [tsc, '-p', dir], { stdio: 'pipe' });
  } catch (e) {
    throw new Error(`a README block does not type-check:\n${(e as { stdout?: Buffer }).stdout?.toString()}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
