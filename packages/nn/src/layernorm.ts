// Layer normalisation as in PyTorch: statistics over the trailing `normalizedShape` axes of
// each sample (biased variance), then an optional elementwise affine. Composed from tensor
// ops, so it runs on every backend and its gradient (and double backward) comes for free.

import { add, div, fmtShape, full, mean, mul, sqrt, sub, tidy, zeros, type DType, type Tensor } from '@aitm/tensor';
import { Module } from './module.js';

/**
 * `F.layer_norm(x, normalizedShape, weight, bias, eps)`: (x - mean) / sqrt(var + eps) over
 * the last normalizedShape.length axes, times weight plus bias (both of normalizedShape, or null).
 *
 * @example
 * layerNorm(x, [x.shape[1]!]); // each row to mean 0, variance 1
 */
export function layerNorm(x: Tensor, normalizedShape: readonly number[], weight: Tensor | null = null, bias: Tensor | null = null, eps = 1e-5): Tensor {
  const k = normalizedShape.length;
  const tail = x.shape.slice(x.rank - k);
  if (k === 0 || k > x.rank || tail.some((d, i) => d !== normalizedShape[i])) {
    throw new Error(`layerNorm: input ${fmtShape(x.shape)} does not end with the normalized shape ${fmtShape(normalizedShape)}`);
  }
  for (const [name, t] of [['weight', weight], ['bias', bias]] as const) {
    if (t !== null && (t.rank !== k || t.shape.some((d, i) => d !== normalizedShape[i]))) {
      throw new Error(`layerNorm: ${name} ${fmtShape(t.shape)} must have the normalized shape ${fmtShape(normalizedShape)}`);
    }
  }
  const axes = Array.from({ length: k }, (_, i) => x.rank - k + i);
  return tidy(() => {
    const centered = sub(x, mean(x, axes, true));
    const variance = mean(mul(centered, centered), axes, true);
    let y = div(centered, sqrt(add(variance, eps)));
    if (weight !== null) y = mul(y, weight);
    if (bias !== null) y = add(y, bias);
    return y;
  });
}

/** Options of `LayerNorm`. */
export interface LayerNormOptions {
  /** Added to the variance before the square root (default 1e-5). */
  eps?: number;
  /** Learn `weight` (init 1) and `bias` (init 0) of normalizedShape (default true). */
  elementwiseAffine?: boolean;
  dtype?: DType;
}

/**
 * `torch.nn.LayerNorm(normalizedShape)`; state-dict names weight and bias.
 *
 * @example
 * const ln = new LayerNorm([16]);
 * ln.forward(randn([8, 16]));
 */
export class LayerNorm extends Module {
  readonly normalizedShape: readonly number[];
  readonly eps: number;
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;

  constructor(normalizedShape: number | readonly number[], opts: LayerNormOptions = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    this.eps = opts.eps ?? 1e-5;
    const dtype = opts.dtype ?? 'float32';
    const affine = opts.elementwiseAffine ?? true;
    this.weight = affine ? this.registerParameter('weight', full(this.normalizedShape, 1, { dtype })) : null;
    this.bias = affine ? this.registerParameter('bias', zeros(this.normalizedShape, { dtype })) : null;
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }
}
