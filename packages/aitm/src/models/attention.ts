// AITM's attention over two vectors: a task's own representation and the information
// transferred from the previous task. Q, K and V are bias-free projections of each vector,
// each scored against itself, so the softmax weighs "own" against "transferred".

import { mul, softmax, sum, unsqueeze, fmtShape, type DType, type Generator, type Tensor } from '@aitm/tensor';
import { Linear, Module } from '@aitm/nn';

export interface AttentionOutput {
  /** [B, dim]: the weighted sum of the two value vectors. */
  readonly output: Tensor;
  /** [B, 2]: softmax weights on [own, transferred]; column 1 is how much came from the previous task. */
  readonly weights: Tensor;
}

/**
 * torch-rechub's AITM `AttentionLayer(dim)`: for x of shape [B, 2, dim],
 * a = softmax over the 2 positions of sum(Q*K, -1) / sqrt(dim), output = sum(a * V, 1).
 * Parameter names `q_layer.weight`, `k_layer.weight`, `v_layer.weight` as in torch-rechub.
 *
 * @example
 * const att = new AttentionLayer(32);
 * const { output, weights } = att.attend(stack([own, info], 1)); // [B, 32], [B, 2]
 */
export class AttentionLayer extends Module {
  readonly qLayer: Linear;
  readonly kLayer: Linear;
  readonly vLayer: Linear;

  constructor(
    readonly dim: number,
    opts: { dtype?: DType; generator?: Generator } = {},
  ) {
    super();
    const o = { bias: false, ...opts };
    this.qLayer = this.registerModule('q_layer', new Linear(dim, dim, o));
    this.kLayer = this.registerModule('k_layer', new Linear(dim, dim, o));
    this.vLayer = this.registerModule('v_layer', new Linear(dim, dim, o));
  }

  /** The output and the attention weights. */
  attend(x: Tensor): AttentionOutput {
    if (x.rank !== 3 || x.shape[1] !== 2 || x.shape[2] !== this.dim) {
      throw new Error(`AttentionLayer: expected input [B, 2, ${this.dim}], got ${fmtShape(x.shape)}`);
    }
    const q = this.qLayer.forward(x);
    const k = this.kLayer.forward(x);
    const v = this.vLayer.forward(x);
    const scores = mul(sum(mul(q, k), -1), 1 / Math.sqrt(this.dim)); // [B, 2]
    const weights = softmax(scores, 1);
    const output = sum(mul(unsqueeze(weights, -1), v), 1); // [B, dim]
    return { output, weights };
  }

  /** [B, 2, dim] to [B, dim]. */
  forward(x: Tensor): Tensor {
    return this.attend(x).output;
  }
}
