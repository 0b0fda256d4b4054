// matmul's torch.matmul rules on the float64 CPU backend, against values computed here
// independently (by hand, or by the textbook triple loop below): 1-D @ 1-D is a dot
// product, a 1-D left operand is a row vector and a 1-D right one a column vector (the
// added axis removed from the result), batch dims broadcast, and a broadcast operand's
// gradient is summed over the dims it was broadcast along. webgpu-matmul.test.ts checks the
// GPU against this backend.

import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { expectClose } from './helpers.js';

const prod = (shape: readonly number[]): number => shape.reduce((x, y) => x * y, 1);

const f64 = (data: ArrayLike<number>, shape: number[], requiresGrad = false): Tensor => {
  const t = T.tensor(Float64Array.from(data), { shape, dtype: 'float64', backend: 'cpu' });
  return requiresGrad ? t.requireGrad() : t;
};

/** Small integers in [-3, 3], so every product and sum below is exact in float64. */
function ints(n: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return (s % 7) - 3;
  });
}

/**
 * A @ B for row-major operands of rank >= 2 whose batch dims broadcast (numpy rules): for
 * each output batch index, the matching matrices of A and B (index 0 along a size-1 or
 * missing dim) multiplied by the triple loop. Returns the data and the shape.
 */
function naiveMatmul(a: readonly number[], aShape: number[], b: readonly number[], bShape: number[]): { data: number[]; shape: number[] } {
  const [m, k] = aShape.slice(-2) as [number, number];
  const [k2, n] = bShape.slice(-2) as [number, number];
  if (k !== k2) throw new Error('naiveMatmul: inner dims differ');
  const rank = Math.max(aShape.length, bShape.length) - 2;
  const pad = (s: number[]): number[] => [...new Array<number>(rank - (s.length - 2)).fill(1), ...s.slice(0, -2)];
  const [aB, bB] = [pad(aShape), pad(bShape)];
  const batch = aB.map((d, i) => Math.max(d, bB[i]!));
  const out: number[] = [];
  for (let z = 0; z < prod(batch); z++) {
    // Unravel z over `batch`, then ravel into A's and B's batch dims (size 1: index 0).
    let rest = z;
    let [za, zb, sa, sb] = [0, 0, 1, 1];
    for (let i = rank - 1; i >= 0; i--) {
      const idx = rest % batch[i]!;
      rest = Math.floor(rest / batch[i]!);
      za += (aB[i] === 1 ? 0 : idx) * sa;
      zb += (bB[i] === 1 ? 0 : idx) * sb;
      sa *= aB[i]!;
      sb *= bB[i]!;
    }
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += a[za * m * k + i * k + p]! * b[zb * k * n + p * n + j]!;
        out.push(s);
      }
    }
  }
  return { data: out, shape: [...batch, m, n] };
}

