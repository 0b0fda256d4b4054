// Embedding and torch-rechub's EmbeddingLayer: table names, shared tables, output layout
// (with and without squeezeDim), out-of-range ids, and gradients by finite differences.

import { describe, expect, it } from 'vitest';
import { gradcheck, memory, randn, tensor, tidy, Generator, type Tensor } from '@aitm/tensor';
import { DenseFeature, Embedding, EmbeddingLayer, SparseFeature, pretrained, randomUniform } from '../src/node.js';

const ids = (v: number[] | number[][]): Tensor => tensor(v, { dtype: 'int32' });

describe('Embedding', () => {
  it('looks rows up for ids of any shape: [...ids.shape, dim]', () => {
    const emb = new Embedding(4, 2, { initializer: pretrained([0, 1, 10, 11, 20, 21, 30, 31]) });
    tidy(() => {
      const y = emb.forward(ids([[3, 0], [1, 1]]));
      expect(y.shape).toEqual([2, 2, 2]);
      expect([...y.dataSync()]).toEqual([30, 31, 0, 1, 10, 11, 10, 11]);
      expect([...emb.forward(new Int32Array([2])).dataSync()]).toEqual([20, 21]);
    });
    emb.dispose();
  });

  it('defaults to N(0, 1) like torch.nn.Embedding', () => {
    const emb = new Embedding(500, 20, { generator: new Generator(3) });
    const v = [...emb.weight.dataSync()];
    const mean = v.reduce((a, x) => a + x, 0) / v.length;
    const std = Math.sqrt(v.reduce((a, x) => a + (x - mean) ** 2, 0) / v.length);
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(std).toBeCloseTo(1, 1);
    emb.dispose();
  });

  it('names the id and the vocabulary size when an id is out of range', () => {
    const emb = new Embedding(5, 2);
    expect(() => emb.forward(ids([1, 5]))).toThrow(/Embedding: id 5 \(at position 1\) is out of range for vocabulary size 5 \(valid ids 0\.\.4\)/);
    expect(() => emb.forward(new Int32Array([-1]))).toThrow(/id -1 .* vocabulary size 5/);
    expect(() => emb.forward(tensor([1.5]))).toThrow(/ids must be int32, got float32/);
    emb.dispose();
  });

  it('the gradient of the table sums the rows picked (finite differences)', () => {
    const emb = new Embedding(4, 3, { dtype: 'float64', generator: new Generator(4) });
    const idx = ids([[0, 2, 2], [3, 0, 1]]);
    gradcheck(() => emb.forward(idx), [emb.weight]);
    emb.dispose();
  });
});

