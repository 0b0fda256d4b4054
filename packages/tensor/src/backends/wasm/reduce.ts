// The wasm backend's sum and max (packages/tensor/wasm/reduce.ts) when the reduced axes are
// the trailing ones (each row of [rows, cols] to a value: the last axis, or every axis) or
// the leading ones (each column: the first axis of a 2-D block, a batch's sums): float32 sum
// and max, int32 max. Other axes, and int32 sums (exact, refused when they overflow), run
// the op's reference kernel.

import type { Kernel } from '../../backend.js';
import type { ReduceAttrs } from '../../attrs.js';

/** sum or max of x over axes: SIMD for trailing or leading axes, else `reference`. */
export function wasmReduce(kind: 'sum' | 'max'): (reference: Kernel<'wasm', ReduceAttrs>) => Kernel<'wasm', ReduceAttrs> {
  return (reference) => (backend, inputs, out, attrs) => {
    const x = inputs[0]!;
    const { axes } = attrs;
    const rank = x.shape.length;
    const op = kind === 'sum' ? (out.dtype === 'float32' ? 0 : -1) : out.dtype === 'float32' ? 1 : out.dtype === 'int32' ? 2 : -1;
    const contiguous = axes.every((a, i) => i === 0 || a === axes[i - 1]! + 1);
    const trailing = axes.length > 0 && contiguous && axes[axes.length - 1] === rank - 1;
    const leading = axes.length > 0 && contiguous && axes[0] === 0;
    if (op < 0 || (!trailing && !leading) || x.size === 0) return reference(backend, inputs, out, attrs);
    const o = backend.alloc(out.size, out.dtype);
    if (trailing) {
      const rows = out.size;
      backend.parallel('reduceRows', [x.data.ptr, o.ptr, x.size / rows, op, 0, 0], 4, rows, backend.minChunk(x.size / rows));
      return o;
    }
    const cols = out.size;
    const acc = op === 0 ? backend.alloc(2 * cols, 'float32') : null;
    try {
      backend.parallel('reduceCols', [x.data.ptr, o.ptr, acc?.ptr ?? 0, x.size / cols, cols, op, 0, 0], 6, cols, backend.minChunk(x.size / cols));
    } finally {
      if (acc !== null) backend.free(acc);
    }
    return o;
  };
}
