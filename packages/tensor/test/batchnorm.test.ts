// The fused batch-norm ops (with and without the fused relu) against the same normalisation
// composed from primitive ops (CPU float64), and WebGPU against the CPU.

import { afterAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { gpuAvailable } from './gpu.js';
import { expectClose } from './helpers.js';

const gpu = await gpuAvailable();
afterAll(() => T.disposeWebGpu());

/** Batch norm from primitives: the reference. */
function composed(x: Tensor, w: Tensor, b: Tensor, eps: number): Tensor {
  const mean = T.mean(x, 0, true);
  const c = T.sub(x, mean);
  const v = T.mean(T.mul(c, c), 0, true);
  return T.add(T.mul(T.div(c, T.sqrt(T.add(v, eps))), w), b);
}

const gen = new T.Generator(21);
const data = (shape: number[]) => T.randn(shape, { dtype: 'float64', generator: gen, mean: 3, std: 2 }).dataSync();

describe('fused batchNorm (CPU float64) vs composed ops', () => {
  for (const act of ['none', 'relu'] as const) {
    it(`act ${act}: forward and the gradients of x, w and b (mean 0 data, so the relu cuts about half)`, () => {
      const [n, c] = [11, 4];
      const g = new T.Generator(5);
      const arr = (shape: number[]) => T.randn(shape, { dtype: 'float64', generator: g }).dataSync();
      const [xs, ws, bs, ups] = [arr([n, c]), arr([c]), arr([c]), arr([n, c])];
      const run = (fused: boolean) => {
        const x = T.tensor(xs, { shape: [n, c], dtype: 'float64', requiresGrad: true });
        const w = T.tensor(ws, { dtype: 'float64', requiresGrad: true });
        const b = T.tensor(bs, { dtype: 'float64', requiresGrad: true });
        const y = fused ? T.batchNorm(x, w, b, 1e-5, act) : act === 'relu' ? T.relu(composed(x, w, b, 1e-5)) : composed(x, w, b, 1e-5);
        y.backward(T.tensor(ups, { shape: [n, c], dtype: 'float64' }));
        return [y, x.grad!, w.grad!, b.grad!].map((t) => t.dataSync());
      };
      const [fused, ref] = [run(true), run(false)];
      if (act === 'relu') expect(Array.from(fused[0]!).filter((v) => v === 0).length).toBeGreaterThan(10);
      fused.forEach((f, i) => expectClose(f, ref[i]!, 1e-12, 1e-10));
    });
  }

  it('forward, gradients of x, w and b, and batch statistics', () => {
    const [n, c] = [9, 5];
    const xs = data([n, c]);
    const ws = data([c]);
    const bs = data([c]);
    const ups = data([n, c]);
    const run = (fn: typeof composed) => {
      const x = T.tensor(xs, { shape: [n, c], dtype: 'float64', requiresGrad: true });
      const w = T.tensor(ws, { dtype: 'float64', requiresGrad: true });
      const b = T.tensor(bs, { dtype: 'float64', requiresGrad: true });
      const y = fn(x, w, b, 1e-5);
      y.backward(T.tensor(ups, { shape: [n, c], dtype: 'float64' }));
      return [y, x.grad!, w.grad!, b.grad!].map((t) => t.dataSync());
    };
    const fused = run((x, w, b, eps) => T.batchNorm(x, w, b, eps));
    const ref = run(composed);
    fused.forEach((f, i) => expectClose(f, ref[i]!, 1e-12, 1e-10));
    const stats = T.batchStats(T.tensor(xs, { shape: [n, c], dtype: 'float64' })).dataSync();
    const x = T.tensor(xs, { shape: [n, c], dtype: 'float64' });
    const mean = T.mean(x, 0);
    expectClose(stats.subarray(0, c), mean.dataSync(), 1e-12, 1e-12);
    expectClose(stats.subarray(c), T.mean(T.pow(T.sub(x, mean), 2), 0).dataSync(), 1e-12, 1e-12);
  });

  it('updates running statistics in place when given them (PyTorch: unbiased variance, counter + 1)', async () => {
    const backends: T.BackendName[] = gpu ? ['cpu', 'webgpu'] : ['cpu'];
    const [n, c, m] = [13, 6, 0.3];
    const xs = data([n, c]);
    const x64 = T.tensor(xs, { shape: [n, c], dtype: 'float64' });
    const mean = T.mean(x64, 0).dataSync();
    const unbiased = T.div(T.sum(T.pow(T.sub(x64, T.mean(x64, 0)), 2), 0), n - 1).dataSync();
    for (const backend of backends) {
      const dtype = backend === 'cpu' ? 'float64' : 'float32';
      const on = { dtype, backend } as const;
      const running = { mean: T.full([c], 0.5, on), variance: T.full([c], 2, on), count: T.tensor(4, { dtype: 'int32', backend }), momentum: m };
      T.batchNorm(T.tensor(xs, { shape: [n, c], ...on }), T.ones([c], on), T.zeros([c], on), 1e-5, 'relu', running);
      const tol = backend === 'cpu' ? 1e-12 : 1e-4;
      expectClose(await running.mean.data(), Array.from(mean, (v) => (1 - m) * 0.5 + m * v), tol, tol);
      expectClose(await running.variance.data(), Array.from(unbiased, (v) => (1 - m) * 2 + m * v), tol, tol);
      expect(await running.count.item()).toBe(5);
    }
  });

  it('eval mode (batchNormEval) equals the composed formula with running statistics, on every backend', async () => {
    const [n, c] = [10, 7];
    const g = new T.Generator(8);
    const arr = (shape: number[], pos = false) => Array.from(T.randn(shape, { dtype: 'float64', generator: g }).dataSync(), (v) => (pos ? 0.3 + Math.abs(v) : v));
    const [xs, rm, rv, ws, bs] = [arr([n, c]), arr([c]), arr([c], true), arr([c]), arr([c])];
    const t64 = (d: number[], shape: number[]) => T.tensor(d, { shape, dtype: 'float64' });
    for (const act of ['none', 'relu'] as const) {
      const z = T.add(T.mul(T.div(T.sub(t64(xs, [n, c]), t64(rm, [c])), T.sqrt(T.add(t64(rv, [c]), 1e-5))), t64(ws, [c])), t64(bs, [c]));
      const want = (act === 'relu' ? T.relu(z) : z).dataSync();
      for (const backend of (gpu ? ['cpu', 'webgpu'] : ['cpu']) as T.BackendName[]) {
        const dtype = backend === 'cpu' ? 'float64' : 'float32';
        const t = (d: number[], shape: number[]) => T.tensor(d, { shape, dtype, backend });
        const got = await T.batchNormEval(t(xs, [n, c]), t(rm, [c]), t(rv, [c]), t(ws, [c]), t(bs, [c]), 1e-5, act).data();
        const tol = backend === 'cpu' ? 1e-12 : 1e-5;
        expectClose(got, want, tol, tol);
      }
    }
  });

  it('rejects inputs that are not [N, C] and mismatched channels', () => {
    expect(() => T.batchNorm(T.zeros([2, 3, 4]), T.ones([3]), T.zeros([3]))).toThrow('batchNorm: expected a 2-D input [N, C], got [2,3,4]');
    expect(() => T.batchNorm(T.zeros([2, 3]), T.ones([4]), T.zeros([3]))).toThrow(/per-channel tensor \[4\] float32 does not match input \[2,3\]/);
  });
});

describe.skipIf(!gpu)('fused batchNorm on WebGPU vs CPU float64', () => {
  for (const [n, c, act] of [[2048, 64, 'none'], [7, 3, 'none'], [1, 5, 'none'], [130, 33, 'none'], [2048, 64, 'relu'], [130, 33, 'relu']] as const) {
    it(`[${n}, ${c}] act ${act}: forward, backward and statistics`, async () => {
      const xs = data([n, c]);
      const ws = data([c]);
      const bs = data([c]);
      const ups = data([n, c]);
      const run = async (backend: T.BackendName, dtype: T.DType) => {
        const x = T.tensor(xs, { shape: [n, c], dtype, backend, requiresGrad: true });
        const w = T.tensor(ws, { dtype, backend, requiresGrad: true });
        const b = T.tensor(bs, { dtype, backend, requiresGrad: true });
        const y = T.batchNorm(x, w, b, 1e-5, act);
        y.backward(T.tensor(ups, { shape: [n, c], dtype, backend }));
        return Promise.all([y, x.grad!, w.grad!, b.grad!, T.batchStats(x.detach())].map((t) => t.data()));
      };
      const got = await run('webgpu', 'float32');
      const want = await run('cpu', 'float64');
      // A column of N values is summed several times in f32: tolerance grows with sqrt(N).
      const tol = 2e-5 * Math.sqrt(n);
      got.forEach((g, i) => {
        const scale = Array.from(want[i]!).reduce((m, v) => Math.max(m, Math.abs(v)), 1);
        expectClose(g, want[i]!, tol * scale, tol);
      });
    });
  }
});
