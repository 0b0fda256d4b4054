// Funnels of any length in the built-in world: the default 2-step world's rows are exactly what
// they were before funnels existed (a hash of its splits, taken with the code before the change),
// and the presets funnel3..funnel5 give 3..5 tasks, each possible only after the previous one,
// with calibrated per-step base rates, true probabilities that shrink along the funnel, and an
// oracle AUC per task.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateSynthetic, MAX_FUNNEL_TASKS, oracleAuc, syntheticSplits, WORLD_PRESETS, worldPreset, type FunnelStep } from '../src/index.js';
import { syntheticWorld } from '../src/commands/data.js';

/** sha256 of a 6000-row default split set (ids, labels, oracle) and a dense 2-step sample (ids, values, labels, true probabilities, intercepts). */
function defaultWorldHash(): string {
  const h = createHash('sha256');
  const add = (a: ArrayBufferView) => h.update(Buffer.from(a.buffer, a.byteOffset, a.byteLength));
  const s = syntheticSplits(6000, 1);
  for (const ds of [s.train, s.val, s.test]) {
    ds.sparse.forEach(add);
    ds.labels.forEach(add);
  }
  h.update(JSON.stringify(s.oracle));
  const g = generateSynthetic({ rows: 500, worldSeed: 7, sampleSeed: 8, denseFeatures: 2 });
  g.data.sparse.forEach(add);
  g.data.dense.forEach(add);
  g.data.labels.forEach(add);
  g.trueProb.forEach(add);
  h.update(JSON.stringify(g.intercepts));
  return h.digest('hex');
}

const sum = (a: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s;
};

describe('funnel worlds', () => {
  it('the default 2-step world is unchanged (hash from the code before funnels)', () => {
    expect(defaultWorldHash()).toBe('6f865ebb09d5a6d53da08a3e2e54b001207b84681d4ec3642b263df686a3f2e7');
    // The default preset and an explicit one-step funnel with the 2-step knobs give the same rows.
    const a = syntheticSplits(3000, 2);
    const b = syntheticSplits(3000, 2, worldPreset('default'));
    const c = syntheticSplits(3000, 2, { steps: [{ name: 'purchase', base: 0.3, dependence: 0.8 }] });
    for (const other of [b, c]) {
      expect(other.train.labels).toEqual(a.train.labels);
      expect(other.test.sparse).toEqual(a.test.sparse);
      expect(other.oracle).toEqual(a.oracle);
    }
  });

  for (const [name, tasks] of [['funnel3', 3], ['funnel4', 4], ['funnel5', 5]] as const) {
    it(`${name}: ${tasks} tasks, each only after the previous, calibrated step rates, an oracle AUC per task`, () => {
      const steps = WORLD_PRESETS[name].steps as readonly FunnelStep[];
      const s = generateSynthetic({ ...syntheticWorld({ world: name }), fields: 8, vocab: 20, zipf: 1, clickBase: 0.2, interactionPairs: 2, interactionRank: 2, interactionStd: 0.3, rows: 60_000, worldSeed: 3, sampleSeed: 4 });
      expect(s.data.schema.labels).toEqual(['click', ...steps.map((st) => st.name)]);
      expect(s.trueProb).toHaveLength(tasks);
      expect(s.stepIntercepts).toHaveLength(tasks);
      const L = s.data.labels;
      for (let t = 1; t < tasks; t++) {
        let orphans = 0;
        for (let i = 0; i < s.data.n; i++) if (L[t]![i]! > 0.5 && !(L[t - 1]![i]! > 0.5)) orphans++;
        expect(orphans, `${name}: step ${t + 1} without step ${t}`).toBe(0);
        // P(step | previous) over the rows that reached the previous step is the step's base rate.
        const rate = sum(L[t]!) / sum(L[t - 1]!);
        expect(Math.abs(rate - steps[t - 1]!.base), `${name} step ${t + 1} rate ${rate}`).toBeLessThan(0.03);
        for (let i = 0; i < 1000; i++) expect(s.trueProb[t]![i]!).toBeLessThanOrEqual(s.trueProb[t - 1]![i]!);
      }
      expect(Math.abs(sum(L[0]!) / s.data.n - 0.2)).toBeLessThan(0.01);
      const oracle = oracleAuc(s);
      expect(oracle).toHaveLength(tasks);
      for (const a of oracle) expect(a).toBeGreaterThan(0.65);
      // Same seeds, same rows; the first two steps' world is the 2-step world's (same click intercept).
      const again = generateSynthetic({ ...worldPreset(name), rows: 500, worldSeed: 3, sampleSeed: 4 });
      const two = generateSynthetic({ rows: 500, worldSeed: 3, sampleSeed: 4 });
      expect(again.data.sparse).toEqual(two.data.sparse);
      expect(again.intercepts.click).toBe(two.intercepts.click);
    });
  }

  it('refuses funnels of more than 5 tasks, bad step rates and names, and the 2-step knobs with a funnel', () => {
    const step = (name: string, base = 0.5, dependence = 0.5): FunnelStep => ({ name, base, dependence });
    expect(MAX_FUNNEL_TASKS).toBe(5);
    expect(() => generateSynthetic({ rows: 10, worldSeed: 1, sampleSeed: 1, steps: ['a', 'b', 'c', 'd', 'e'].map((n) => step(n)) })).toThrow('a funnel has 2 to 5 tasks, got 6');
    expect(() => generateSynthetic({ rows: 10, worldSeed: 1, sampleSeed: 1, steps: [step('a', 1)] })).toThrow('step 2 (a): base must be in (0, 1), got 1');
    expect(() => generateSynthetic({ rows: 10, worldSeed: 1, sampleSeed: 1, steps: [step('a'), step('a')] })).toThrow("step 3: name must be new and non-empty, got 'a'");
    expect(() => generateSynthetic({ rows: 10, worldSeed: 1, sampleSeed: 1, steps: [step('click')] })).toThrow("name must be new");
    expect(() => syntheticWorld({ world: 'funnel4', synthetic: { dependence: 0.5 } })).toThrow('--dependence applies to the 2-step world; --world funnel4 sets each step');
    expect(() => worldPreset('funnel9')).toThrow("--world: expected one of default, funnel3, funnel4, funnel5, got 'funnel9'");
  });
});
