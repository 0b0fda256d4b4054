// A training loop written as in PyTorch (no tidy, no dispose) leaks every intermediate, since
// nothing is garbage collected: the optimizer says so after 20 steps of steady growth, once,
// naming the fix; a loop in tidy stays silent; trackLeaks counts what a step leaves alive.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { gt, rand, randn, setBackend, sigmoid, tidy, trackLeaks } from '@aitm/tensor';
import { Adam, bce, MLP, Optimizer, SGD } from '../src/index.js';

setBackend('cpu');

describe('leak warning', () => {
  afterEach(() => vi.restoreAllMocks());

  it('warns once, naming tidy, when live tensors grow at each of 20 consecutive steps', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const mlp = new MLP(4, { dims: [8] });
    const opt = new Adam(mlp.parameters(), { lr: 1e-3 });
    const x = randn([16, 4]);
    const y = gt(rand([16, 1]), 0.5);
    for (let step = 0; step < 60; step++) {
      // The PyTorch habit: nothing disposed.
      opt.zeroGrad();
      const loss = bce(sigmoid(mlp.forward(x)), y);
      loss.backward();
      opt.step();
    }
    expect(warn).toHaveBeenCalledTimes(1);
    const msg = String(warn.mock.calls[0]![0]);
    expect(msg).toMatch(/^Adam\.step\(\): the number of live tensors grew at each of the last 20 steps \(\d+ now\)/);
    expect(msg).toContain('tidy(() => { ... })');
    expect(msg).toContain('Optimizer.leakWarningSteps = 0');
    mlp.dispose();
    opt.dispose();
  });

  it('stays silent for a loop in tidy, and trackLeaks finds 0 left per step', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const mlp = new MLP(4, { dims: [8] });
    const opt = new SGD(mlp.parameters(), { lr: 1e-2 });
    const x = randn([16, 4]);
    const y = gt(rand([16, 1]), 0.5);
    const step = () =>
      tidy(() => {
        opt.zeroGrad();
        bce(sigmoid(mlp.forward(x)), y).backward();
        opt.step();
      });
    for (let i = 0; i < 40; i++) step();
    expect(warn).not.toHaveBeenCalled();
    expect((await trackLeaks(step)).leaked).toBe(0);
    // Without tidy, the same step leaves its forward pass alive.
    const leaky = await trackLeaks(() => {
      bce(sigmoid(mlp.forward(x)), y).backward();
      opt.step();
    });
    expect(leaky.leaked).toBeGreaterThan(0);
    mlp.dispose();
    opt.dispose();
  });

  it('is off with Optimizer.leakWarningSteps = 0', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const saved = Optimizer.leakWarningSteps;
    Optimizer.leakWarningSteps = 0;
    try {
      const mlp = new MLP(2, { dims: [2] });
      const opt = new SGD(mlp.parameters(), { lr: 1e-2 });
      for (let i = 0; i < 30; i++) {
        mlp.forward(randn([4, 2])).sum().backward();
        opt.step();
      }
      expect(warn).not.toHaveBeenCalled();
    } finally {
      Optimizer.leakWarningSteps = saved;
    }
  });
});
