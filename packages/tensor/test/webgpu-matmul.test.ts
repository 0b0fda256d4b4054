// The WebGPU matmul kernels against the float64 CPU reference: every transpose combination,
// awkward sizes (1, primes, non-multiples of every tile and of 4, K = 0), batches, split-K,
// operand re-layout, dispatches past 65535 workgroups, each of the four kernels (forced
// with withMatmulKernel) on whatever adapter is present, and gradients through matmul.
// The kernel choice itself is tested without a GPU in matmul-plan.test.ts.
import { afterAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { withMatmulKernel } from '../src/backends/webgpu/matmul.js';
import type { MatmulKernelChoice } from '../src/backends/webgpu/matmul-plan.js';
import { gpuAvailable } from './gpu.js';

const gpu = await gpuAvailable();

afterAll(() => T.disposeWebGpu());

/** Deterministic values in [-1, 1), exactly representable in float32 so both backends see the same data. */
function randomData(n: number, seed: number): Float64Array {
  let s = seed >>> 0 || 1;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = Math.fround(((s >>> 0) / 2 ** 32) * 2 - 1);
  }
  return out;
}

const U = 2 ** -24; // float32 unit roundoff

/**
 * Compares a float32 GPU result with the float64 reference. The inputs are exact in
 * float32, so the only error is the K-term accumulation: bounded by K*u*sum|a||b| in the
 * worst case, and about sqrt(K)*u*sum|a||b| for the random-walk rounding of real sums.
 * `scale` is that sum|a||b| (|A| @ |B| in float64); the tolerance is 16x the typical error
 * (plus a floor for K < 4) and far below any indexing mistake, which is O(scale). On
 * llvmpipe the worst element of this file used 8% of it. K = 0 must give exact zeros.
 */
function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, scale: ArrayLike<number>, k: number, what: string): void {
  expect(got.length, what).toBe(want.length);
  const factor = 16 * U * Math.sqrt(Math.max(k, 4));
  let worst = 0;
  let at = -1;
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i]! - want[i]!) / (factor * scale[i]! + 1e-30);
    if (!(err <= worst)) {
      worst = err;
      at = i;
    }
  }
  expect(worst, `${what}: element ${at} is ${got[at]} but should be ${want[at]}`).toBeLessThanOrEqual(1);
}

interface Case {
  batch: number;
  m: number;
  n: number;
  k: number;
}

const ALL_TRANS: [boolean, boolean][] = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
];

/** Runs bmm on both backends for each transpose combination and compares; `kernel` forces the GPU's kernel. */
async function checkBmm({ batch, m, n, k }: Case, seed: number, kernel: MatmulKernelChoice = 'auto', combos = ALL_TRANS): Promise<void> {
  for (const [transA, transB] of combos) {
    const aShape = transA ? [batch, k, m] : [batch, m, k];
    const bShape = transB ? [batch, n, k] : [batch, k, n];
    const aData = randomData(batch * m * k, seed);
    const bData = randomData(batch * k * n, seed + 7919);
    const a64 = T.tensor(aData, { shape: aShape, dtype: 'float64', backend: 'cpu' });
    const b64 = T.tensor(bData, { shape: bShape, dtype: 'float64', backend: 'cpu' });
    const want = T.bmm(a64, b64, transA, transB);
    const [absA, absB] = [T.abs(a64), T.abs(b64)];
    const scale = T.bmm(absA, absB, transA, transB);
    const a32 = T.tensor(aData, { shape: aShape, dtype: 'float32', backend: 'webgpu' });
    const b32 = T.tensor(bData, { shape: bShape, dtype: 'float32', backend: 'webgpu' });
    const got = withMatmulKernel(kernel, () => T.bmm(a32, b32, transA, transB));
    expect(got.shape).toEqual([batch, m, n]);
    expect(got.dtype).toBe('float32');
    const what = `bmm ${batch}x${m}x${n}x${k} transA=${transA} transB=${transB}`;
    expectClose(await got.data(), await want.data(), await scale.data(), k, what);
    for (const t of [a64, b64, want, absA, absB, scale, a32, b32, got]) t.dispose();
  }
}

