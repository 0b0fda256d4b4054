// Losses with PyTorch's numerics (binary cross-entropy on probabilities and on logits, mean
// squared error) and the checks a trainer uses to stop on a NaN or infinite loss.

import { abs, add, cast, checkRange, clamp, div, exp, fmtShape, gatherAlong, log, logSoftmax, maximum, mean, mul, ne, neg, noGrad, reshape, sub, sum, tidy, type Tensor } from '@aitm/tensor';

/** How a loss reduces over elements, as PyTorch's `reduction`. */
export type Reduction = 'mean' | 'sum' | 'none';

/** Options shared by the losses. */
export interface LossOptions {
  /** How per-element losses are combined (default 'mean'). */
  reduction?: Reduction;
}

/** ATen's EPSILON in binary_cross_entropy_backward: the float 1e-12, in float64 9.999999960041972e-13. */
export const BCE_GRAD_EPS = Math.fround(1e-12);

function reduce(loss: Tensor, reduction: Reduction = 'mean'): Tensor {
  switch (reduction) {
    case 'mean':
      return mean(loss);
    case 'sum':
      return sum(loss);
    case 'none':
      return loss;
  }
}

function sameShape(op: string, a: Tensor, b: Tensor): void {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new Error(`${op}: input ${fmtShape(a.shape)} and target ${fmtShape(b.shape)} must have the same shape`);
  }
}

/**
 * Binary cross-entropy on probabilities, `F.binary_cross_entropy`, with PyTorch's numerics:
 * forward -(y log p + (1 - y) log(1 - p)) with each log clamped to >= -100 (so p = 0 or 1
 * gives at most 100, never inf); gradient (p - y) / max(p (1 - p), BCE_GRAD_EPS) per element,
 * which is finite at p = 0 and 1 exactly as in PyTorch. The target gets no gradient.
 * A prediction outside [0, 1] (or NaN) raises, as in PyTorch: "bce: all elements of input
 * should be between 0 and 1, got 1.5 at index 3", at the call on the CPU and at the next
 * read on WebGPU (a kernel checks the values on the device: no readback per call).
 *
 * The value and the gradient are computed separately: value + (p - stop(p)) * stop(grad),
 * where the second term is exactly 0 forward and has exactly `grad` as its derivative.
 *
 * @example
 * bce(sigmoid(logits), labels); // mean over the elements
 */
export function bce(p: Tensor, y: Tensor, opts: LossOptions = {}): Tensor {
  sameShape('bce', p, y);
  checkRange(p, 0, 1, 'bce');
  // Intermediates are freed here; the graph keeps what backward needs.
  return tidy(() => {
    const pd = p.detach();
    const [value, grad] = noGrad(() => {
      const logP = clamp(log(pd), -100);
      const log1mP = clamp(log(sub(1, pd)), -100);
      // PyTorch's order: (y - 1) * log(1 - p) - y * log(p).
      const v = sub(mul(sub(y, 1), log1mP), mul(y, logP));
      return [v, p.requiresGrad ? bceGrad(pd, y) : null] as const;
    });
    const loss = grad === null ? value : add(value, mul(sub(p, pd), grad));
    return reduce(loss, opts.reduction);
  });
}

/** (p - y) / max((1 - p) p, EPS), ATen's elementwise BCE gradient. */
function bceGrad(p: Tensor, y: Tensor): Tensor {
  return div(sub(p, y), maximum(mul(sub(1, p), p), BCE_GRAD_EPS));
}

/**
 * Binary cross-entropy on logits, `F.binary_cross_entropy_with_logits`, in the stable form
 * max(x, 0) - x y + log(1 + exp(-|x|)). Its gradient is sigmoid(x) - y, including at x = 0
 * (max's gradient splits evenly on the tie).
 *
 * @example
 * bceWithLogits(logits, labels, { reduction: 'sum' });
 */
export function bceWithLogits(x: Tensor, y: Tensor, opts: LossOptions = {}): Tensor {
  sameShape('bceWithLogits', x, y);
  return tidy(() => reduce(add(sub(maximum(x, 0), mul(x, y)), log(add(exp(neg(abs(x))), 1))), opts.reduction));
}

