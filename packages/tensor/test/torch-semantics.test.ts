// PyTorch's rules where the fixtures say little (test/op-coverage.test.ts holds those): NaN
// and ties in argmax, Python's slicing rules, split sizes, the bool dtype on both backends,
// indices out of range, and the errors that name what was wrong.

import { afterAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import { gpuAvailable } from './gpu.js';

const gpu = await gpuAvailable();
afterAll(() => T.disposeWebGpu());

const f64 = (v: number[] | number[][]) => T.tensor(v, { dtype: 'float64' });
const ids = (v: number[] | number[][]) => T.tensor(v, { dtype: 'int32' });

describe('argmax / argmin', () => {
  it('take the first index on ties and treat NaN as the extreme, as PyTorch', () => {
    const x = f64([[1, 3, 3], [NaN, 5, NaN], [-1, -1, -2]]);
    expect(T.argmax(x, 1).arraySync()).toEqual([1, 0, 0]);
    expect(T.argmin(x, 1).arraySync()).toEqual([0, 0, 2]);
    expect(T.argmax(x).arraySync()).toEqual(3); // over the flattened tensor
    expect(T.argmax(x, 1).dtype).toBe('int32');
  });

  it('refuse an empty axis', () => {
    expect(() => T.argmax(T.zeros([2, 0]), 1)).toThrow('argmax: cannot reduce the empty axis 1 of [2,0]');
  });

  it.runIf(gpu)('agree on WebGPU, NaN included', async () => {
    const v = [[1, 3, 3], [NaN, 5, NaN], [-1, -1, -2]];
    const x = T.tensor(v, { backend: 'webgpu' });
    expect(await T.argmax(x, 1).toArray()).toEqual([1, 0, 0]);
    expect(await T.argmin(x, 0).toArray()).toEqual([1, 2, 1]);
  });
});

describe('slicing', () => {
  const x = T.arange(0, 10, 1, { dtype: 'float64' });
  it('sliceRange follows Python: negative bounds count from the end, out-of-range bounds clamp, steps skip', () => {
    expect(T.sliceRange(x, 0, -3).arraySync()).toEqual([7, 8, 9]);
    expect(T.sliceRange(x, 0, 1, -1, 3).arraySync()).toEqual([1, 4, 7]);
    expect(T.sliceRange(x, 0, -100, 100, 4).arraySync()).toEqual([0, 4, 8]);
    expect(T.sliceRange(x, 0, 6, 2).arraySync()).toEqual([]);
    expect(() => T.sliceRange(x, 0, 0, null, 0)).toThrow('sliceRange: step must be a positive integer, got 0');
  });

  it('select drops the axis and counts negative indices from the end', () => {
    const m = f64([[1, 2, 3], [4, 5, 6]]);
    expect(T.select(m, 1, -1).arraySync()).toEqual([3, 6]);
    expect(() => T.select(m, 0, 2)).toThrow('select: index 2 is out of range for axis 0 of size 2 in [2,3]');
  });

  it('split by a size leaves a shorter last piece; split by sizes must add up; chunk as torch.chunk', () => {
    expect(T.split(x, 4).map((p) => p.shape[0])).toEqual([4, 4, 2]);
    expect(T.split(x, [3, 7]).map((p) => p.arraySync())).toEqual([[0, 1, 2], [3, 4, 5, 6, 7, 8, 9]]);
    expect(() => T.split(x, [3, 3])).toThrow('split: sizes [3, 3] must be non-negative integers adding up to 10');
    expect(T.chunk(x, 3).map((p) => p.shape[0])).toEqual([4, 4, 2]);
  });
});

describe('bool', () => {
  it('comes from isnan, the logical ops and casts; nonzero (NaN too) is true', () => {
    const x = f64([0, NaN, -2, 0.5]);
    expect(T.isnan(x).dtype).toBe('bool');
    expect(Array.from(T.isnan(x).dataSync())).toEqual([0, 1, 0, 0]);
    expect(Array.from(T.cast(x, 'bool').dataSync())).toEqual([0, 1, 1, 1]);
    expect(Array.from(T.logicalAnd(x, ids([1, 1, 0, 1])).dataSync())).toEqual([0, 1, 0, 1]);
    expect(Array.from(T.where(T.logicalNot(T.isnan(x)), x, 0).dataSync())).toEqual([0, 0, -2, 0.5]);
  });

  it('is refused by arithmetic, with the op named', () => {
    const b = T.tensor([1, 0], { dtype: 'bool' });
    expect(() => T.add(b, b)).toThrow('add: expected floating-point or int32 tensors, got bool');
    expect(() => T.sum(b)).toThrow('sum: bool tensors are not supported; cast to float32 or int32 first');
    expect(() => b.requireGrad()).toThrow('requireGrad: only floating-point tensors can require gradients, got bool');
  });

  it.runIf(gpu)('round-trips through the GPU and drives where and casts there', async () => {
    const x = T.tensor([0, NaN, -2, 0.5], { backend: 'webgpu' });
    const mask = T.isnan(x);
    expect(mask.dtype).toBe('bool');
    expect(Array.from(await mask.data())).toEqual([0, 1, 0, 0]);
    expect(Array.from(await T.logicalXor(mask, T.cast(x, 'bool')).data())).toEqual([0, 0, 1, 1]);
    expect(Array.from(await T.where(mask, 7, x).data())).toEqual([0, 7, -2, 0.5]);
    expect(Array.from(await T.tensor([1, 0, 1], { dtype: 'bool', backend: 'webgpu' }).cast('float32').data())).toEqual([1, 0, 1]);
  });
});

describe('gather and scatter along an axis', () => {
  it('out-of-range indices raise on the CPU at the call, naming the op, the value and the axis', () => {
    expect(() => T.gatherAlong(f64([[1, 2], [3, 4]]), 1, ids([[0], [2]]))).toThrow(
      'gatherAlong: index 2 at position 1 is out of range for 2 entries along axis 1 (valid: 0..1)',
    );
    // Along the axis the index may be longer (it picks entries repeatedly); across it, not.
    expect(T.gatherAlong(f64([[1, 2]]), 0, ids([[0, 0], [0, 0]])).arraySync()).toEqual([[1, 2], [1, 2]]);
    expect(() => T.gatherAlong(f64([[1, 2]]), 0, ids([[0, 0, 0]]))).toThrow(/index \[1,3\] must have the rank of input \[1,2\] and no larger size on any axis but 0/);
  });

  it.runIf(gpu)('out-of-range indices computed on the GPU are reported at the next read', async () => {
    const x = T.tensor([[1, 2], [3, 4]], { backend: 'webgpu' });
    const idx = T.add(T.tensor([[0], [1]], { dtype: 'int32', backend: 'webgpu' }), 1); // [[1], [2]]: 2 is out of range
    const y = T.gatherAlong(x, 1, idx);
    await expect(y.data()).rejects.toThrow(/^gatherAlong: index 2 is out of range for 2 rows/);
  });

  it('scatterAddAlong adds duplicates; indexSelect picks rows in any order', () => {
    expect(Array.from(T.scatterAddAlong(T.zeros([3], { dtype: 'float64' }), 0, ids([0, 2, 0]), f64([1, 2, 3])).dataSync())).toEqual([4, 0, 2]);
    expect(T.indexSelect(f64([[1, 2], [3, 4], [5, 6]]), 0, ids([2, 0, 2])).arraySync()).toEqual([[5, 6], [1, 2], [5, 6]]);
  });
});

describe('reductions', () => {
  it('variance with n <= correction divides by zero (inf or NaN), as PyTorch', () => {
    expect(Number.isNaN(T.variance(f64([3])).dataSync()[0])).toBe(true);
    expect(T.variance(f64([3]), null, { correction: 0 }).dataSync()[0]).toBe(0);
  });

  it('cumsum runs along any axis; its gradient is the running sum from the other end', () => {
    const x = T.tensor([[1, 2, 3], [4, 5, 6]], { dtype: 'float64', requiresGrad: true });
    expect(T.cumsum(x, 1).arraySync()).toEqual([[1, 3, 6], [4, 9, 15]]);
    T.sum(T.cumsum(x, 1)).backward();
    expect(x.grad!.arraySync()).toEqual([[3, 2, 1], [3, 2, 1]]);
  });
});
