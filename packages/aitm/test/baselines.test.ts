// The models AITM is compared with (Shared-Bottom, ESMM, MMoE, PLE) and AITM-AutoInt against
// PyTorch models with torch-rechub's structure (fixtures/gen_baselines.py): parameter names
// in state-dict order, train-mode predictions, the loss, every parameter's gradient, the
// running statistics and eval-mode predictions. Then float64 gradchecks of small instances.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as T from '@aitm/tensor';
import { DenseFeature, SparseFeature, type Feature } from '@aitm/nn';
import { AITMAutoInt, ESMM, InteractingLayer, MMOE, PLE, SharedBottom, aitmLoss, type MultiTaskModel } from '../src/node.js';

interface FT { shape: number[]; dtype: string; data: number[] }
interface Recorded {
  config: Record<string, unknown>;
  state_initial: Record<string, FT>;
  pred_train: FT;
  labels: FT;
  alpha: number;
  loss: FT;
  grads: Record<string, FT>;
  buffers_after_train: Record<string, FT>;
  pred_eval: FT;
  cvr_train?: FT;
}
const fx = JSON.parse(readFileSync(fileURLToPath(new URL('./fixtures/baselines.json', import.meta.url)), 'utf8')) as {
  features: { sparse: { name: string; vocab_size: number; embed_dim: number }[]; dense: { name: string }[] };
  inputs: Record<string, FT>;
  sharedbottom: Recorded;
  esmm: Recorded;
  mmoe: Recorded;
  ple: Recorded;
  aitm_autoint: Recorded;
};

const t64 = (f: FT) => T.tensor(f.data, { shape: f.shape, dtype: f.dtype.startsWith('int') ? 'int32' : 'float64' });
const inputs = (): Record<string, T.Tensor> => Object.fromEntries(Object.entries(fx.inputs).map(([k, v]) => [k, t64(v)]));

function features(): Feature[] {
  return [
    ...fx.features.sparse.map((f) => new SparseFeature({ name: f.name, vocabSize: f.vocab_size, embedDim: f.embed_dim })),
    ...fx.features.dense.map((f) => new DenseFeature({ name: f.name })),
  ];
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, what: string): void {
  expect(actual.length, what).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) {
    if (!(Math.abs(actual[i]! - expected[i]!) <= atol + 1e-5 * Math.abs(expected[i]!))) {
      throw new Error(`${what}[${i}]: got ${actual[i]}, PyTorch ${expected[i]}`);
    }
  }
}

const f64 = { dtype: 'float64' as const };
const tower = { dims: [3] };
const builders: Record<string, () => MultiTaskModel> = {
  sharedbottom: () => new SharedBottom(features(), 3, { dims: [6, 5] }, [tower, tower, tower], f64),
  esmm: () => new ESMM(features(), { dims: [4] }, { dims: [3] }, f64),
  mmoe: () => new MMOE(features(), 3, 3, { dims: [6, 5] }, [tower, tower, tower], f64),
  ple: () => new PLE(features(), 3, 2, 2, 1, { dims: [6, 5] }, [tower, tower, tower], f64),
  aitm_autoint: () => new AITMAutoInt(features(), 3, { layers: 2, heads: 2, attDim: 3 }, { dims: [6, 5] }, [tower, tower, tower], f64),
};

function fromFixture(name: keyof typeof builders): { model: MultiTaskModel; rec: Recorded } {
  const rec = fx[name as 'mmoe'];
  const model = builders[name]!();
  model.loadStateDict(Object.fromEntries(Object.entries(rec.state_initial).map(([k, v]) => [k, t64(v)])), { strict: true });
  return { model, rec };
}

describe.each(Object.keys(builders))('%s vs PyTorch (torch-rechub structure)', (name) => {
  it('has the PyTorch parameter names, in state_dict order', () => {
    const { model, rec } = fromFixture(name);
    expect(Object.keys(model.stateDict())).toEqual(Object.keys(rec.state_initial));
  });

  it('train-mode predictions, loss, every gradient and the running stats match', () => {
    const { model, rec } = fromFixture(name);
    model.train();
    const p = model.forward(inputs());
    expectClose(p.dataSync(), rec.pred_train.data, 1e-5, 'pred_train');
    const loss = aitmLoss(p, t64(rec.labels), rec.alpha).total;
    expectClose(loss.dataSync(), rec.loss.data, 1e-5, 'loss');
    loss.backward();
    const named = new Map(model.namedParameters());
    expect([...named.keys()].sort()).toEqual(Object.keys(rec.grads).sort());
    // Biases feeding a BatchNorm have a zero gradient analytically (~1e-16 in PyTorch).
    for (const [key, g] of Object.entries(rec.grads)) expectClose(named.get(key)!.grad!.dataSync(), g.data, 1e-9, `grad ${key}`);
    const buffers = new Map(model.namedBuffers());
    for (const [key, b] of Object.entries(rec.buffers_after_train)) expectClose(buffers.get(key)!.dataSync(), b.data, 1e-9, key);
    model.eval();
    expectClose(T.noGrad(() => model.forward(inputs())).dataSync(), rec.pred_eval.data, 1e-5, 'pred_eval');
  });
});

