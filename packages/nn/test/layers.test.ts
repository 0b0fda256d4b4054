// Linear, BatchNorm1d, Dropout and the activations: values against plain float64 loops written
// from PyTorch's / torch-rechub's definitions, and gradients against finite differences.

import { describe, expect, it } from 'vitest';
import { gradcheck, memory, rand, randn, tensor, tidy, Generator, type Tensor } from '@aitm/tensor';
import {
  BatchNorm1d,
  Dice,
  DiceBN,
  Dropout,
  Identity,
  LeakyReLU,
  Linear,
  PReLU,
  ReLU,
  Sigmoid,
  Softmax,
  Tanh,
  activationLayer,
  dropout,
} from '../src/node.js';
import { expectClose } from './helpers.js';

const f64 = (shape: number[], seed: number, requiresGrad = true, std = 1): Tensor =>
  randn(shape, { dtype: 'float64', std, generator: new Generator(seed), requiresGrad });

describe('Linear', () => {
  it('stores weight [out, in] and draws weight and bias from U(-1/sqrt(in), 1/sqrt(in))', () => {
    const lin = new Linear(16, 400, { generator: new Generator(1) });
    expect(lin.weight.shape).toEqual([400, 16]);
    expect(lin.bias!.shape).toEqual([400]);
    const bound = 1 / Math.sqrt(16);
    for (const t of [lin.weight, lin.bias!]) {
      const v = [...t.dataSync()];
      expect(Math.max(...v)).toBeLessThanOrEqual(bound);
      expect(Math.min(...v)).toBeGreaterThanOrEqual(-bound);
      // Uniform on [-b, b] has variance b^2 / 3.
      const mean = v.reduce((a, x) => a + x, 0) / v.length;
      const variance = v.reduce((a, x) => a + (x - mean) ** 2, 0) / v.length;
      expect(variance).toBeCloseTo(bound ** 2 / 3, 2);
    }
    expect(new Linear(3, 2, { bias: false }).stateEntries().map(([k]) => k)).toEqual(['weight']);
    lin.dispose();
  });

  it('computes x W^T + b for inputs [..., in]', () => {
    const lin = new Linear(3, 2, { dtype: 'float64' });
    lin.loadStateDict({ weight: tensor([[1, 2, 3], [-1, 0, 1]], { dtype: 'float64' }), bias: tensor([0.5, -0.5], { dtype: 'float64' }) });
    tidy(() => {
      const x = tensor([[[1, 1, 1]], [[2, 0, -1]]], { dtype: 'float64' }); // [2, 1, 3]
      const y = lin.forward(x);
      expect(y.shape).toEqual([2, 1, 2]);
      expect([...y.dataSync()]).toEqual([6.5, -0.5, -0.5, -3.5]);
      expect([...lin.forward(tensor([1, 0, 0], { dtype: 'float64' })).dataSync()]).toEqual([1.5, -1.5]);
    });
    expect(() => lin.forward(tensor([[1, 2]], { dtype: 'float64' }))).toThrow(/Linear: expected input \[\.\.\., 3\], got \[1,2\]/);
    lin.dispose();
  });

  it('gradients agree with finite differences (input, weight, bias; 2-D and 3-D inputs)', () => {
    const lin = new Linear(4, 3, { dtype: 'float64', generator: new Generator(2) });
    gradcheck((x) => lin.forward(x), [f64([5, 4], 3), lin.weight, lin.bias!]);
    gradcheck((x) => lin.forward(x), [f64([2, 3, 4], 4), lin.weight, lin.bias!]);
    lin.dispose();
  });
});

/** BatchNorm1d train-mode output and unbiased variance by plain loops: x [B, C] or [B, C, L]. */
function bnReference(x: Float64Array, shape: number[], eps: number): { out: number[]; mean: number[]; unbiased: number[] } {
  const [B, C, L = 1] = shape as [number, number, number?];
  const out = new Array<number>(x.length);
  const mean: number[] = [];
  const unbiased: number[] = [];
  for (let c = 0; c < C; c++) {
    const vals: number[] = [];
    for (let b = 0; b < B; b++) for (let l = 0; l < L; l++) vals.push(x[(b * C + c) * L + l]!);
    const m = vals.reduce((a, v) => a + v, 0) / vals.length;
    const ss = vals.reduce((a, v) => a + (v - m) ** 2, 0);
    mean.push(m);
    unbiased.push(ss / (vals.length - 1));
    for (let b = 0; b < B; b++) for (let l = 0; l < L; l++) {
      const i = (b * C + c) * L + l;
      out[i] = (x[i]! - m) / Math.sqrt(ss / vals.length + eps);
    }
  }
  return { out, mean, unbiased };
}

