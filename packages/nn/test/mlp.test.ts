// torch-rechub's MLP with BatchNorm against PyTorch (fixtures/nn.json, "mlp_bn"): parameter
// names, a train-mode forward and backward, running statistics, and eval mode.

import { describe, expect, it } from 'vitest';
import { gradcheck, mul, randn, sum, tidy, Generator, type Tensor } from '@aitm/tensor';
import { MLP } from '../src/node.js';
import { expectClose, fx, fxState, nnFixture } from './helpers.js';

const F = nnFixture().mlp_bn;

function fixtureModel(): MLP {
  const m = new MLP(6, { dims: [5, 4], dropout: 0, dtype: 'float64' });
  const sd = fxState(F.state_initial);
  m.loadStateDict(sd);
  for (const t of Object.values(sd)) t.dispose();
  return m;
}

describe('MLP (torch-rechub layout)', () => {
  it('names its state like torch-rechub: Linear, BatchNorm1d, activation, Dropout per hidden dim', () => {
    const m = new MLP(6, { dims: [5, 4] });
    expect(m.stateEntries().map(([k]) => k)).toEqual(Object.keys(F.state_initial));
    expect(m.namedParameters().map(([k]) => k)).toEqual(Object.keys(F.grads));
    expect(m.namedBuffers().map(([k]) => k)).toEqual([
      'mlp.1.running_mean',
      'mlp.1.running_var',
      'mlp.1.num_batches_tracked',
      'mlp.5.running_mean',
      'mlp.5.running_var',
      'mlp.5.num_batches_tracked',
    ]);
    m.dispose();
  });

  it('without batchNorm uses Linear 3k, activation 3k+1, Dropout 3k+2, output Linear at 3n', () => {
    const m = new MLP(6, { dims: [5, 4], batchNorm: false });
    expect(m.stateEntries().map(([k]) => k)).toEqual(['mlp.0.weight', 'mlp.0.bias', 'mlp.3.weight', 'mlp.3.bias', 'mlp.6.weight', 'mlp.6.bias']);
    m.dispose();
    const noOut = new MLP(6, { dims: [5], outputLayer: false, activation: 'prelu' });
    expect(noOut.stateEntries().map(([k]) => k)).toEqual([
      'mlp.0.weight',
      'mlp.0.bias',
      'mlp.1.weight',
      'mlp.1.bias',
      'mlp.1.running_mean',
      'mlp.1.running_var',
      'mlp.1.num_batches_tracked',
      'mlp.2.weight',
    ]);
    noOut.dispose();
  });

  it('train-mode forward and backward match PyTorch', () => {
    const m = fixtureModel();
    const x = fx(F.input, 'float64', true);
    tidy(() => {
      const out = m.forward(x);
      expectClose(out, F.output_train, 1e-10, 1e-12, 'output_train');
      const loss = sum(mul(out, fx(F.grad_weight)));
      expectClose(loss, F.loss, 1e-10, 1e-12, 'loss');
      loss.backward();
    });
    for (const [name, p] of m.namedParameters()) expectClose(p.grad!, F.grads[name], 1e-9, 1e-11, `grad ${name}`);
    expectClose(x.grad!, F.grad_input, 1e-9, 1e-11, 'grad_input');
    for (const [name, b] of m.namedBuffers()) expectClose(b, F.buffers_after_first_forward[name], 1e-12, 1e-14, name);
    m.dispose();
  });

  it('running statistics after three train-mode passes, then eval mode, match PyTorch', () => {
    const m = fixtureModel();
    F.steps.inputs.forEach((enc: never, i: number) => {
      tidy(() => expectClose(m.forward(fx(enc)), F.steps.outputs_train[i], 1e-10, 1e-12, `step ${i}`));
    });
    for (const [name, b] of m.namedBuffers()) expectClose(b, F.steps.buffers_after[name], 1e-12, 1e-14, name);
    expect(m.namedBuffers().find(([k]) => k === 'mlp.1.num_batches_tracked')![1].dtype).toBe('int32');
    m.eval();
    tidy(() => expectClose(m.forward(fx(F.eval_input)), F.output_eval, 1e-10, 1e-12, 'output_eval'));
    // Eval mode leaves the running statistics alone.
    for (const [name, b] of m.namedBuffers()) expectClose(b, F.steps.buffers_after[name], 1e-12, 1e-14, name);
    m.dispose();
  });

  it('gradients through every layer agree with finite differences (train mode, float64)', () => {
    const g = new Generator(3);
    const m = new MLP(4, { dims: [3, 3], dtype: 'float64', generator: g });
    const x = randn([5, 4], { dtype: 'float64', generator: g, requiresGrad: true });
    const params = m.parameters();
    gradcheck((xi: Tensor, ...ps: Tensor[]) => {
      void ps;
      return m.forward(xi);
    }, [x, ...params]);
    m.dispose();
  });

  it('dropout in train mode is applied after the activation and is the identity in eval', () => {
    const g = new Generator(1);
    const m = new MLP(4, { dims: [8], dropout: 0.5, outputLayer: false, batchNorm: false, dtype: 'float64', generator: g });
    const x = randn([6, 4], { dtype: 'float64', generator: g });
    tidy(() => {
      const t = m.forward(x).dataSync();
      const zeros = t.filter((v) => v === 0).length;
      expect(zeros).toBeGreaterThan(0);
      m.eval();
      const e = m.forward(x).dataSync();
      // Eval output = relu(linear(x)); the train output is that, masked and doubled.
      t.forEach((v, i) => expect(v === 0 || Math.abs(v - 2 * e[i]!) < 1e-12).toBe(true));
    });
    x.dispose();
    m.dispose();
  });
});
