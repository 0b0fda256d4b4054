// Stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay, as
// `torch.optim.SGD`. `sgdUpdate` is the math for one parameter (old values in, new out).

import { add, clone, keep, mul, sub, type Tensor } from '@aitm/tensor';
import { Optimizer, assignAll, type ParamState } from './optimizer.js';

/** SGD's hyper-parameters as they are read each step. */
export interface SgdHyper {
  readonly lr: number;
  readonly momentum: number;
  readonly dampening: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;
}

/**
 * One SGD update as PyTorch: d = g + wd p; with momentum, buf = d on the first step, else
 * buf = momentum buf + (1 - dampening) d, and d = nesterov ? d + momentum buf : buf;
 * p = p - lr d. `buf` is null on the first step (and returned null without momentum).
 */
export function sgdUpdate(param: Tensor, grad: Tensor, buf: Tensor | null, h: SgdHyper): { param: Tensor; buf: Tensor | null } {
  let d = h.weightDecay !== 0 ? add(grad, mul(param, h.weightDecay)) : grad;
  let newBuf: Tensor | null = null;
  if (h.momentum !== 0) {
    newBuf = buf === null ? clone(d) : add(mul(buf, h.momentum), mul(d, 1 - h.dampening));
    d = h.nesterov ? add(d, mul(newBuf, h.momentum)) : newBuf;
  }
  return { param: sub(param, mul(d, h.lr)), buf: newBuf };
}

/** Options of `SGD`, with PyTorch's defaults. */
export interface SGDOptions {
  lr: number;
  /** Default 0. */
  momentum?: number;
  /** Default 0. */
  dampening?: number;
  /** Default false; needs momentum > 0 and dampening 0. */
  nesterov?: boolean;
  /** L2 penalty added to the gradient (default 0). */
  weightDecay?: number;
}

/**
 * `torch.optim.SGD(params, lr, momentum=0, dampening=0, weight_decay=0, nesterov=False)`.
 *
 * @example
 * const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9, nesterov: true });
 */
export class SGD extends Optimizer {
  momentum: number;
  dampening: number;
  nesterov: boolean;
  weightDecay: number;

  constructor(params: Iterable<Tensor>, opts: SGDOptions) {
    super(params, opts.lr);
    this.momentum = opts.momentum ?? 0;
    this.dampening = opts.dampening ?? 0;
    this.nesterov = opts.nesterov ?? false;
    this.weightDecay = opts.weightDecay ?? 0;
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      throw new Error('SGD: Nesterov momentum requires a momentum and zero dampening');
    }
  }

  protected update(p: Tensor, g: Tensor, s: ParamState): void {
    const buf = s.tensors.get('momentum_buffer') ?? null;
    const out = sgdUpdate(p, g, buf, {
      lr: this.lr,
      momentum: this.momentum,
      dampening: this.dampening,
      nesterov: this.nesterov,
      weightDecay: this.weightDecay,
    });
    // The first step's buffer is a fresh tensor: adopt it (keep it past the step's tidy).
    if (out.buf !== null && buf === null) s.tensors.set('momentum_buffer', keep(out.buf));
    assignAll(out.buf !== null && buf !== null ? [[p, out.param], [buf, out.buf]] : [[p, out.param]]);
  }
}
