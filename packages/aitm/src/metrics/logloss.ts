// Mean binary cross-entropy (log loss) of predicted probabilities against 0/1 labels.

/** Probabilities are clamped to [LOGLOSS_EPS, 1 - LOGLOSS_EPS] so a confident wrong
 * prediction costs at most -ln(1e-7) ≈ 16.1 instead of Infinity. */
export const LOGLOSS_EPS = 1e-7;

/**
 * Mean of -(y ln p + (1 - y) ln(1 - p)) with p clamped to [eps, 1 - eps] (default 1e-7).
 * Labels may be soft (any value in [0, 1]). Returns NaN for empty input; throws on length mismatch.
 */
export function logloss(
  probs: ArrayLike<number>,
  labels: ArrayLike<number>,
  eps: number = LOGLOSS_EPS,
): number {
  const n = probs.length;
  if (labels.length !== n) {
    throw new Error(`logloss: ${n} probabilities but ${labels.length} labels`);
  }
  if (n === 0) return NaN;
  const lo = eps;
  const hi = 1 - eps;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const p = Math.min(hi, Math.max(lo, probs[i]));
    const y = labels[i];
    sum -= y * Math.log(p) + (1 - y) * Math.log(1 - p);
  }
  return sum / n;
}
