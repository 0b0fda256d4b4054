// Index walking shared by the CPU kernels: visiting every element of an output shape while
// tracking the matching offset in each (possibly broadcast or permuted) input.

import type { Shape } from '../../shape.js';

/**
 * Calls `visit(outIndex, offsets)` for every element of `shape` in row-major order, where
 * `offsets[k]` is the element offset in input k given its per-dimension `strides[k]`
 * (0 for broadcast dimensions). An odometer updates offsets incrementally: no division.
 */
export function walk(shape: Shape, strides: readonly (readonly number[])[], visit: (i: number, offsets: Int32Array | number[]) => void): void {
  const rank = shape.length;
  const n = shape.reduce((a, b) => a * b, 1);
  if (n === 0) return;
  const k = strides.length;
  const offsets = new Array<number>(k).fill(0);
  const counter = new Array<number>(rank).fill(0);
  for (let i = 0; i < n; i++) {
    visit(i, offsets);
    // advance the odometer from the last dimension
    for (let d = rank - 1; d >= 0; d--) {
      if (++counter[d]! < shape[d]!) {
        for (let j = 0; j < k; j++) offsets[j] += strides[j]![d]!;
        break;
      }
      counter[d] = 0;
      for (let j = 0; j < k; j++) offsets[j] -= strides[j]![d]! * (shape[d]! - 1);
    }
  }
}

/** Splits `shape` around `axis` into (outer, length, inner) for row-wise kernels. */
export function aroundAxis(shape: Shape, axis: number): { outer: number; n: number; inner: number } {
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i]!;
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i]!;
  return { outer, n: shape[axis]!, inner };
}
