// Softmax and log-softmax along one axis. The kernels subtract the row maximum before
// exponentiating, so large inputs do not overflow. Gradients (with y the output):
//   softmax:     dx = y * (dy - sum(dy * y))
//   logSoftmax:  dx = dy - exp(y) * sum(dy)

import { isFloat } from '../dtype.js';
import { normAxis } from '../shape.js';
import type { TensorMeta } from '../backend.js';
import { defineOp, runOp } from '../op.js';
import type { Tensor } from '../tensor.js';
import { softmax as cpuSoftmax } from '../backends/cpu/kernels.js';
import { gpuSoftmax } from '../backends/webgpu/softmax.js';
import { exp, mul, sub } from './elementwise.js';
import { sum } from './reduce.js';

interface AxisAttrs {
  readonly axis: number;
}

const inferFloat = (name: string) => ([x]: readonly TensorMeta[]) => {
  if (!isFloat(x!.dtype)) throw new Error(`${name}: expected a floating-point tensor, got ${x!.dtype}`);
  return { shape: x!.shape, dtype: x!.dtype };
};

export const softmaxOp = defineOp<AxisAttrs>({
  name: 'softmax',
  infer: inferFloat('softmax'),
  kernels: { cpu: (_b, [x], out, { axis }) => cpuSoftmax(x!, out, axis, false), webgpu: gpuSoftmax(false) },
  grad: (dy, { output: y, attrs: { axis } }) => [mul(y, sub(dy, sum(mul(dy, y), axis, true)))],
});

export const logSoftmaxOp = defineOp<AxisAttrs>({
  name: 'logSoftmax',
  infer: inferFloat('logSoftmax'),
  kernels: { cpu: (_b, [x], out, { axis }) => cpuSoftmax(x!, out, axis, true), webgpu: gpuSoftmax(true) },
  grad: (dy, { output: y, attrs: { axis } }) => [sub(dy, mul(exp(y), sum(dy, axis, true)))],
});

/** exp(x) / sum(exp(x)) along `dim` (default last), numerically stable. */
export function softmax(x: Tensor, dim = -1): Tensor {
  return runOp(softmaxOp, [x], { axis: normAxis('softmax', dim, x.rank) });
}

/** log(softmax(x)) along `dim`, computed as x - max - log(sum(exp(x - max))). */
export function logSoftmax(x: Tensor, dim = -1): Tensor {
  return runOp(logSoftmaxOp, [x], { axis: normAxis('logSoftmax', dim, x.rank) });
}
