// Every layer, loss and optimizer on WebGPU (float32) against the CPU backend in float64:
// forward values, input and parameter gradients, and one optimizer step, for identical
// weights. Skipped without a WebGPU adapter (fails when AITM_REQUIRE_WEBGPU=1).

import { afterAll, describe, expect, it } from 'vitest';
import * as T from '@aitm/tensor';
import type { Tensor } from '@aitm/tensor';
import {
  AdamW, BatchNorm1d, Dice, DiceBN, Embedding, LeakyReLU, Linear, MLP, PReLU, ReLU, SGD, Sigmoid, Softmax, Tanh,
  bce, bceWithLogits, mse, type Module,
} from '../src/node.js';

const gpu = await T.tryInitWebGpu();
afterAll(() => T.disposeWebGpu());

const hostData = (shape: number[], seed: number, positive = false): Float64Array => {
  const d = T.randn(shape, { dtype: 'float64', generator: new T.Generator(seed) }).dataSync() as Float64Array;
  if (positive) for (let i = 0; i < d.length; i++) d[i] = 0.05 + 0.9 / (1 + Math.exp(-d[i]!));
  return d;
};

/** The same values as a CPU float64 tensor and a WebGPU float32 tensor. */
const both = (d: Float64Array, shape: number[]): [Tensor, Tensor] => [
  T.tensor(d, { shape, dtype: 'float64', requiresGrad: true }),
  T.tensor(d, { shape, dtype: 'float32', backend: 'webgpu', requiresGrad: true }),
];

async function near(gpuT: Tensor, cpuT: Tensor, what: string, tol = 2e-4, floor = 1e-3): Promise<void> {
  const got = await gpuT.data();
  const want = cpuT.dataSync();
  expect(got.length, what).toBe(want.length);
  const scale = Array.from(want).reduce((m, v) => Math.max(m, Math.abs(v)), floor);
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i]! - want[i]!) <= tol * scale)) throw new Error(`${what}[${i}]: WebGPU ${got[i]}, CPU ${want[i]}`);
  }
}

/** Builds the module twice (CPU float64, then WebGPU float32 with the CPU's weights). */
async function pairOf<M extends Module>(make: (dtype: T.DType) => M): Promise<[M, M]> {
  const cpu = make('float64');
  await T.setBackend('webgpu');
  try {
    const g = make('float32');
    g.loadStateDict(cpu.stateDict());
    return [cpu, g];
  } finally {
    await T.setBackend('cpu');
  }
}

async function layerParity(name: string, make: (dtype: T.DType) => Module & { forward(x: Tensor): Tensor }, shape: number[]): Promise<void> {
  const [mc, mg] = await pairOf(make);
  const [xc, xg] = both(hostData(shape, 7), shape);
  const up = hostData(shape.slice(0, -1).concat([mc.forward(xc).shape.at(-1)!]), 8);
  const yc = mc.forward(xc);
  const yg = mg.forward(xg);
  await near(yg, yc, `${name} forward`);
  yc.backward(T.tensor(up, { shape: [...yc.shape], dtype: 'float64' }));
  yg.backward(T.tensor(up, { shape: [...yg.shape], dtype: 'float32', backend: 'webgpu' }));
  await near(xg.grad!, xc.grad!, `${name} input grad`, 5e-4);
  const gp = new Map(mg.namedParameters());
  // A bias followed by BatchNorm has a gradient that is analytically zero: f32 computes it
  // as a sum of O(1) terms that cancel, so it is compared at the scale of the terms (1e-2).
  for (const [k, p] of mc.namedParameters()) await near(gp.get(k)!.grad!, p.grad!, `${name} grad ${k}`, 5e-4, 1e-2);
}

