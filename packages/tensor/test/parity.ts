// Helpers for tests that run the same data on WebGPU (float32) and the CPU (float64).

import { expect } from 'vitest';
import { tensor, type DType, type Tensor } from '../src/index.js';

/** Deterministic uniform numbers in [lo, hi), rounded to float32 so both backends see the same values. */
export function randomData(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    // mulberry32
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  }
  return out;
}

/** The same data on both backends: float32 on WebGPU, float64 (or int32) on the CPU. */
export function pair(data: Float32Array | Int32Array, shape: readonly number[], requiresGrad = false): { g: Tensor; c: Tensor } {
  const int = data instanceof Int32Array;
  const g = tensor(data, { shape, dtype: int ? 'int32' : 'float32', backend: 'webgpu', requiresGrad });
  const c = tensor(int ? data : Float64Array.from(data), { shape, dtype: (int ? 'int32' : 'float64') as DType, backend: 'cpu', requiresGrad });
  return { g, c };
}

/** Checks |gpu - cpu| <= atol + rtol |cpu| elementwise, with NaN matching NaN, and equal shapes. */
export async function expectParity(gpuT: Tensor, cpuT: Tensor, atol: number, rtol = 1e-5): Promise<void> {
  expect(gpuT.shape).toEqual(cpuT.shape);
  const a = await gpuT.data();
  const b = await cpuT.data();
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (Number.isNaN(y) || !Number.isFinite(y)) {
      if (!Object.is(x, y) && !(Number.isNaN(x) && Number.isNaN(y))) expect.fail(`element ${i}: got ${x}, expected ${y}`);
      continue;
    }
    if (!(Math.abs(x - y) <= atol + rtol * Math.abs(y))) {
      expect.fail(`element ${i} of ${a.length} (shape [${cpuT.shape.join(', ')}]): got ${x}, expected ${y} (atol ${atol}, rtol ${rtol})`);
    }
  }
}
