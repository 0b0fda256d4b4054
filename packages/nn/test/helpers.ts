// Shared test helpers: reading the PyTorch fixtures in nn.json and comparing numbers.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { fromTypedArray, type DType, type Tensor } from '@aitm/tensor';

export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

/** A tensor as gen_nn.py encodes it. */
export interface Enc {
  shape: number[];
  dtype: 'float64' | 'float32' | 'int64' | 'int32';
  data: number[];
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

let cached: Json | null = null;
export function nnFixture(): Json {
  cached ??= JSON.parse(readFileSync(`${FIXTURES}nn.json`, 'utf8'));
  return cached;
}

/** A fixture tensor; int64 becomes int32, floats become `floatDtype` (default float64). */
export function fx(e: Enc, floatDtype: DType = 'float64', requiresGrad = false): Tensor {
  const isInt = e.dtype === 'int64' || e.dtype === 'int32';
  const dtype: DType = isInt ? 'int32' : floatDtype;
  const data = dtype === 'int32' ? Int32Array.from(e.data) : dtype === 'float64' ? Float64Array.from(e.data) : Float32Array.from(e.data);
  return fromTypedArray(data, e.shape, dtype, { requiresGrad });
}

/** A fixture state dict as tensors. */
export function fxState(sd: Record<string, Enc>, floatDtype: DType = 'float64'): Record<string, Tensor> {
  return Object.fromEntries(Object.entries(sd).map(([k, v]) => [k, fx(v, floatDtype)]));
}

/**
 * Asserts |a - e| <= atol + rtol * |e| elementwise (shape checked when given a tensor),
 * reporting the worst element.
 */
export function expectClose(actual: Tensor | ArrayLike<number>, expected: Enc | ArrayLike<number>, rtol = 1e-10, atol = 1e-12, what = ''): void {
  const a = 'dataSync' in actual ? actual.dataSync() : actual;
  const e = 'data' in expected && 'shape' in expected ? (expected as Enc).data : (expected as ArrayLike<number>);
  if ('shape' in actual && 'shape' in expected) expect([...actual.shape], `${what} shape`).toEqual((expected as Enc).shape);
  expect(a.length, `${what} length`).toBe(e.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < e.length; i++) {
    const excess = Math.abs(a[i]! - e[i]!) - (atol + rtol * Math.abs(e[i]!));
    if (!(excess <= worstExcess)) {
      worst = i;
      worstExcess = Number.isNaN(excess) ? Infinity : excess;
    }
  }
  if (worst >= 0) {
    expect.fail(`${what}: element ${worst} is ${a[worst]}, expected ${e[worst]} (rtol ${rtol}, atol ${atol})`);
  }
}