describe.skipIf(!gpu)('nn on WebGPU vs CPU float64', () => {
  const layers: [string, (dtype: T.DType) => Module & { forward(x: Tensor): Tensor }, number[]][] = [
    ['Linear', (dtype) => new Linear(6, 5, { dtype }), [9, 6]],
    ['BatchNorm1d (train)', (dtype) => new BatchNorm1d(6, { dtype }), [9, 6]],
    ['ReLU', () => new ReLU(), [4, 7]],
    ['Sigmoid', () => new Sigmoid(), [4, 7]],
    ['Tanh', () => new Tanh(), [4, 7]],
    ['LeakyReLU', () => new LeakyReLU(0.1), [4, 7]],
    ['Softmax', () => new Softmax(1), [4, 7]],
    ['PReLU', (dtype) => new PReLU({ dtype }), [4, 7]],
    ['Dice', (dtype) => new Dice({ dtype }), [5, 7]],
    ['DiceBN', (dtype) => new DiceBN(7, { dtype }), [5, 7]],
    ['MLP', (dtype) => new MLP(6, { dims: [5, 4], dtype }), [9, 6]],
  ];
  for (const [name, make, shape] of layers) {
    it(name, async () => {
      await layerParity(name, make, shape);
    });
  }

  it('BatchNorm1d eval mode and running statistics', async () => {
    const [bc, bg] = await pairOf((dtype) => new BatchNorm1d(4, { dtype }));
    for (let s = 0; s < 3; s++) {
      const [xc, xg] = both(hostData([6, 4], 20 + s), [6, 4]);
      T.noGrad(() => bc.forward(xc));
      T.noGrad(() => bg.forward(xg));
    }
    await near(bg.runningMean!, bc.runningMean!, 'running_mean');
    await near(bg.runningVar!, bc.runningVar!, 'running_var');
    bc.eval();
    bg.eval();
    const [xc, xg] = both(hostData([6, 4], 30), [6, 4]);
    await near(bg.forward(xg), bc.forward(xc), 'eval forward');
  });

  it('Embedding', async () => {
    const [ec, eg] = await pairOf((dtype) => new Embedding(7, 3, { dtype }));
    const ids = [0, 6, 2, 2, 5];
    const yc = ec.forward(T.tensor(ids, { dtype: 'int32' }));
    const yg = eg.forward(T.tensor(ids, { dtype: 'int32', backend: 'webgpu' }));
    await near(yg, yc, 'embedding forward');
    T.sum(T.mul(yc, yc)).backward();
    T.sum(T.mul(yg, yg)).backward();
    await near(eg.weight.grad!, ec.weight.grad!, 'embedding grad');
  });

  it('losses: bce, bceWithLogits, mse (values and gradients)', async () => {
    const shape = [5, 3];
    const yd = Float64Array.from(hostData(shape, 40), (v) => (v > 0 ? 1 : 0));
    const cases: [string, (p: Tensor, y: Tensor) => Tensor, boolean][] = [
      ['bce', (p, y) => bce(p, y), true],
      ['bceWithLogits', (p, y) => bceWithLogits(p, y), false],
      ['mse', (p, y) => mse(p, y), false],
    ];
    for (const [name, loss, probs] of cases) {
      const [pc, pg] = both(hostData(shape, 41, probs), shape);
      const lc = loss(pc, T.tensor(yd, { shape, dtype: 'float64' }));
      const lg = loss(pg, T.tensor(yd, { shape, dtype: 'float32', backend: 'webgpu' }));
      await near(lg, lc, `${name} value`);
      lc.backward();
      lg.backward();
      await near(pg.grad!, pc.grad!, `${name} grad`);
    }
  });

  it('optimizer steps: SGD with Nesterov momentum and AdamW', async () => {
    for (const make of [
      (ps: Tensor[]) => new SGD(ps, { lr: 0.1, momentum: 0.9, nesterov: true, weightDecay: 0.01 }),
      (ps: Tensor[]) => new AdamW(ps, { lr: 0.05, weightDecay: 0.1 }),
    ]) {
      const [wc, wg] = both(hostData([4, 3], 50), [4, 3]);
      const oc = make([wc]);
      const og = make([wg]);
      for (let s = 0; s < 3; s++) {
        const g = hostData([4, 3], 60 + s);
        wc.grad = T.tensor(g, { shape: [4, 3], dtype: 'float64' });
        wg.grad = T.tensor(g, { shape: [4, 3], dtype: 'float32', backend: 'webgpu' });
        oc.step();
        og.step();
        oc.zeroGrad();
        og.zeroGrad();
      }
      await near(wg, wc, `${og.constructor.name} params`);
    }
  });
});
