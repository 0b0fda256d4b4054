// The README's library example must run exactly as written.

import { existsSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeEach, expect, it, vi } from 'vitest';
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