/** Sizes that hit 1, primes, every tile edge (4, 8, 16, 32, 64, 128) off by one, and K = 0. */
const EDGE_CASES: Case[] = [
  { batch: 1, m: 1, n: 1, k: 1 },
  { batch: 1, m: 7, n: 13, k: 31 },
  { batch: 2, m: 13, n: 7, k: 67 },
  { batch: 3, m: 31, n: 67, k: 13 },
  { batch: 1, m: 67, n: 31, k: 7 },
  { batch: 1, m: 1, n: 67, k: 5 },
  { batch: 2, m: 67, n: 1, k: 3 },
  { batch: 1, m: 8, n: 4, k: 4 },
  { batch: 2, m: 33, n: 65, k: 17 },
  { batch: 1, m: 64, n: 64, k: 64 },
  { batch: 1, m: 65, n: 129, k: 63 },
  { batch: 4, m: 12, n: 20, k: 8 },
  { batch: 2, m: 3, n: 5, k: 0 },
  { batch: 1, m: 4, n: 8, k: 0 },
];

/** Few output tiles and a long K: these go through the split-K path on every adapter. */
const SPLIT_K_CASES: Case[] = [
  { batch: 1, m: 32, n: 64, k: 2048 },
  { batch: 1, m: 5, n: 6, k: 1031 },
  { batch: 2, m: 13, n: 8, k: 1500 },
];

/** Operands read across K with a long row stride: software adapters copy them to [.., K] first. */
const LAYOUT_COPY_CASES: Case[] = [
  { batch: 1, m: 5, n: 2048, k: 1024 },
  { batch: 2, m: 2051, n: 6, k: 1030 },
];

function randomCases(count: number, seed: number): Case[] {
  const r = randomData(count * 4, seed);
  const dim = (x: number, max: number): number => 1 + Math.floor(((x + 1) / 2) * max);
  return Array.from({ length: count }, (_, i) => ({
    batch: dim(r[4 * i]!, 3),
    m: dim(r[4 * i + 1]!, 90),
    n: dim(r[4 * i + 2]!, 90),
    k: dim(r[4 * i + 3]!, 150) - 1,
  }));
}

