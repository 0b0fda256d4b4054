// Optimizers against PyTorch 1.13 (fixtures/nn.json "adam", "adamw", "sgd": ten steps on a
// small net), gradient clipping against its formula, and memory: a training loop leaks nothing.

import { describe, expect, it } from 'vitest';
import { memory, randn, randint, tensor, tidy, Generator, cast, sigmoid, type Tensor } from '@aitm/tensor';
import { Adam, AdamW, Linear, MLP, SGD, Sequential, Tanh, bce, clipGradNorm, mse, type Optimizer } from '../src/node.js';
import { expectClose, fx, fxState, nnFixture } from './helpers.js';

const N = nnFixture();
const C = N.optim_common;

function run(name: 'adam' | 'adamw' | 'sgd', make: (ps: Tensor[]) => Optimizer): void {
  const F = N[name];
  const net = new Sequential(new Linear(4, 3, { dtype: 'float64' }), new Tanh(), new Linear(3, 1, { dtype: 'float64' }));
  const init = fxState(C.init);
  net.loadStateDict(init);
  Object.values(init).forEach((t) => t.dispose());
  const X = fx(C.X);
  const y = fx(C.y);
  const opt = make(net.parameters());
  for (let k = 0; k < 10; k++) {
    opt.zeroGrad();
    tidy(() => {
      const loss = mse(net.forward(X), y);
      expect(loss.dataSync()[0]).toBeCloseTo(F.losses[k], 12);
      loss.backward();
    });
    for (const [n, p] of net.namedParameters()) expectClose(p.grad!, F.grads[k][n], 1e-12, 1e-15, `${name} step ${k + 1} grad ${n}`);
    opt.step();
    for (const [n, p] of net.namedParameters()) expectClose(p, F.params[k][n], 1e-12, 1e-15, `${name} step ${k + 1} ${n}`);
  }
  opt.zeroGrad();
  opt.dispose();
  net.dispose();
  X.dispose();
  y.dispose();
}

describe('optimizers match torch.optim over ten steps', () => {
  it('Adam (L2 weight decay)', () => {
    expect(N.adam.config).toMatchObject({ lr: 0.01, eps: 1e-8, weight_decay: 0.01 });
    run('adam', (ps) => new Adam(ps, { lr: 0.01, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01 }));
  });

  it('AdamW (decoupled weight decay)', () => {
    run('adamw', (ps) => new AdamW(ps, { lr: 0.01, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0.01 }));
  });

  it('SGD with Nesterov momentum and weight decay', () => {
    expect(N.sgd.config).toMatchObject({ lr: 0.1, momentum: 0.9, nesterov: true, weight_decay: 0.001 });
    run('sgd', (ps) => new SGD(ps, { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.001 }));
  });

  it('defaults are PyTorch\'s', () => {
    const p = tensor([1], { requiresGrad: true });
    const adam = new Adam([p]);
    expect([adam.lr, adam.betas, adam.eps, adam.weightDecay]).toEqual([1e-3, [0.9, 0.999], 1e-8, 0]);
    const adamw = new AdamW([p]);
    expect(adamw.weightDecay).toBe(0.01);
    const sgd = new SGD([p], { lr: 0.1 });
    expect([sgd.momentum, sgd.dampening, sgd.nesterov, sgd.weightDecay]).toEqual([0, 0, false, 0]);
    expect(() => new SGD([p], { lr: 0.1, nesterov: true })).toThrow(/Nesterov/);
    p.dispose();
  });

  it('plain SGD is p - lr * g, and parameters without a gradient are left alone', () => {
    const a = tensor([1, 2], { dtype: 'float64', requiresGrad: true });
    const b = tensor([5], { dtype: 'float64', requiresGrad: true });
    const opt = new SGD([a, b], { lr: 0.5 });
    a.grad = tensor([0.2, -0.4], { dtype: 'float64' });
    opt.step();
    expect([...a.dataSync()]).toEqual([0.9, 2.2]);
    expect([...b.dataSync()]).toEqual([5]);
    opt.zeroGrad();
    expect(a.grad).toBeNull();
    a.dispose();
    b.dispose();
  });
});

describe('clipGradNorm', () => {
  it('scales all gradients by maxNorm / (norm + 1e-6) when the global norm exceeds maxNorm', () => {
    const a = tensor([1], { dtype: 'float64', requiresGrad: true });
    const b = tensor([1, 1], { dtype: 'float64', requiresGrad: true });
    a.grad = tensor([3], { dtype: 'float64' });
    b.grad = tensor([0, 4], { dtype: 'float64' });
    const total = clipGradNorm([a, b], 1);
    expect(total.dataSync()[0]).toBe(5);
    const coef = 1 / (5 + 1e-6);
    expect(a.grad.dataSync()[0]).toBeCloseTo(3 * coef, 15);
    expect([...b.grad.dataSync()][1]).toBeCloseTo(4 * coef, 15);
    // Below the limit nothing changes.
    const again = clipGradNorm([a, b], 10);
    expect(a.grad.dataSync()[0]).toBeCloseTo(3 * coef, 15);
    expect(clipGradNorm([a, b], 1, Infinity).dataSync()[0]).toBeCloseTo(4 * coef, 15);
    for (const t of [total, again, a, b]) t.dispose();
  });
});

describe('memory', () => {
  it('50 training steps (forward, backward, Adam) leave the live tensor count unchanged after the first', () => {
    const g = new Generator(11);
    const model = new MLP(6, { dims: [8, 4], dropout: 0.1, generator: g });
    const x = randn([16, 6], { generator: g });
    const y = cast(randint(0, 2, [16, 1], { generator: g }), 'float32');
    const opt = new Adam(model.parameters(), { lr: 1e-2 });
    const step = (): void => {
      opt.zeroGrad();
      tidy(() => {
        const loss = bce(sigmoid(model.forward(x)), y);
        loss.backward();
        clipGradNorm(model.parameters(), 5);
        opt.step();
      });
    };
    step();
    const after1 = memory();
    for (let i = 0; i < 49; i++) step();
    expect(memory().tensors).toBe(after1.tensors);
    expect(memory().bytes).toBe(after1.bytes);
    const before = memory().tensors;
    const nState = 2 * model.parameters().length;
    opt.zeroGrad();
    opt.dispose();
    // Freed: the gradients, the moment views and the multi-tensor step's four flat blocks.
    expect(memory().tensors).toBe(before - model.parameters().length - nState - 4);
    model.dispose();
    x.dispose();
    y.dispose();
  });

  it('the same loop without tidy leaks nothing when the step disposes what it holds (its output and loss)', () => {
    const g = new Generator(12);
    const model = new MLP(6, { dims: [8, 4], dropout: 0.1, batchNorm: true, generator: g });
    const x = randn([16, 6], { generator: g });
    const y = cast(randint(0, 2, [16, 1], { generator: g }), 'float32');
    const opt = new Adam(model.parameters(), { lr: 1e-2 });
    const step = (): void => {
      opt.zeroGrad();
      // MLP.forward and bce free their own intermediates; backward frees its gradients and
      // the graph's saved values; what the step holds is its output and its loss.
      const p = model.forward(x, { sigmoid: true });
      const loss = bce(p, y);
      loss.backward();
      opt.step();
      p.dispose();
      loss.dispose();
    };
    step();
    const after1 = memory();
    for (let i = 0; i < 20; i++) step();
    expect(memory().tensors).toBe(after1.tensors);
    expect(memory().bytes).toBe(after1.bytes);
    opt.dispose();
    model.dispose();
    x.dispose();
    y.dispose();
  });
});
