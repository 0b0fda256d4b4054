// Mixed dtypes in the binary elementwise ops follow PyTorch's type promotion
// (https://pytorch.org/docs/stable/tensor_attributes.html#type-promotion-doc), written out by
// hand here: the expected dtypes and values are PyTorch's for the same inputs.

import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';

T.setBackend('cpu');
const i32 = (v: number[]) => T.tensor(v, { dtype: 'int32' });
const f32 = (v: number[]) => T.tensor(v, { dtype: 'float32' });
const f64 = (v: number[]) => T.tensor(v, { dtype: 'float64' });
const b = (v: number[]) => T.tensor(v, { dtype: 'bool' });

describe('type promotion (torch.result_type)', () => {
  it('promoteTypes is the category order bool < int32 < float, wider float wins', () => {
    const table: [T.DType, T.DType, T.DType][] = [
      ['int32', 'float32', 'float32'],
      ['float32', 'int32', 'float32'],
      ['bool', 'int32', 'int32'],
      ['bool', 'float32', 'float32'],
      ['bool', 'float64', 'float64'],
      ['int32', 'float64', 'float64'],
      ['float32', 'float64', 'float64'],
      ['int32', 'int32', 'int32'],
    ];
    for (const [a, c, want] of table) expect(T.promoteTypes(a, c), `${a} with ${c}`).toBe(want);
  });

  it('int32 + float32 -> float32 (torch.tensor([1, 2]) + torch.tensor([0.5, 0.25]) = tensor([1.5, 2.25]))', () => {
    const y = T.add(i32([1, 2]), f32([0.5, 0.25]));
    expect(y.dtype).toBe('float32');
    expect(Array.from(y.dataSync())).toEqual([1.5, 2.25]);
    expect(T.mul(f32([0.5, 2]), i32([3, 3])).dtype).toBe('float32');
  });

  it('bool with int32 -> int32; bool with float -> float', () => {
    const y = T.add(b([1, 0, 1]), i32([10, 20, 30]));
    expect(y.dtype).toBe('int32');
    expect(Array.from(y.dataSync())).toEqual([11, 20, 31]);
    const z = T.mul(b([1, 0]), f32([2.5, 3]));
    expect(z.dtype).toBe('float32');
    expect(Array.from(z.dataSync())).toEqual([2.5, 0]);
    expect(T.sub(f64([1]), b([1])).dtype).toBe('float64');
  });

  it('float32 with float64 -> float64 on the CPU, and the gradient reaches the float32 leaf in float32', () => {
    const w = T.tensor([2], { dtype: 'float32', requiresGrad: true });
    const y = T.mul(w, f64([0.1]));
    expect(y.dtype).toBe('float64');
    expect(y.dataSync()[0]).toBeCloseTo(0.2, 7);
    T.sum(y).backward();
    expect(w.grad!.dtype).toBe('float32');
    expect(w.grad!.dataSync()[0]).toBeCloseTo(0.1, 7);
  });

  it('a number does not widen within its category, but a fraction makes an int32 tensor float32 (tensor([1, 2]) * 0.5 = tensor([0.5, 1.]))', () => {
    expect(T.mul(i32([1, 2]), 3).dtype).toBe('int32');
    const y = T.mul(i32([1, 2]), 0.5);
    expect(y.dtype).toBe('float32');
    expect(Array.from(y.dataSync())).toEqual([0.5, 1]);
    expect(T.add(f32([1]), 2).dtype).toBe('float32');
    expect(T.add(b([1, 0]), 1).dtype).toBe('int32');
  });

  it('div of integers is true division, as torch.div: tensor([1, 3]) / tensor([2, 2]) = tensor([0.5, 1.5])', () => {
    const y = T.div(i32([1, 3]), i32([2, 2]));
    expect(y.dtype).toBe('float32');
    expect(Array.from(y.dataSync())).toEqual([0.5, 1.5]);
  });

  it('comparisons promote too: eq(int32, float32) compares as float32', () => {
    const y = T.eq(i32([1, 2]), f32([1, 2.5]));
    expect(y.dtype).toBe('float32');
    expect(Array.from(y.dataSync())).toEqual([1, 0]);
  });

  it('mean of int32 is refused as in PyTorch, saying to cast; accuracy = mean(eq(a, b).cast(float32))', () => {
    const pred = i32([1, 0, 2, 2]);
    const labels = i32([1, 1, 2, 0]);
    expect(() => T.mean(T.eq(pred, labels))).toThrow(/mean: could not infer output dtype: the input must be floating-point, got int32 .*cast it first: mean\(x.cast\('float32'\)\)/);
    expect(T.mean(T.eq(pred, labels).cast('float32')).dataSync()[0]).toBe(0.5);
  });

  it('bool with bool stays refused by arithmetic (PyTorch would give bool)', () => {
    expect(() => T.add(b([1]), b([1]))).toThrow('add: expected floating-point or int32 tensors, got bool');
  });
});