describe('BatchNorm1d', () => {
  it('starts as weight 1, bias 0, running_mean 0, running_var 1, num_batches_tracked 0', () => {
    const bn = new BatchNorm1d(3);
    expect(bn.stateEntries().map(([k, t]) => [k, [...t.dataSync()]])).toEqual([
      ['weight', [1, 1, 1]],
      ['bias', [0, 0, 0]],
      ['running_mean', [0, 0, 0]],
      ['running_var', [1, 1, 1]],
      ['num_batches_tracked', [0]],
    ]);
    expect([bn.eps, bn.momentum]).toEqual([1e-5, 0.1]);
    bn.dispose();
  });

  for (const shape of [
    [6, 3],
    [4, 3, 5],
  ]) {
    it(`train mode on ${JSON.stringify(shape)}: batch statistics, running stats with the unbiased variance`, () => {
      const bn = new BatchNorm1d(3, { dtype: 'float64', momentum: 0.3 });
      const x = f64(shape, 5, false, 2);
      const ref = bnReference(x.dataSync() as Float64Array, shape, 1e-5);
      tidy(() => expectClose(bn.forward(x), ref.out, 1e-12, 1e-12, 'output'));
      expectClose(bn.runningMean!, ref.mean.map((m) => 0.3 * m), 1e-12, 1e-14, 'running_mean');
      expectClose(bn.runningVar!, ref.unbiased.map((v) => 0.7 + 0.3 * v), 1e-12, 1e-14, 'running_var');
      expect(bn.numBatchesTracked!.dataSync()[0]).toBe(1);
      // eval: normalised by the running statistics, which stay as they are
      bn.eval();
      const rm = [...bn.runningMean!.dataSync()];
      const rv = [...bn.runningVar!.dataSync()];
      const xd = x.dataSync();
      const L = shape[2] ?? 1;
      const expected = [...xd].map((v, i) => {
        const c = Math.floor(i / L) % 3;
        return (v - rm[c]!) / Math.sqrt(rv[c]! + 1e-5);
      });
      tidy(() => expectClose(bn.forward(x), expected, 1e-12, 1e-12, 'eval output'));
      expect(bn.numBatchesTracked!.dataSync()[0]).toBe(1);
      x.dispose();
      bn.dispose();
    });

    it(`train-mode gradients flow through the batch statistics (${JSON.stringify(shape)})`, () => {
      const bn = new BatchNorm1d(3, { dtype: 'float64' });
      bn.weight!.assign(tensor([0.5, 1.5, -1], { dtype: 'float64' }));
      bn.bias!.assign(tensor([0.1, 0, 0.3], { dtype: 'float64' }));
      const x = f64(shape, 6);
      gradcheck((xi) => bn.forward(xi), [x, bn.weight!, bn.bias!]);
      bn.eval();
      gradcheck((xi) => bn.forward(xi), [x, bn.weight!, bn.bias!]);
      bn.dispose();
    });
  }

  it('refuses one value per channel in training, and wrong channel counts', () => {
    const bn = new BatchNorm1d(3);
    expect(() => bn.forward(tensor([[1, 2, 3]]))).toThrow(/expected more than 1 value per channel when training, got input \[1,3\]/);
    expect(() => bn.forward(tensor([[1, 2]]))).toThrow(/BatchNorm1d: expected input \[B, 3\] or \[B, 3, L\], got \[1,2\]/);
    bn.dispose();
  });

  it('without affine has no parameters; without running stats it always uses the batch', () => {
    expect(new BatchNorm1d(2, { affine: false }).namedParameters()).toEqual([]);
    const bn = new BatchNorm1d(2, { trackRunningStats: false });
    expect(bn.stateEntries().map(([k]) => k)).toEqual(['weight', 'bias']);
    bn.dispose();
  });
});

