// AITM against a PyTorch model with torch-rechub's structure (fixtures/gen_aitm.py):
// predictions, loss and every parameter's gradient for fixed weights and inputs, in train
// and eval mode; plus float64 gradchecks of the attention layer, the loss and a whole model.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as T from '@aitm/tensor';
import { DenseFeature, SparseFeature, type Feature } from '@aitm/nn';
import { AITM, AttentionLayer, aitmLoss, labelConstraint } from '../src/node.js';

interface FT { shape: number[]; dtype: string; data: number[] }
const fx = JSON.parse(readFileSync(fileURLToPath(new URL('./fixtures/aitm.json', import.meta.url)), 'utf8')) as {
  config: { sparse_features: { name: string; vocab_size: number; embed_dim: number }[]; dense_features: { name: string }[]; bottom_params: { dims: number[] }; tower_params: { dims: number[] } };
  inputs: Record<string, FT>;
  labels: FT;
  n3: { state_initial: Record<string, FT>; pred_train: FT; loss: FT; loss_bce_per_task: FT; loss_constraint: FT; grads: Record<string, FT>; buffers_after_train: Record<string, FT>; pred_eval: FT };
  n2: { state_initial: Record<string, FT>; pred_train: FT; pred_eval_initial: FT };
};

const t64 = (f: FT) => T.tensor(f.data, { shape: f.shape, dtype: f.dtype.startsWith('int') ? 'int32' : 'float64' });

function features(): Feature[] {
  return [
    ...fx.config.sparse_features.map((f) => new SparseFeature({ name: f.name, vocabSize: f.vocab_size, embedDim: f.embed_dim })),
    ...fx.config.dense_features.map((f) => new DenseFeature({ name: f.name })),
  ];
}

function modelFromFixture(nTask: number, state: Record<string, FT>): AITM {
  const m = new AITM(features(), nTask, { dims: fx.config.bottom_params.dims, dropout: 0 }, Array.from({ length: nTask }, () => ({ dims: fx.config.tower_params.dims })), { dtype: 'float64' });
  const sd: Record<string, T.Tensor> = {};
  for (const [k, v] of Object.entries(state)) sd[k] = t64(v);
  m.loadStateDict(sd, { strict: true });
  return m;
}

const inputs = (): Record<string, T.Tensor> => Object.fromEntries(Object.entries(fx.inputs).map(([k, v]) => [k, t64(v)]));

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, what: string): void {
  expect(actual.length, what).toBe(expected.length);
  for (let i = 0; i < actual.length; i++) {
    if (!(Math.abs(actual[i]! - expected[i]!) <= atol + 1e-5 * Math.abs(expected[i]!))) {
      throw new Error(`${what}[${i}]: got ${actual[i]}, PyTorch ${expected[i]}`);
    }
  }
}