describe('ESMM outputs', () => {
  it('forward is [pCTR, pCTCVR]; run adds pCVR, and pCTCVR = pCTR * pCVR', () => {
    const { model, rec } = fromFixture('esmm');
    const out = (model as ESMM).run(inputs());
    expect(out.probs.shape).toEqual([6, 2]);
    expectClose(out.cvr.dataSync(), rec.cvr_train!.data, 1e-5, 'cvr');
    const [ctr, cvr, ctcvr] = [out.ctr, out.cvr, out.ctcvr].map((t) => t.dataSync());
    for (let i = 0; i < 6; i++) expect(ctcvr![i]).toBeCloseTo(ctr![i]! * cvr![i]!, 14);
  });
});

describe('AITM-AutoInt', () => {
  it('needs one embedding dim over the sparse fields, and says which differ', () => {
    const fs = [new SparseFeature({ name: 'user', vocabSize: 5, embedDim: 4 }), new SparseFeature({ name: 'item', vocabSize: 5, embedDim: 8 }), new DenseFeature({ name: 'd' })];
    expect(() => new AITMAutoInt(fs, 2, { layers: 1, heads: 2, attDim: 2 }, { dims: [4] }, [{}, {}])).toThrow(
      'AITMAutoInt: AutoInt needs one embedding dim for every sparse feature, got user: 4, item: 8',
    );
  });

  it('an interacting layer: shapes, attention rows summing to 1, and the residual switch', () => {
    const gen = new T.Generator(3);
    const layer = new InteractingLayer(4, 2, 3, { dtype: 'float64', generator: gen });
    const x = T.randn([5, 6, 4], { dtype: 'float64', generator: gen });
    const { output, weights } = layer.attend(x);
    expect(output.shape).toEqual([5, 6, 6]);
    expect(weights.shape).toEqual([5, 2, 6, 6]);
    const rows = T.sum(weights, -1).dataSync();
    rows.forEach((r) => expect(r).toBeCloseTo(1, 12));
    expect(output.dataSync().every((v) => v >= 0)).toBe(true);
    expect(Object.keys(layer.stateDict())).toEqual(['W_Query', 'W_Key', 'W_Value', 'W_Res']);
    expect(Object.keys(new InteractingLayer(4, 2, 3, { residual: false }).stateDict())).toEqual(['W_Query', 'W_Key', 'W_Value']);
    expect(() => layer.forward(T.randn([5, 6, 3], f64))).toThrow('InteractingLayer: expected fields [B, F, 4], got [5,6,3]');
  });
});

describe('gradcheck (float64): small instances, every parameter, BatchNorm in train mode', () => {
  const gen = new T.Generator(9);
  const g = { dtype: 'float64' as const, generator: gen };
  const small: Record<string, () => MultiTaskModel> = {
    sharedbottom: () => new SharedBottom(features(), 2, { dims: [4] }, [{ dims: [2] }, { dims: [2] }], g),
    esmm: () => new ESMM(features(), { dims: [2] }, { dims: [2] }, g),
    mmoe: () => new MMOE(features(), 2, 2, { dims: [3] }, [{ dims: [2] }, { dims: [2] }], g),
    ple: () => new PLE(features(), 2, 2, 1, 1, { dims: [3] }, [{ dims: [2] }, { dims: [2] }], g),
    aitm_autoint: () => new AITMAutoInt(features(), 2, { layers: 2, heads: 2, attDim: 2 }, { dims: [3] }, [{ dims: [2] }, { dims: [2] }], g),
  };
  it.each(Object.keys(small))('%s', (name) => {
    const m = small[name]!();
    // Larger embeddings than the 1e-4 default so every path carries signal.
    for (const [key, p] of m.namedParameters()) if (key.startsWith('embedding')) p.assign(T.randn([...p.shape], { ...g, std: 0.5 }));
    m.train();
    const params = m.parameters().map((p) => p.requireGrad());
    const x = inputs();
    const y = T.tensor([[1, 1], [1, 0], [0, 0], [1, 1], [0, 0], [1, 0]], f64);
    const alpha = name === 'aitm_autoint' ? 0.6 : 0;
    expect(T.gradcheck(() => aitmLoss(m.forward(x), y, alpha).total, params, { atol: 1e-6 }).ok).toBe(true);
  });
});