describe('Dropout', () => {
  it('keeps each element with probability 1 - p and scales kept ones by 1 / (1 - p)', () => {
    const x = tensor(new Float32Array(20000).fill(1), { shape: [200, 100] });
    tidy(() => {
      const y = dropout(x, 0.25, new Generator(9)).dataSync();
      const kept = y.filter((v) => v !== 0);
      expect(kept.every((v) => Math.abs(v - 1 / 0.75) < 1e-6)).toBe(true);
      expect(kept.length / y.length).toBeCloseTo(0.75, 1.7);
      // Same seed, same mask.
      expect([...dropout(x, 0.25, new Generator(9)).dataSync()]).toEqual([...y]);
      expect([...dropout(x, 1, new Generator(9)).dataSync()].every((v) => v === 0)).toBe(true);
    });
    x.dispose();
  });

  it('is the identity in eval mode and for p = 0, and rejects p outside [0, 1]', () => {
    const x = tensor([1, 2, 3]);
    const d = new Dropout(0.5);
    expect(d.eval().forward(x)).toBe(x);
    expect(new Dropout(0).forward(x)).toBe(x);
    expect(() => new Dropout(1.5)).toThrow(/probability must be in \[0, 1\], got 1.5/);
    x.dispose();
  });
});

/** torch-rechub's Dice by loops: per row mean, spread = sum((x - avg)^2 + eps). */
function diceReference(x: Float64Array, rows: number, cols: number, alpha: number, eps: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    const row = [...x.subarray(r * cols, (r + 1) * cols)];
    const avg = row.reduce((a, v) => a + v, 0) / cols;
    const spread = row.reduce((a, v) => a + (v - avg) ** 2 + eps, 0);
    for (const v of row) {
      const p = 1 / (1 + Math.exp(-(v - avg) / Math.sqrt(spread)));
      out.push(p * v + (1 - p) * alpha * v);
    }
  }
  return out;
}

