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
  return loglossOfChunks([probs], [labels], eps);
}

/**
 * `logloss` of probabilities and labels held in chunks (the i-th chunk of each the same
 * length), summed in order as if they were joined.
 *
 * @example
 * loglossOfChunks([Float32Array.of(0.9), Float32Array.of(0.2)], [[1], [0]]); // = logloss([0.9, 0.2], [1, 0])
 */
export function loglossOfChunks(
  probs: readonly ArrayLike<number>[],
  labels: readonly ArrayLike<number>[],
  eps: number = LOGLOSS_EPS,
): number {
  const n = probs.reduce((a, c) => a + c.length, 0);
  const nLabels = labels.reduce((a, c) => a + c.length, 0);
  if (nLabels !== n || probs.some((c, k) => c.length !== labels[k]?.length)) {
    throw new Error(`logloss: ${n} probabilities but ${nLabels} labels`);
  }
  if (n === 0) return NaN;
  const lo = eps;
  const hi = 1 - eps;
  let sum = 0;
  probs.forEach((pc, k) => {
    const lc = labels[k]!;
    for (let i = 0; i < pc.length; i++) {
      const p = Math.min(hi, Math.max(lo, pc[i]!));
      const y = lc[i]!;
      sum -= y * Math.log(p) + (1 - y) * Math.log(1 - p);
    }
  });
  return sum / n;
}
