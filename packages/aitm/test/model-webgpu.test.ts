// The whole AITM model on WebGPU (float32) against the PyTorch float64 fixture: predictions,
// loss and every parameter's gradient for the same weights and inputs.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import * as T from '@aitm/tensor';
import { DenseFeature, SparseFeature } from '@aitm/nn';
import { AITM, aitmLoss, warmUp } from '../src/node.js';

interface FT { shape: number[]; dtype: string; data: number[] }
const fx = JSON.parse(readFileSync(fileURLToPath(new URL('./fixtures/aitm.json', import.meta.url)), 'utf8'));

const gpu = await T.tryInitWebGpu();
afterAll(() => T.disposeWebGpu());

const onGpu = (f: FT) => T.tensor(f.data, { shape: f.shape, dtype: f.dtype.startsWith('int') ? 'int32' : 'float32', backend: 'webgpu' });

function near(got: ArrayLike<number>, want: number[], tol: number, what: string): void {
  const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i]! - want[i]!) <= tol * (scale + Math.abs(want[i]!)) + 1e-6)) throw new Error(`${what}[${i}]: WebGPU ${got[i]}, PyTorch ${want[i]}`);
  }
}

describe.skipIf(!gpu)('AITM on WebGPU vs PyTorch float64', () => {
  it('3 tasks, train mode: predictions, loss and every gradient', async () => {
    await T.setBackend('webgpu');
    try {
      const features = [
        ...fx.config.sparse_features.map((f: { name: string; vocab_size: number; embed_dim: number }) => new SparseFeature({ name: f.name, vocabSize: f.vocab_size, embedDim: f.embed_dim })),
        ...fx.config.dense_features.map((f: { name: string }) => new DenseFeature({ name: f.name })),
      ];
      const m = new AITM(features, 3, { dims: fx.config.bottom_params.dims }, [0, 1, 2].map(() => ({ dims: fx.config.tower_params.dims })));
      const sd: Record<string, T.Tensor> = {};
      for (const [k, v] of Object.entries(fx.n3.state_initial as Record<string, FT>)) sd[k] = onGpu(v);
      m.loadStateDict(sd);
      m.train();
      const inputs = Object.fromEntries(Object.entries(fx.inputs as Record<string, FT>).map(([k, v]) => [k, onGpu(v)]));
      const p = m.forward(inputs);
      expect(p.backendName).toBe('webgpu');
      near(await p.data(), fx.n3.pred_train.data, 1e-5, 'pred_train');
      const loss = aitmLoss(p, onGpu(fx.labels), 0.6).total;
      near(await loss.data(), fx.n3.loss.data, 1e-5, 'loss');
      loss.backward();
      for (const [name, param] of m.namedParameters()) {
        // Biases feeding a BatchNorm have zero gradient analytically; f32 leaves ~1e-9 there.
        near(await param.grad!.data(), fx.n3.grads[name].data, 2e-4, `grad ${name}`);
      }
    } finally {
      await T.setBackend('cpu');
    }
  });

  it('warmUp compiles every pipeline of the step and leaves no trace: buffers, gradients and mode unchanged', async () => {
    await T.setBackend('webgpu');
    try {
      const features = [0, 1, 2].map((i) => new SparseFeature({ name: `f${i}`, vocabSize: 9, embedDim: 3 }));
      const m = new AITM(features, 2, { dims: [11, 6] }, [{ dims: [5] }, { dims: [5] }]);
      m.eval();
      const ids = (k: number) => T.tensor(Array.from({ length: 17 }, (_, i) => (i * k) % 9), { dtype: 'int32' });
      const inputs = { f0: ids(1), f1: ids(2), f2: ids(5) };
      const labels = T.tensor(Array.from({ length: 34 }, (_, i) => (i % 3 === 0 ? 1 : 0)), { shape: [17, 2] });
      const before = await Promise.all(m.stateEntries().map(([, t]) => t.data()));
      const progress: [number, number][] = [];
      const r = await warmUp(m, { inputs, labels }, 0.6, 'webgpu', { onProgress: (n, s) => progress.push([n, s]), everyMs: 0 });
      expect(r).not.toBeNull();
      // Progress as pipelines compile: a first call at 0, then one per pipeline (everyMs 0), counting up to the report's total.
      expect(progress.map(([n]) => n)).toEqual(Array.from({ length: r!.pipelines + 1 }, (_, i) => i));
      expect(progress.every(([, s], i) => i === 0 || s >= progress[i - 1]![1])).toBe(true);
      expect(r!.seconds).toBeGreaterThan(0);
      // At least Adam's kernel is new here: the test above runs no optimizer step.
      expect(r!.pipelines).toBeGreaterThan(0);
      const after = await Promise.all(m.stateEntries().map(([, t]) => t.data()));
      after.forEach((a, i) => expect(Array.from(a)).toEqual(Array.from(before[i]!)));
      expect(m.parameters().every((p) => p.grad === null)).toBe(true);
      expect(m.training).toBe(false);
      expect(await warmUp(m, { inputs, labels }, 0.6, 'cpu')).toBeNull();
      // Everything is compiled now: a second warm-up compiles nothing, and neither does the
      // step it stands in for (training forward and backward, an Adam update, an eval forward).
      expect((await warmUp(m, { inputs, labels }, 0.6, 'webgpu'))!.pipelines).toBe(0);
      const compiled = T.gpuCounters()!.pipelines;
      m.train();
      T.tidy(() => aitmLoss(m.forward(inputs), labels, 0.6).total.backward());
      const p0 = m.parameters()[0]!;
      T.tidy(() => T.adamStep_(p0, p0.grad!, T.zerosLike(p0), T.zerosLike(p0), { lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false, step: 1 }));
      m.eval();
      const p = T.tidy(() => T.noGrad(() => m.forward(inputs)));
      await p.data();
      expect(T.gpuCounters()!.pipelines).toBe(compiled);
    } finally {
      await T.setBackend('cpu');
    }
  });
});