describe('activations', () => {
  it('ReLU, Sigmoid, Tanh, LeakyReLU, Softmax, Identity: values and gradients', () => {
    const x = tensor([[-2, -0.5, 0.3, 4]], { dtype: 'float64' });
    tidy(() => {
      expect([...new ReLU().forward(x).dataSync()]).toEqual([0, 0, 0.3, 4]);
      expectClose(new Sigmoid().forward(x), [-2, -0.5, 0.3, 4].map((v) => 1 / (1 + Math.exp(-v))), 1e-15);
      expectClose(new Tanh().forward(x), [-2, -0.5, 0.3, 4].map(Math.tanh), 1e-15);
      expectClose(new LeakyReLU().forward(x), [-0.02, -0.005, 0.3, 4], 1e-15);
      expectClose(new LeakyReLU(0.2).forward(x), [-0.4, -0.1, 0.3, 4], 1e-15);
      const e = [-2, -0.5, 0.3, 4].map(Math.exp);
      const s = e.reduce((a, b) => a + b);
      expectClose(new Softmax(1).forward(x), e.map((v) => v / s), 1e-15);
      expect(new Identity().forward(x)).toBe(x);
    });
    const xg = f64([3, 4], 12);
    for (const m of [new ReLU(), new Sigmoid(), new Tanh(), new LeakyReLU(0.1), new Softmax(1), new Softmax(0)]) {
      gradcheck((xi) => m.forward(xi), [xg]);
    }
  });

  it('PReLU: slope 0.25 by default, per-channel slopes on dim 1, gradients for x and the slope', () => {
    const p = new PReLU({ dtype: 'float64' });
    expect(p.stateEntries().map(([k, t]) => [k, [...t.dataSync()]])).toEqual([['weight', [0.25]]]);
    tidy(() => {
      expect([...p.forward(tensor([-2, 3, 0], { dtype: 'float64' })).dataSync()]).toEqual([-0.5, 3, 0]);
    });
    gradcheck((x) => p.forward(x), [f64([4, 3], 13), p.weight]);
    const pc = new PReLU({ numParameters: 3, dtype: 'float64' });
    pc.weight.assign(tensor([0.1, 0.2, 0.3], { dtype: 'float64' }));
    tidy(() => {
      // [B=1, C=3, L=2]: channel c scales its negatives by slope c.
      const y = pc.forward(tensor([[[-1, 2], [-1, -2], [3, -10]]], { dtype: 'float64' }));
      expectClose(y, [-0.1, 2, -0.2, -0.4, 3, -3], 1e-15);
      expectClose(pc.forward(tensor([[-1, -1, -1]], { dtype: 'float64' })), [-0.1, -0.2, -0.3], 1e-15);
    });
    expect(() => pc.forward(tensor([[1, 2]], { dtype: 'float64' }))).toThrow(/3 slopes do not match the 2 channels/);
    gradcheck((x) => pc.forward(x), [f64([2, 3, 2], 14), pc.weight]);
    p.dispose();
    pc.dispose();
  });

  it('Dice is torch-rechub\'s: alpha [1] from N(0, 1), each row normalised over its features', () => {
    const d = new Dice({ dtype: 'float64', generator: new Generator(4) });
    expect(d.stateEntries().map(([k, t]) => [k, t.shape])).toEqual([['alpha', [1]]]);
    expect(d.epsilon).toBe(1e-3);
    const x = f64([5, 4], 15);
    const alpha = d.alpha.dataSync()[0]!;
    tidy(() => expectClose(d.forward(x), diceReference(x.dataSync() as Float64Array, 5, 4, alpha, 1e-3), 1e-13, 1e-14));
    gradcheck((xi) => d.forward(xi), [x, d.alpha]);
    d.dispose();
  });

  it('DiceBN is the DIN paper\'s: p = sigmoid(BatchNorm without affine (eps 1e-9)), alpha per feature from 0', () => {
    const d = new DiceBN(3, { dtype: 'float64' });
    expect(d.stateEntries().map(([k]) => k)).toEqual(['alpha', 'bn.running_mean', 'bn.running_var', 'bn.num_batches_tracked']);
    d.alpha.assign(tensor([0.2, -0.4, 0.6], { dtype: 'float64' }));
    const x = f64([6, 3], 16);
    const xs = x.dataSync() as Float64Array;
    const { out: z } = bnReference(xs, [6, 3], 1e-9);
    const expected = z.map((zi, i) => {
      const p = 1 / (1 + Math.exp(-zi));
      return p * xs[i]! + [0.2, -0.4, 0.6][i % 3]! * (1 - p) * xs[i]!;
    });
    tidy(() => expectClose(d.forward(x), expected, 1e-12, 1e-13));
    gradcheck((xi) => d.forward(xi), [x, d.alpha]);
    d.dispose();
  });

  it('activationLayer builds torch-rechub\'s modules by name', () => {
    const kinds: [string, unknown][] = [
      ['relu', ReLU],
      ['ReLU', ReLU],
      ['sigmoid', Sigmoid],
      ['tanh', Tanh],
      ['leakyrelu', LeakyReLU],
      ['prelu', PReLU],
      ['dice', Dice],
      ['softmax', Softmax],
      ['linear', Identity],
      ['identity', Identity],
    ];
    for (const [name, cls] of kinds) {
      const m = activationLayer(name);
      expect(m, name).toBeInstanceOf(cls);
      m.dispose();
    }
    expect((activationLayer('leakyrelu') as LeakyReLU).negativeSlope).toBe(0.01);
    expect((activationLayer('leakyrelu:0.2') as LeakyReLU).negativeSlope).toBe(0.2);
    expect((activationLayer('softmax') as Softmax).dim).toBe(1);
    expect((activationLayer('softmax:-1') as Softmax).dim).toBe(-1);
    expect(() => activationLayer('gelu')).toThrow(/unknown activation 'gelu'/);
  });

  it('leaves no tensors behind inside tidy', () => {
    const x = rand([4, 3]);
    const mods = [new PReLU(), new Dice(), new DiceBN(3), new Sigmoid()];
    const before = memory().tensors;
    tidy(() => {
      for (const m of mods) m.forward(x);
    });
    expect(memory().tensors).toBe(before);
    mods.forEach((m) => m.dispose());
    x.dispose();
  });
});
