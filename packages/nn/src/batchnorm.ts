// BatchNorm1d as in PyTorch: batch statistics in train mode (biased variance to normalise,
// running statistics updated with the unbiased one), running statistics in eval mode.
// 2-D inputs run fused ops: `batchNorm` in train mode (one kernel forward, one backward,
// running statistics included), `batchNormEval` in eval mode (one elementwise kernel), and
// `forwardRelu` folds a following relu into either. Other cases are composed from tensor
// ops, which also serve as the fused ops' reference.

import { add, batchNorm, batchNormEval, div, fmtShape, full, mul, noGrad, relu, reshape, sqrt, sub, sum, tidy, zeros, type DType, type Tensor } from '@aitm/tensor';
import { Module } from './module.js';

/** Options of `BatchNorm1d`, with PyTorch's defaults. */
export interface BatchNormOptions {
  /** Added to the variance before the square root (default 1e-5). */
  eps?: number;
  /** Weight of the new batch in the running statistics (default 0.1). */
  momentum?: number;
  /** Learn a per-channel scale `weight` (init 1) and shift `bias` (init 0) (default true). */
  affine?: boolean;
  /** Keep running_mean / running_var / num_batches_tracked and use them in eval (default true). */
  trackRunningStats?: boolean;
  /** Default float32. */
  dtype?: DType;
}

/**
 * `torch.nn.BatchNorm1d(numFeatures)` over [B, C] inputs (statistics over dim 0) or [B, C, L]
 * inputs (over dims 0 and 2). State-dict names: weight, bias, running_mean, running_var,
 * num_batches_tracked (an int32 scalar here; saved as I64 in safetensors like PyTorch's int64).
 *
 * @example
 * const bn = new BatchNorm1d(5);
 * bn.forward(randn([8, 5]));   // train: normalised by the batch, running stats updated
 * bn.eval().forward(x);        // eval: normalised by the running stats
 */
export class BatchNorm1d extends Module {
  readonly eps: number;
  readonly momentum: number;
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly runningMean: Tensor | null;
  readonly runningVar: Tensor | null;
  readonly numBatchesTracked: Tensor | null;

  constructor(
    readonly numFeatures: number,
    opts: BatchNormOptions = {},
  ) {
    super();
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum ?? 0.1;
    const dtype = opts.dtype ?? 'float32';
    const affine = opts.affine ?? true;
    const track = opts.trackRunningStats ?? true;
    this.weight = affine ? this.registerParameter('weight', full([numFeatures], 1, { dtype })) : null;
    this.bias = affine ? this.registerParameter('bias', zeros([numFeatures], { dtype })) : null;
    this.runningMean = track ? this.registerBuffer('running_mean', zeros([numFeatures], { dtype })) : null;
    this.runningVar = track ? this.registerBuffer('running_var', full([numFeatures], 1, { dtype })) : null;
    this.numBatchesTracked = track ? this.registerBuffer('num_batches_tracked', zeros([], { dtype: 'int32' })) : null;
  }

  forward(x: Tensor): Tensor {
    return this.run(x, false);
  }

  /** relu(forward(x)): in train mode on [B, C] one kernel each way; otherwise composed. */
  forwardRelu(x: Tensor): Tensor {
    return this.run(x, true);
  }

  private run(x: Tensor, withRelu: boolean): Tensor {
    if ((x.rank !== 2 && x.rank !== 3) || x.shape[1] !== this.numFeatures) {
      throw new Error(`BatchNorm1d: expected input [B, ${this.numFeatures}] or [B, ${this.numFeatures}, L], got ${fmtShape(x.shape)}`);
    }
    const axes = x.rank === 2 ? [0] : [0, 2];
    // Per-channel vectors broadcast against the input: [C] for [B,C], [C,1] for [B,C,L].
    const perChannel = (t: Tensor): Tensor => (x.rank === 2 ? t : reshape(t, [this.numFeatures, 1]));
    const useBatch = this.training || this.runningMean === null;

    if (useBatch && x.rank === 2 && this.weight !== null) {
      const n = x.shape[0]!;
      if (this.training && n <= 1) {
        throw new Error(`BatchNorm1d: expected more than 1 value per channel when training, got input ${fmtShape(x.shape)}`);
      }
      // The running statistics are updated by the same kernel (`updateRunningStats` is the composed reference).
      const running =
        this.training && this.runningMean !== null
          ? { mean: this.runningMean, variance: this.runningVar!, count: this.numBatchesTracked!, momentum: this.momentum }
          : null;
      return batchNorm(x, this.weight, this.bias!, this.eps, withRelu ? 'relu' : 'none', running);
    }
    if (!useBatch && x.rank === 2 && this.weight !== null) {
      return batchNormEval(x, this.runningMean!, this.runningVar!, this.weight, this.bias!, this.eps, withRelu ? 'relu' : 'none');
    }
    const y = this.composed(x, axes, perChannel, useBatch);
    return withRelu ? relu(y) : y;
  }

  private composed(x: Tensor, axes: number[], perChannel: (t: Tensor) => Tensor, useBatch: boolean): Tensor {
    let xhat: Tensor;
    if (useBatch) {
      const n = axes.reduce((a, d) => a * x.shape[d]!, 1);
      if (this.training && n <= 1) {
        throw new Error(`BatchNorm1d: expected more than 1 value per channel when training, got input ${fmtShape(x.shape)}`);
      }
      const mean = div(sum(x, axes, true), n);
      const centered = sub(x, mean);
      const sqSum = sum(mul(centered, centered), axes, true);
      xhat = div(centered, sqrt(add(div(sqSum, n), this.eps)));
      if (this.training && this.runningMean !== null) this.updateRunningStats(mean, sqSum, n);
    } else {
      xhat = div(sub(x, perChannel(this.runningMean!)), sqrt(add(perChannel(this.runningVar!), this.eps)));
    }
    if (this.weight === null) return xhat;
    return add(mul(xhat, perChannel(this.weight)), perChannel(this.bias!));
  }

  /** running = (1 - momentum) * running + momentum * batch, with the unbiased batch variance. */
  private updateRunningStats(mean: Tensor, sqSum: Tensor, n: number): void {
    const m = this.momentum;
    // tidy frees the temporaries; the buffers keep the new storage through assign.
    tidy(() =>
      noGrad(() => {
        const flat = (t: Tensor): Tensor => reshape(t, [this.numFeatures]);
        this.runningMean!.assign(add(mul(this.runningMean!, 1 - m), mul(flat(mean), m)));
        this.runningVar!.assign(add(mul(this.runningVar!, 1 - m), mul(flat(div(sqSum, n - 1)), m)));
        this.numBatchesTracked!.assign(add(this.numBatchesTracked!, 1));
      }),
    );
  }
}
