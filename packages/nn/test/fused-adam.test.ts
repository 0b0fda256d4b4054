// The fused Adam/AdamW kernel (`adamStep_`, what the optimizers run) against the unfused
// composition of ops (`adamUpdate`), on the CPU in float64 and on WebGPU in float32.

import { afterAll, describe, expect, it } from 'vitest';
import * as T from '@aitm/tensor';
import { adamUpdate } from '../src/node.js';

const gpu = await T.tryInitWebGpu();
afterAll(() => T.disposeWebGpu());

const hypers = [
  { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false },
  { lr: 0.05, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.1, decoupled: false },
  { lr: 0.05, beta1: 0.8, beta2: 0.99, eps: 1e-6, weightDecay: 0.1, decoupled: true },
];

function run(backend: T.BackendName, dtype: T.DType, fused: boolean, h: (typeof hypers)[number]): Float64Array {
  const g = new T.Generator(3);
  const mk = () => T.randn([37, 5], { dtype, backend, generator: g });
  const p = mk();
  const m = T.zeros([37, 5], { dtype, backend });
  const v = T.zeros([37, 5], { dtype, backend });
  const grads = [mk(), mk(), mk()];
  grads.forEach((grad, k) => {
    const hyper = { ...h, step: k + 1 };
    if (fused) T.adamStep_(p, grad, m, v, hyper);
    else {
      const out = adamUpdate(p, grad, m, v, hyper);
      p.assign(out.param);
      m.assign(out.expAvg);
      v.assign(out.expAvgSq);
    }
  });
  return Float64Array.from(backend === 'cpu' ? p.dataSync() : []);
}

describe('fused Adam vs unfused ops', () => {
  for (const h of hypers) {
    it(`CPU float64, ${h.decoupled ? 'AdamW' : 'Adam'} wd ${h.weightDecay}`, () => {
      const a = run('cpu', 'float64', true, h);
      const b = run('cpu', 'float64', false, h);
      for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThan(1e-14);
    });
  }

  it.skipIf(!gpu)('WebGPU float32 fused vs CPU float64 unfused', async () => {
    for (const h of hypers) {
      const g = new T.Generator(3);
      const shape = [37, 5];
      const host = () => T.randn(shape, { dtype: 'float64', generator: g }).dataSync();
      const p0 = host();
      const gs = [host(), host(), host()];
      const p = T.tensor(p0, { shape, dtype: 'float32', backend: 'webgpu' });
      const [m, v] = [T.zeros(shape, { backend: 'webgpu' }), T.zeros(shape, { backend: 'webgpu' })];
      const pc = T.tensor(p0, { shape, dtype: 'float64' });
      const [mc, vc] = [T.zeros(shape, { dtype: 'float64' }), T.zeros(shape, { dtype: 'float64' })];
      gs.forEach((gd, k) => {
        T.adamStep_(p, T.tensor(gd, { shape, dtype: 'float32', backend: 'webgpu' }), m, v, { ...h, step: k + 1 });
        const out = adamUpdate(pc, T.tensor(gd, { shape, dtype: 'float64' }), mc, vc, { ...h, step: k + 1 });
        pc.assign(out.param);
        mc.assign(out.expAvg);
        vc.assign(out.expAvgSq);
      });
      const got = await p.data();
      const want = pc.dataSync();
      for (let i = 0; i < got.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-5 * (1 + Math.abs(want[i]!)));
    }
  });

  it('updates in place like torch.optim: a view sees the new values, a clone keeps the old', () => {
    const p = T.ones([3], { dtype: 'float64' });
    const view = p.detach();
    const copy = p.clone();
    T.adamStep_(p, T.ones([3], { dtype: 'float64' }), T.zeros([3], { dtype: 'float64' }), T.zeros([3], { dtype: 'float64' }), { ...hypers[0]!, step: 1 });
    expect(view.dataSync()[0]).toBeCloseTo(1 - 1e-3, 8);
    expect(Array.from(copy.dataSync())).toEqual([1, 1, 1]);
    expect(p.dataSync()[0]).toBeCloseTo(1 - 1e-3, 8);
  });

  it('refuses a parameter that shares storage with its moments', () => {
    const p = T.ones([3], { dtype: 'float64' });
    expect(() => T.adamStep_(p, p, p.detach(), T.zeros([3], { dtype: 'float64' }), { ...hypers[0]!, step: 1 })).toThrow('must not share storage');
  });

  it('names the mismatching tensor', () => {
    const p = T.ones([3], { dtype: 'float64' });
    expect(() => T.adamStep_(p, T.ones([4], { dtype: 'float64' }), p, p, { ...hypers[0]!, step: 1 })).toThrow(
      'adamStep: grad [4] float64 on cpu does not match the parameter [3] float64 on cpu',
    );
  });
});
