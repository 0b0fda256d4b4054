// CPU kernels of the fused batch-norm ops over [N, C] (statistics per column), in float64.

import { allocArray, type TypedArray } from '../../dtype.js';
import type { KernelInput, TensorMeta } from '../../backend.js';

type In = KernelInput<TypedArray>;

/** Per-column mean and biased variance (two passes: the centred sum is exact for large means). */
function columnStats(x: In): { mean: Float64Array; variance: Float64Array } {
  const [n, c] = x.shape as [number, number];
  const d = x.data;
  const mean = new Float64Array(c);
  const variance = new Float64Array(c);
  for (let i = 0; i < n; i++) for (let j = 0; j < c; j++) mean[j] += d[i * c + j]!;
  for (let j = 0; j < c; j++) mean[j] /= n;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < c; j++) {
      const e = d[i * c + j]! - mean[j]!;
      variance[j] += e * e;
    }
  }
  for (let j = 0; j < c; j++) variance[j] /= n;
  return { mean, variance };
}

/** [2, C]: batch mean and biased variance. */
export function bnStats(x: In, out: TensorMeta): TypedArray {
  const { mean, variance } = columnStats(x);
  const o = allocArray(out.dtype, out.size);
  o.set(mean, 0);
  o.set(variance, mean.length);
  return o;
}

/** Running statistics updated in place by the forward pass (PyTorch's training-mode batch_norm). */
export interface RunningUpdate {
  readonly mean: TypedArray;
  readonly variance: TypedArray;
  /** num_batches_tracked, an int32 scalar. */
  readonly count: TypedArray;
  readonly momentum: number;
}

/**
 * y = (x - mean) / sqrt(var + eps) * w + b with the batch's statistics, then relu if asked;
 * with `running`, also running = (1 - m) running + m batch (unbiased variance) and count += 1.
 */
export function bnForward(x: In, w: In, b: In, out: TensorMeta, eps: number, relu: boolean, running: RunningUpdate | null = null): TypedArray {
  const [n, c] = x.shape as [number, number];
  const { mean, variance } = columnStats(x);
  if (running) {
    const m = running.momentum;
    for (let j = 0; j < c; j++) {
      running.mean[j] = (1 - m) * running.mean[j]! + m * mean[j]!;
      running.variance[j] = (1 - m) * running.variance[j]! + (m * variance[j]! * n) / (n - 1);
    }
    running.count[0]! += 1;
  }
  const o = allocArray(out.dtype, out.size);
  for (let j = 0; j < c; j++) {
    const inv = 1 / Math.sqrt(variance[j]! + eps);
    const wj = w.data[j]!;
    const bj = b.data[j]!;
    for (let i = 0; i < n; i++) {
      const y = (x.data[i * c + j]! - mean[j]!) * inv * wj + bj;
      o[i * c + j] = relu && y < 0 ? 0 : y; // relu as the elementwise op: NaN stays NaN
    }
  }
  return o;
}

/**
 * The whole backward pass in one flat block (see `bnGradLayout`): dx, then dw = sum(g * xhat),
 * then db = sum(g), per column, where g = dy (or, given the relu's output y, 0 where y <= 0, else dy) and
 * dx = (w * invstd / N) * (N g - sum(g) - xhat * sum(g * xhat)).
 */
export function bnBackward(x: In, dy: In, w: In, reluOut: In | null, out: TensorMeta, eps: number, offsets: { dw: number; db: number }): TypedArray {
  const [n, c] = x.shape as [number, number];
  const { mean, variance } = columnStats(x);
  const o = allocArray(out.dtype, out.size);
  const g = new Float64Array(n);
  for (let j = 0; j < c; j++) {
    const inv = 1 / Math.sqrt(variance[j]! + eps);
    let sumG = 0;
    let sumGXhat = 0;
    for (let i = 0; i < n; i++) {
      const xhat = (x.data[i * c + j]! - mean[j]!) * inv;
      g[i] = reluOut && reluOut.data[i * c + j]! <= 0 ? 0 : dy.data[i * c + j]!; // as reluBackward
      sumG += g[i]!;
      sumGXhat += g[i]! * xhat;
    }
    o[offsets.dw + j] = sumGXhat;
    o[offsets.db + j] = sumG;
    const k = (w.data[j]! * inv) / n;
    for (let i = 0; i < n; i++) {
      const xhat = (x.data[i * c + j]! - mean[j]!) * inv;
      o[i * c + j] = k * (n * g[i]! - sumG - xhat * sumGXhat);
    }
  }
  return o;
}

/** Eval mode: y = (x - running_mean) / sqrt(running_var + eps) * w + b, then relu if asked. */
export function bnEval(x: In, rm: In, rv: In, w: In, b: In, out: TensorMeta, eps: number, relu: boolean): TypedArray {
  const [n, c] = x.shape as [number, number];
  const o = allocArray(out.dtype, out.size);
  for (let j = 0; j < c; j++) {
    const inv = 1 / Math.sqrt(rv.data[j]! + eps);
    for (let i = 0; i < n; i++) {
      const y = (x.data[i * c + j]! - rm.data[j]!) * inv * w.data[j]! + b.data[j]!;
      o[i * c + j] = relu && y < 0 ? 0 : y; // relu as the elementwise op: NaN stays NaN
    }
  }
  return o;
}
