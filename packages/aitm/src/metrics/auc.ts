// Exact ROC AUC (Mann-Whitney U via ranks, ties given their average rank), matching
// sklearn.metrics.roc_auc_score on binary labels.

/**
 * ROC AUC of `scores` against binary `labels` (a label > 0.5 counts as positive).
 *
 * Rank-based: all scores are sorted, each tie group gets the average of the ranks it spans,
 * and AUC = (sumRanksPos - nPos(nPos+1)/2) / (nPos * nNeg). This equals the probability that a
 * random positive outscores a random negative, a tie counting 1/2.
 *
 * Returns NaN when either class is absent (AUC is undefined; sklearn raises instead). Callers
 * such as per-epoch evaluation on tiny splits can then report NaN instead of crashing.
 * Throws on length mismatch or a NaN score (NaN has no place in an ordering).
 *
 * Cost: O(n log n). Positives and negatives are sorted separately with the native numeric
 * typed-array sort (much faster than a comparator sort of indices), then merged tie group by
 * tie group, which is the same as sorting everything together.
 */
export function auc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  return aucOfChunks([scores], [labels]);
}

/**
 * `auc` of scores and labels held in chunks (the i-th chunk of each the same length), as if
 * they were joined: what `aitm eval` keeps, block by block, without a joined copy.
 *
 * @example
 * aucOfChunks([Float32Array.of(0.1, 0.4), Float32Array.of(0.35, 0.8)], [[0, 0], [1, 1]]); // 0.75
 */
export function aucOfChunks(scores: readonly ArrayLike<number>[], labels: readonly ArrayLike<number>[]): number {
  const n = scores.reduce((a, c) => a + c.length, 0);
  const nLabels = labels.reduce((a, c) => a + c.length, 0);
  if (nLabels !== n || scores.some((c, k) => c.length !== labels[k]?.length)) {
    throw new Error(`auc: ${n} scores but ${nLabels} labels`);
  }
  let nPos = 0;
  let at = 0;
  scores.forEach((sc, k) => {
    const lb = labels[k]!;
    for (let i = 0; i < sc.length; i++) {
      if (Number.isNaN(sc[i])) throw new Error(`auc: score ${at + i} is NaN`);
      if (lb[i]! > 0.5) nPos++;
    }
    at += sc.length;
  });
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) return NaN;

  // float32 scores sort as float32 (the same order, half the memory of a float64 copy).
  const Sorted = scores.every((c) => c instanceof Float32Array) ? Float32Array : Float64Array;
  const pos = new Sorted(nPos);
  const neg = new Sorted(nNeg);
  let p = 0;
  let q = 0;
  scores.forEach((sc, k) => {
    const lb = labels[k]!;
    for (let i = 0; i < sc.length; i++) {
      if (lb[i]! > 0.5) pos[p++] = sc[i]!;
      else neg[q++] = sc[i]!;
    }
  });
  pos.sort();
  neg.sort();

  // Walk both sorted lists in ascending order, one tie group (equal score) at a time.
  let sumRanksPos = 0;
  let rank = 0; // number of items already ranked (ranks are 1-based)
  let i = 0;
  let j = 0;
  while (i < nPos) {
    const v = j < nNeg && neg[j]! < pos[i]! ? neg[j]! : pos[i]!;
    let groupPos = 0;
    let groupNeg = 0;
    while (i < nPos && pos[i] === v) { i++; groupPos++; }
    while (j < nNeg && neg[j] === v) { j++; groupNeg++; }
    const size = groupPos + groupNeg;
    // Ranks rank+1 .. rank+size, average rank + (size+1)/2.
    sumRanksPos += groupPos * (rank + (size + 1) / 2);
    rank += size;
  }
  return (sumRanksPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}
