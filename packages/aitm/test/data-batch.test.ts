// Schema inference, the seeded PRNG (checked against the xoshiro128** reference), and the
// columnar Dataset helpers (concat, subset, shuffled / sequential batches).
import { describe, expect, it } from 'vitest';
import {
  allocDataset,
  concatDatasets,
  sequentialBatches,
  shuffledBatches,
  shuffledIndexBatches,
  subset,
  type Dataset,
} from '../src/data/batch.js';
import { mixSeeds, Rng } from '../src/data/rng.js';
import { inferSchema, isDenseColumnName, withVocab, type DataSchema } from '../src/data/schema.js';

const ALI_HEADER =
  'click,purchase,101,121,122,124,125,126,127,128,129,205,206,207,210,216,508,509,702,853,301,109_14,110_14,127_14,150_14,D109_14,D110_14,D127_14,D150_14,D508,D509,D702,D853'.split(',');

describe('schema', () => {
  it('infers Ali-CCP roles: 2 labels, 23 sparse, 8 dense', () => {
    const s = inferSchema(ALI_HEADER);
    expect(s.labels).toEqual(['click', 'purchase']);
    expect(s.features.filter((f) => f.type === 'sparse')).toHaveLength(23);
    expect(s.features.filter((f) => f.type === 'dense').map((f) => f.name)).toEqual(ALI_HEADER.slice(25));
  });

  it('classifies D-columns as dense only when D is followed by digits/underscores', () => {
    expect(['D508', 'D109_14', 'D0'].map(isDenseColumnName)).toEqual([true, true, true]);
    expect(['109_14', 'D', 'Dx', 'd508', 'D5a', '205'].map(isDenseColumnName)).toEqual([false, false, false, false, false, false]);
  });

  it('honours custom labels and options, and rejects missing labels', () => {
    const s = inferSchema(['y', 'u', 'D1'], { labels: ['y'], embedDim: 8, vocabSize: 50 });
    expect(s).toEqual({ labels: ['y'], features: [{ name: 'u', type: 'sparse', vocabSize: 50, embedDim: 8 }, { name: 'D1', type: 'dense' }] });
    expect(() => inferSchema(['a', 'b'])).toThrow(/click, purchase not in header/);
  });

  it('withVocab fills sizes without touching the input', () => {
    const s = inferSchema(['click', 'purchase', 'u', 'v']);
    const t = withVocab(s, { u: 12, constructor: 3 });
    expect(t.features).toEqual([
      { name: 'u', type: 'sparse', vocabSize: 12, embedDim: 4 },
      { name: 'v', type: 'sparse', vocabSize: 'auto', embedDim: 4 },
    ]);
    expect(s.features[0]).toMatchObject({ vocabSize: 'auto' });
  });
});

describe('Rng (xoshiro128**)', () => {
  it('matches the reference C implementation', () => {
    const r = Rng.fromState(1, 2, 3, 4);
    expect(Array.from({ length: 6 }, () => r.nextU32())).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
    const q = Rng.fromState(0xdeadbeef, 0x12345678, 0xcafebabe, 0x0badf00d);
    for (let i = 0; i < 1000; i++) q.nextU32();
    expect(q.nextU32()).toBe(3651887776);
  });

  it('is deterministic per seed and differs across seeds', () => {
    const draw = (seed: number): number[] => {
      const r = new Rng(seed);
      return Array.from({ length: 8 }, () => r.nextU32());
    };
    expect(draw(42)).toEqual(draw(42));
    expect(draw(42)).not.toEqual(draw(43));
    expect(mixSeeds(1, 2)).not.toBe(mixSeeds(2, 1));
  });

  it('gives sane uniform, integer and normal draws', () => {
    const r = new Rng(5);
    const n = 100000;
    let sum = 0;
    let sq = 0;
    let fsum = 0;
    const counts = new Int32Array(7);
    for (let i = 0; i < n; i++) {
      const f = r.float();
      expect(f >= 0 && f < 1).toBe(true);
      fsum += f;
      counts[r.int(7)]++;
      const z = r.normal();
      sum += z;
      sq += z * z;
    }
    expect(fsum / n).toBeCloseTo(0.5, 2);
    for (const c of counts) expect(Math.abs(c / n - 1 / 7)).toBeLessThan(0.01);
    expect(Math.abs(sum / n)).toBeLessThan(0.02);
    expect(Math.abs(sq / n - 1)).toBeLessThan(0.03);
  });
});