describe('matmul on the CPU: torch.matmul semantics', () => {
  it('1-D @ 1-D is the dot product, a 0-D result', () => {
    const y = T.matmul(f64([1, 2, 3], [3]), f64([4, 5, -6], [3]));
    expect(y.shape).toEqual([]);
    expect(Array.from(y.dataSync())).toEqual([1 * 4 + 2 * 5 - 3 * 6]);
  });

  it('a 1-D left operand is a row vector: [K] @ [K, N] is [N], [K] @ [B, K, N] is [B, N]', () => {
    const b = [1, 2, 3, 4, 5, 6]; // [[1, 2, 3], [4, 5, 6]]
    const y = T.matmul(f64([1, 2], [2]), f64(b, [2, 3]));
    expect(y.shape).toEqual([3]);
    expect(Array.from(y.dataSync())).toEqual([9, 12, 15]);
    const yb = T.matmul(f64([1, 2], [2]), f64([...b, 0, 1, 0, 1, 0, -1], [2, 2, 3]));
    expect(yb.shape).toEqual([2, 3]);
    expect(Array.from(yb.dataSync())).toEqual([9, 12, 15, 2, 1, -2]);
  });

  it('a 1-D right operand is a column vector: [M, K] @ [K] is [M], [B, M, K] @ [K] is [B, M]', () => {
    const a = [1, 2, 3, 4, 5, 6]; // [[1, 2], [3, 4], [5, 6]]
    const y = T.matmul(f64(a, [3, 2]), f64([2, 1], [2]));
    expect(y.shape).toEqual([3]);
    expect(Array.from(y.dataSync())).toEqual([4, 10, 16]);
    const yb = T.matmul(f64([...a, -1, 0, 0, 1, 2, 2], [2, 3, 2]), f64([2, 1], [2]));
    expect(yb.shape).toEqual([2, 3]);
    expect(Array.from(yb.dataSync())).toEqual([4, 10, 16, -2, 1, 6]);
  });

  it('a 2-D matrix product matches hand values', () => {
    // [[1, 2], [3, 4]] @ [[5, 6], [7, 8]]
    const y = T.matmul(f64([1, 2, 3, 4], [2, 2]), f64([5, 6, 7, 8], [2, 2]));
    expect(y.shape).toEqual([2, 2]);
    expect(Array.from(y.dataSync())).toEqual([19, 22, 43, 50]);
  });

  // [a shape, b shape, result shape]: size-1 and missing batch dims on either side, and a 2-D
  // right operand (folded into the rows of the left one) or 2-D left operand.
  const BROADCASTS: [number[], number[], number[]][] = [
    [[2, 1, 3, 4], [5, 4, 2], [2, 5, 3, 2]],
    [[1, 3, 2], [4, 2, 5], [4, 3, 5]],
    [[3, 1, 2, 3], [1, 4, 3, 2], [3, 4, 2, 2]],
    [[2, 3, 7, 5], [5, 4], [2, 3, 7, 4]],
    [[3, 4], [2, 4, 5], [2, 3, 5]],
    [[2, 3, 4], [2, 4, 1], [2, 3, 1]],
  ];
  for (const [aShape, bShape, shape] of BROADCASTS) {
    it(`broadcasts batch dims: [${aShape}] @ [${bShape}] is [${shape}]`, () => {
      const [a, b] = [ints(prod(aShape), 1), ints(prod(bShape), 2)];
      const y = T.matmul(f64(a, aShape), f64(b, bShape));
      const want = naiveMatmul(a, aShape, b, bShape);
      expect(want.shape).toEqual(shape);
      expect(y.shape).toEqual(shape);
      expectClose(y.dataSync(), want.data);
    });
  }

  it('the gradient of a broadcast operand is summed over the broadcast dims (hand formula)', () => {
    // a [2, 1, 3, 4] is broadcast along dim 1 (to 5), b [5, 4, 2] along a new leading dim (to 2).
    const [aShape, bShape, yShape] = [[2, 1, 3, 4], [5, 4, 2], [2, 5, 3, 2]];
    const [a, b, r] = [ints(24, 3), ints(40, 4), ints(60, 5)];
    const ta = f64(a, aShape, true);
    const tb = f64(b, bShape, true);
    // loss = sum(y * r), so dL/dy = r.
    T.sum(T.mul(T.matmul(ta, tb), f64(r, yShape))).backward();
    // dA[i, 0, p, q] = sum over j (the broadcast dim) and c of r[i, j, p, c] * b[j, q, c].
    const dA = new Array<number>(24).fill(0);
    // dB[j, q, c] = sum over i (the broadcast dim) and p of a[i, 0, p, q] * r[i, j, p, c].
    const dB = new Array<number>(40).fill(0);
    for (let i = 0; i < 2; i++) {
      for (let j = 0; j < 5; j++) {
        for (let p = 0; p < 3; p++) {
          for (let q = 0; q < 4; q++) {
            for (let c = 0; c < 2; c++) {
              const rv = r[((i * 5 + j) * 3 + p) * 2 + c]!;
              dA[(i * 3 + p) * 4 + q]! += rv * b[(j * 4 + q) * 2 + c]!;
              dB[(j * 4 + q) * 2 + c]! += a[(i * 3 + p) * 4 + q]! * rv;
            }
          }
        }
      }
    }
    expect(ta.grad!.shape).toEqual(aShape);
    expect(tb.grad!.shape).toEqual(bShape);
    expectClose(ta.grad!.dataSync(), dA);
    expectClose(tb.grad!.dataSync(), dB);
  });

  /** Central differences of sum(naiveMatmul(a, b) * r) with respect to each element of x (a or b). */
  function finiteDiff(a: number[], aShape: number[], b: number[], bShape: number[], r: number[], wrt: 'a' | 'b'): number[] {
    const loss = (a2: number[], b2: number[]): number => naiveMatmul(a2, aShape, b2, bShape).data.reduce((s, v, i) => s + v * r[i]!, 0);
    const x = wrt === 'a' ? a : b;
    const h = 1e-3;
    return x.map((_, i) => {
      const at = (d: number): number => {
        const moved = x.slice();
        moved[i]! += d;
        return wrt === 'a' ? loss(moved, b) : loss(a, moved);
      };
      return (at(h) - at(-h)) / (2 * h);
    });
  }

  // A 2-D right operand is shared by every batch entry of the left one, a 2-D left one by
  // every entry of the right one, and size-1 dims broadcast on both sides at once.
  for (const [aShape, bShape] of [
    [[2, 3, 4], [4, 5]],
    [[3, 4], [2, 4, 5]],
    [[3, 1, 2, 3], [1, 4, 3, 2]],
    [[4], [2, 4, 3]],
    [[2, 3, 4], [4]],
  ]) {
    it(`gradients of [${aShape}] @ [${bShape}] match central differences`, () => {
      const [a, b] = [ints(prod(aShape!), 6), ints(prod(bShape!), 7)];
      const ta = f64(a, aShape!, true);
      const tb = f64(b, bShape!, true);
      const y = T.matmul(ta, tb);
      const r = ints(y.size, 8);
      T.sum(T.mul(y, f64(r, [...y.shape]))).backward();
      // The loss is linear in each element, so the differences are exact up to rounding.
      const promote = (s: number[], side: 'a' | 'b'): number[] => (s.length > 1 ? s : side === 'a' ? [1, s[0]!] : [s[0]!, 1]);
      const [pa, pb] = [promote(aShape!, 'a'), promote(bShape!, 'b')];
      expect(ta.grad!.shape).toEqual(aShape);
      expect(tb.grad!.shape).toEqual(bShape);
      expectClose(ta.grad!.dataSync(), finiteDiff(a, pa, b, pb, r, 'a'), 1e-8, 1e-8);
      expectClose(tb.grad!.dataSync(), finiteDiff(a, pa, b, pb, r, 'b'), 1e-8, 1e-8);
    });
  }

  it('names the op and both shapes when the inner dims differ', () => {
    expect(() => T.matmul(f64(ints(6, 1), [2, 3]), f64(ints(20, 2), [4, 5]))).toThrow('matmul: [2,3] @ [4,5]: inner dimensions 3 and 4 differ');
    expect(() => T.matmul(f64(ints(3, 1), [3]), f64(ints(4, 2), [4]))).toThrow('matmul: [3] @ [4]: inner dimensions 3 and 4 differ');
    expect(() => T.matmul(f64(ints(3, 1), [3]), f64(ints(8, 2), [2, 4]))).toThrow('matmul: [3] @ [2,4]: inner dimensions 3 and 2 differ');
    expect(() => T.matmul(f64(ints(24, 1), [2, 3, 4]), f64(ints(60, 2), [2, 5, 6]))).toThrow(
      'matmul: [2,3,4] @ [2,5,6]: inner dimensions 4 and 5 differ',
    );
  });

  it('names the op and both batch shapes when the batch dims do not broadcast', () => {
    expect(() => T.matmul(f64(ints(24, 1), [2, 3, 4]), f64(ints(60, 2), [3, 4, 5]))).toThrow(
      'matmul: shapes [2] and [3] cannot be broadcast (dimension -1 is 2 in one and 3 in another)',
    );
  });
});
