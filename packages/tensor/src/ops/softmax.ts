// Softmax and log-softmax along one axis. The kernels subtract the row maximum before
// exponentiating, so large inputs do not overflow. Gradients (with y the output) run as one
// fused backward kernel per backend (`softmaxBackward`); its gradcheck is softmax's own:
//   softmax:     dx = y * (dy - sum(dy * y))
//   logSoftmax:  dx = dy - exp(y) * sum(dy)

import { isFloat } from '../dtype.js';
import { normAxis } from '../shape.js';
import type { TensorMeta } from '../backend.js';
import { defineOp, runOp } from '../op.js';
import { referenceOnWasm, withWasm } from '../backends/wasm/reference.js';
import { wasmSoftmax, wasmSoftmaxBackward } from '../backends/wasm/softmax.js';
import type { AxisAttrs, SoftmaxBackwardAttrs } from '../attrs.js';
import type { Tensor } from '../tensor.js';
import { softmax as cpuSoftmax, softmaxBackward as cpuSoftmaxBackward } from '../backends/cpu/kernels.js';
import { gpuSoftmaxBackward } from '../backends/webgpu/softmax-grad.js';
import { gpuSoftmax } from '../backends/webgpu/softmax.js';
import { isGradEnabled } from '../grad-mode.js';
import { exp, mul, sub } from './elementwise.js';
import { sum } from './reduce.js';

const inferFloat = (name: string) => ([x]: readonly TensorMeta[]) => {
  if (!isFloat(x!.dtype)) throw new Error(`${name}: expected a floating-point tensor, got ${x!.dtype}`);
  return { shape: x!.shape, dtype: x!.dtype };
};

/** dx from [y, dy] for softmax / logSoftmax; only used inside their gradients (no double backward). */
export const softmaxBackwardOp = defineOp<SoftmaxBackwardAttrs>({
  name: 'softmaxBackward',
  infer: ([y, dy]) => {
    if (y!.shape.length !== dy!.shape.length || y!.shape.some((d, i) => d !== dy!.shape[i]) || y!.dtype !== dy!.dtype) {
      throw new Error(`softmaxBackward: gradient ${dy!.shape.join('x')} ${dy!.dtype} does not match output ${y!.shape.join('x')} ${y!.dtype}`);
    }
    return { shape: y!.shape, dtype: y!.dtype };
  },
  kernels: withWasm(
    referenceOnWasm({ cpu: (_b, [y, dy], out, { axis, log }) => cpuSoftmaxBackward(y!, dy!, out, axis, log), webgpu: gpuSoftmaxBackward }),
    wasmSoftmaxBackward,
  ),
  grad: 'notImplemented',
});

/** The `softmax` op's definition (`defineOp`): run it with `runOp`, or find it in `opRegistry`. */
export const softmaxOp = defineOp<AxisAttrs>({
  name: 'softmax',
  infer: inferFloat('softmax'),
  kernels: withWasm(referenceOnWasm({ cpu: (_b, [x], out, { axis }) => cpuSoftmax(x!, out, axis, false), webgpu: gpuSoftmax(false) }), wasmSoftmax(false)),
  // Recording a double backward: the same formula from differentiable ops.
  grad: (dy, { output: y, attrs: { axis } }) =>
    isGradEnabled() ? [mul(y, sub(dy, sum(mul(dy, y), axis, true)))] : [runOp(softmaxBackwardOp, [y, dy], { axis, log: false })],
});

/** The `logSoftmax` op's definition (`defineOp`): run it with `runOp`, or find it in `opRegistry`. */
export const logSoftmaxOp = defineOp<AxisAttrs>({
  name: 'logSoftmax',
  infer: inferFloat('logSoftmax'),
  kernels: withWasm(referenceOnWasm({ cpu: (_b, [x], out, { axis }) => cpuSoftmax(x!, out, axis, true), webgpu: gpuSoftmax(true) }), wasmSoftmax(true)),
  grad: (dy, { output: y, attrs: { axis } }) =>
    isGradEnabled() ? [sub(dy, mul(exp(y), sum(dy, axis, true)))] : [runOp(softmaxBackwardOp, [y, dy], { axis, log: true })],
});

/** exp(x) / sum(exp(x)) along `dim` (default last), numerically stable. */
export function softmax(x: Tensor, dim = -1): Tensor {
  return runOp(softmaxOp, [x], { axis: normAxis('softmax', dim, x.rank) });
}

/** log(softmax(x)) along `dim`, computed as x - max - log(sum(exp(x - max))). */
export function logSoftmax(x: Tensor, dim = -1): Tensor {
  return runOp(logSoftmaxOp, [x], { axis: normAxis('logSoftmax', dim, x.rank) });
}
