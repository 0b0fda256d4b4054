// The backends agree on IEEE semantics and the int32 range: comparisons, casts, int32
// arithmetic and matmul over edge values (NaN, +-inf, -0, 2^24 + 1, the int32 limits),
// WebGPU and wasm float32 against the CPU backend in the same dtype, bit for bit.

import { afterAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import type { DType, Tensor } from '../src/index.js';
import { gpuAvailable } from './gpu.js';

const gpu = await gpuAvailable();
await T.initWasm();
afterAll(() => T.disposeWebGpu());

const FLOATS = [NaN, Infinity, -Infinity, -0, 0, 1, -1, 2.5, -2.5, 16777217, -16777217, 3e9, -3e9, 1e-45, 3.4e38];
const INTS = [0, 1, -1, 7, 16777217, -16777217, 2147483647, -2147483648, 46341, -46341];

const on = (backend: T.BackendName, v: number[], dtype: DType, shape = [v.length]): Tensor => T.tensor(v, { shape, dtype, backend });

/**
 * Same op on the CPU and on `target`; the results must be identical (NaN equal to NaN, and -0
 * distinct from 0 unless `signedZero` is false: which zero max(-0, 0) gives is unspecified in IEEE).
 */
async function same(target: 'webgpu' | 'wasm', f: (b: T.BackendName) => Tensor, signedZero = true): Promise<void> {
  const want = Array.from(f('cpu').dataSync());
  const got = Array.from(await f(target).data());
  expect(got.map(String)).toEqual(want.map(String));
  if (signedZero) expect(got.map((v) => Object.is(v, -0))).toEqual(want.map((v) => Object.is(v, -0)));
}

describe('CPU oracle: IEEE semantics', () => {
  it('matmul multiplies zeros too: [[0, 1]] @ [[inf], [2]] is NaN, as in PyTorch', () => {
    const a = T.tensor([[0, 1]], { dtype: 'float64' });
    const b = T.tensor([[Infinity], [2]], { dtype: 'float64' });
    expect(Number.isNaN(T.matmul(a, b).dataSync()[0])).toBe(true);
  });

  it('int32 products wrap modulo 2^32 (no rounding through doubles)', () => {
    const a = T.tensor([46341, 2147483647, -2147483648], { dtype: 'int32' });
    expect(Array.from(T.mul(a, a).dataSync())).toEqual([-2147479015, 1, 0]);
  });

  it('float -> int32 casts truncate, saturate and send NaN to 0', () => {
    const x = T.tensor([2.9, -2.9, 3e9, -3e9, Infinity, NaN], { dtype: 'float64' });
    expect(Array.from(x.cast('int32').dataSync())).toEqual([2, -2, 2147483647, -2147483648, 2147483647, 0]);
  });

  it('where takes any nonzero condition as true (0.5 is not truncated to 0)', () => {
    const c = T.tensor([0.5, 0, -0.25], { dtype: 'float64' });
    const a = T.tensor([1, 1, 1], { dtype: 'int32' });
    const b = T.tensor([9, 9, 9], { dtype: 'int32' });
    expect(Array.from(T.where(c, a, b).dataSync())).toEqual([1, 9, 1]);
  });
});

for (const target of ['webgpu', 'wasm'] as const) {
describe.skipIf(target === 'webgpu' && !gpu)(`${target} agrees with the CPU on edge values`, () => {
  const xs = FLOATS.flatMap((a) => FLOATS.map(() => a));
  const ys = FLOATS.flatMap(() => FLOATS);
  for (const op of ['gt', 'lt', 'ge', 'le', 'eq', 'ne', 'maximum', 'minimum', 'add', 'mul'] as const) {
    it(`${op} over every pair of edge floats`, () => same(target, (b) => T[op](on(b, xs, 'float32'), on(b, ys, 'float32')), op !== 'maximum' && op !== 'minimum'));
  }
  for (const op of ['gt', 'lt', 'ge', 'le', 'eq', 'ne', 'add', 'sub', 'mul', 'maximum', 'minimum'] as const) {
    it(`int32 ${op} over every pair of edge ints`, () => {
      const a = INTS.flatMap((v) => INTS.map(() => v));
      const c = INTS.flatMap(() => INTS);
      return same(target, (b) => T[op](on(b, a, 'int32'), on(b, c, 'int32')));
    });
  }
  for (const op of ['neg', 'abs', 'sign', 'relu'] as const) {
    it(`int32 ${op} is exact over the int32 range`, () => same(target, (b) => T[op](on(b, INTS, 'int32'))));
  }
  it('int32 clamp with float bounds (truncated) and infinite bounds', async () => {
    await same(target, (b) => T.clamp(on(b, INTS, 'int32'), -2.5, 16777216.5));
    await same(target, (b) => T.clamp(on(b, INTS, 'int32'), -Infinity, 7));
  });
  it('clamp keeps NaN (as the CPU and PyTorch), and clamps infinities', () =>
    same(target, (b) => T.clamp(on(b, FLOATS, 'float32'), -100, 7)));
  it('neg(16777217) is -16777217 in int32', async () => {
    expect(Array.from(await T.neg(on(target, [16777217], 'int32')).data())).toEqual([-16777217]);
  });
  it('casts float32 -> int32 -> float32 over edge values', async () => {
    await same(target, (b) => on(b, FLOATS, 'float32').cast('int32'));
    await same(target, (b) => on(b, INTS, 'int32').cast('float32'));
  });
  for (const op of ['sign', 'abs', 'neg', 'relu'] as const) {
    it(`${op} of NaN, -0, inf and the rest (sign(NaN) = sign(-0) = 0, relu(NaN) = NaN, as PyTorch)`, () => same(target, (b) => T[op](on(b, FLOATS, 'float32'))));
  }
  it('matmul propagates inf and NaN through zero entries', () =>
    same(target, (b) => T.matmul(on(b, [0, 1, NaN, 0], 'float32', [2, 2]), on(b, [Infinity, 1, 2, 0], 'float32', [2, 2]))));
  it('where with a float condition of 0.5', () =>
    same(target, (b) => T.where(on(b, [0.5, 0, -0.25, NaN], 'float32'), on(b, [1, 1, 1, 1], 'int32'), on(b, [9, 9, 9, 9], 'int32'))));
});
}
