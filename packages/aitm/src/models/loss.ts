// The AITM paper's training loss: the sum of per-task binary cross-entropies plus the
// label-constraint ("calibrator") term alpha * mean_b( sum_{t>=2} relu(p_t - p_{t-1}) ),
// which penalises a later-step probability (purchase) exceeding an earlier one (click).
// `aitmLoss` computes the total with one fused op (two kernels with its gradient); the
// composed `aitmLossReference` is the definition it is tested against.

import { add, mean, mul, narrow, relu, sub, sum, fmtShape, type Tensor } from '@aitm/tensor';
import { bce } from '@aitm/nn';
import { fusedAitmLoss } from '../kernels/loss-kernels.js';

/** alpha * mean over samples of sum over t >= 2 of relu(p_t - p_{t-1}); p is [B, nTask]. */
export function labelConstraint(p: Tensor, alpha = 0.6): Tensor {
  const n = p.shape[1]!;
  const later = narrow(p, 1, 1, n - 1);
  const earlier = narrow(p, 1, 0, n - 1);
  return mul(mean(sum(relu(sub(later, earlier)), 1)), alpha);
}

/** AITM's loss: the total, each task's BCE and the label constraint. */
export interface AitmLoss {
  /** The total: sum of task BCEs plus the constraint. */
  readonly total: Tensor;
  /** Shape [nTask]: each task's mean BCE (computed, with the composed ops, when first read). */
  readonly perTask: Tensor;
  /** The constraint term (computed, with the composed ops, when first read). */
  readonly constraint: Tensor;
}

/**
 * The AITM loss of probabilities `p` and 0/1 labels `y`, both [B, nTask].
 * alpha = 0 gives the plain sum of BCEs. The total is one fused op; the parts are only
 * computed if read.
 *
 * @example
 * const { total } = aitmLoss(model.forward(x), labels, 0.6);
 * total.backward();
 */
export function aitmLoss(p: Tensor, y: Tensor, alpha = 0.6): AitmLoss {
  const total = fusedAitmLoss(p, y, p.shape[1]! < 2 ? 0 : alpha);
  let parts: AitmLoss | null = null;
  const reference = (): AitmLoss => (parts ??= aitmLossReference(p, y, alpha));
  return {
    total,
    get perTask() {
      return reference().perTask;
    },
    get constraint() {
      return reference().constraint;
    },
  };
}

/** `aitmLoss` composed from elementwise ops and reductions: the fused op's reference. */
export function aitmLossReference(p: Tensor, y: Tensor, alpha = 0.6): AitmLoss {
  if (p.rank !== 2 || y.rank !== 2 || p.shape[0] !== y.shape[0] || p.shape[1] !== y.shape[1]) {
    throw new Error(`aitmLoss: probabilities ${fmtShape(p.shape)} and labels ${fmtShape(y.shape)} must both be [B, nTask]`);
  }
  const perTask = mean(bce(p, y, { reduction: 'none' }), 0);
  const bceSum = sum(perTask);
  if (alpha === 0 || p.shape[1]! < 2) {
    return { total: bceSum, perTask, constraint: mul(bceSum, 0) };
  }
  const constraint = labelConstraint(p, alpha);
  return { total: add(bceSum, constraint), perTask, constraint };
}
