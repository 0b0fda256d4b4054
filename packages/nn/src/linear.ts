// The fully connected layer y = x W^T + b, with PyTorch's storage layout ([out, in]) and
// default initialisation, so its weights load from and into `torch.nn.Linear` unchanged.
// It runs the fused `linear` op (bias, and optionally a following activation, applied as
// the matmul stores its results); `forwardComposed` is the same layer as separate ops.

import { add, bmm, fmtShape, linear, relu, reshape, sigmoid, type DType, type Generator, type LinearActivation, type Tensor } from '@aitm/tensor';
import { Module } from './module.js';
import { kaimingUniform, uniform } from './init.js';

/** Options of `Linear`: bias, dtype, generator. */
export interface LinearOptions {
  /** Learn an additive bias (default true). */
  bias?: boolean;
  /** Default float32. */
  dtype?: DType;
  /** Default: the global generator at construction time. */
  generator?: Generator;
}

/**
 * `torch.nn.Linear(inFeatures, outFeatures)`: weight [out, in] ~ kaiming_uniform(a = sqrt(5)),
 * i.e. U(-1/sqrt(in), 1/sqrt(in)), and bias [out] ~ U(-1/sqrt(in), 1/sqrt(in)).
 * Accepts inputs of shape [..., in] and returns [..., out].
 *
 * @example
 * const fc = new Linear(6, 5);
 * fc.forward(randn([8, 6])); // [8, 5]
 */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: LinearOptions = {},
  ) {
    super();
    const init = { dtype: opts.dtype ?? 'float32', ...(opts.generator ? { generator: opts.generator } : {}) };
    this.weight = this.registerParameter('weight', kaimingUniform([outFeatures, inFeatures], { ...init, a: Math.sqrt(5) }));
    // PyTorch draws the bias after the weight, from U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    const bound = inFeatures > 0 ? 1 / Math.sqrt(inFeatures) : 0;
    this.bias = opts.bias === false ? null : this.registerParameter('bias', uniform([outFeatures], -bound, bound, init));
  }

  forward(x: Tensor): Tensor {
    return this.forwardAct(x, 'none');
  }

  /** act(forward(x)) with the activation fused into the same kernel ('relu' or 'sigmoid'). */
  forwardAct(x: Tensor, act: LinearActivation): Tensor {
    this.check(x);
    const lead = x.shape.slice(0, -1);
    const rows = lead.reduce((a, d) => a * d, 1);
    const y = linear(reshape(x, [rows, this.inFeatures]), this.weight, this.bias, act);
    return reshape(y, [...lead, this.outFeatures]);
  }

  /** The same layer composed from a batched matmul, a bias add and the activation op (the reference). */
  forwardComposed(x: Tensor, act: LinearActivation = 'none'): Tensor {
    this.check(x);
    // One batched product with the weight read transposed: no copy of W^T is made.
    const lead = x.shape.slice(0, -1);
    const rows = lead.reduce((a, d) => a * d, 1);
    const y3 = bmm(reshape(x, [1, rows, this.inFeatures]), reshape(this.weight, [1, this.outFeatures, this.inFeatures]), false, true);
    const y = reshape(y3, [...lead, this.outFeatures]);
    const z = this.bias === null ? y : add(y, this.bias);
    return act === 'relu' ? relu(z) : act === 'sigmoid' ? sigmoid(z) : z;
  }

  private check(x: Tensor): void {
    if (x.rank === 0 || x.shape[x.rank - 1] !== this.inFeatures) {
      throw new Error(`Linear: expected input [..., ${this.inFeatures}], got ${fmtShape(x.shape)}`);
    }
  }
}
