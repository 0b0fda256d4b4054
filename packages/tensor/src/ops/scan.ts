// Ops along one axis: argmax/argmin (int32 indices, no gradient) and cumsum (its gradient
// is the cumsum of dy from the other end). One thread per line on the GPU (along-axis.ts).

import { allocArray, isFloat } from '../dtype.js';
import { fmtShape, normAxis } from '../shape.js';
import { defineOp, runOp, type OpDef } from '../op.js';
import { referenceOnWasm } from '../backends/wasm/reference.js';
import type { ArgReduceAttrs, CumsumAttrs } from '../attrs.js';
import type { Tensor } from '../tensor.js';
import { aroundAxis } from '../backends/cpu/indexing.js';
import { gpuArgReduce, gpuCumsum } from '../backends/webgpu/along-axis.js';
import { reshape } from './layout.js';
import { tidy } from '../memory.js';

/** The `argReduce` op's definition (`defineOp`): run it with `runOp`, or find it in `opRegistry`. */
export const argReduceOp = defineOp<ArgReduceAttrs>({
  name: 'argmax',
  infer: ([x], { axis, keepdim, min }) => {
    const op = min ? 'argmin' : 'argmax';
    if (x!.dtype === 'bool') throw new Error(`${op}: bool tensors are not supported; cast first`);
    if (x!.shape[axis] === 0) throw new Error(`${op}: cannot reduce the empty axis ${axis} of ${fmtShape(x!.shape)}`);
    const shape = keepdim ? x!.shape.map((d, i) => (i === axis ? 1 : d)) : x!.shape.filter((_, i) => i !== axis);
    return { shape, dtype: 'int32' };
  },
  kernels: referenceOnWasm({
    cpu: (_b, [x], out, { axis, min }) => {
      const { outer, n, inner } = aroundAxis(x!.shape, axis);
      const d = x!.data;
      const o = allocArray('int32', out.size);
      for (let p = 0; p < outer; p++) {
        for (let q = 0; q < inner; q++) {
          const base = p * n * inner + q;
          let best = d[base]!;
          let at = 0;
          for (let k = 1; k < n; k++) {
            const v = d[base + k * inner]!;
            // NaN beats any number; ties keep the first index (as PyTorch).
            if (!Number.isNaN(best) && (Number.isNaN(v) || (min ? v < best : v > best))) {
              best = v;
              at = k;
            }
          }
          o[p * inner + q] = at;
        }
      }
      return o;
    },
    webgpu: gpuArgReduce,
  }),
  grad: 'none',
});

function argReduce(x: Tensor, dim: number | null, keepdim: boolean, min: boolean): Tensor {
  const op = min ? 'argmin' : 'argmax';
  if (dim === null) {
    // Over all elements, as PyTorch: the index into the flattened tensor.
    if (keepdim) throw new Error(`${op}: keepdim needs a dim`);
    return tidy(() => reshape(runOp(argReduceOp, [reshape(x, [x.size])], { axis: 0, min, keepdim: false }), []));
  }
  return runOp(argReduceOp, [x], { axis: normAxis(op, dim, x.rank), min, keepdim });
}

/**
 * Index of the largest value along `dim` (over the flattened tensor when dim is null),
 * int32, like `torch.argmax`: the first one on ties, and NaN counts as the largest.
 *
 * @example
 * argmax(logits, 1); // predicted class per row
 */
export const argmax = (x: Tensor, dim: number | null = null, keepdim = false): Tensor => argReduce(x, dim, keepdim, false);
/** Index of the smallest value along `dim`, like `torch.argmin` (NaN counts as the smallest). */
export const argmin = (x: Tensor, dim: number | null = null, keepdim = false): Tensor => argReduce(x, dim, keepdim, true);

/** The `cumsum` op's definition (`defineOp`): run it with `runOp`, or find it in `opRegistry`. */
export const cumsumOp: OpDef<CumsumAttrs> = defineOp<CumsumAttrs>({
  name: 'cumsum',
  infer: ([x]) => {
    if (!isFloat(x!.dtype) && x!.dtype !== 'int32') throw new Error(`cumsum: expected a float or int32 tensor, got ${x!.dtype}`);
    return { shape: x!.shape, dtype: x!.dtype };
  },
  kernels: referenceOnWasm({
    cpu: (_b, [x], out, { axis, reverse }) => {
      const { outer, n, inner } = aroundAxis(x!.shape, axis);
      const d = x!.data;
      const o = allocArray(out.dtype, out.size);
      for (let p = 0; p < outer; p++) {
        for (let q = 0; q < inner; q++) {
          const base = p * n * inner + q;
          let acc = 0;
          for (let k = 0; k < n; k++) {
            const at = base + (reverse ? n - 1 - k : k) * inner;
            acc += d[at]!;
            o[at] = acc;
          }
        }
      }
      return o;
    },
    webgpu: gpuCumsum,
  }),
  // y_k = sum_{j <= k} x_j, so dx_j = sum_{k >= j} dy_k: the running sum from the other end.
  grad: (dy, { attrs: { axis, reverse } }) => [runOp(cumsumOp, [dy], { axis, reverse: !reverse })],
});

/**
 * Running sums along `dim`, like `torch.cumsum`.
 *
 * @example
 * cumsum(tensor([1, 2, 3]), 0); // [1, 3, 6]
 */
export function cumsum(x: Tensor, dim: number): Tensor {
  return runOp(cumsumOp, [x], { axis: normAxis('cumsum', dim, x.rank), reverse: false });
}
