// Activation modules (ReLU, Sigmoid, Tanh, LeakyReLU, PReLU, Dice, Softmax, Identity), the
// functions behind the learned ones, and torch-rechub's `activation_layer` factory.

import {
  add,
  div,
  fmtShape,
  full,
  gt,
  leakyRelu,
  mean,
  mul,
  randn,
  relu,
  reshape,
  sigmoid,
  softmax,
  sqrt,
  sub,
  sum,
  tanh,
  where,
  defaultGenerator,
  zeros,
  type DType,
  type Generator,
  type Tensor,
} from '@aitm/tensor';
import { Module, type Layer } from './module.js';
import { BatchNorm1d } from './batchnorm.js';

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return relu(x);
  }
}

export class Sigmoid extends Module {
  forward(x: Tensor): Tensor {
    return sigmoid(x);
  }
}

export class Tanh extends Module {
  forward(x: Tensor): Tensor {
    return tanh(x);
  }
}

/** Returns its input unchanged (torch-rechub's 'linear' activation). */
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}

/** x for x > 0, slope * x otherwise; PyTorch's default slope is 0.01. */
export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) {
    super();
  }

  forward(x: Tensor): Tensor {
    return leakyRelu(x, this.negativeSlope);
  }
}

/** Softmax along `dim` (torch-rechub's activation_layer uses dim 1). */
export class Softmax extends Module {
  constructor(readonly dim = -1) {
    super();
  }

  forward(x: Tensor): Tensor {
    return softmax(x, this.dim);
  }
}

/**
 * PReLU with a learned slope: x for x > 0, weight * x otherwise (x = 0 takes the weight's
 * branch, as PyTorch's gradient does). A weight of n > 1 values applies per channel, the
 * channel being dim 1 (dim 0 for 1-D inputs).
 */
export function prelu(x: Tensor, weight: Tensor): Tensor {
  let w = weight;
  if (weight.size > 1) {
    const ch = x.rank >= 2 ? 1 : 0;
    if (x.shape[ch] !== weight.size) {
      throw new Error(`prelu: ${weight.size} slopes do not match the ${x.shape[ch]} channels (dim ${ch}) of input ${fmtShape(x.shape)}`);
    }
    w = reshape(weight, [weight.size, ...new Array<number>(Math.max(0, x.rank - ch - 1)).fill(1)]);
  }
  return where(gt(x, 0), x, mul(w, x));
}

/** Options of `PReLU`: the number of slopes, their start value, dtype. */
export interface PReLUOptions {
  /** 1 (shared slope, the default) or the number of channels. */
  numParameters?: number;
  /** Initial slope (default 0.25, as torch). */
  init?: number;
  dtype?: DType;
}

/**
 * `torch.nn.PReLU()`: parameter `weight` of `numParameters` slopes, initialised to 0.25.
 *
 * @example
 * new PReLU().forward(tensor([-2, 3])); // [-0.5, 3]
 */
export class PReLU extends Module {
  readonly weight: Tensor;

  constructor(opts: PReLUOptions = {}) {
    super();
    this.weight = this.registerParameter('weight', full([opts.numParameters ?? 1], opts.init ?? 0.25, { dtype: opts.dtype ?? 'float32' }));
  }

  forward(x: Tensor): Tensor {
    return prelu(x, this.weight);
  }
}

/**
 * torch-rechub's Dice (`torch_rechub/basic/activation.py`) on [N, C] inputs: each ROW is
 * normalised over its C values, p = sigmoid((x - avg) / sqrt(sum((x - avg)^2 + eps))) with
 * avg the row mean (note: a sum over the row, eps added per element), then
 * out = p * x + (1 - p) * alpha * x.
 */
export function dice(x: Tensor, alpha: Tensor, epsilon = 1e-3): Tensor {
  if (x.rank < 2) throw new Error(`dice: expected an input of rank >= 2 ([N, C]), got ${fmtShape(x.shape)}`);
  const centered = sub(x, mean(x, 1, true));
  const spread = sum(add(mul(centered, centered), epsilon), 1, true);
  const p = sigmoid(div(centered, sqrt(spread)));
  return add(mul(p, x), mul(mul(sub(1, p), alpha), x));
}

/** Options of `Dice`. */
export interface DiceOptions {
  /** Added per element before the row sum (default 1e-3, as torch-rechub). */
  epsilon?: number;
  dtype?: DType;
  /** For alpha's initial value (default: the global generator). */
  generator?: Generator;
}

