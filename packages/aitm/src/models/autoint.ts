// AutoInt's interacting layer (Song et al., CIKM 2019): multi-head self-attention over the
// feature fields, so each field's vector becomes a mix of the fields it interacts with,
// plus a projected residual of itself, through a ReLU.

import { add, bmm, matmul, permute, relu, reshape, softmax, fmtShape, type Tensor } from '@aitm/tensor';
import { Module, init } from '@aitm/nn';
import { layerOptions, type ModelOptions } from './multitask.js';

export interface AutoIntParams {
  /** Interacting layers stacked (AutoInt's default 3). */
  layers: number;
  /** Attention heads per layer (default 2). */
  heads: number;
  /** Width d' of one head; a layer outputs heads * attDim per field. */
  attDim: number;
  /** Add the projected input x W_Res before the ReLU (default true). */
  residual?: boolean;
}

/**
 * One interacting layer on fields x of shape [B, F, inDim], giving [B, F, heads * attDim]:
 * per head h, Q = x W_Query[h], K = x W_Key[h], V = x W_Value[h], out_h = softmax(Q K^T) V
 * (softmax over the F fields attended to, unscaled as in the paper); the heads are
 * concatenated, x W_Res added, and a ReLU applied.
 *
 * Parameters (DeepCTR-Torch's names and [in, out] layout, all heads side by side, head h in
 * columns h * attDim .. (h + 1) * attDim - 1): `W_Query`, `W_Key`, `W_Value`, and `W_Res`
 * when residual; drawn from N(0, 0.05) like DeepCTR-Torch.
 *
 * @example
 * const layer = new InteractingLayer(4, 2, 8);
 * layer.forward(fields); // [B, F, 4] -> [B, F, 16]
 */
export class InteractingLayer extends Module {
  readonly wQuery: Tensor;
  readonly wKey: Tensor;
  readonly wValue: Tensor;
  readonly wRes: Tensor | null;
  readonly outDim: number;

  constructor(
    readonly inDim: number,
    readonly heads: number,
    readonly attDim: number,
    opts: ModelOptions & { residual?: boolean } = {},
  ) {
    super();
    for (const [key, v] of [['inDim', inDim], ['heads', heads], ['attDim', attDim]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`InteractingLayer: ${key} must be a positive integer, got ${v}`);
    }
    this.outDim = heads * attDim;
    const o = { dtype: opts.dtype ?? 'float32', ...layerOptions(opts) };
    const w = (name: string) => this.registerParameter(name, init.normal([inDim, this.outDim], 0, 0.05, o));
    this.wQuery = w('W_Query');
    this.wKey = w('W_Key');
    this.wValue = w('W_Value');
    this.wRes = (opts.residual ?? true) ? w('W_Res') : null;
  }

  /** The output and each head's attention: weights [B, heads, F, F] (rows sum to 1). */
  attend(x: Tensor): { output: Tensor; weights: Tensor } {
    if (x.rank !== 3 || x.shape[2] !== this.inDim) {
      throw new Error(`InteractingLayer: expected fields [B, F, ${this.inDim}], got ${fmtShape(x.shape)}`);
    }
    const [b, f] = [x.shape[0]!, x.shape[1]!];
    const h = this.heads;
    const a = this.attDim;
    // [B, F, h * a] -> [B * h, F, a]: one batch entry per (sample, head).
    const perHead = (w: Tensor) => reshape(permute(reshape(matmul(x, w), [b, f, h, a]), [0, 2, 1, 3]), [b * h, f, a]);
    const q = perHead(this.wQuery);
    const k = perHead(this.wKey);
    const v = perHead(this.wValue);
    const att = softmax(bmm(q, k, false, true), -1); // [B * h, F, F]
    let out = reshape(permute(reshape(bmm(att, v), [b, h, f, a]), [0, 2, 1, 3]), [b, f, h * a]);
    if (this.wRes) out = add(out, matmul(x, this.wRes));
    return { output: relu(out), weights: reshape(att, [b, h, f, f]) };
  }

  forward(x: Tensor): Tensor {
    return this.attend(x).output;
  }
}
