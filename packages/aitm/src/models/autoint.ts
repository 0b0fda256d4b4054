// AutoInt's interacting layer (Song et al., CIKM 2019): multi-head self-attention over the
// feature fields, so each field's vector becomes a mix of the fields it interacts with,
// plus a projected residual of itself, through a ReLU.

import { add, bmm, fromTypedArray, matmul, mul, relu, reshape, softmax, sum, unsqueeze, fmtShape, type Tensor } from '@aitm/tensor';
import { Module, init } from '@aitm/nn';
import { layerOptions, type ModelOptions } from './multitask.js';

/** AutoInt's interacting layers: their number, heads and attention size. */
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
  /** Shape [1, heads, 1, heads * attDim]: 1 where a column belongs to the head (not saved). */
  private readonly headMask: Tensor;

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
    const mask = new Float64Array(heads * this.outDim);
    for (let h = 0; h < heads; h++) mask.fill(1, h * this.outDim + h * attDim, h * this.outDim + (h + 1) * attDim);
    this.headMask = this.registerBuffer('head_mask', fromTypedArray(mask, [1, heads, 1, this.outDim], o.dtype), { persistent: false });
  }

  /** The output and each head's attention: weights [B, heads, F, F] (rows sum to 1). */
  attend(x: Tensor): { output: Tensor; weights: Tensor } {
    if (x.rank !== 3 || x.shape[2] !== this.inDim) {
      throw new Error(`InteractingLayer: expected fields [B, F, ${this.inDim}], got ${fmtShape(x.shape)}`);
    }
    const [b, f] = [x.shape[0]!, x.shape[1]!];
    const [h, a] = [this.heads, this.attDim];
    const q = matmul(x, this.wQuery); // [B, F, h * a]
    const k = matmul(x, this.wKey);
    const v = matmul(x, this.wValue);
    // Heads stacked along the rows: row (hd, i) of qHeads keeps only head hd's columns of
    // q_i, so one bmm with K gives every head's scores, [B, h * F, F]. This is one batch
    // entry per sample rather than per (sample, head), with no transposes: the tiny
    // per-sample products cost per batch entry on the GPU, not per multiply.
    const qHeads = reshape(mul(unsqueeze(q, 1), this.headMask), [b, h * f, h * a]);
    const att = softmax(bmm(qHeads, k, false, true), -1); // [B, h * F, F], rows sum to 1
    // Row (hd, i) of att @ V mixes whole value rows; keep head hd's columns and sum over heads.
    const mixed = reshape(bmm(att, v), [b, h, f, h * a]);
    let out = sum(mul(mixed, this.headMask), 1); // [B, F, h * a]
    if (this.wRes) out = add(out, matmul(x, this.wRes));
    return { output: relu(out), weights: reshape(att, [b, h, f, f]) };
  }

  forward(x: Tensor): Tensor {
    return this.attend(x).output;
  }
}
