// Errors are part of the API: each names the op, the shapes and what was expected.

import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';

const f = (shape: number[]) => T.zeros(shape);

describe('error messages', () => {
  it('matmul with mismatched inner dimensions names both shapes and both dims', () => {
    expect(() => T.matmul(f([32, 5]), f([4, 8]))).toThrow('matmul: [32,5] @ [4,8]: inner dimensions 5 and 4 differ');
  });

  it('broadcasting failure names the op and the shapes', () => {
    expect(() => T.add(f([2, 3]), f([4]))).toThrow(/add: shapes \[2,3\] and \[4\] cannot be broadcast/);
  });

  it('mixed dtypes are promoted as in PyTorch, not refused (type-promotion.test.ts)', () => {
    const a = T.zeros([2], { dtype: 'float64' });
    expect(T.mul(a, f([2])).dtype).toBe('float64');
  });

  it('float-only ops reject int32', () => {
    expect(() => T.exp(T.zeros([2], { dtype: 'int32' }))).toThrow('exp: expected a floating-point tensor, got int32');
  });

  it('gather index out of range names the index, its position and the row count', () => {
    const w = f([6, 3]);
    const idx = T.tensor([1, 6, 2], { dtype: 'int32' });
    expect(() => T.gather(w, idx)).toThrow('gather: index 6 at position 1 is out of range for 6 rows (valid: 0..5)');
    expect(() => T.gather(w, T.tensor([-1], { dtype: 'int32' }))).toThrow(/index -1/);
  });

  it('gather needs int32 indices', () => {
    expect(() => T.gather(f([3, 2]), f([2]))).toThrow('gather: indices must be int32, got float32');
  });

  it('backward on a non-scalar without a gradient explains what to pass', () => {
    const x = T.ones([2, 2], { requiresGrad: true });
    expect(() => T.mul(x, 2).backward()).toThrow(/backward: called on a tensor of shape \[2,2\] without a gradient/);
  });

  it('backward on a tensor that does not require grad', () => {
    expect(() => T.sum(f([2])).backward()).toThrow(/does not require grad/);
  });

  it('using a disposed tensor names it', () => {
    const x = f([2, 3]);
    x.dispose();
    expect(() => T.exp(x)).toThrow('exp: input [2,3] float32 was used after dispose()');
    expect(() => x.dataSync()).toThrow(/used after dispose/);
  });

  it('reshape to a different element count', () => {
    expect(() => T.reshape(f([2, 3]), [4, 2])).toThrow('reshape: cannot view [2,3] (6 elements) as [4,2] (8 elements)');
  });

  it('axis out of range', () => {
    expect(() => T.sum(f([2, 3]), 2)).toThrow('sum: axis 2 is out of range for a tensor of rank 2');
    expect(() => T.softmax(f([2, 3]), -3)).toThrow(/softmax: axis -3 is out of range/);
  });

  it('concat with mismatched shapes', () => {
    expect(() => T.concat([f([2, 3]), f([3, 3])], 1)).toThrow(/concat: along axis 1, \[2,3\] float32, \[3,3\] float32/);
  });

  it('tensor with a wrong element count for its shape', () => {
    expect(() => T.tensor([1, 2, 3], { shape: [2, 2] })).toThrow('tensor: 3 values cannot fill shape [2,2] (4 elements)');
  });

  it('tidy refuses async functions', () => {
    expect(() => T.tidy(() => Promise.resolve(1))).toThrow(/tidy: the function must be synchronous/);
  });

  it('webgpu before initialisation says how to initialise', async () => {
    await expect(T.setBackend('nope' as 'cpu')).rejects.toThrow(/unknown backend 'nope'/);
  });
});
