// profile(fn): per op calls, time and bytes allocated and freed, on every backend. A known
// sequence of ops: counts exact everywhere, bytes exact on the CPU and wasm.

import { afterAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import type { BackendName, ProfileInfo, Tensor } from '../src/index.js';
import { gpuAvailable } from './gpu.js';

const gpu = await gpuAvailable();
await T.initWasm();
afterAll(() => T.disposeWebGpu());

/** c = a + b; d = c * c; e = d + a; c and d disposed inside, e returned. */
function sequence(a: Tensor, b: Tensor): Tensor {
  const c = T.add(a, b);
  const d = T.mul(c, c);
  const e = T.add(d, a);
  c.dispose();
  d.dispose();
  return e;
}

async function run(backend: BackendName): Promise<{ info: ProfileInfo<Tensor>; start: number }> {
  const a = T.tensor([1, 2, 3, 4], { shape: [2, 2], backend });
  const b = T.tensor([5, 6, 7, 8], { shape: [2, 2], backend });
  const start = (['cpu', 'wasm', 'webgpu'] as const).filter((n) => n === 'cpu' || n === 'wasm' || gpu).reduce((s, n) => s + T.memory(n).bytes, 0);
  const info = await T.profile(() => sequence(a, b));
  expect(await info.result.toArray()).toEqual([[37, 66], [103, 148]]);
  return { info, start };
}

const row = (info: ProfileInfo<Tensor>, op: string) => info.ops.find((r) => r.op === op);

describe('profile', () => {
  // A [2, 2] float32 tensor is 16 bytes on the CPU; wasm hands out 64-byte blocks (its smallest size class).
  for (const [backend, bytes] of [['cpu', 16], ['wasm', 64]] as const) {
    it(`counts calls and bytes exactly on ${backend}`, async () => {
      const { info, start } = await run(backend);
      expect(info.ops.map((r) => r.op).sort()).toEqual(['add', 'mul']);
      expect(row(info, 'add')).toMatchObject({ backend, calls: 2, timing: 'host', bytesAllocated: 2 * bytes, bytesFreed: bytes });
      expect(row(info, 'mul')).toMatchObject({ backend, calls: 1, timing: 'host', bytesAllocated: bytes, bytesFreed: bytes });
      for (const r of info.ops) expect(r.ms).toBeGreaterThanOrEqual(0);
      expect(info.newBytes).toBe(bytes); // e
      expect(info.newTensors).toBe(1);
      expect(info.peakBytes).toBe(start + 3 * bytes); // c, d and e alive together
      info.result.dispose();
    });
  }

  it('times the GPU kernels (timestamps where the adapter has them) and counts calls on WebGPU', async () => {
    if (!gpu) return;
    await T.profile(() => sequence(T.ones([2, 2], { backend: 'webgpu' }), T.ones([2, 2], { backend: 'webgpu' }))); // warm-up: compile
    const { info } = await run('webgpu');
    expect(row(info, 'add')).toMatchObject({ backend: 'webgpu', calls: 2 });
    expect(row(info, 'mul')).toMatchObject({ backend: 'webgpu', calls: 1 });
    const timestamps = T.webGpuAdapter()!.features.includes('timestamp-query');
    expect(row(info, 'add')!.timing).toBe(timestamps ? 'gpu' : 'host');
    if (timestamps) expect(row(info, 'add')!.dispatches).toBe(2);
    // Pooled buffers: freed bytes equal allocated ones for c and d.
    expect(row(info, 'mul')!.bytesFreed).toBe(row(info, 'mul')!.bytesAllocated);
    expect(info.newTensors).toBe(1);
  });

  it('refuses to nest, and stops watching when fn throws', async () => {
    await expect(T.profile(() => T.profile(() => 1))).rejects.toThrow('profile: already profiling');
    await expect(T.profile(() => { throw new Error('boom'); })).rejects.toThrow('boom');
    const again = await T.profile(() => T.exp(T.ones([3])));
    expect(again.ops.map((r) => r.op)).toEqual(['exp']);
  });
});