describe('AITM vs PyTorch (torch-rechub structure)', () => {
  it('has torch-rechub parameter names, in state_dict order', () => {
    const m = modelFromFixture(3, fx.n3.state_initial);
    expect(Object.keys(m.stateDict())).toEqual(Object.keys(fx.n3.state_initial));
  });

  it('3 tasks: train-mode predictions, loss terms and every gradient match to 1e-5', () => {
    const m = modelFromFixture(3, fx.n3.state_initial);
    m.train();
    for (const p of m.parameters()) p.requireGrad();
    const p = m.forward(inputs());
    expectClose(p.dataSync(), fx.n3.pred_train.data, 1e-5, 'pred_train');
    const loss = aitmLoss(p, t64(fx.labels), 0.6);
    expectClose(loss.total.dataSync(), fx.n3.loss.data, 1e-5, 'loss');
    expectClose(loss.perTask.dataSync(), fx.n3.loss_bce_per_task.data, 1e-5, 'bce per task');
    // The fixture records the unweighted mean; ours is the term added to the loss (alpha times it).
    expectClose(loss.constraint.dataSync(), fx.n3.loss_constraint.data.map((v) => 0.6 * v), 1e-5, 'constraint');
    loss.total.backward();
    const named = new Map(m.namedParameters());
    expect([...named.keys()].sort()).toEqual(Object.keys(fx.n3.grads).sort());
    for (const [name, g] of Object.entries(fx.n3.grads)) {
      // Biases feeding BatchNorm have a zero gradient analytically (~1e-16 in PyTorch).
      expectClose(named.get(name)!.grad!.dataSync(), g.data, 1e-9, `grad ${name}`);
    }
    const buffers = new Map(m.namedBuffers());
    for (const [name, b] of Object.entries(fx.n3.buffers_after_train)) {
      expectClose(buffers.get(name)!.dataSync(), b.data, 1e-9, name);
    }
  });

  it('3 tasks: eval mode uses the running statistics', () => {
    const m = modelFromFixture(3, fx.n3.state_initial);
    m.train();
    T.noGrad(() => m.forward(inputs())); // one train forward updates the running stats
    m.eval();
    expectClose(T.noGrad(() => m.forward(inputs())).dataSync(), fx.n3.pred_eval.data, 1e-5, 'pred_eval');
  });

  it('2 tasks: train and eval predictions', () => {
    const m = modelFromFixture(2, fx.n2.state_initial);
    m.eval();
    expectClose(m.forward(inputs()).dataSync(), fx.n2.pred_eval_initial.data, 1e-5, 'pred_eval_initial');
    m.train();
    expectClose(m.forward(inputs()).dataSync(), fx.n2.pred_train.data, 1e-5, 'pred_train');
  });

  it('rejects fewer than 2 tasks or a wrong number of towers', () => {
    expect(() => new AITM(features(), 1, { dims: [4] }, [{}])).toThrow('AITM: nTask must be an integer >= 2, got 1');
    expect(() => new AITM(features(), 2, { dims: [4] }, [{}])).toThrow('AITM: towerParamsList has 1 entries for 2 tasks');
  });
});

describe('gradcheck (float64)', () => {
  const gen = new T.Generator(5);

  it('AttentionLayer: input and Q, K, V weights', () => {
    const att = new AttentionLayer(3, { dtype: 'float64', generator: gen });
    const x = T.randn([4, 2, 3], { dtype: 'float64', generator: gen, requiresGrad: true });
    const [q, k, v] = [att.qLayer.weight, att.kLayer.weight, att.vLayer.weight].map((w) => w.requireGrad());
    expect(T.gradcheck((x) => att.forward(x), [x, q!, k!, v!]).ok).toBe(true);
    const { weights } = att.attend(x);
    const w = weights.dataSync();
    for (let b = 0; b < 4; b++) expect(w[2 * b]! + w[2 * b + 1]!).toBeCloseTo(1, 12);
  });

  it('the label constraint and the full loss', () => {
    const p = T.tensor([[0.3, 0.5, 0.1], [0.8, 0.2, 0.6], [0.4, 0.45, 0.7]], { dtype: 'float64', requiresGrad: true });
    const y = T.tensor([[1, 0, 0], [1, 1, 0], [0, 0, 0]], { dtype: 'float64' });
    expect(T.gradcheck((p) => labelConstraint(p, 0.6), [p]).ok).toBe(true);
    expect(T.gradcheck((p) => aitmLoss(p, y, 0.6).total, [p]).ok).toBe(true);
    // By hand: row means of relu(p_t - p_{t-1}): (0.2 + 0) , (0 + 0.4), (0.05 + 0.25) -> mean 0.3, * 0.6
    expect(labelConstraint(p.detach(), 0.6).dataSync()[0]).toBeCloseTo(0.18, 12);
  });

  it('a whole small AITM: every parameter, 3 tasks, BatchNorm on', () => {
    const m = new AITM(features(), 3, { dims: [5, 3] }, [{ dims: [2] }, { dims: [2] }, { dims: [2] }], { dtype: 'float64', generator: gen });
    // Larger embeddings than the 1e-4 default so every path carries signal.
    for (const [name, p] of m.namedParameters()) if (name.startsWith('embedding')) p.assign(T.randn([...p.shape], { dtype: 'float64', generator: gen, std: 0.5 }));
    m.train();
    const params = m.parameters().map((p) => p.requireGrad());
    const x = inputs();
    const y = t64(fx.labels);
    expect(T.gradcheck(() => aitmLoss(m.forward(x), y, 0.6).total, params, { atol: 1e-6 }).ok).toBe(true);
  });
});
