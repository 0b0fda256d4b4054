// The WebGPU matmul's kernel choice (planBmm) on described adapters: pure logic, so it runs
// on every machine, GPU or not. The kernels themselves are checked in webgpu-matmul.test.ts.

import { describe, expect, it } from 'vitest';
import { planBmm } from '../src/backends/webgpu/matmul-plan.js';

const llvmpipe = { isSoftware: true, subgroupSize: 8 };
const gpuDevice = { isSoftware: false, subgroupSize: 0 };
const square = { batch: 1, m: 64, n: 64, k: 64, transA: false, transB: false };

describe('planBmm', () => {
  it('plans the kernel per adapter, and split-K only for few output tiles over a long K', () => {
    expect(planBmm(square, llvmpipe, 'auto').variant).toMatchObject({ algo: 'register', shareA: true, wgX: 8, rows: 32 });
    // A subgroup takes 4, 2 or 1 subgroup-heights of rows, as many as M fills.
    expect(planBmm({ ...square, m: 20 }, llvmpipe, 'auto').variant).toMatchObject({ shareA: true, rows: 16 });
    expect(planBmm({ ...square, m: 12 }, llvmpipe, 'auto').variant).toMatchObject({ shareA: true, rows: 8 });
    expect(planBmm({ ...square, m: 12 }, { isSoftware: true, subgroupSize: 4 }, 'auto').variant).toMatchObject({ shareA: true, wgX: 4, rows: 8 });
    expect(planBmm(square, { isSoftware: true, subgroupSize: 0 }, 'auto').variant).toMatchObject({ algo: 'register', shareA: false });
    expect(planBmm({ ...square, n: 2 }, llvmpipe, 'auto').variant).toMatchObject({ shareA: false, wgX: 2, wgY: 32 });
    expect(planBmm(square, gpuDevice, 'auto').variant.algo).toBe('tiled');
    // B stored [K, N] with N = 2048 is copied to [N, K] on llvmpipe (cache aliasing), not on GPUs.
    const big = { ...square, m: 2048, n: 2048, k: 2048 };
    expect(planBmm(big, llvmpipe, 'auto')).toMatchObject({ copyA: false, copyB: true, variant: { transB: true } });
    expect(planBmm({ ...big, transA: true }, llvmpipe, 'auto')).toMatchObject({ copyA: true, variant: { transA: false } });
    expect(planBmm(big, gpuDevice, 'auto')).toMatchObject({ copyB: false, variant: { transB: false } });
    for (const device of [llvmpipe, gpuDevice]) {
      // A Linear layer's weight gradient: [16, 32] summed over 8192 rows.
      const dW = planBmm({ batch: 1, m: 16, n: 32, k: 8192, transA: true, transB: false }, device, 'auto');
      expect(dW.splits).toBeGreaterThan(1);
      expect(dW.kChunk % 16).toBe(0);
      expect(planBmm({ ...square, m: 2048, n: 2048, k: 2048 }, device, 'auto').splits).toBe(1);
      expect(planBmm({ ...square, m: 5, n: 6, k: 100 }, device, 'auto').splits).toBe(1);
    }
  });

  it("follows a forced kernel, and plans 'auto' when none is given", () => {
    // 'register' never shares A, even where the adapter could.
    expect(planBmm(square, llvmpipe, 'register').variant).toMatchObject({ algo: 'register', shareA: false, wgX: 8, wgY: 8, rows: 4 });
    // 'subgroup' shares A even on an output too small for 'auto' to (4 x 8)...
    expect(planBmm({ ...square, m: 4, n: 8 }, llvmpipe, 'auto').variant).toMatchObject({ shareA: false });
    expect(planBmm({ ...square, m: 4, n: 8 }, llvmpipe, 'subgroup').variant).toMatchObject({ shareA: true, wgX: 8, wgY: 1, rows: 8 });
    // ...and falls back to the plain register kernel without fixed 4- or 8-lane subgroups.
    expect(planBmm(square, { isSoftware: true, subgroupSize: 0 }, 'subgroup').variant).toMatchObject({ algo: 'register', shareA: false });
    // 'tiled' on a software adapter: no operand copies (they are for the register kernel).
    expect(planBmm({ ...square, m: 2048, n: 2048, k: 2048 }, llvmpipe, 'tiled')).toMatchObject({ copyA: false, copyB: false, variant: { algo: 'tiled', wgX: 16 } });
    expect(planBmm(square, gpuDevice, 'register').variant.algo).toBe('register');
    expect(planBmm(square, llvmpipe)).toEqual(planBmm(square, llvmpipe, 'auto'));
    // 'naive': 8 x 8 outputs per workgroup, one each, never split or copied, on any adapter.
    for (const device of [llvmpipe, gpuDevice]) {
      const naive = planBmm({ batch: 1, m: 16, n: 33, k: 8192, transA: true, transB: false }, device, 'naive');
      expect(naive).toMatchObject({ tilesM: 2, tilesN: 5, splits: 1, copyA: false, copyB: false, variant: { algo: 'naive', rows: 1, transA: true } });
    }
  });

  it('reads an operand as vec4 only where its contiguous axis is a multiple of 4 and K > 0', () => {
    expect(planBmm({ ...square, m: 5, n: 6, k: 7 }, gpuDevice, 'auto').variant).toMatchObject({ vecA: false, vecB: false, vecC: false });
    // A stored [K, M] is contiguous along M (5): scalar; B along N (12): vec4.
    expect(planBmm({ ...square, m: 5, n: 12, k: 8, transA: true }, gpuDevice, 'auto').variant).toMatchObject({ vecA: false, vecB: true, vecC: true });
    expect(planBmm({ ...square, m: 8, n: 12, k: 0 }, gpuDevice, 'auto')).toMatchObject({ kChunk: 1, splits: 1, variant: { vecA: false, vecB: false, vecC: true } });
  });
});
