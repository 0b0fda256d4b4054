// Synthetic click -> purchase generator: determinism, shared worlds across sample seeds, calibrated
// base rates, causal structure (purchase only after click), and learnable signal (oracle AUC).
import { describe, expect, it } from 'vitest';
import { generateSynthetic, oracleAuc, syntheticSchema, type SyntheticData } from '../src/data/synthetic.js';
import { inferSchema } from '../src/data/schema.js';

const ROWS = 200_000;
const base = generateSynthetic({ rows: ROWS, worldSeed: 1, sampleSeed: 2 });

const sum = (a: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
};

function rates(s: SyntheticData): { click: number; purchaseGivenClick: number; purchase: number } {
  const clicks = sum(s.data.labels[0]);
  const purchases = sum(s.data.labels[1]);
  return { click: clicks / s.data.n, purchaseGivenClick: purchases / clicks, purchase: purchases / s.data.n };
}

describe('synthetic data', () => {
  it('has the documented columns', () => {
    const { data } = base;
    expect(data.n).toBe(ROWS);
    expect(data.schema.labels).toEqual(['click', 'purchase']);
    expect(data.schema.features.map((f) => f.name)).toEqual(['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'f8', 'f9']);
    expect(data.schema.features.every((f) => f.type === 'sparse' && f.vocabSize === 1000)).toBe(true);
    expect(data.sparse).toHaveLength(10);
    expect(data.dense).toHaveLength(0);
    expect(base.trueProb).toHaveLength(2);
    for (const col of data.sparse) for (let i = 0; i < ROWS; i += 97) expect(col[i] >= 1 && col[i] < 1000).toBe(true);
  });

  it('is deterministic for given seeds; sample seeds share one world', () => {
    const a = generateSynthetic({ rows: 5000, worldSeed: 1, sampleSeed: 2 });
    expect(a.data.sparse).toEqual(base.data.sparse.map((c) => c.subarray(0, 5000)));
    expect(a.data.labels).toEqual(base.data.labels.map((c) => c.subarray(0, 5000)));
    expect(a.trueProb).toEqual(base.trueProb.map((c) => c.subarray(0, 5000)));

    const otherSample = generateSynthetic({ rows: 5000, worldSeed: 1, sampleSeed: 3 });
    expect(otherSample.data.sparse[0]).not.toEqual(a.data.sparse[0]);
    expect(otherSample.intercepts).toEqual(a.intercepts);
    // Same world: with few ids rows repeat, and equal ids give equal true probabilities.
    const tiny = { rows: 3000, worldSeed: 7, fields: 2, vocab: 6, interactionPairs: 1 };
    const s1 = generateSynthetic({ ...tiny, sampleSeed: 1 });
    const s2 = generateSynthetic({ ...tiny, sampleSeed: 2 });
    const key = (s: SyntheticData, i: number): string => s.data.sparse.map((c) => c[i]).join(',');
    const seen = new Map<string, number[]>();
    for (let i = 0; i < 3000; i++) seen.set(key(s1, i), [s1.trueProb[0][i], s1.trueProb[1][i]]);
    let matched = 0;
    for (let i = 0; i < 3000; i++) {
      const p = seen.get(key(s2, i));
      if (p === undefined) continue;
      expect([s2.trueProb[0][i], s2.trueProb[1][i]]).toEqual(p);
      matched++;
    }
    expect(matched).toBe(3000); // only 25 id combinations exist
    expect(seen.size).toBeGreaterThan(10);

    const otherWorld = generateSynthetic({ rows: 5000, worldSeed: 9, sampleSeed: 2 });
    expect(otherWorld.intercepts).not.toEqual(a.intercepts);
  });

  it('hits the configured base rates', () => {
    const r = rates(base);
    expect(r.click).toBeGreaterThan(0.09);
    expect(r.click).toBeLessThan(0.11);
    expect(r.purchaseGivenClick).toBeGreaterThan(0.18);
    expect(r.purchaseGivenClick).toBeLessThan(0.22);
    // The true probabilities agree with the sampled labels on average.
    expect(sum(base.trueProb[0]) / ROWS).toBeCloseTo(r.click, 2);
    expect(sum(base.trueProb[1]) / ROWS).toBeCloseTo(r.purchase, 2);

    const other = rates(generateSynthetic({ rows: ROWS, worldSeed: 4, sampleSeed: 5, clickBase: 0.3, purchaseBase: 0.05 }));
    expect(Math.abs(other.click - 0.3)).toBeLessThan(0.02);
    expect(Math.abs(other.purchaseGivenClick - 0.05)).toBeLessThan(0.01);
  });

  it('purchases only after a click, and P(purchase) <= P(click)', () => {
    const [click, purchase] = base.data.labels;
    const [pc, pb] = base.trueProb;
    for (let i = 0; i < ROWS; i++) {
      if (purchase[i] === 1 && click[i] !== 1) throw new Error(`row ${i}: purchase without click`);
      if (!(pb[i] <= pc[i] && pc[i] > 0 && pc[i] < 1)) throw new Error(`row ${i}: bad true probabilities`);
    }
  });

  it('has learnable signal: oracle AUC > 0.6 for both tasks', () => {
    const [clickAuc, purchaseAuc] = oracleAuc(base);
    expect(clickAuc).toBeGreaterThan(0.6);
    expect(purchaseAuc).toBeGreaterThan(0.6);
  });

  it('draws ids from a skewed (Zipf) distribution, frequent ids not always small', () => {
    const counts = new Int32Array(1000);
    for (const id of base.data.sparse[0]) counts[id]++;
    const sorted = Array.from(counts.subarray(1)).sort((x, y) => y - x);
    expect(sorted[0]).toBeGreaterThan(20 * sorted[500]);
    const top = counts.indexOf(sorted[0]);
    const topOfField1 = (() => {
      const c = new Int32Array(1000);
      for (const id of base.data.sparse[1]) c[id]++;
      return c.indexOf(Math.max(...c));
    })();
    expect(top === 1 && topOfField1 === 1).toBe(false);
  });

  it('adds dense features named like Ali-CCP dense columns', () => {
    const s = generateSynthetic({ rows: 2000, worldSeed: 1, sampleSeed: 2, denseFeatures: 3, fields: 4, vocab: 50 });
    expect(s.data.dense).toHaveLength(3);
    expect(s.data.schema.features.map((f) => f.name)).toEqual(['f0', 'f1', 'f2', 'f3', 'D0', 'D1', 'D2']);
    for (const col of s.data.dense) for (const x of col) expect(x >= 0 && x <= 1).toBe(true);
    // Writing it to CSV and inferring roles from the header would give the same schema.
    const inferred = inferSchema(['click', 'purchase', 'f0', 'f1', 'f2', 'f3', 'D0', 'D1', 'D2'], { vocabSize: 50 });
    expect(inferred).toEqual(syntheticSchema({ rows: 0, worldSeed: 0, sampleSeed: 0, denseFeatures: 3, fields: 4, vocab: 50 }));
  });

  it('rejects invalid configs', () => {
    expect(() => generateSynthetic({ rows: 10, worldSeed: 1, sampleSeed: 1, dependence: 1.5 })).toThrow(/dependence/);
    expect(() => generateSynthetic({ rows: 10, worldSeed: 1, sampleSeed: 1, clickBase: 0 })).toThrow(/clickBase/);
    expect(() => generateSynthetic({ rows: -1, worldSeed: 1, sampleSeed: 1 })).toThrow(/rows/);
    expect(() => generateSynthetic({ rows: 10, worldSeed: 1, sampleSeed: 1, vocab: 1 })).toThrow(/vocab/);
  });
});
