// MLP.forward (Linear + activation and BatchNorm1d + ReLU fused, a final sigmoid folded into
// the last Linear) against MLP.forwardComposed (every module on its own): outputs, every
// parameter's gradient and the running statistics, in train and eval mode, on the CPU in
// float64 and on WebGPU in float32 against it.

import { afterAll, describe, expect, it } from 'vitest';
import * as T from '@aitm/tensor';
import { MLP } from '../src/node.js';

const gpu = await T.tryInitWebGpu();
afterAll(() => T.disposeWebGpu());

interface Case {
  batchNorm: boolean;
  activation: string;
  outputLayer: boolean;
  sigmoid: boolean;
}

const CASES: Case[] = [
  { batchNorm: true, activation: 'relu', outputLayer: true, sigmoid: true },
  { batchNorm: false, activation: 'relu', outputLayer: true, sigmoid: true },
  { batchNorm: false, activation: 'sigmoid', outputLayer: false, sigmoid: false },
  { batchNorm: true, activation: 'prelu', outputLayer: false, sigmoid: true },
];

async function run(c: Case, backend: T.BackendName, dtype: T.DType, fused: boolean, train: boolean): Promise<number[][]> {
  await T.setBackend(backend);
  const mlp = new MLP(7, { dims: [9, 5], batchNorm: c.batchNorm, activation: c.activation, outputLayer: c.outputLayer, dtype, generator: new T.Generator(2) });
  await T.setBackend('cpu');
  mlp.train(train);
  const g = new T.Generator(3);
  const x = T.randn([23, 7], { dtype, backend, generator: g });
  const opts = { sigmoid: c.sigmoid };
  const y = fused ? mlp.forward(x, opts) : mlp.forwardComposed(x, opts);
  const out = [Array.from(await y.data())];
  if (train) {
    y.backward(T.randn(y.shape, { dtype, backend, generator: g }));
    for (const p of mlp.parameters()) out.push(Array.from(await p.grad!.data()));
  }
  for (const [, b] of mlp.namedBuffers()) out.push(Array.from(await b.data()));
  mlp.dispose();
  return out;
}

function expectClose(a: number[][], b: number[][], tol: number): void {
  expect(a.map((r) => r.length)).toEqual(b.map((r) => r.length));
  a.forEach((r, i) => r.forEach((v, j) => expect(Math.abs(v - b[i]![j]!)).toBeLessThan(tol * (1 + Math.abs(b[i]![j]!)))));
}

describe('MLP: fused forward vs module-by-module', () => {
  for (const c of CASES) {
    const name = `bn ${c.batchNorm}, ${c.activation}, output layer ${c.outputLayer}, sigmoid ${c.sigmoid}`;
    for (const train of [true, false]) {
      it(`${name}, ${train ? 'train' : 'eval'}, CPU float64`, async () => {
        expectClose(await run(c, 'cpu', 'float64', true, train), await run(c, 'cpu', 'float64', false, train), 1e-12);
      });
      it.runIf(gpu)(`${name}, ${train ? 'train' : 'eval'}, WebGPU float32 vs CPU float64`, async () => {
        expectClose(await run(c, 'webgpu', 'float32', true, train), await run(c, 'cpu', 'float64', false, train), 1e-4);
      });
    }
  }
});