/**
 * Mean squared error, `F.mse_loss`: (a - b)^2 reduced. Both sides get gradients.
 *
 * @example
 * mse(pred, target); // a 0-d tensor
 */
export function mse(a: Tensor, b: Tensor, opts: LossOptions = {}): Tensor {
  sameShape('mse', a, b);
  return tidy(() => {
    const d = sub(a, b);
    return reduce(mul(d, d), opts.reduction);
  });
}

/**
 * Throws when a loss value (already read to the host) is NaN or infinite, naming the step,
 * so a trainer stops at the first bad step instead of training on garbage. Returns `value`.
 *
 * @example
 * checkFiniteLoss(await loss.item(), step);
 */
export function checkFiniteLoss(value: number, step: number): number {
  if (!Number.isFinite(value)) {
    throw new Error(
      `training: the loss is ${value} at step ${step}; training diverged or the inputs hold NaN/inf ` +
        '(check the learning rate, the inputs and the labels)',
    );
  }
  return value;
}

/**
 * Reads `t` and throws naming `what`, the first non-finite element and how many there are.
 * Async: it reads the tensor back (use it in checks and tests, not in the hot loop).
 *
 * @example
 * await assertFinite(model.mlp.at(0).weight, 'mlp.0.weight');
 */
export async function assertFinite(t: Tensor, what = 'tensor'): Promise<void> {
  const data = await t.data();
  let first = -1;
  let count = 0;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i]!)) {
      if (first < 0) first = i;
      count++;
    }
  }
  if (first >= 0) {
    throw new Error(`${what} ${fmtShape(t.shape)}: ${count} non-finite value(s), the first ${data[first]} at flat index ${first}`);
  }
}

/** Options of `crossEntropy`: `ignoreIndex`, `labelSmoothing`, as `F.cross_entropy`. */
export interface CrossEntropyOptions extends LossOptions {
  /** Targets equal to this class take no part (and do not count in the mean); default -100. */
  ignoreIndex?: number;
  /** Mixes the one-hot target with the uniform distribution by this weight (default 0). */
  labelSmoothing?: number;
}

/**
 * Cross-entropy of class scores `logits` [N, C] against int32 class ids `target` [N], like
 * `F.cross_entropy` (log-softmax then the negative log-likelihood), with `ignoreIndex` and
 * `labelSmoothing` as PyTorch defines them. A class id outside [0, C) raises (on the GPU at
 * the next read), except `ignoreIndex`.
 *
 * @example
 * crossEntropy(model.forward(x), labels); // mean over the rows
 */
export function crossEntropy(logits: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  if (logits.rank !== 2 || target.rank !== 1 || target.shape[0] !== logits.shape[0]) {
    throw new Error(`crossEntropy: expected logits [N, C] and target [N], got ${fmtShape(logits.shape)} and ${fmtShape(target.shape)}`);
  }
  if (target.dtype !== 'int32') throw new Error(`crossEntropy: the target must hold int32 class ids, got ${target.dtype}`);
  const ignoreIndex = opts.ignoreIndex ?? -100;
  const smoothing = opts.labelSmoothing ?? 0;
  if (!(smoothing >= 0 && smoothing <= 1)) throw new Error(`crossEntropy: labelSmoothing must be in [0, 1], got ${smoothing}`);
  const reduction = opts.reduction ?? 'mean';
  const classes = logits.shape[1]!;
  return tidy(() => {
    const logp = logSoftmax(logits, 1);
    const keep = ne(target, ignoreIndex); // int32 0/1
    // Ignored rows look up class 0 and are then masked out.
    const ids = mul(target, keep);
    const picked = reshape(gatherAlong(logp, 1, reshape(ids, [ids.size, 1])), [ids.size]);
    let perRow = neg(picked);
    if (smoothing > 0) {
      const uniform = neg(mean(logp, 1));
      perRow = add(mul(perRow, 1 - smoothing), mul(uniform, smoothing));
    }
    const mask = cast(keep, logits.dtype);
    perRow = mul(perRow, mask);
    if (reduction === 'none') return perRow;
    const total = sum(perRow);
    // PyTorch divides by the number of rows that are not ignored.
    return reduction === 'sum' ? total : div(total, sum(mask));
  });
}