describe.skipIf(!gpu)('webgpu bmm', () => {
  // 'subgroup' falls back to 'register' on adapters without fixed 4- or 8-lane subgroups.
  // 'naive' is the one-output-per-invocation study kernel (matmul-naive.wgsl.ts).
  const kernels: MatmulKernelChoice[] = ['subgroup', 'register', 'naive'];
  // llvmpipe takes seconds to compile each variant of the tiled kernel (its barriers), so
  // on software adapters that kernel gets a compact set covering each code path once.
  if (!T.webGpuAdapter()?.isSoftware) kernels.push('tiled');
  for (const kernel of kernels) {
    describe(`${kernel} kernel`, () => {
      it('matches the CPU on edge sizes, all four transpose combinations', async () => {
        for (const [i, c] of EDGE_CASES.entries()) await checkBmm(c, 100 + i, kernel);
      });

      it('matches the CPU with 1, 2 and 4 subgroup-heights of rows per workgroup (partial tiles, scalar and vec4 reads)', async () => {
        const cases: Case[] = [
          { batch: 1, m: 37, n: 21, k: 13 },
          { batch: 2, m: 68, n: 40, k: 36 },
          { batch: 1, m: 19, n: 17, k: 9 },
          { batch: 1, m: 24, n: 36, k: 20 },
          { batch: 1, m: 130, n: 52, k: 64 },
        ];
        for (const [i, c] of cases.entries()) await checkBmm(c, 150 + i, kernel);
      });

      it('matches the CPU on random sizes', async () => {
        for (const [i, c] of randomCases(8, 4242).entries()) await checkBmm(c, 200 + i, kernel);
      });

      it('matches the CPU when K is split across workgroups', async () => {
        for (const [i, c] of SPLIT_K_CASES.entries()) await checkBmm(c, 300 + i, kernel);
      });

      it('matches the CPU when an operand is first copied to its K-contiguous layout', async () => {
        for (const [i, c] of LAYOUT_COPY_CASES.entries()) await checkBmm(c, 350 + i, kernel);
      });

      it('handles more than 65535 workgroups (the grid is split into 2-D)', async () => {
        // 70000 batch entries of 1x2: one workgroup each whatever the tile.
        await checkBmm({ batch: 70_000, m: 1, n: 2, k: 3 }, 400, kernel);
        // 300000 rows: a dispatch per row (or per 4 rows) would exceed 65535 in x.
        await checkBmm({ batch: 1, m: 300_000, n: 2, k: 3 }, 401, kernel);
      });
    });
  }

  describe.skipIf(!T.webGpuAdapter()?.isSoftware)('tiled kernel (compact set for software adapters)', () => {
    const [ff, ft, tf, tt] = ALL_TRANS.map((c) => [c]);
    const slow = { timeout: 300_000 };
    it('matches the CPU with scalar reads: odd sizes, K below one 16-step', slow, async () => {
      await checkBmm({ batch: 2, m: 67, n: 31, k: 7 }, 500, 'tiled');
    });

    it('matches the CPU with vec4 reads, partial tiles and a partial K step', slow, async () => {
      await checkBmm({ batch: 2, m: 36, n: 40, k: 20 }, 501, 'tiled');
    });

    it('matches the CPU on 64x64 tiles, skinny tiles, K = 0, split K and a 2-D grid', slow, async () => {
      await checkBmm({ batch: 1, m: 129, n: 257, k: 33 }, 502, 'tiled', ft);
      await checkBmm({ batch: 1, m: 300, n: 2, k: 3 }, 503, 'tiled', tt);
      await checkBmm({ batch: 2, m: 3, n: 5, k: 0 }, 504, 'tiled', ff);
      await checkBmm({ batch: 1, m: 5, n: 6, k: 1031 }, 505, 'tiled', tf);
      await checkBmm({ batch: 70_000, m: 1, n: 2, k: 3 }, 506, 'tiled', tt);
    });
  });

  it('handles empty outputs (M = 0, N = 0, batch = 0) without dispatching', async () => {
    for (const [ash, bsh, osh] of [
      [[1, 0, 3], [1, 3, 4], [1, 0, 4]],
      [[2, 3, 5], [2, 5, 0], [2, 3, 0]],
      [[0, 3, 5], [0, 5, 2], [0, 3, 2]],
    ]) {
      const a = T.zeros(ash!, { dtype: 'float32', backend: 'webgpu' });
      const b = T.zeros(bsh!, { dtype: 'float32', backend: 'webgpu' });
      const c = T.bmm(a, b);
      expect(c.shape).toEqual(osh);
      expect((await c.data()).length).toBe(0);
    }
  });

  it('agrees on AITM-shaped Linear layers (rows x 64 -> 32) and their backward products', async () => {
    // Forward x @ W^T, dX = dY @ W, dW = dY^T @ X, as the Linear layer and its gradient run them.
    await checkBmm({ batch: 1, m: 1024, n: 32, k: 64 }, 500);
    await checkBmm({ batch: 1, m: 1024, n: 64, k: 32 }, 501);
    await checkBmm({ batch: 1, m: 32, n: 64, k: 1024 }, 502);
  });
});

/** `tensor` on a backend from float64 data (float32 on the GPU). */
function on(data: Float64Array, shape: number[], backend: 'cpu' | 'webgpu', requiresGrad = false): Tensor {
  const t = T.tensor(data, { shape, dtype: backend === 'cpu' ? 'float64' : 'float32', backend });
  return requiresGrad ? t.requireGrad() : t;
}