function toyDataset(n: number, offset = 0): Dataset {
  const schema: DataSchema = {
    labels: ['click', 'purchase'],
    features: [
      { name: 'a', type: 'sparse', vocabSize: 1000, embedDim: 4 },
      { name: 'x', type: 'dense' },
    ],
  };
  const ds = allocDataset(schema, n);
  for (let i = 0; i < n; i++) {
    ds.labels[0][i] = (i + offset) % 2;
    ds.labels[1][i] = (i + offset) % 4 === 0 ? 1 : 0;
    ds.sparse[0][i] = i + offset;
    ds.dense[0][i] = (i + offset) / 10;
  }
  return ds;
}

describe('Dataset helpers', () => {
  it('concatDatasets appends rows and checks columns', () => {
    const c = concatDatasets([toyDataset(3), toyDataset(0, 3), toyDataset(4, 3)]);
    expect(c.n).toBe(7);
    expect(Array.from(c.sparse[0])).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(c.dense[0][6]).toBeCloseTo(0.6, 6);
    expect(concatDatasets([], toyDataset(1).schema).n).toBe(0);
    expect(() => concatDatasets([])).toThrow(/no parts/);
    const other = allocDataset({ labels: ['click', 'purchase'], features: [{ name: 'x', type: 'dense' }] }, 1);
    expect(() => concatDatasets([toyDataset(1), other])).toThrow(/different columns/);
  });

  it('subset gathers rows in the given order', () => {
    const s = subset(toyDataset(10), [9, 0, 9, 4]);
    expect(s.n).toBe(4);
    expect(Array.from(s.sparse[0])).toEqual([9, 0, 9, 4]);
    expect(Array.from(s.labels[0])).toEqual([1, 0, 1, 0]);
    expect(() => subset(toyDataset(3), [3])).toThrow(/out of range/);
  });

  it('shuffledIndexBatches covers every row once, deterministically per seed', () => {
    const batches = [...shuffledIndexBatches(103, 10, new Rng(1))];
    expect(batches.map((b) => b.length)).toEqual([10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 3]);
    const all = batches.flatMap((b) => Array.from(b));
    expect([...all].sort((x, y) => x - y)).toEqual(Array.from({ length: 103 }, (_, i) => i));
    expect(all).not.toEqual(Array.from({ length: 103 }, (_, i) => i));
    expect([...shuffledIndexBatches(103, 10, new Rng(1))].flatMap((b) => Array.from(b))).toEqual(all);
    expect([...shuffledIndexBatches(103, 10, new Rng(1), { dropLast: true })]).toHaveLength(10);
    expect(() => [...shuffledIndexBatches(5, 0, new Rng(1))]).toThrow(/batchSize/);
  });

  it('shuffledBatches yields row-consistent mini-batches; sequentialBatches keeps order', () => {
    const ds = toyDataset(25);
    let rows = 0;
    for (const b of shuffledBatches(ds, 8, new Rng(9))) {
      rows += b.n;
      for (let i = 0; i < b.n; i++) {
        const r = b.sparse[0][i]; // the original row index
        expect(b.labels[0][i]).toBe(ds.labels[0][r]);
        expect(b.dense[0][i]).toBe(ds.dense[0][r]);
      }
    }
    expect(rows).toBe(25);
    const seq = [...sequentialBatches(ds, 8)];
    expect(seq.map((b) => b.n)).toEqual([8, 8, 8, 1]);
    expect(Array.from(concatDatasets(seq).sparse[0])).toEqual(Array.from(ds.sparse[0]));
  });
});
