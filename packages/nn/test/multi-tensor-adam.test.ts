// The multi-tensor Adam step (every parameter, gradient and moment in flat blocks, one
// kernel) against the per-parameter step it replaces, which the optimizer tests already
// pin to torch.optim. Also the flat blocks themselves: members become views of their
// slots, a member assigned elsewhere is copied back in, and cases the flat step cannot
// take (a parameter without a gradient) fall back to per-parameter updates correctly.

import { afterAll, describe, expect, it } from 'vitest';
import * as T from '@aitm/tensor';
import { Adam, AdamW, MLP, bce } from '../src/node.js';

const gpu = await T.tryInitWebGpu();
afterAll(() => T.disposeWebGpu());

interface Run {
  /** Step indices at which the last parameter gets no gradient (its grad is set to null). */
  skipLastAt?: readonly number[];
  /** Step index before which every parameter is overwritten through `assign` (a checkpoint load). */
  assignAt?: number;
}

/** Five Adam(W) steps on an MLP; returns every parameter's final values (float64 copies). */
async function train(backend: T.BackendName, dtype: T.DType, multiTensor: boolean, decoupled: boolean, r: Run = {}): Promise<number[][]> {
  const g = new T.Generator(5);
  await T.setBackend(backend); // modules are built on the current backend
  const model = new MLP(6, { dims: [7, 5], batchNorm: false, dtype, generator: g });
  await T.setBackend('cpu');
  const on = { dtype, backend, generator: g };
  const x = T.randn([9, 6], on);
  const y = T.cast(T.randint(0, 2, [9, 1], { backend, generator: g }), dtype);
  const params = model.parameters();
  const opt = decoupled ? new AdamW(params, { lr: 0.05, weightDecay: 0.1 }) : new Adam(params, { lr: 0.05, weightDecay: 0.05 });
  opt.multiTensor = multiTensor;
  for (let step = 0; step < 5; step++) {
    if (step === r.assignAt) for (const p of params) T.tidy(() => p.assign(T.mul(p, 0.5)));
    opt.zeroGrad();
    T.tidy(() => {
      bce(T.sigmoid(model.forward(x)), y).backward();
      if (r.skipLastAt?.includes(step)) {
        params[params.length - 1]!.grad!.dispose();
        params[params.length - 1]!.grad = null;
      }
      opt.step();
    });
  }
  const out = await Promise.all(params.map(async (p) => Array.from(await p.data())));
  opt.zeroGrad();
  opt.dispose();
  model.dispose();
  return out;
}

function expectClose(a: number[][], b: number[][], tol: number): void {
  expect(a.length).toBe(b.length);
  a.forEach((row, i) => row.forEach((v, j) => expect(Math.abs(v - b[i]![j]!)).toBeLessThan(tol * (1 + Math.abs(b[i]![j]!)))));
}

describe('multi-tensor Adam vs per-parameter Adam', () => {
  for (const decoupled of [false, true]) {
    const name = decoupled ? 'AdamW' : 'Adam';
    it(`${name}, CPU float64: the same values to 1e-12`, async () => {
      expectClose(await train('cpu', 'float64', true, decoupled), await train('cpu', 'float64', false, decoupled), 1e-12);
    });
    it.runIf(gpu)(`${name}, WebGPU float32 vs CPU float64 per-parameter`, async () => {
      expectClose(await train('webgpu', 'float32', true, decoupled), await train('cpu', 'float64', false, decoupled), 2e-4);
    });
  }

  it('a parameter without a gradient is skipped (its step count falls behind) and the rest still match', async () => {
    const r = { skipLastAt: [1, 2] };
    expectClose(await train('cpu', 'float64', true, false, r), await train('cpu', 'float64', false, false, r), 1e-12);
  });

  it('parameters assigned new storage mid-training (a checkpoint load) are copied back into the block', async () => {
    const r = { assignAt: 3 };
    expectClose(await train('cpu', 'float64', true, true, r), await train('cpu', 'float64', false, true, r), 1e-12);
  });

  it.runIf(gpu)('one adamStep dispatch updates every parameter on WebGPU', async () => {
    await T.setBackend('webgpu');
    const model = new MLP(4, { dims: [8, 8, 8], batchNorm: false });
    await T.setBackend('cpu');
    const x = T.randn([16, 4], { backend: 'webgpu' });
    const opt = new Adam(model.parameters());
    for (let step = 0; step < 6; step++) {
      T.gpuCounters(true);
      opt.zeroGrad();
      T.tidy(() => {
        T.sum(model.forward(x)).backward();
        opt.step();
      });
      const c = T.gpuCounters()!;
      expect(c.dispatchesByOp['adamStep']).toBe(1);
      // The optimizer step submits the step's work: one submission per training step. Once
      // the pool's free lists have settled (a few steps) it hands out the same buffers in the
      // same roles, so the step creates no bind groups at all.
      expect(c.submits).toBe(1);
      if (step >= 4) expect(c.bindGroups).toBe(0);
    }
    expect(model.parameters().length).toBe(8);
    opt.zeroGrad();
    opt.dispose();
    model.dispose();
    x.dispose();
  });
});

