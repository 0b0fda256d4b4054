// GPU memory is freed deterministically: a training loop of 1,000 forward + backward +
// update steps on WebGPU leaves live tensors, live GPU buffers and pooled bytes unchanged.

import { afterAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import { gpuAvailable } from './gpu.js';

const gpu = await gpuAvailable();
afterAll(() => T.disposeWebGpu());

describe.skipIf(!gpu)('WebGPU memory', () => {
  it('1,000 training steps keep live buffers and pooled bytes flat', async () => {
    const g = new T.Generator(11);
    const opts = { backend: 'webgpu' as const, generator: g };
    const w1 = T.randn([8, 16], { ...opts, requiresGrad: true });
    const b1 = T.zeros([16], { backend: 'webgpu', requiresGrad: true });
    const w2 = T.randn([16, 1], { ...opts, requiresGrad: true });
    const x = T.randn([32, 8], opts);
    const ids = T.tensor([0, 2, 1, 2], { dtype: 'int32', backend: 'webgpu' });
    const table = T.randn([3, 8], { ...opts, requiresGrad: true });
    const y = T.rand([32, 1], opts);
    const params = [w1, b1, w2, table];
    const step = () =>
      T.tidy(() => {
        const emb = T.sum(T.gather(table, ids), 0); // [8]
        const h = T.relu(T.add(T.matmul(T.add(x, emb), w1), b1));
        const p = T.sigmoid(T.matmul(h, w2));
        const loss = T.mean(T.pow(T.sub(p, y), 2));
        loss.backward();
        T.noGrad(() => {
          for (const q of params) {
            q.assign(T.sub(q, T.mul(q.grad!, 0.01)));
            q.grad!.dispose();
            q.grad = null;
          }
        });
      });
    // Warm-up: the pool grows until it holds what one submission window needs. Flushes
    // fall every 256 commands, so the pattern repeats within 256 steps.
    for (let i = 0; i < 300; i++) step();
    await w1.data();
    const before = { tensors: T.memory('webgpu').tensors, ...T.memory('webgpu') };
    const pooledBefore = (T.memory('webgpu') as unknown as { pooledBytes: number }).pooledBytes;
    for (let i = 0; i < 1000; i++) step();
    await w1.data();
    const after = T.memory('webgpu');
    expect(after.tensors).toBe(before.tensors);
    expect(after.buffers).toBe(before.buffers);
    expect(after.bytes).toBe(before.bytes);
    expect((after as unknown as { pooledBytes: number }).pooledBytes).toBe(pooledBefore);
  });
});
