// Fused training-mode batch normalisation over [N, C] (statistics per column), optionally
// followed by a relu: one kernel for the forward pass and one for the backward (dx, dw and
// db into one flat block, handed out as views), instead of a dozen composed ops each way.
// nn's BatchNorm1d uses these for 2-D inputs; the composed form stays its reference.
//   forward:  y = (x - mean) / sqrt(var + eps) * w + b   (biased batch variance)
//   backward: dx = w / (N sqrt(var + eps)) * (N dy - sum(dy) - xhat * sum(dy * xhat))
//             dw = sum(dy * xhat),  db = sum(dy)

import { fmtShape } from '../shape.js';
import type { TensorMeta } from '../backend.js';
import { defineOp, runOp } from '../op.js';
import { wasmBnBackward, wasmBnEval, wasmBnForward, wasmBnStats } from '../backends/wasm/batchnorm.js';
import type { BatchNormActivation, BatchNormAttrs, BatchNormBackwardAttrs, BatchNormForwardAttrs } from '../attrs.js';
import type { Tensor } from '../tensor.js';
import { isFloat } from '../dtype.js';
import { bnBackward, bnEval, bnForward, bnStats } from '../backends/cpu/batchnorm.js';
import { gpuBnBackward, gpuBnEval, gpuBnForward, gpuBnStats } from '../backends/webgpu/batchnorm.js';
import { activationGradOp } from './linear.js';
import { add, div, mul, relu, reluBackward, sqrt, sub } from './elementwise.js';
import { mean, sum } from './reduce.js';
import { composedGrad } from '../autograd.js';
import { isGradEnabled } from '../grad-mode.js';

/** Training-mode batch norm (+ relu) from differentiable ops: the fused kernels' reference. */
export function batchNormComposed(x: Tensor, weight: Tensor, bias: Tensor, eps = 1e-5, act: BatchNormActivation = 'none'): Tensor {
  const mu = mean(x, 0, true);
  const centered = sub(x, mu);
  const variance = mean(mul(centered, centered), 0, true);
  const y = add(mul(div(centered, sqrt(add(variance, eps))), weight), bias);
  return act === 'relu' ? relu(y) : y;
}
import { FLAT_ALIGN, storageView } from '../fused/flat.js';

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

/** Shape [2, C]: the batch mean (row 0) and biased variance (row 1), for running statistics. No gradient. */
export const bnStatsOp = defineOp<null>({
  name: 'bnStats',
  infer: ([x]) => {
    check('bnStats', x!, []);
    return { shape: [2, x!.shape[1]!], dtype: x!.dtype };
  },
  kernels: { cpu: (_b, [x], out) => bnStats(x!, out), webgpu: gpuBnStats, wasm: wasmBnStats },
  grad: 'notImplemented',
});

/** Where dw and db start in the backward op's flat output (after dx; aligned so they bind directly). */
export function bnGradLayout(n: number, c: number): { dw: number; db: number; total: number } {
  const dw = Math.ceil((n * c) / FLAT_ALIGN) * FLAT_ALIGN;
  const db = dw + Math.ceil(c / FLAT_ALIGN) * FLAT_ALIGN;
  return { dw, db, total: db + c };
}

/**
 * dx, dw and db in one flat block given (x, dy, w), plus the forward output y with relu
 * (the gradient is 0 where y <= 0, as reluBackward): only used inside batchNorm's gradient.
 */
export const bnBackwardOp = defineOp<BatchNormBackwardAttrs>({
  name: 'batchNormBackward',
  infer: ([x, dy, w, y], { act }) => {
    check('batchNormBackward', x!, [w], dy);
    if (act === 'relu') check('batchNormBackward', x!, [], y);
    return { shape: [bnGradLayout(x!.shape[0]!, x!.shape[1]!).total], dtype: x!.dtype };
  },
  kernels: {
    cpu: (_b, [x, dy, w, y], out, { eps, act, dw, db }) => bnBackward(x!, dy!, w!, act === 'relu' ? y! : null, out, eps, { dw, db }),
    webgpu: gpuBnBackward,
    wasm: wasmBnBackward,
  },
  grad: 'notImplemented',
});

