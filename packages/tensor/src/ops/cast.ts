// Dtype conversion (and copying): float -> int truncates toward zero like PyTorch.
// The gradient of a float -> float cast is the gradient cast back.

import { isFloat, toTypedArray, type DType } from '../dtype.js';
import { defineOp, runOp } from '../op.js';
import { referenceOnWasm, withWasm } from '../backends/wasm/reference.js';
import { wasmCast } from '../backends/wasm/unary.js';
import type { CastAttrs } from '../attrs.js';
import { gpuCast } from '../backends/webgpu/layout.js';
import type { Tensor } from '../tensor.js';

/** The `cast` op's definition (`defineOp`): run it with `runOp`, or find it in `opRegistry`. */
export const castOp = defineOp<CastAttrs>({
  name: 'cast',
  infer: ([x], { dtype }) => ({ shape: x!.shape, dtype }),
  kernels: withWasm(referenceOnWasm({ cpu: (_b, [x], out) => toTypedArray(x!.data, out.dtype), webgpu: gpuCast }), wasmCast),
  grad: (dy, { inputs: [x] }) => [isFloat(x!.dtype) && isFloat(dy.dtype) ? cast(dy, x!.dtype, true) : null],
});

/** Converts to `dtype`; returns `x` itself when the dtype already matches, unless `copy`. */
export function cast(x: Tensor, dtype: DType, copy = false): Tensor {
  if (x.dtype === dtype && !copy) return x;
  return runOp(castOp, [x], { dtype });
}

/** A copy with its own storage (gradients flow through it). */
export function clone(x: Tensor): Tensor {
  return cast(x, x.dtype, true);
}