/**
 * torch-rechub's `Dice()`: one learned `alpha` of shape [1] initialised from N(0, 1) (like
 * its `torch.randn(1)`), per-row normalisation (see `dice`). State-dict name: `alpha`.
 * This is what torch-rechub's activation_layer('dice') builds; for the DIN paper's
 * BatchNorm variant see `DiceBN`.
 */
export class Dice extends Module {
  readonly alpha: Tensor;
  readonly epsilon: number;

  constructor(opts: DiceOptions = {}) {
    super();
    this.epsilon = opts.epsilon ?? 1e-3;
    const generator = opts.generator ?? defaultGenerator();
    this.alpha = this.registerParameter('alpha', randn([1], { dtype: opts.dtype ?? 'float32', generator }));
  }

  forward(x: Tensor): Tensor {
    return dice(x, this.alpha, this.epsilon);
  }
}

/** Options of `DiceBN`. */
export interface DiceBNOptions {
  /** The BatchNorm's eps (default 1e-9, as DIN / DeepCTR-Torch). */
  eps?: number;
  /** The BatchNorm's momentum (default 0.01). */
  momentum?: number;
  dtype?: DType;
}

/**
 * Dice as in the DIN paper (and DeepCTR-style PyTorch ports): p = sigmoid(bn(x)) with a
 * BatchNorm1d without affine parameters (batch statistics in train mode, running ones in
 * eval), out = p * x + alpha * (1 - p) * x, `alpha` [numFeatures] initialised to 0.
 * State-dict names: alpha, bn.running_mean, bn.running_var, bn.num_batches_tracked.
 */
export class DiceBN extends Module {
  readonly alpha: Tensor;
  readonly bn: BatchNorm1d;

  constructor(
    readonly numFeatures: number,
    opts: DiceBNOptions = {},
  ) {
    super();
    const dtype = opts.dtype ?? 'float32';
    const bnOpts = { eps: opts.eps ?? 1e-9, momentum: opts.momentum ?? 0.01, affine: false, dtype };
    this.bn = this.registerModule('bn', new BatchNorm1d(numFeatures, bnOpts));
    this.alpha = this.registerParameter('alpha', zeros([numFeatures], { dtype }));
  }

  forward(x: Tensor): Tensor {
    const p = sigmoid(this.bn.forward(x));
    const a = x.rank === 3 ? reshape(this.alpha, [this.numFeatures, 1]) : this.alpha;
    return add(mul(p, x), mul(mul(a, sub(1, p)), x));
  }
}

/** Names `activationLayer` accepts (case-insensitive), plus 'leakyrelu:<slope>' and 'softmax:<dim>'. */
export type ActivationName = 'relu' | 'sigmoid' | 'tanh' | 'leakyrelu' | 'prelu' | 'dice' | 'softmax' | 'linear' | 'identity';

/** Options of `activationLayer` (the layer built from an activation name). */
export interface ActivationOptions {
  dtype?: DType;
  generator?: Generator;
}

/**
 * torch-rechub's `activation_layer(name)`: 'relu', 'sigmoid', 'tanh', 'leakyrelu' (slope
 * 0.01), 'prelu' (one slope, 0.25), 'dice' (torch-rechub's `Dice()`), 'softmax' (dim 1),
 * 'linear' / 'identity' (no-op). Newer torch-rechub spellings 'leakyrelu:0.2' and
 * 'softmax:-1' set the slope and the dim. Unknown names throw.
 *
 * @example
 * activationLayer('prelu'); // a PReLU module with parameter 'weight'
 */
export function activationLayer(name: ActivationName | (string & {}), opts: ActivationOptions = {}): Layer {
  const [base, arg] = name.toLowerCase().split(':') as [string, string | undefined];
  const num = (fallback: number): number => {
    if (arg === undefined) return fallback;
    const v = Number(arg);
    if (!Number.isFinite(v)) throw new Error(`activationLayer: bad parameter in '${name}'`);
    return v;
  };
  switch (base) {
    case 'relu':
      return new ReLU();
    case 'sigmoid':
      return new Sigmoid();
    case 'tanh':
      return new Tanh();
    case 'leakyrelu':
      return new LeakyReLU(num(0.01));
    case 'prelu':
      return new PReLU(opts.dtype ? { dtype: opts.dtype } : {});
    case 'dice':
      return new Dice({ ...(opts.dtype ? { dtype: opts.dtype } : {}), ...(opts.generator ? { generator: opts.generator } : {}) });
    case 'softmax':
      return new Softmax(num(1));
    case 'linear':
    case 'identity':
      return new Identity();
    default:
      throw new Error(
        `activationLayer: unknown activation '${name}' (known: relu, sigmoid, tanh, leakyrelu, prelu, dice, softmax, linear, identity)`,
      );
  }
}
