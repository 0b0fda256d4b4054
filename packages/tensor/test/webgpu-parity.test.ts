// WebGPU against the CPU float64 backend: the elementwise/layout kernels over awkward
// shapes, and gradients of composite graphs. (Every op against the PyTorch fixtures on the
// GPU, forward and gradient, is in test/op-coverage.test.ts.)

import { afterAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { gpuAvailable } from './gpu.js';
import { closeness } from './helpers.js';

const gpu = await gpuAvailable();
afterAll(() => T.disposeWebGpu());

const gen = new T.Generator(99);
/** The same random values on the CPU (float64) and the GPU (float32, rounded from them). */
function pair(shape: number[], opts: { positive?: boolean } = {}): [Tensor, Tensor] {
  const d = T.randn(shape, { dtype: 'float64', generator: gen }).dataSync();
  if (opts.positive) for (let i = 0; i < d.length; i++) d[i] = 0.5 + Math.abs(d[i]!);
  return [T.tensor(d, { shape, dtype: 'float64', backend: 'cpu' }), T.tensor(d, { shape, dtype: 'float32', backend: 'webgpu' })];
}

/** fp32 results vs a float64 reference: relative 1e-5 per op, scaled by an accumulation length. */
async function expectNear(gpuT: Tensor, ref: Tensor | ArrayLike<number>, length = 1): Promise<void> {
  const want = 'dataSync' in ref ? (ref as Tensor).dataSync() : (ref as ArrayLike<number>);
  if ('shape' in ref) expect(gpuT.shape).toEqual((ref as Tensor).shape);
  const got = await gpuT.data();
  const tol = 2e-6 * Math.sqrt(Math.max(length, 1)) * 4;
  const scale = Array.from(want).reduce((m, v) => Math.max(m, Math.abs(v)), 1e-30);
  expect(closeness(got, want, tol * scale * 1e-2, tol)).toBeLessThanOrEqual(1);
}

describe.skipIf(!gpu)('WebGPU elementwise and layout kernels vs CPU float64', () => {
  const shapes: [number[], number[]][] = [
    [[1], [1]],
    [[7], [7]],
    [[13, 1], [1, 17]],
    [[3, 1, 5], [2, 1, 1, 1]],
    [[0, 4], [4]],
    [[2, 3, 4, 5, 3], [5, 1]],
    [[257], []],
  ];
  for (const name of ['add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'gt', 'le', 'eq'] as const) {
    it(`${name} with broadcasting over awkward shapes`, async () => {
      for (const [sa, sb] of shapes) {
        const [ca, ga] = pair(sa);
        const [cb, gb] = name === 'div' ? pair(sb, { positive: true }) : pair(sb);
        await expectNear(T[name](ga, gb), T[name](ca, cb));
      }
    });
  }

  for (const name of ['neg', 'exp', 'log', 'sqrt', 'abs', 'sign', 'sigmoid', 'tanh', 'relu'] as const) {
    it(`${name} over 1, prime, empty and large inputs`, async () => {
      for (const s of [[1], [31], [0], [3, 0, 2], [1021, 3]]) {
        const [c, g] = pair(s, { positive: name === 'log' || name === 'sqrt' });
        await expectNear(T[name](g), T[name](c));
      }
    });
  }

  it('sigmoid and tanh stay finite at extreme inputs', async () => {
    const x = T.tensor([-1000, -90, -20, 0, 20, 90, 1000], { backend: 'webgpu' });
    // exp(-90) is an f32 denormal that the GPU may flush to zero: absolute tolerance 1e-30.
    const want = [0, 8.194012623990515e-40, 2.0611536181902037e-9, 0.5, 1, 1, 1];
    expect(closeness(await T.sigmoid(x).data(), want, 1e-30, 1e-6)).toBeLessThanOrEqual(1);
    expect(Array.from(await T.tanh(x).data())).toEqual([-1, -1, -1, 0, 1, 1, 1]);
  });

  it('parameterised unary ops (leakyRelu, pow, clamp)', async () => {
    const [c, g] = pair([5, 7]);
    await expectNear(T.leakyRelu(g, 0.1), T.leakyRelu(c, 0.1));
    await expectNear(T.clamp(g, -0.3, 0.4), T.clamp(c, -0.3, 0.4));
    await expectNear(T.pow(g, 3), T.pow(c, 3));
    await expectNear(T.pow(g, 2), T.pow(c, 2));
    const [cp, gp] = pair([9], { positive: true });
    await expectNear(T.pow(gp, -1.5), T.pow(cp, -1.5));
  });

  it('int32 elementwise ops stay exact', async () => {
    const a = [3, -7, 1 << 20, 0, 42];
    const b = [2, 5, -3, 0, 42];
    const ga = T.tensor(a, { dtype: 'int32', backend: 'webgpu' });
    const gb = T.tensor(b, { dtype: 'int32', backend: 'webgpu' });
    expect(Array.from(await T.add(ga, gb).data())).toEqual(a.map((v, i) => v + b[i]!));
    expect(Array.from(await T.mul(ga, gb).data())).toEqual(a.map((v, i) => v * b[i]!));
    expect(Array.from(await T.abs(ga).data())).toEqual(a.map(Math.abs));
    expect(Array.from(await T.eq(ga, gb).data())).toEqual([0, 0, 0, 1, 1]);
  });

  it('where broadcasts condition and branches', async () => {
    const [ca, ga] = pair([4, 5]);
    const [cb, gb] = pair([5]);
    const cond = [1, 0, 0, 1];
    const cc = T.tensor(cond, { shape: [4, 1], dtype: 'float64' });
    const gc = T.tensor(cond, { shape: [4, 1], backend: 'webgpu' });
    await expectNear(T.where(gc, ga, gb), T.where(cc, ca, cb));
  });

  it('permute, transpose, expand, slice, pad, concat, stack, cast', async () => {
    const [c, g] = pair([3, 4, 5]);
    await expectNear(T.permute(g, [2, 0, 1]), T.permute(c, [2, 0, 1]));
    await expectNear(T.transpose(g, 0, 2), T.transpose(c, 0, 2));
    await expectNear(T.expand(T.narrow(g, 1, 0, 1), [2, 3, 7, 5]), T.expand(T.narrow(c, 1, 0, 1), [2, 3, 7, 5]));
    await expectNear(T.slice(g, [1, 1, 2], [2, 3, 3]), T.slice(c, [1, 1, 2], [2, 3, 3]));
    await expectNear(T.pad(g, [5, 6, 9], [1, 2, 0]), T.pad(c, [5, 6, 9], [1, 2, 0]));
    const [c2, g2] = pair([3, 2, 5]);
    await expectNear(T.concat([g, g2, g], 1), T.concat([c, c2, c], 1));
    await expectNear(T.stack([g, g], -1), T.stack([c, c], -1));
    const [ce, ge] = pair([0, 5]);
    await expectNear(T.concat([ge, T.narrow(g, 0, 0, 1).reshape([4, 5])], 0), T.concat([ce, T.narrow(c, 0, 0, 1).reshape([4, 5])], 0));
    const ints = await T.cast(T.tensor([1.7, -1.7, 2.5, -0.2], { backend: 'webgpu' }), 'int32').data();
    expect(Array.from(ints)).toEqual([1, -1, 2, 0]);
  });

  it('a dispatch larger than 65535 workgroups in one dimension', async () => {
    const n = 65535 * 256 + 300; // > 65535 workgroups of 256 threads
    const x = T.arange(0, n, 1, { dtype: 'float32', backend: 'webgpu' });
    const y = T.add(x, 1);
    const d = await y.data();
    expect(d[0]).toBe(1);
    expect(d[n - 1]).toBe(Math.fround(n));
    expect(d[65535 * 256]).toBe(Math.fround(65535 * 256 + 1));
    x.dispose();
    y.dispose();
  });
});

describe.skipIf(!gpu)('WebGPU gradients of composite graphs vs CPU float64', () => {
  /** Runs `fn` on both backends, back-propagates sum(fn(...) * r) and compares every input's gradient. */
  async function gradParity(shapes: number[][], fn: (...xs: Tensor[]) => Tensor, length = 1): Promise<void> {
    const pairs = shapes.map((s) => pair(s));
    const cpuIn = pairs.map(([c]) => c.requireGrad());
    const gpuIn = pairs.map(([, g]) => g.requireGrad());
    const yc = fn(...cpuIn);
    const [rc, rg] = pair([...yc.shape]);
    T.sum(T.mul(yc, rc)).backward();
    T.sum(T.mul(fn(...gpuIn), rg)).backward();
    for (let i = 0; i < pairs.length; i++) await expectNear(gpuIn[i]!.grad!, cpuIn[i]!.grad!, length);
  }

  it('broadcast arithmetic and activations', async () => {
    await gradParity([[4, 5], [5], [4, 1]], (a, b, c) => T.tanh(T.add(T.mul(a, b), T.div(T.sigmoid(c), 2))));
  });

  it('concat along a strided axis: one kernel per 15 pieces forward, one split kernel backward', async () => {
    // 3 pieces; and 25 pieces of mixed widths (two forward dispatches, and the split's
    // parameter block overflows into a second pass).
    for (const widths of [[3, 1, 2], Array.from({ length: 25 }, (_, i) => 1 + (i % 3))]) {
      const shapes = widths.map((w) => [5, w, 2]);
      T.gpuCounters(true);
      await gradParity(shapes, (...xs) => T.concat(xs, 1));
      const c = T.gpuCounters()!.dispatchesByOp;
      const perKernel = Math.min(T.webGpuBackend()!.runtime.limits.maxStorageBuffersPerShaderStage - 1, 30);
      expect(c['concat']).toBe(Math.ceil(widths.length / perKernel));
      // Up to 20 pieces fit one split kernel's parameters; beyond, each chunk of 20 is a
      // column gather and a split.
      expect(c['split']).toBe(widths.length <= 20 ? 1 : 2 * Math.ceil(widths.length / 20));
      expect(c['slice'] ?? 0).toBe(0);
    }
  });

  it('layout ops: permute, concat, narrow, expand, where', async () => {
    await gradParity([[2, 3, 4], [2, 1, 4]], (a, b) => {
      const cat = T.concat([a, b], 1);
      const p = T.permute(cat, [2, 0, 1]);
      return T.where(T.gt(T.narrow(p, 2, 0, 3), 0), T.narrow(p, 2, 1, 3), T.expand(T.narrow(b.permute([2, 0, 1]), 2, 0, 1), [4, 2, 3]));
    });
  });
});
