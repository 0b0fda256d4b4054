// Creation refuses what PyTorch refuses instead of changing it silently: int32 values that
// are NaN, infinite or out of range (torch: "value cannot be converted to type int32 without
// overflow"; fractions truncate, as in torch), and negative or fractional dimensions, named by
// the creation function. An int32 sum is exact and raises when the result does not fit int32
// (PyTorch accumulates int32 in int64), on both backends.

import { afterAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import { gpuAvailable } from './gpu.js';

const gpu = await gpuAvailable();
afterAll(() => T.disposeWebGpu());

describe('int32 creation', () => {
  it('refuses values outside the int32 range and NaN/inf, naming the value and its index', () => {
    expect(() => T.tensor([3e9, 1.7, NaN], { dtype: 'int32' })).toThrow(/^tensor: value 3000000000 at index 0 cannot be converted to int32/);
    expect(() => T.tensor([1.7, NaN], { dtype: 'int32' })).toThrow(/^tensor: value NaN at index 1 cannot be converted to int32/);
    expect(() => T.tensor([[1, 2], [-Infinity, 4]], { dtype: 'int32' })).toThrow(/^tensor: value -Infinity at index 2 /);
    expect(() => T.tensor([2147483648], { dtype: 'int32' })).toThrow(/value 2147483648 at index 0/);
    expect(() => T.tensor(new Float32Array([1, 5e9]), { dtype: 'int32' })).toThrow(/^tensor: value 5000000000 at index 1/);
    expect(() => T.full([2], 3e9, { dtype: 'int32' })).toThrow(/^full: value 3000000000 at index 0/);
    expect(() => T.arange(2147483640, 2147483650, 1)).toThrow(/^arange: value 2147483649 at index 9/);
  });

  it('truncates fractions toward zero and keeps the int32 limits, as torch.tensor(..., dtype=torch.int32)', () => {
    const t = T.tensor([1.7, -1.7, 2147483647, -2147483648, 2147483647.0], { dtype: 'int32' });
    expect(Array.from(t.dataSync())).toEqual([1, -1, 2147483647, -2147483648, 2147483647]);
    // cast keeps its documented saturating semantics (it is not creation).
    expect(Array.from(T.tensor([3e9, NaN], { dtype: 'float64' }).cast('int32').dataSync())).toEqual([2147483647, 0]);
  });
});

describe('creation shapes', () => {
  it('every creation function refuses negative or fractional dimensions, naming itself and the shape', () => {
    const cases: [string, () => unknown][] = [
      ['zeros', () => T.zeros([-1, 3])],
      ['ones', () => T.ones([2, -3])],
      ['full', () => T.full([1.5], 2)],
      ['rand', () => T.rand([-1, 3])],
      ['randn', () => T.randn([-1, 3])],
      ['randint', () => T.randint(0, 5, [-1, 3])],
      ['tensor', () => T.tensor([1, 2, 3], { shape: [-1, -3] })],
    ];
    for (const [name, f] of cases) {
      expect(f, name).toThrow(new RegExp(`^${name}: invalid shape \\[[-0-9.,]+\\]: dimensions must be non-negative integers \\(dimension \\d is -?[0-9.]+\\)`));
    }
    expect(() => T.zeros([-1, 3])).toThrow('zeros: invalid shape [-1,3]: dimensions must be non-negative integers (dimension 0 is -1)');
    expect(T.zeros([0, 3]).shape).toEqual([0, 3]);
  });
});

const BIG = [2147483647, 2147483647, 2];
describe('int32 sum', () => {
  it('raises when the exact sum does not fit int32 (it wrapped to 0 before), naming the op and the value (CPU)', () => {
    expect(() => T.sum(T.tensor(BIG, { dtype: 'int32' }))).toThrow(/^sum: the int32 sum 4294967296 \(output element 0\) does not fit int32/);
    expect(() => T.sum(T.tensor([-2147483648, -1], { dtype: 'int32' }))).toThrow(/the int32 sum -2147483649 /);
    expect(() => T.sum(T.tensor([[1, 2147483647], [2, 3]], { dtype: 'int32' }), 1)).toThrow(/the int32 sum 2147483648 \(output element 0\)/);
  });

  it('is exact when the result fits, even if a partial sum does not (hand values)', () => {
    expect(Array.from(T.sum(T.tensor([2147483647, 1, -2], { dtype: 'int32' })).dataSync())).toEqual([2147483646]);
    expect(Array.from(T.sum(T.tensor([-2147483648, 0], { dtype: 'int32' })).dataSync())).toEqual([-2147483648]);
  });

  describe.skipIf(!gpu)('WebGPU', () => {
    const on = (v: number[], shape = [v.length]) => T.tensor(v, { dtype: 'int32', backend: 'webgpu', shape });
    it('raises the same error at the next read, for short and long (tree) reductions', async () => {
      await expect(T.sum(on(BIG)).data()).rejects.toThrow(/^sum: the int32 sum 4294967296 does not fit int32 .*found by a GPU kernel/);
      const long = Array.from({ length: 1000 }, () => -2147483648);
      await expect(T.sum(on(long)).data()).rejects.toThrow(/^sum: the int32 sum -2147483648000 does not fit int32/);
      // The error is cleared by the read that reported it.
      expect(Array.from(await T.sum(on([1, 2])).data())).toEqual([3]);
    });
    it('is exact when the result fits, even if a partial sum does not', async () => {
      expect(Array.from(await T.sum(on([2147483647, 1, -2])).data())).toEqual([2147483646]);
      const long = Array.from({ length: 1000 }, (_, i) => (i % 2 === 0 ? 2147483647 : -2147483647));
      expect(Array.from(await T.sum(on(long)).data())).toEqual([0]);
      expect(Array.from(await T.sum(on([5, -7, 9, 11], [2, 2]), 0).data())).toEqual([14, 4]);
    });
  });
});
