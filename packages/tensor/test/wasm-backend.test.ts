// The wasm backend: its SIMD products against the float64 CPU oracle on awkward shapes, its
// memory (freed deterministically, flat over a training loop, growth, and running out named
// with the bytes), and the README's list of which ops have SIMD kernels.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import { WasmBackend } from '../src/backends/wasm/backend.js';
import { instantiateKernels, newMemory } from '../src/backends/wasm/module.js';

beforeAll(async () => {
  await T.initWasm();
});

/** Deterministic values in [-1, 1) (a Generator, so the test needs no fixture). */
function values(n: number, seed: number): number[] {
  const g = new T.Generator(seed);
  return Array.from({ length: n }, () => 2 * g.uniform() - 1);
}

describe('wasm bmm against the float64 CPU oracle', () => {
  // Sizes around the 4-row and 8-column blocks, K = 0 and 1, and all transposes; one output
  // column (N = 1: the dot-product kernel where A is row-major) with K around its 4-wide blocks.
  const SIZES: [number, number, number, number][] = [
    [1, 1, 1, 1], [1, 3, 5, 7], [2, 4, 8, 8], [1, 5, 9, 9], [3, 7, 13, 17], [1, 33, 1, 31], [1, 9, 0, 10], [2, 64, 52, 64], [1, 130, 70, 33],
    [2, 37, 19, 1], [1, 9, 4, 1], [1, 130, 70, 1], [1, 6, 0, 1],
  ];
  for (const [b, m, k, n] of SIZES) {
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      it(`[${b}] ${ta ? 'A^T' : 'A'} ${m}x${k} @ ${tb ? 'B^T' : 'B'} ${k}x${n}`, async () => {
        const aShape = ta ? [b, k, m] : [b, m, k];
        const bShape = tb ? [b, n, k] : [b, k, n];
        const av = values(b * m * k, 1 + m);
        const bv = values(b * k * n, 2 + n);
        const want = T.bmm(T.tensor(av, { shape: aShape, dtype: 'float64', backend: 'cpu' }), T.tensor(bv, { shape: bShape, dtype: 'float64', backend: 'cpu' }), ta, tb);
        const got = T.bmm(T.tensor(av, { shape: aShape, backend: 'wasm' }), T.tensor(bv, { shape: bShape, backend: 'wasm' }), ta, tb);
        expect(got.shape).toEqual(want.shape);
        const w = want.dataSync();
        const g = await got.data();
        for (let i = 0; i < w.length; i++) expect(Math.abs(g[i]! - w[i]!)).toBeLessThan(1e-5 * Math.max(1, k));
      });
    }
  }

  it('linear with bias and each activation matches its composed reference on the CPU (11 outputs, and 1)', async () => {
    for (const out of [11, 1]) {
      for (const act of ['none', 'relu', 'sigmoid'] as const) {
        const xv = values(37 * 19, 3).map((v) => 4 * v); // pre-activations of both signs, sigmoid off its middle
        const wv = values(out * 19, 4);
        const bv = values(out, 5);
        const cpu = (v: number[], shape: number[]) => T.tensor(v, { shape, dtype: 'float64', backend: 'cpu' });
        const want = T.linear(cpu(xv, [37, 19]), cpu(wv, [out, 19]), cpu(bv, [out]), act).dataSync();
        const got = T.linear(T.tensor(xv, { shape: [37, 19], backend: 'wasm' }), T.tensor(wv, { shape: [out, 19], backend: 'wasm' }), T.tensor(bv, { shape: [out], backend: 'wasm' }), act).dataSync();
        expect(got.length).toBe(37 * out);
        for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!), `${out} outputs, ${act}, element ${i}`).toBeLessThan(2e-5);
      }
    }
  });
});

describe('wasm memory', () => {
  it('a training loop (forward, backward, Adam step) keeps live blocks and bytes flat', () => {
    const w = T.tensor(values(64 * 32, 6), { shape: [64, 32], backend: 'wasm', requiresGrad: true });
    const m = T.zeros([64, 32], { backend: 'wasm' });
    const v = T.zeros([64, 32], { backend: 'wasm' });
    const x = T.tensor(values(256 * 64, 7), { shape: [256, 64], backend: 'wasm' });
    const step = (t: number) => {
      T.tidy(() => {
        const loss = T.mean(T.relu(T.matmul(x, w)).pow(2));
        loss.backward();
      });
      T.adamStep_(w, w.grad!, m, v, { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false, step: t });
      w.grad!.dispose();
      w.grad = null;
    };
    step(1);
    const before = { ...T.memory('wasm') };
    for (let t = 2; t <= 30; t++) step(t);
    const after = T.memory('wasm');
    expect(after.tensors).toBe(before.tensors);
    expect(after.buffers).toBe(before.buffers);
    expect(after.bytes).toBe(before.bytes);
    for (const t of [w, m, v, x]) t.dispose();
  });

  it('reuses freed blocks of a size class, grows the memory when needed, and names the bytes when it cannot', async () => {
    const memory = newMemory(2, 4);
    const { kernels, flavour } = await instantiateKernels(memory);
    const backend = new WasmBackend(memory, kernels, flavour, 4 * 65536);
    const a = backend.alloc(1000, 'float32');
    backend.free(a);
    const b = backend.alloc(900, 'float32'); // the same 4 KiB class
    expect(b.ptr).toBe(a.ptr);
    expect(backend.pool().memoryBytes).toBe(2 * 65536);
    const grown = backend.alloc(20_000, 'float32'); // a 128 KiB block: past the first 2 pages
    expect(backend.pool().memoryBytes).toBe(4 * 65536);
    expect(backend.memory()).toEqual({ buffers: 2, bytes: 4096 + 131072 });
    expect(() => backend.alloc(20_000, 'float32')).toThrow(
      /wasm backend: out of memory: a tensor of 80000 bytes needs the linear memory to reach 331776 bytes, over its limit of 262144 bytes \(135168 bytes held by live tensors\)/,
    );
    backend.free(grown);
    backend.free(b);
    expect(backend.memory()).toEqual({ buffers: 0, bytes: 0 });
  });
});

describe('the README lists which ops have SIMD kernels on wasm', () => {
  it('and the list is the registry’s', () => {
    const readme = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('<!-- wasm-simd-ops'), readme.indexOf('<!-- /wasm-simd-ops -->'));
    const listed = [...section.slice(section.indexOf('SIMD (AssemblyScript):'), section.indexOf('(the binary')).matchAll(/`(\w+)`/g)].map((m) => m[1]).sort();
    const simd = [...T.opRegistry].filter(([, def]) => !T.isReferenceOnWasm(def.kernels.wasm)).map(([name]) => name).sort();
    expect(listed).toEqual(simd);
  });
});
