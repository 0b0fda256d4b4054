// Adam and AdamW with torch 1.13's arithmetic (bias corrections folded into the step size
// and the denominator). The optimizers run the fused in-place kernel `adamStep_`; when every
// parameter has a gradient and they share dtype, backend and step count (the usual training
// step) they run it ONCE over flat blocks holding all parameters, gradients and moments
// (a multi-tensor step, like torch's foreach/fused Adam), else once per parameter.
// `adamUpdate` is the same math as composed ops, kept as the reference the kernel is tested against.

import { adamStep_, add, div, FlatBlock, keep, mul, noGrad, sqrt, sub, tidy, type AdamStepHyper, type Tensor } from '@aitm/tensor';
import { endOfStep, Optimizer, type ParamState } from './optimizer.js';

/** Adam's hyper-parameters as they are read each step. */
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
export function adamUpdate(param: Tensor, grad: Tensor, expAvg: Tensor, expAvgSq: Tensor, h: AdamStepHyper): AdamValues {
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

/** Options of `Adam` and `AdamW`, with PyTorch's defaults. */
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

/** The flat blocks of a multi-tensor step: parameters (which live in `params`), gradients, moments. */
interface FlatState {
  readonly params: FlatBlock;
  readonly grads: FlatBlock;
  readonly expAvg: FlatBlock;
  readonly expAvgSq: FlatBlock;
}

abstract class AdamBase extends Optimizer {
  readonly betas: readonly [number, number];
  readonly eps: number;
  weightDecay: number;
  /** Use the one-kernel step when possible (default true); false always steps per parameter. */
  multiTensor = true;
  private flat: FlatState | null = null;

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
    adamStep_(p, g, m, v, this.hyper(s.step));
  }

  override step(): void {
    if (!this.canStepFlat()) {
      super.step();
      return;
    }
    const flat = (this.flat ??= this.makeFlat());
    // A parameter assigned new storage since (a checkpoint load) is copied back into its slot.
    flat.params.relink();
    const step = this.stateOf(this.params[0]!)!.step + 1;
    this.params.forEach((p, i) => {
      flat.grads.copyIn(i, p.grad!);
      this.state.get(p)!.step = step;
    });
    noGrad(() => adamStep_(flat.params.flat, flat.grads.flat, flat.expAvg.flat, flat.expAvgSq.flat, this.hyper(step)));
    endOfStep();
    this.watchForLeaks();
  }

  /**
   * After a multi-tensor step: every parameter and the last step's gradients, each as one
   * flat tensor (owned by the optimizer: do not dispose). For whole-model checks such as a
   * trainer's divergence test, one op over all parameters. Null before the first such step.
   */
  flatState(): { params: Tensor; grads: Tensor } | null {
    return this.flat ? { params: this.flat.params.flat, grads: this.flat.grads.flat } : null;
  }

  override dispose(): void {
    super.dispose();
    if (this.flat) for (const b of Object.values(this.flat) as FlatBlock[]) b.dispose();
    this.flat = null;
  }

  private hyper(step: number) {
    const [beta1, beta2] = this.betas;
    return { lr: this.lr, beta1, beta2, eps: this.eps, weightDecay: this.weightDecay, decoupled: this.decoupled, step };
  }

  /** Every parameter has a gradient, one dtype and backend, and the same step count. */
  private canStepFlat(): boolean {
    if (!this.multiTensor) return false;
    const p0 = this.params[0]!;
    const step0 = this.stateOf(p0)?.step ?? 0;
    return this.params.every(
      (p) => p.grad !== null && p.dtype === p0.dtype && p.backendName === p0.backendName && (this.stateOf(p)?.step ?? 0) === step0,
    );
  }

  /** Packs the parameters and builds gradient and moment blocks; existing moments move in. */
  private makeFlat(): FlatState {
    const params = FlatBlock.pack(this.params);
    const flat = { params, grads: FlatBlock.zerosLike(params), expAvg: FlatBlock.zerosLike(params), expAvgSq: FlatBlock.zerosLike(params) };
    tidy(() =>
      this.params.forEach((p, i) => {
        let s = this.state.get(p);
        if (s === undefined) this.state.set(p, (s = { step: 0, tensors: new Map() }));
        for (const [name, block] of [['exp_avg', flat.expAvg], ['exp_avg_sq', flat.expAvgSq]] as const) {
          const old = s.tensors.get(name);
          if (old) {
            block.copyIn(i, old);
            old.dispose();
          }
          s.tensors.set(name, keep(block.slot(i)));
        }
      }),
    );
    return flat;
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