/** matmul on both backends: the GPU result against the float64 CPU one. */
async function checkMatmul(aShape: number[], bShape: number[], seed: number): Promise<void> {
  const aData = randomData(aShape.reduce((x, y) => x * y, 1), seed);
  const bData = randomData(bShape.reduce((x, y) => x * y, 1), seed + 1);
  const want = T.matmul(on(aData, aShape, 'cpu'), on(bData, bShape, 'cpu'));
  const scale = T.matmul(T.abs(on(aData, aShape, 'cpu')), T.abs(on(bData, bShape, 'cpu')));
  const got = T.matmul(on(aData, aShape, 'webgpu'), on(bData, bShape, 'webgpu'));
  expect(got.shape).toEqual(want.shape);
  const k = aShape[aShape.length - 1]!;
  expectClose(await got.data(), await want.data(), await scale.data(), k, `matmul ${JSON.stringify(aShape)} @ ${JSON.stringify(bShape)}`);
}

describe.skipIf(!gpu)('webgpu matmul (PyTorch semantics on top of bmm)', () => {
  it('handles 1-D operands and broadcast batch dimensions', async () => {
    await checkMatmul([7], [7], 1); // dot product
    await checkMatmul([13], [13, 5], 2); // row vector
    await checkMatmul([4, 13], [13], 3); // column vector
    await checkMatmul([2, 3, 13], [13], 4);
    await checkMatmul([5], [2, 5, 3], 5);
    await checkMatmul([2, 3, 7, 5], [5, 4], 6); // batch folded into M
    await checkMatmul([2, 1, 7, 5], [3, 5, 4], 7); // broadcast batch
    await checkMatmul([1, 31, 67], [4, 67, 13], 8);
  });

  it('gradients of sum(matmul(a, b) * r) match the CPU', async () => {
    for (const [i, [aShape, bShape]] of [
      [[13, 31], [31, 7]],
      [[2, 5, 67], [67, 3]],
      [[3, 8, 12], [3, 12, 20]],
      [[2, 1, 4, 9], [3, 9, 5]],
    ].entries()) {
      const aData = randomData(aShape!.reduce((x, y) => x * y, 1), 600 + i);
      const bData = randomData(bShape!.reduce((x, y) => x * y, 1), 700 + i);
      const grads = async (backend: 'cpu' | 'webgpu'): Promise<[ArrayLike<number>, ArrayLike<number>]> => {
        const a = on(aData, aShape!, backend, true);
        const b = on(bData, bShape!, backend, true);
        const y = T.matmul(a, b);
        const r = on(randomData(y.size, 800 + i), [...y.shape], backend);
        T.sum(T.mul(y, r)).backward();
        return [await a.grad!.data(), await b.grad!.data()];
      };
      const [ga, gb] = await grads('webgpu');
      const [wa, wb] = await grads('cpu');
      // Each gradient entry is a sum of at most (batch * rows) products of values in [-1, 1].
      const terms = Math.max(...aShape!, ...bShape!) * 4;
      expectClose(ga, wa, new Float64Array(wa.length).fill(terms), terms, 'dA');
      expectClose(gb, wb, new Float64Array(wb.length).fill(terms), terms, 'dB');
    }
  });

  it('gradients flow through bmm with every transpose flag (no transpose is materialised)', async () => {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        const [batch, m, n, k] = [2, 13, 7, 67];
        const aShape = transA ? [batch, k, m] : [batch, m, k];
        const bShape = transB ? [batch, n, k] : [batch, k, n];
        const aData = randomData(batch * m * k, 900);
        const bData = randomData(batch * k * n, 901);
        const rData = randomData(batch * m * n, 902);
        const grads = async (backend: 'cpu' | 'webgpu'): Promise<[ArrayLike<number>, ArrayLike<number>]> => {
          const a = on(aData, aShape, backend, true);
          const b = on(bData, bShape, backend, true);
          // backward(r) seeds dC = r: the gradient of sum(bmm(a, b) * r) without other ops.
          T.bmm(a, b, transA, transB).backward(on(rData, [batch, m, n], backend));
          return [await a.grad!.data(), await b.grad!.data()];
        };
        const [ga, gb] = await grads('webgpu');
        const [wa, wb] = await grads('cpu');
        const what = `transA=${transA} transB=${transB}`;
        expectClose(ga, wa, new Float64Array(wa.length).fill(n), n, `dA ${what}`);
        expectClose(gb, wb, new Float64Array(wb.length).fill(m), m, `dB ${what}`);
      }
    }
  });
});
