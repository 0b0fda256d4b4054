// Dataset / TensorDataset / DataLoader with PyTorch's semantics: len(loader), batch sizes,
// drop-last, a seeded shuffle that is a new permutation each epoch and the same on every run,
// collation into tensors on the current backend; and randperm.

import { describe, expect, it } from 'vitest';
import { arange, Generator, randperm, setBackend, tensor, type Tensor } from '@aitm/tensor';
import { DataLoader, Dataset, defaultCollate, TensorDataset } from '../src/index.js';

setBackend('cpu');

const rows = (t: Tensor) => Array.from(t.dataSync());

describe('randperm', () => {
  it('is a permutation of 0..n-1 (int32), reproducible from a seeded generator', () => {
    const p = randperm(10, { generator: new Generator(7) });
    expect(p.dtype).toBe('int32');
    expect([...rows(p)].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(rows(randperm(10, { generator: new Generator(7) }))).toEqual(rows(p));
    expect(rows(randperm(10, { generator: new Generator(8) }))).not.toEqual(rows(p));
    expect(rows(randperm(0))).toEqual([]);
    expect(() => randperm(-1)).toThrow(/randperm: n must be an integer/);
  });
});

describe('DataLoader over a TensorDataset', () => {
  const x = arange(0, 20, 1, { dtype: 'float32' }).reshape([10, 2]); // row i: [2i, 2i+1]
  const y = arange(0, 10, 1, { dtype: 'int32' });
  const ds = new TensorDataset(x, y);

  it('TensorDataset: length and rows, as torch', () => {
    expect(ds.length).toBe(10);
    const [xi, yi] = ds.getItem(3);
    expect(xi!.shape).toEqual([2]);
    expect(rows(xi!)).toEqual([6, 7]);
    expect(yi!.shape).toEqual([]);
    expect(rows(yi!)).toEqual([3]);
    expect(() => new TensorDataset(x, arange(0, 9))).toThrow(/size mismatch between tensors: tensor 0 has 10 rows, tensor 1 has 9/);
  });

  it('batches in order without shuffle; the last batch is short unless dropLast', () => {
    const loader = new DataLoader(ds, { batchSize: 4 });
    expect(loader.length).toBe(3);
    const batches = [...loader];
    expect(batches.map(([, yb]) => rows(yb!))).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
    expect(batches[0]![0]!.shape).toEqual([4, 2]);
    expect(batches[0]![1]!.dtype).toBe('int32');
    expect(rows(batches[2]![0]!)).toEqual([16, 17, 18, 19]);
    const dropping = new DataLoader(ds, { batchSize: 4, dropLast: true });
    expect(dropping.length).toBe(2);
    expect([...dropping].map(([, yb]) => rows(yb!))).toEqual([[0, 1, 2, 3], [4, 5, 6, 7]]);
    expect(new DataLoader(ds).length).toBe(10); // batch size 1 by default, as PyTorch
  });

  it('shuffles with a seeded generator: every row once per epoch, a new order each epoch, the same on every run', () => {
    const epochs = (seed: number) => {
      const loader = new DataLoader(ds, { batchSize: 3, shuffle: true, generator: new Generator(seed) });
      return [0, 1].map(() => [...loader].flatMap(([xb, yb]) => {
        // x and y stay paired through the shuffle.
        rows(yb!).forEach((id, r) => expect(rows(xb!).slice(2 * r, 2 * r + 2)).toEqual([2 * id, 2 * id + 1]));
        return rows(yb!);
      }));
    };
    const [e1, e2] = epochs(0);
    expect([...e1!].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(e1).not.toEqual(e2);
    expect(epochs(0)).toEqual([e1, e2]);
    // The order is randperm's on the same generator.
    expect(e1).toEqual(rows(randperm(10, { generator: new Generator(0) })));
  });

  it('collates onto the current backend', async () => {
    await setBackend('wasm');
    try {
      const [xb] = [...new DataLoader(ds, { batchSize: 5 })][0]!;
      expect(xb!.backendName).toBe('wasm');
    } finally {
      await setBackend('cpu');
    }
  });
});

describe('a custom Dataset and the default collate', () => {
  class Squares extends Dataset<{ x: number[]; y: number }> {
    get length(): number {
      return 5;
    }
    getItem(i: number): { x: number[]; y: number } {
      return { x: [i, -i], y: i * i };
    }
  }

  it('stacks numbers, number arrays and records as default_collate does', () => {
    const [first, second] = [...new DataLoader(new Squares(), { batchSize: 3 })];
    expect(first!.x.shape).toEqual([3, 2]);
    expect(first!.x.dtype).toBe('float32');
    expect(rows(first!.x)).toEqual([0, -0, 1, -1, 2, -2]);
    expect(rows(first!.y)).toEqual([0, 1, 4]);
    expect(rows(second!.y)).toEqual([9, 16]);
  });

  it('collates tuples field by field and keeps a tensor sample dtype; collate replaces it', () => {
    const batch = defaultCollate([
      [tensor([1, 2], { dtype: 'int32' }), 0.5],
      [tensor([3, 4], { dtype: 'int32' }), 1.5],
    ] as const);
    expect(batch[0].dtype).toBe('int32');
    expect(batch[0].shape).toEqual([2, 2]);
    expect(rows(batch[1])).toEqual([0.5, 1.5]);
    const loader = new DataLoader(new Squares(), { batchSize: 2, collate: (s) => s.map((v) => v.y) });
    expect([...loader]).toEqual([[0, 1], [4, 9], [16]]);
  });
});
