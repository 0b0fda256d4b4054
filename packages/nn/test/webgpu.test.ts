// The nn layers on the WebGPU backend: the same training steps (embeddings, MLP with
// BatchNorm, bce, gradient clipping, Adam) on the GPU in float32 as on the CPU, with no
// synchronous reads (the GPU backend throws on those), no leaks, and checkpoints that
// round-trip from GPU tensors. Skipped without a WebGPU adapter (fails if AITM_REQUIRE_WEBGPU=1).

import { afterAll, describe, expect, it } from 'vitest';
import { disposeWebGpu, tryInitWebGpu, memory, setBackend, sigmoid, tensor, tidy, Generator, type Tensor } from '@aitm/tensor';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { Adam, DenseFeature, EmbeddingLayer, MLP, Module, SparseFeature, bce, clipGradNorm, loadCheckpoint, saveCheckpoint } from '../src/node.js';

const gpu = await tryInitWebGpu();
afterAll(async () => {
  await setBackend('cpu');
  disposeWebGpu();
});

class Tower extends Module {
  readonly embedding = this.registerModule(
    'embedding',
    new EmbeddingLayer([new SparseFeature({ name: 'u', vocabSize: 7, embedDim: 4 }), new DenseFeature({ name: 'd' })], { generator: new Generator(1) }),
  );
  readonly mlp = this.registerModule('mlp', new MLP(5, { dims: [8, 4], generator: new Generator(2) }));
  forward(x: Record<string, Tensor>): Tensor {
    return sigmoid(this.mlp.forward(this.embedding.forward(x, { squeezeDim: true })));
  }
}

/** Five training steps; returns the losses and the final state, read asynchronously. */
async function train(model: Tower, backend: 'cpu' | 'webgpu'): Promise<{ losses: number[]; state: Map<string, number[]> }> {
  const on = { backend };
  const inputs = {
    u: tensor([0, 3, 6, 1, 3, 2], { dtype: 'int32', ...on }),
    d: tensor([0.5, -1, 2, 0, 1, -0.5], on),
  };
  const y = tensor([[1], [0], [1], [0], [0], [1]], on);
  const opt = new Adam(model.parameters(), { lr: 0.05 });
  const losses: number[] = [];
  let live = -1;
  for (let step = 0; step < 5; step++) {
    opt.zeroGrad();
    const loss = tidy(() => {
      const l = bce(model.forward(inputs), y);
      l.backward();
      clipGradNorm(model.parameters(), 1);
      opt.step();
      return l;
    });
    losses.push(await loss.item());
    loss.dispose();
    if (step === 1) live = memory(backend).tensors;
    if (step > 1) expect(memory(backend).tensors).toBe(live);
  }
  const state = new Map<string, number[]>();
  for (const [name, t] of model.stateEntries()) state.set(name, [...(await t.data())]);
  opt.zeroGrad();
  opt.dispose();
  Object.values(inputs).forEach((t) => t.dispose());
  y.dispose();
  return { losses, state };
}

describe.skipIf(!gpu)('nn on WebGPU', () => {
  it('trains like the CPU backend (float32) without synchronous reads', async () => {
    await setBackend('cpu');
    const cpuModel = new Tower();
    const sd = cpuModel.stateDict();
    await setBackend('webgpu');
    const gpuModel = new Tower();
    gpuModel.loadStateDict(sd); // CPU values uploaded into the GPU model
    Object.values(sd).forEach((t) => t.dispose());
    expect(gpuModel.parameters().every((p) => p.backendName === 'webgpu')).toBe(true);
    await setBackend('cpu');

    const ref = await train(cpuModel, 'cpu');
    const got = await train(gpuModel, 'webgpu');
    got.losses.forEach((l, i) => expect(Math.abs(l - ref.losses[i]!)).toBeLessThan(1e-4 * Math.max(1, Math.abs(ref.losses[i]!))));
    for (const [name, want] of ref.state) {
      // A Linear bias right before a BatchNorm has a zero gradient up to rounding noise, which
      // Adam normalises to full-size steps: it (and the running mean it shifts) differs
      // between any two backends. Skip those.
      if (/^mlp\.mlp\.[04]\.bias$|^mlp\.mlp\.[15]\.running_mean$/.test(name)) continue;
      const have = got.state.get(name)!;
      want.forEach((w, i) => expect(Math.abs(have[i]! - w), `${name}[${i}]`).toBeLessThan(2e-4 * Math.max(1, Math.abs(w))));
    }

    // Checkpoints read GPU tensors asynchronously and load straight onto the GPU.
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'nn-gpu-')), 'tower.safetensors');
    await saveCheckpoint(gpuModel, file);
    await setBackend('webgpu');
    const restored = new Tower();
    await setBackend('cpu');
    await loadCheckpoint(restored, file);
    for (const [name, t] of restored.stateEntries()) {
      expect(t.backendName).toBe('webgpu');
      expect([...(await t.data())], name).toEqual(got.state.get(name));
    }
    for (const m of [cpuModel, gpuModel, restored]) m.dispose();
  });
});
