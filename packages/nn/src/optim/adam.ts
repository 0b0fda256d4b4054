// Adam and AdamW with torch 1.13's arithmetic (bias corrections folded into the step size
// and the denominator). The optimizers run the fused kernel `adamStep_` (one dispatch per
// parameter on WebGPU); `adamUpdate` is the same math as composed ops, kept as the reference
// the fused kernel is tested against.

import { adamStep_, add, div, mul, sqrt, sub, type Tensor } from '@aitm/tensor';
import { Optimizer, type ParamState } from './optimizer.js';

export interface AdamHyper {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** AdamW (decay the parameter directly) rather than Adam (add weightDecay * param to the gradient). */
  readonly decoupled: boolean;
  /** This parameter's step number, from 1. */
  readonly step: number;
}

export interface AdamValues {
  readonly param: Tensor;
  readonly expAvg: Tensor;
  readonly expAvgSq: Tensor;
}

/**
 * One Adam/AdamW update, as torch 1.13's `_single_tensor_adam(w)`:
 *   AdamW: p = p * (1 - lr * wd);  Adam: g = g + wd * p
 *   m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2
 *   p = p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 */
export function adamUpdate(param: Tensor, grad: Tensor, expAvg: Tensor, expAvgSq: Tensor, h: AdamHyper): AdamValues {
  let p = param;
  let g = grad;
  if (h.weightDecay !== 0) {
    if (h.decoupled) p = mul(p, 1 - h.lr * h.weightDecay);
    else g = add(g, mul(p, h.weightDecay));
  }
  const m = add(mul(expAvg, h.beta1), mul(g, 1 - h.beta1));
  const v = add(mul(expAvgSq, h.beta2), mul(mul(g, g), 1 - h.beta2));
  const stepSize = h.lr / (1 - Math.pow(h.beta1, h.step));
  const denom = add(div(sqrt(v), Math.sqrt(1 - Math.pow(h.beta2, h.step))), h.eps);
  return { param: sub(p, mul(div(m, denom), stepSize)), expAvg: m, expAvgSq: v };
}

export interface AdamOptions {
  /** Default 1e-3. */
  lr?: number;
  /** Default [0.9, 0.999]. */
  betas?: readonly [number, number];
  /** Default 1e-8. */
  eps?: number;
  /** Default 0 for Adam (L2 added to the gradient), 0.01 for AdamW (decoupled). */
  weightDecay?: number;
}

abstract class AdamBase extends Optimizer {
  readonly betas: readonly [number, number];
  readonly eps: number;
  weightDecay: number;

  constructor(
    params: Iterable<Tensor>,
    opts: AdamOptions,
    defaultWeightDecay: number,
    private readonly decoupled: boolean,
  ) {
    super(params, opts.lr ?? 1e-3);
    this.betas = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? defaultWeightDecay;
    const [b1, b2] = this.betas;
    if (!(b1 >= 0 && b1 < 1 && b2 >= 0 && b2 < 1)) throw new Error(`${this.constructor.name}: invalid betas [${b1}, ${b2}]`);
    if (!(this.eps >= 0)) throw new Error(`${this.constructor.name}: invalid eps ${this.eps}`);
  }

  protected update(p: Tensor, g: Tensor, s: ParamState): void {
    const m = this.stateTensor(s, 'exp_avg', p);
    const v = this.stateTensor(s, 'exp_avg_sq', p);
    adamStep_(p, g, m, v, {
      lr: this.lr,
      beta1: this.betas[0],
      beta2: this.betas[1],
      eps: this.eps,
      weightDecay: this.weightDecay,
      decoupled: this.decoupled,
      step: s.step,
    });
  }
}

/**
 * `torch.optim.Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0)`;
 * weight decay is L2 added to the gradient.
 *
 * @example
 * const opt = new Adam(model.parameters(), { lr: 1e-3 });
 * opt.zeroGrad(); tidy(() => { loss(model).backward(); opt.step(); });
 */
export class Adam extends AdamBase {
  constructor(params: Iterable<Tensor>, opts: AdamOptions = {}) {
    super(params, opts, 0, false);
  }
}

/**
 * `torch.optim.AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)`;
 * the decay multiplies the parameter by (1 - lr * weightDecay) before the Adam step.
 */
export class AdamW extends AdamBase {
  constructor(params: Iterable<Tensor>, opts: AdamOptions = {}) {
    super(params, opts, 0.01, true);
  }
}