describe('FlatBlock', () => {
  const backends: T.BackendName[] = gpu ? ['cpu', 'webgpu'] : ['cpu'];
  for (const backend of backends) {
    it(`${backend}: members keep their values and become views of aligned slots`, async () => {
      const a = T.tensor([[1, 2, 3], [4, 5, 6]], { backend });
      const b = T.tensor([7, 8], { backend });
      const block = T.FlatBlock.pack([a, b]);
      expect(block.offsets).toEqual([0, T.FLAT_ALIGN]);
      expect(Array.from(await a.data())).toEqual([1, 2, 3, 4, 5, 6]);
      expect(Array.from(await b.data())).toEqual([7, 8]);
      // Writing the block in place is seen through the members.
      T.adamStep_(block.flat, T.onesLike(block.flat), T.zerosLike(block.flat), T.zerosLike(block.flat), {
        lr: 1, beta1: 0.9, beta2: 0.999, eps: 0, weightDecay: 0, decoupled: false, step: 1,
      });
      const near = async (t: T.Tensor, want: number[]) =>
        Array.from(await t.data()).forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 4));
      await near(b, [6, 7]);
      await near(a, [0, 1, 2, 3, 4, 5]);
      // Ops read members at their offsets.
      await near(T.add(b, a.reshape([6]).sum()), [6 + 15, 7 + 15]);
      a.assign(T.tensor([[0, 0, 0], [0, 0, 9]], { backend }));
      expect(block.relink()).toBe(1);
      expect(Array.from(await block.slot(0).data())).toEqual([0, 0, 0, 0, 0, 9]);
      block.dispose();
      // The members keep the block's memory alive until they go.
      await near(b, [6, 7]);
      a.dispose();
      b.dispose();
    });
  }

  it('refuses mixed dtypes and repeated tensors', () => {
    const a = T.ones([2]);
    expect(() => T.FlatBlock.pack([a, T.ones([2], { dtype: 'float64' })])).toThrow('share dtype and backend');
    expect(() => T.FlatBlock.pack([a, a])).toThrow('listed twice');
  });

  it.runIf(gpu)('an unaligned GPU view is read through a copy and refused as an in-place target', async () => {
    const base = T.arange(0, 10, 1, { backend: 'webgpu', dtype: 'float32' });
    const v = T.storageView(base, 3, [4]);
    expect(Array.from(await T.mul(v, 2).data())).toEqual([6, 8, 10, 12]);
    const z = () => T.zeros([4], { backend: 'webgpu' });
    const h = { lr: 1, beta1: 0.9, beta2: 0.999, eps: 0, weightDecay: 0, decoupled: false, step: 1 };
    expect(() => T.adamStep_(v, z(), z(), z(), h)).toThrow('binding 0 is written in place but is a view at byte offset 12');
    await expect(T.webGpuBackend()!.runtime.checkErrors()).resolves.toBeUndefined();
  });
});