/** The `batchNorm` op's definition (`defineOp`): run it with `runOp`, or find it in `opRegistry`. */
export const batchNormOp = defineOp<BatchNormForwardAttrs>({
  name: 'batchNorm',
  infer: ([x, w, b, rm, rv, count], { momentum }) => {
    check('batchNorm', x!, [w, b, rm, rv]);
    if (momentum !== null) {
      if (!rm || !rv || !count) throw new Error('batchNorm: a momentum needs running mean, running var and a batch counter');
      if (count.dtype !== 'int32' || count.size !== 1) throw new Error(`batchNorm: the batch counter must be an int32 scalar, got ${fmtShape(count.shape)} ${count.dtype}`);
      if (x!.shape[0]! < 2) throw new Error(`batchNorm: updating running statistics needs more than 1 row, got ${fmtShape(x!.shape)}`);
    }
    return { shape: x!.shape, dtype: x!.dtype };
  },
  kernels: {
    cpu: (_b, [x, w, b, rm, rv, count], out, { eps, act, momentum }) =>
      bnForward(x!, w!, b!, out, eps, act === 'relu', momentum === null ? null : { mean: rm!.data, variance: rv!.data, count: count!.data, momentum }),
    webgpu: gpuBnForward,
    wasm: wasmBnForward,
  },
  mutates: [3, 4, 5], // the running statistics and the counter
  grad: (dy, { inputs, output, attrs: { eps, act } }) => {
    if (isGradEnabled()) {
      const g = composedGrad(([x, w, b]) => batchNormComposed(x!, w!, b!, eps, act), dy, inputs.slice(0, 3));
      return [...g, ...inputs.slice(3).map(() => null)];
    }
    const [x, w, b] = inputs;
    const [n, c] = x!.shape as [number, number];
    const L = bnGradLayout(n, c);
    const flat = runOp(bnBackwardOp, act === 'relu' ? [x!, dy, w!, output] : [x!, dy, w!], { eps, act, dw: L.dw, db: L.db });
    const grads = [
      x!.requiresGrad ? storageView(flat, 0, [n, c]) : null,
      w!.requiresGrad ? storageView(flat, L.dw, [c]) : null,
      b!.requiresGrad ? storageView(flat, L.db, [c]) : null,
      ...inputs.slice(3).map(() => null), // running statistics and the counter take no gradient
    ];
    flat.dispose(); // the views keep it alive
    return grads;
  },
});

/** Eval-mode batch norm of x [N, C] with running statistics (inputs x, rm, rv, w, b). */
export const batchNormEvalOp = defineOp<BatchNormAttrs>({
  name: 'batchNormEval',
  infer: ([x, rm, rv, w, b]) => {
    check('batchNormEval', x!, [rm, rv, w, b]);
    return { shape: x!.shape, dtype: x!.dtype };
  },
  kernels: {
    cpu: (_b, [x, rm, rv, w, b], out, { eps, act }) => bnEval(x!, rm!, rv!, w!, b!, out, eps, act === 'relu'),
    webgpu: gpuBnEval,
    wasm: wasmBnEval,
  },
  // Rare (a gradient through a model in eval mode), so composed from ops. The running
  // statistics are buffers: no gradient.
  grad: (dy, { inputs: [x, rm, rv, w, b], output, attrs: { eps, act } }) => {
    const g = act !== 'relu' ? dy : isGradEnabled() ? reluBackward(output, dy) : runOp(activationGradOp, [output, dy], { act: 'relu' });
    const inv = div(1, sqrt(add(rv!, eps)));
    return [
      x!.requiresGrad ? mul(g, mul(w!, inv)) : null,
      null,
      null,
      w!.requiresGrad ? sum(mul(g, mul(sub(x!, rm!), inv)), 0) : null,
      b!.requiresGrad ? sum(g, 0) : null,
    ];
  },
});

/**
 * Eval-mode batch normalisation with running statistics, one elementwise kernel:
 * (x - runningMean) / sqrt(runningVar + eps) * weight + bias, then relu with act 'relu'.
 *
 * @example
 * const y = batchNormEval(x, bn.runningMean, bn.runningVar, bn.weight, bn.bias, 1e-5);
 */
export function batchNormEval(x: Tensor, runningMean: Tensor, runningVar: Tensor, weight: Tensor, bias: Tensor, eps = 1e-5, act: BatchNormActivation = 'none'): Tensor {
  return runOp(batchNormEvalOp, [x, runningMean, runningVar, weight, bias], { eps, act });
}

/** Running statistics a training-mode batchNorm updates in place, as BatchNorm1d keeps them. */
export interface BatchNormRunning {
  readonly mean: Tensor;
  readonly variance: Tensor;
  /** num_batches_tracked: an int32 scalar, incremented. */
  readonly count: Tensor;
  readonly momentum: number;
}

/**
 * Training-mode batch normalisation of x [N, C] with the batch's own statistics, scaled by
 * `weight` and shifted by `bias` (both [C]), like `F.batch_norm(x, rm, rv, w, b, training=True)`;
 * with act 'relu', followed by a relu in the same kernel. Given `running`, the same kernel
 * updates the running statistics in place, as PyTorch's op does: running = (1 - m) running
 * + m batch (the unbiased variance), and adds 1 to the counter.
 *
 * @example
 * const y = batchNorm(x, gamma, beta, 1e-5);
 * const h = batchNorm(x, gamma, beta, 1e-5, 'relu'); // relu(batchNorm(...)), one kernel
 */
export function batchNorm(x: Tensor, weight: Tensor, bias: Tensor, eps = 1e-5, act: BatchNormActivation = 'none', running: BatchNormRunning | null = null): Tensor {
  if (running === null) return runOp(batchNormOp, [x, weight, bias], { eps, act, momentum: null });
  return runOp(batchNormOp, [x, weight, bias, running.mean, running.variance, running.count], { eps, act, momentum: running.momentum });
}

/** Shape [2, C]: per-column batch mean and biased variance of x [N, C] (one kernel). */
export function batchStats(x: Tensor): Tensor {
  return runOp(bnStatsOp, [x], null);
}
