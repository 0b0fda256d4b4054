// Fused training-mode batch normalisation over [N, C] (statistics per column): one kernel
// for the forward pass and two for the backward, instead of a dozen composed ops each way.
// nn's BatchNorm1d uses these for 2-D inputs; the composed form stays its reference.
//   forward:  y = (x - mean) / sqrt(var + eps) * w + b   (biased batch variance)
//   backward: dx = w / (N sqrt(var + eps)) * (N dy - sum(dy) - xhat * sum(dy * xhat))
//             dw = sum(dy * xhat),  db = sum(dy)

import { fmtShape } from '../shape.js';
import type { TensorMeta } from '../backend.js';
import { defineOp, runOp } from '../op.js';
import type { Tensor } from '../tensor.js';
import { isFloat } from '../dtype.js';
import { bnBackward, bnForward, bnStats } from '../backends/cpu/batchnorm.js';
import { gpuBnForward, gpuBnGradInput, gpuBnGradWeight, gpuBnStats } from '../backends/webgpu/batchnorm.js';
import { sum } from './reduce.js';

function check(op: string, x: TensorMeta, perColumn: readonly (TensorMeta | undefined)[], dy?: TensorMeta): void {
  if (x.shape.length !== 2) throw new Error(`${op}: expected a 2-D input [N, C], got ${fmtShape(x.shape)}`);
  if (!isFloat(x.dtype)) throw new Error(`${op}: expected a floating-point input, got ${x.dtype}`);
  const c = x.shape[1]!;
  for (const t of perColumn) {
    if (t && (t.shape.length !== 1 || t.shape[0] !== c || t.dtype !== x.dtype)) {
      throw new Error(`${op}: per-channel tensor ${fmtShape(t.shape)} ${t.dtype} does not match input ${fmtShape(x.shape)} ${x.dtype}`);
    }
  }
  if (dy && (dy.shape[0] !== x.shape[0] || dy.shape[1] !== c)) throw new Error(`${op}: gradient ${fmtShape(dy.shape)} does not match input ${fmtShape(x.shape)}`);
}

/** [2, C]: the batch mean (row 0) and biased variance (row 1), for running statistics. No gradient. */
export const bnStatsOp = defineOp<null>({
  name: 'bnStats',
  infer: ([x]) => {
    check('bnStats', x!, []);
    return { shape: [2, x!.shape[1]!], dtype: x!.dtype };
  },
  kernels: { cpu: (_b, [x], out) => bnStats(x!, out), webgpu: gpuBnStats },
  grad: 'none',
});

interface EpsAttrs {
  readonly eps: number;
}

/** dx given (x, dy, w): only used inside batchNorm's gradient (no double backward). */
export const bnGradInputOp = defineOp<EpsAttrs>({
  name: 'batchNormGradInput',
  infer: ([x, dy, w]) => {
    check('batchNormGradInput', x!, [w], dy);
    return { shape: x!.shape, dtype: x!.dtype };
  },
  kernels: { cpu: (_b, [x, dy, w], out, { eps }) => bnBackward(x!, dy!, w!, out, eps), webgpu: gpuBnGradInput },
  grad: 'none',
});

/** dw = sum(dy * xhat) given (x, dy): only used inside batchNorm's gradient. */
export const bnGradWeightOp = defineOp<EpsAttrs>({
  name: 'batchNormGradWeight',
  infer: ([x, dy]) => {
    check('batchNormGradWeight', x!, [], dy);
    return { shape: [x!.shape[1]!], dtype: x!.dtype };
  },
  kernels: { cpu: (_b, [x, dy], out, { eps }) => bnBackward(x!, dy!, null, out, eps), webgpu: gpuBnGradWeight },
  grad: 'none',
});

export const batchNormOp = defineOp<EpsAttrs>({
  name: 'batchNorm',
  infer: ([x, w, b]) => {
    check('batchNorm', x!, [w, b]);
    return { shape: x!.shape, dtype: x!.dtype };
  },
  kernels: { cpu: (_b, [x, w, b], out, { eps }) => bnForward(x!, w!, b!, out, eps), webgpu: gpuBnForward },
  grad: (dy, { inputs: [x, w, b], attrs }) => [
    x!.requiresGrad ? runOp(bnGradInputOp, [x!, dy, w!], attrs) : null,
    w!.requiresGrad ? runOp(bnGradWeightOp, [x!, dy], attrs) : null,
    b!.requiresGrad ? sum(dy, 0) : null,
  ],
});

/**
 * Training-mode batch normalisation of x [N, C] with the batch's own statistics, scaled by
 * `weight` and shifted by `bias` (both [C]), like `F.batch_norm(x, None, None, w, b, training=True)`.
 *
 * @example
 * const y = batchNorm(x, gamma, beta, 1e-5);
 */
export function batchNorm(x: Tensor, weight: Tensor, bias: Tensor, eps = 1e-5): Tensor {
  return runOp(batchNormOp, [x, weight, bias], { eps });
}

/** [2, C]: per-column batch mean and biased variance of x [N, C] (one kernel). */
export function batchStats(x: Tensor): Tensor {
  return runOp(bnStatsOp, [x], null);
}
