// Checks auc against a brute-force pair count and known cases, and logloss against its formula.
import { describe, expect, it } from 'vitest';
import { auc, aucOfChunks } from '../src/metrics/auc.js';
import { logloss, loglossOfChunks, LOGLOSS_EPS } from '../src/metrics/logloss.js';
import { Rng } from '../src/data/rng.js';

/** O(n^2) reference: fraction of (pos, neg) pairs where the positive scores higher, ties 1/2. */
function bruteAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < scores.length; i++) {
    if (labels[i] !== 1) continue;
    for (let j = 0; j < scores.length; j++) {
      if (labels[j] !== 0) continue;
      pairs++;
      if (scores[i] > scores[j]) wins += 1;
      else if (scores[i] === scores[j]) wins += 0.5;
    }
  }
  return wins / pairs;
}

describe('auc', () => {
  it('on float32 scores and 0/1 byte labels (what eval keeps) equals the brute-force pair count', () => {
    const rng = new Rng(7);
    const n = 600;
    // Few distinct values, so ties are common.
    const scores = Float32Array.from({ length: n }, () => Math.round(rng.float() * 40) / 41);
    const labels = Uint8Array.from({ length: n }, (_, i) => (rng.float() < 0.2 + 0.6 * scores[i]! ? 1 : 0));
    expect(auc(scores, labels)).toBeCloseTo(bruteAuc(scores, labels), 12);
    expect(auc(scores, labels)).toBe(auc(Array.from(scores), Array.from(labels)));
  });

  it('of chunks (what eval keeps, block by block) is that of the joined arrays; the metrics refuse chunks of unequal lengths', () => {
    const rng = new Rng(9);
    const n = 500;
    const scores = Float32Array.from({ length: n }, () => Math.round(rng.float() * 30) / 31);
    const labels = Uint8Array.from({ length: n }, () => (rng.float() < 0.3 ? 1 : 0));
    const cuts = [0, 7, 7, 190, 333, n]; // an empty chunk too
    const sc = cuts.slice(1).map((e, k) => scores.subarray(cuts[k]!, e));
    const lb = cuts.slice(1).map((e, k) => labels.subarray(cuts[k]!, e));
    expect(aucOfChunks(sc, lb)).toBe(auc(scores, labels));
    expect(aucOfChunks(sc, lb)).toBeCloseTo(bruteAuc(scores, labels), 12);
    expect(loglossOfChunks(sc, lb)).toBe(logloss(scores, labels));
    expect(() => aucOfChunks([scores.subarray(0, 3)], [labels.subarray(0, 4)])).toThrow('auc: 3 scores but 4 labels');
    expect(() => loglossOfChunks([scores.subarray(0, 3), scores.subarray(0, 2)], [labels.subarray(0, 2), labels.subarray(0, 3)])).toThrow('logloss:');
    expect(() => aucOfChunks([Float32Array.of(0.1), Float32Array.of(NaN)], [[0], [1]])).toThrow('auc: score 1 is NaN');
  });

  it('matches known small cases', () => {
    expect(auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])).toBeCloseTo(0.75, 12); // sklearn docs example
    expect(auc([1, 2, 3, 4], [0, 0, 1, 1])).toBe(1);
    expect(auc([4, 3, 2, 1], [0, 0, 1, 1])).toBe(0);
    expect(auc([5, 5, 5, 5], [0, 1, 0, 1])).toBe(0.5);
    // pos {2, 3}, neg {1, 2}: pairs (2>1)=1, (2=2)=.5, (3>1)=1, (3>2)=1 -> 3.5/4
    expect(auc([2, 3, 1, 2], [1, 1, 0, 0])).toBe(0.875);
    expect(auc(new Float32Array([0.2, 0.9]), new Float32Array([0, 1]))).toBe(1);
  });

  it('matches the brute-force pair count on random data with many ties', () => {
    const rng = new Rng(7);
    for (let trial = 0; trial < 40; trial++) {
      const n = 2 + rng.int(400);
      const levels = 1 + rng.int(12); // few distinct scores -> large tie groups
      const posRate = 0.05 + 0.9 * rng.float();
      const scores = new Float64Array(n);
      const labels = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        labels[i] = rng.float() < posRate ? 1 : 0;
        scores[i] = trial % 3 === 0 ? rng.float() : rng.int(levels) / levels + 0.1 * labels[i] * rng.int(2);
      }
      labels[0] = 1;
      labels[1] = 0;
      expect(auc(scores, labels)).toBeCloseTo(bruteAuc(scores, labels), 12);
    }
  });

  it('does not depend on input order', () => {
    const rng = new Rng(3);
    const n = 500;
    const scores = Float64Array.from({ length: n }, () => rng.int(20));
    const labels = Float64Array.from({ length: n }, (_, i) => (rng.float() < 0.3 + scores[i] / 60 ? 1 : 0));
    const perm = rng.shuffle(Int32Array.from({ length: n }, (_, i) => i));
    const s2 = Float64Array.from(perm, (i) => scores[i]);
    const l2 = Float64Array.from(perm, (i) => labels[i]);
    expect(auc(s2, l2)).toBeCloseTo(auc(scores, labels), 12);
  });

  it('returns NaN when a class is absent, and rejects bad input', () => {
    expect(auc([0.1, 0.2], [0, 0])).toBeNaN();
    expect(auc([0.1, 0.2], [1, 1])).toBeNaN();
    expect(auc([], [])).toBeNaN();
    expect(() => auc([0.1, NaN], [0, 1])).toThrow(/NaN/);
    expect(() => auc([0.1, 0.2], [0])).toThrow(/2 scores but 1 labels/);
  });
});

describe('logloss', () => {
  it('matches the formula', () => {
    expect(logloss([0.5, 0.5], [0, 1])).toBeCloseTo(Math.LN2, 12);
    expect(logloss([0.9, 0.2], [1, 0])).toBeCloseTo(-(Math.log(0.9) + Math.log(0.8)) / 2, 12);
    const rng = new Rng(11);
    const p = Float32Array.from({ length: 100 }, () => 0.01 + 0.98 * rng.float());
    const y = Float32Array.from({ length: 100 }, () => (rng.float() < 0.3 ? 1 : 0));
    let ref = 0;
    for (let i = 0; i < 100; i++) ref -= y[i] * Math.log(p[i]) + (1 - y[i]) * Math.log(1 - p[i]);
    expect(logloss(p, y)).toBeCloseTo(ref / 100, 10);
  });

  it('clamps probabilities to [1e-7, 1 - 1e-7]', () => {
    expect(LOGLOSS_EPS).toBe(1e-7);
    expect(logloss([0], [1])).toBeCloseTo(-Math.log(1e-7), 10);
    expect(logloss([1], [0])).toBeCloseTo(-Math.log(1e-7), 6); // 1 - (1 - 1e-7) is 1e-7 only to ~1e-16
    expect(logloss([1], [1])).toBeCloseTo(-Math.log(1 - 1e-7), 15);
    expect(Number.isFinite(logloss([0, 1], [1, 0]))).toBe(true);
    expect(logloss([0], [1], 1e-3)).toBeCloseTo(-Math.log(1e-3), 10);
  });

  it('returns NaN for empty input and rejects length mismatch', () => {
    expect(logloss([], [])).toBeNaN();
    expect(() => logloss([0.5], [])).toThrow(/1 probabilities but 0 labels/);
  });
});
