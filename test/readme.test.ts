// The README's library example must run exactly as written.

import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it, vi } from 'vitest';

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
