// AITM's attention over two vectors: a task's own representation and the information
// transferred from the previous task. Q, K and V are bias-free projections of each vector,
// each scored against itself, so the softmax weighs "own" against "transferred".
// It runs as one projection matmul and a fused softmax core (../kernels/attention-kernels.ts);
// `attendComposed` spells the same computation out in tensor ops and is the reference.

import { mul, narrow, reshape, softmax, sum, unsqueeze, fmtShape, type DType, type Generator, type Tensor } from '@aitm/tensor';
import { Linear, Module } from '@aitm/nn';
import { attentionCore, attentionProjections, attentionWeightsOf } from '../kernels/attention-kernels.js';

/** `AttentionLayer.attend`'s result: the output and the attention weights. */
export interface AttentionOutput {
  /** Shape [B, dim]: the weighted sum of the two value vectors. */
  readonly output: Tensor;
  /** Shape [B, 2]: softmax weights on [own, transferred]; column 1 is how much came from the previous task. */
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

  /** The output and the attention weights of x = [own, info] stacked on dim 1 ([B, 2, dim]). */
  attend(x: Tensor): AttentionOutput {
    this.checkStacked(x);
    const part = (i: number) => reshape(narrow(x, 1, i, 1), [x.shape[0]!, this.dim]);
    const { output, weights } = this.attendPair(part(0), part(1), { weights: true });
    return { output, weights: weights! };
  }

  /**
   * Attention of own and info ([B, dim] each) without stacking them: the output, and the
   * [B, 2] weights when asked for (one more kernel, no gradient).
   */
  attendPair(own: Tensor, info: Tensor, opts: { weights?: boolean } = {}): { output: Tensor; weights: Tensor | null } {
    for (const t of [own, info]) {
      if (t.rank !== 2 || t.shape[1] !== this.dim || t.shape[0] !== own.shape[0]) {
        throw new Error(`AttentionLayer: expected own and info of shape [B, ${this.dim}], got ${fmtShape(own.shape)} and ${fmtShape(info.shape)}`);
      }
    }
    const qkv = attentionProjections(own, info, this.qLayer.weight, this.kLayer.weight, this.vLayer.weight);
    return { output: attentionCore(qkv), weights: opts.weights ? attentionWeightsOf(qkv) : null };
  }

  /** The same computation composed from Linear layers and tensor ops (the fused op's reference). */
  attendComposed(x: Tensor): AttentionOutput {
    this.checkStacked(x);
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
    this.checkStacked(x);
    const part = (i: number) => reshape(narrow(x, 1, i, 1), [x.shape[0]!, this.dim]);
    return this.attendPair(part(0), part(1)).output;
  }

  private checkStacked(x: Tensor): void {
    if (x.rank !== 3 || x.shape[1] !== 2 || x.shape[2] !== this.dim) {
      throw new Error(`AttentionLayer: expected input [B, 2, ${this.dim}], got ${fmtShape(x.shape)}`);
    }
  }
}

