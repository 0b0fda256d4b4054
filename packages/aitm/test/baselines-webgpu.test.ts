// The baselines and AITM-AutoInt on WebGPU (float32) against the CPU backend (float64), for
// the weights and inputs of fixtures/baselines.json: train-mode predictions, the loss and
// every parameter's gradient. Skipped without an adapter unless AITM_REQUIRE_WEBGPU=1.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import * as T from '@aitm/tensor';
import { DenseFeature, SparseFeature, type Feature } from '@aitm/nn';
import { AITMAutoInt, ESMM, MMOE, PLE, SharedBottom, aitmLoss, type MultiTaskModel, type ModelOptions } from '../src/node.js';

interface FT { shape: number[]; dtype: string; data: number[] }
interface Recorded { state_initial: Record<string, FT>; labels: FT; alpha: number }
const fx = JSON.parse(readFileSync(fileURLToPath(new URL('./fixtures/baselines.json', import.meta.url)), 'utf8')) as {
  features: { sparse: { name: string; vocab_size: number; embed_dim: number }[]; dense: { name: string }[] };
  inputs: Record<string, FT>;
} & Record<string, Recorded>;

const gpu = await T.tryInitWebGpu();
afterAll(async () => {
  await T.setBackend('cpu');
  T.disposeWebGpu();
});

function features(): Feature[] {
  return [
    ...fx.features.sparse.map((f) => new SparseFeature({ name: f.name, vocabSize: f.vocab_size, embedDim: f.embed_dim })),
    ...fx.features.dense.map((f) => new DenseFeature({ name: f.name })),
  ];
}

const tower = { dims: [3] };
const builders: Record<string, (o: ModelOptions) => MultiTaskModel> = {
  sharedbottom: (o) => new SharedBottom(features(), 3, { dims: [6, 5] }, [tower, tower, tower], o),
  esmm: (o) => new ESMM(features(), { dims: [4] }, { dims: [3] }, o),
  mmoe: (o) => new MMOE(features(), 3, 3, { dims: [6, 5] }, [tower, tower, tower], o),
  ple: (o) => new PLE(features(), 3, 2, 2, 1, { dims: [6, 5] }, [tower, tower, tower], o),
  aitm_autoint: (o) => new AITMAutoInt(features(), 3, { layers: 2, heads: 2, attDim: 3 }, { dims: [6, 5] }, [tower, tower, tower], o),
};

/** Predictions, loss and gradients by name, read back asynchronously. */
async function run(name: string, backend: T.BackendName): Promise<Map<string, number[]>> {
  const rec = fx[name]!;
  const dtype = backend === 'cpu' ? 'float64' : 'float32';
  const make = (f: FT) => T.tensor(f.data, { shape: f.shape, dtype: f.dtype.startsWith('int') ? 'int32' : dtype, backend });
  await T.setBackend(backend);
  const model = builders[name]!({ dtype });
  await T.setBackend('cpu');
  model.loadStateDict(Object.fromEntries(Object.entries(rec.state_initial).map(([k, v]) => [k, make(v)])));
  model.train();
  const out = new Map<string, number[]>();
  const p = model.forward(Object.fromEntries(Object.entries(fx.inputs).map(([k, v]) => [k, make(v)])));
  const loss = aitmLoss(p, make(rec.labels), rec.alpha).total;
  loss.backward();
  out.set('pred', [...(await p.data())]);
  out.set('loss', [...(await loss.data())]);
  for (const [key, param] of model.namedParameters()) out.set(`grad ${key}`, [...(await param.grad!.data())]);
  model.dispose();
  return out;
}

describe.skipIf(!gpu)('baselines on WebGPU (float32) vs the CPU backend (float64)', () => {
  it.each(['sharedbottom', 'esmm', 'mmoe', 'ple', 'aitm_autoint'])('%s: train-mode predictions, loss and every gradient', async (name) => {
    const cpu = await run(name, 'cpu');
    const gpuOut = await run(name, 'webgpu');
    // The same outputs and parameters, of the same sizes, on both backends.
    expect([...gpuOut.keys()]).toEqual([...cpu.keys()]);
    for (const [what, want] of cpu) expect(gpuOut.get(what), what).toHaveLength(want.length);
    expect(cpu.get('loss')).toHaveLength(1);
    // Biases feeding a BatchNorm have zero gradient analytically, so their values are float32
    // rounding noise: allow 1e-5 of the model's largest gradient on top of the relative bound.
    let gradScale = 0;
    for (const [what, want] of cpu) if (what.startsWith('grad')) for (const v of want) gradScale = Math.max(gradScale, Math.abs(v));
    const off: string[] = [];
    for (const [what, want] of cpu) {
      const got = gpuOut.get(what)!;
      const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      const [tol, floor] = what.startsWith('grad') ? [2e-4, 1e-5 * gradScale] : [1e-5, 1e-7];
      want.forEach((w, i) => {
        if (!(Math.abs(got[i]! - w) <= tol * (scale + Math.abs(w)) + floor)) off.push(`${what}[${i}]: WebGPU ${got[i]}, CPU ${w}`);
      });
    }
    expect(off, `${name}: values outside the tolerance`).toEqual([]);
  });
});