describe('EmbeddingLayer', () => {
  const features = (): (SparseFeature | DenseFeature)[] => [
    new SparseFeature({ name: 'user', vocabSize: 5, embedDim: 3 }),
    new DenseFeature({ name: 'age' }),
    new SparseFeature({ name: 'item', vocabSize: 4, embedDim: 3 }),
    new SparseFeature({ name: 'ref_item', vocabSize: 4, embedDim: 3, sharedWith: 'item' }),
  ];

  it('creates embed_dict.<name>.weight per sparse feature, none for shared ones, N(0, 1e-4) by default', () => {
    const layer = new EmbeddingLayer(features(), { generator: new Generator(5) });
    expect(layer.stateEntries().map(([k, t]) => [k, t.shape])).toEqual([
      ['embed_dict.user.weight', [5, 3]],
      ['embed_dict.item.weight', [4, 3]],
    ]);
    const big = new EmbeddingLayer([new SparseFeature({ name: 'x', vocabSize: 1000, embedDim: 10 })], { generator: new Generator(6) });
    const v = [...big.embedDict.get('x').weight.dataSync()];
    const std = Math.sqrt(v.reduce((a, x) => a + x * x, 0) / v.length);
    expect(std).toBeGreaterThan(0.9e-4);
    expect(std).toBeLessThan(1.1e-4);
    layer.dispose();
    big.dispose();
  });

  it('returns [B, nSparse, dim], or with squeezeDim the flattened sparse embeddings then the dense columns', () => {
    const fs = features();
    const layer = new EmbeddingLayer(
      [
        new SparseFeature({ name: 'user', vocabSize: 5, embedDim: 3, initializer: pretrained(Array.from({ length: 15 }, (_, i) => 100 + i)) }),
        fs[1]!,
        new SparseFeature({ name: 'item', vocabSize: 4, embedDim: 3, initializer: pretrained(Array.from({ length: 12 }, (_, i) => 200 + i)) }),
        fs[3]!,
      ],
      { dtype: 'float64' },
    );
    const inputs = { user: ids([1, 4]), age: tensor([0.5, 0.25], { dtype: 'float64' }), item: ids([0, 3]), ref_item: ids([2, 2]) };
    tidy(() => {
      const y = layer.forward(inputs);
      expect(y.shape).toEqual([2, 3, 3]);
      expect([...y.dataSync()]).toEqual([103, 104, 105, 200, 201, 202, 206, 207, 208, 112, 113, 114, 209, 210, 211, 206, 207, 208]);
      const s = layer.forward(inputs, { squeezeDim: true });
      expect(s.shape).toEqual([2, 10]);
      expect([...s.dataSync()]).toEqual([103, 104, 105, 200, 201, 202, 206, 207, 208, 0.5, 112, 113, 114, 209, 210, 211, 206, 207, 208, 0.25]);
      // A subset of the features, in the given order (torch-rechub passes them per call).
      const sub = layer.forward(inputs, { features: [layer.features[1]!, layer.features[2]!], squeezeDim: true });
      expect([...sub.dataSync()]).toEqual([200, 201, 202, 0.5, 209, 210, 211, 0.25]);
      // Float ids are truncated like .long().
      expect([...layer.forward({ ...inputs, user: tensor([1.9, 4], { dtype: 'float64' }) }).dataSync()].slice(0, 3)).toEqual([103, 104, 105]);
    });
    Object.values(inputs).forEach((t) => t.dispose());
    layer.dispose();
  });

  it('errors name the feature, the id and the vocabulary size', () => {
    const layer = new EmbeddingLayer(features());
    const ok = { user: ids([0]), age: tensor([1]), item: ids([0]) };
    expect(() => layer.forward({ ...ok, ref_item: ids([4]) })).toThrow(
      /EmbeddingLayer: feature 'ref_item' \(table of 'item'\): id 4 \(at position 0\) is out of range for vocabulary size 4/,
    );
    expect(() => layer.forward({ ...ok, user: ids([7]), ref_item: ids([0]) })).toThrow(/feature 'user': id 7 .* vocabulary size 5/);
    expect(() => layer.forward(ok)).toThrow(/no input for feature 'ref_item'/);
    expect(
      () => new EmbeddingLayer([new SparseFeature({ name: 'a', vocabSize: 2, embedDim: 2, sharedWith: 'b' })]),
    ).toThrow(/feature 'a' is shared with 'b', which has no embedding table/);
    const mixed = new EmbeddingLayer([
      new SparseFeature({ name: 'a', vocabSize: 2, embedDim: 2 }),
      new SparseFeature({ name: 'b', vocabSize: 2, embedDim: 3 }),
    ]);
    expect(() => mixed.forward({ a: ids([0]), b: ids([1]) })).toThrow(/different embedding dims \(2, 3\); use squeezeDim/);
    expect(() => new SparseFeature({ name: 'z', vocabSize: 0, embedDim: 2 })).toThrow(/vocabSize must be a positive integer/);
    layer.dispose();
    mixed.dispose();
  });

  it('gradients of the tables and the dense inputs agree with finite differences', () => {
    const g = new Generator(8);
    const layer = new EmbeddingLayer(
      [
        new SparseFeature({ name: 'u', vocabSize: 3, embedDim: 2, initializer: randomUniform(-1, 1) }),
        new DenseFeature({ name: 'd' }),
        new SparseFeature({ name: 'v', vocabSize: 4, embedDim: 2, initializer: randomUniform(-1, 1) }),
        new SparseFeature({ name: 'w', vocabSize: 4, embedDim: 2, sharedWith: 'v' }),
      ],
      { dtype: 'float64', generator: g },
    );
    const d = randn([3], { dtype: 'float64', generator: g, requiresGrad: true });
    const inputs = { u: ids([0, 2, 2]), v: ids([1, 3, 0]), w: ids([3, 3, 1]) };
    const [tu, tv] = layer.parameters();
    gradcheck((dd) => layer.forward({ ...inputs, d: dd }, { squeezeDim: true }), [d, tu!, tv!]);
    const sparseOnly = layer.features.filter((f) => f instanceof SparseFeature);
    gradcheck(() => layer.forward(inputs, { features: sparseOnly }), [tu!, tv!]);
    layer.dispose();
  });

  it('forward inside tidy frees everything it made', () => {
    const layer = new EmbeddingLayer(features());
    const inputs = { user: ids([0, 1]), age: tensor([1, 2]), item: ids([0, 1]), ref_item: ids([2, 3]) };
    const before = memory().tensors;
    tidy(() => {
      layer.forward(inputs, { squeezeDim: true });
    });
    expect(memory().tensors).toBe(before);
    layer.dispose();
  });
});
