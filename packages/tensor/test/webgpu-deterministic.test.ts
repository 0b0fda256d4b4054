// The WebGPU scatter-adds in their default, fixed-order form (determinism.ts): every run gives
// the same bits, and those bits are the float32 sums taken in index order (the CPU reference
// loop's order), whether the ids are known on the host (grouped by row there) or computed on
// the GPU (scanned per output element). setDeterministic(false) brings back the atomic kernels.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import { gpuAvailable } from './gpu.js';
import { randomData } from './parity.js';

const gpu = await gpuAvailable();
afterAll(() => T.disposeWebGpu());
afterEach(() => T.setDeterministic(true));

const randomIds = (n: number, rows: number, seed: number): Int32Array => Int32Array.from(randomData(n, seed, 0, 1), (v) => Math.floor(v * rows));

/** out[ids[i], c] += src[i, c] in float32, in index order. */
function orderedF32(src: Float32Array, ids: Int32Array, rows: number, dim: number): Float32Array {
  const out = new Float32Array(rows * dim);
  ids.forEach((r, i) => {
    for (let c = 0; c < dim; c++) out[r * dim + c] = Math.fround(out[r * dim + c]! + src[i * dim + c]!);
  });
  return out;
}

/** Ids on the GPU that the host never saw (a GPU sum of a zero column), so the scan kernel runs. */
const gpuComputed = (ids: Int32Array): T.Tensor =>
  T.sum(T.tensor(Array.from(ids, (v) => [v, 0]), { dtype: 'int32', backend: 'webgpu' }), [1]);

describe.skipIf(!gpu)('WebGPU scatter-adds in fixed order', () => {
  it('is on by default', () => {
    expect(T.isDeterministic()).toBe(true);
  });

  it('scatterAdd with host ids: the float32 sums in index order, the same bits every run, one dispatch', async () => {
    const n = 5000, rows = 7, dim = 5;
    const ids = randomIds(n, rows, 1);
    const src = Float32Array.from(randomData(n * dim, 2));
    const want = orderedF32(src, ids, rows, dim);
    const s = T.tensor(src, { shape: [n, dim], backend: 'webgpu' });
    const idx = T.tensor(ids, { dtype: 'int32', backend: 'webgpu' });
    T.gpuCounters(true);
    const y = T.scatterAdd(s, idx, rows);
    expect(T.gpuCounters(true)!.dispatches).toBe(1);
    expect(Array.from(await y.data())).toEqual(Array.from(want));
    for (let k = 0; k < 3; k++) expect(Array.from(await T.scatterAdd(s, idx, rows).data())).toEqual(Array.from(want));
  });

  it('scatterAdd with ids computed on the GPU: the same sums, and bad ids reported', async () => {
    const n = 700, rows = 9, dim = 3;
    const ids = randomIds(n, rows, 3);
    const src = Float32Array.from(randomData(n * dim, 4));
    const y = T.scatterAdd(T.tensor(src, { shape: [n, dim], backend: 'webgpu' }), gpuComputed(ids), rows);
    expect(Array.from(await y.data())).toEqual(Array.from(orderedF32(src, ids, rows, dim)));
    const bad = T.scatterAdd(T.tensor([1, 2, 3, 4, 5, 6], { shape: [3, 2], backend: 'webgpu' }), gpuComputed(Int32Array.from([2, 7, 1])), 4);
    await expect(bad.data()).rejects.toThrow(/^scatterAdd: index 7 is out of range for 4 rows/);
    expect(Array.from(await bad.data())).toEqual([0, 0, 5, 6, 1, 2, 0, 0]);
  });

  it('gatherConcat backward: index-order sums per table, one dispatch with host ids in one block, and with GPU ids', async () => {
    const vocabs = [5, 3, 8], dims = [2, 4, 1], batch = 300;
    const width = dims.reduce((a, b) => a + b, 0);
    const idsHost = vocabs.map((v, f) => randomIds(batch, v, 10 + f));
    const dy = Float32Array.from(randomData(batch * width, 20));
    const want = vocabs.map((v, f) => {
      const col = dims.slice(0, f).reduce((a, b) => a + b, 0);
      const part = new Float32Array(batch * dims[f]!);
      for (let b = 0; b < batch; b++) for (let c = 0; c < dims[f]!; c++) part[b * dims[f]! + c] = dy[b * width + col + c]!;
      return Array.from(orderedF32(part, idsHost[f]!, v, dims[f]!));
    });
    const grads = async (ids: T.Tensor[]): Promise<number[][]> => {
      const tables = vocabs.map((v, f) => T.zeros([v, dims[f]!], { backend: 'webgpu' }).requireGrad());
      T.gatherConcat(tables, ids).backward(T.tensor(dy, { shape: [batch, width], backend: 'webgpu' }));
      return Promise.all(tables.map(async (t) => Array.from(await t.grad!.data())));
    };
    const block = new Int32Array(3 * 320);
    idsHost.forEach((ids, f) => block.set(ids, f * 320));
    const all = T.fromTypedArray(block, [block.length], 'int32', { backend: 'webgpu' });
    const views = idsHost.map((_, f) => T.storageView(all, f * 320, [batch]));
    expect(await grads(views)).toEqual(want);
    expect(await grads(views)).toEqual(want);
    expect(await grads(idsHost.map(gpuComputed))).toEqual(want);
  });

  it('scatterAddAlong: x plus the sources in index order, as on the CPU', async () => {
    const x = Float32Array.from(randomData(4 * 6, 30));
    const index = randomIds(4 * 50, 6, 31);
    const src = Float32Array.from(randomData(5 * 60, 32)); // larger than the index
    const y = T.scatterAddAlong(T.tensor(x, { shape: [4, 6], backend: 'webgpu' }), 1, T.tensor(index, { shape: [4, 50], dtype: 'int32', backend: 'webgpu' }), T.tensor(src, { shape: [5, 60], backend: 'webgpu' }));
    const want = Float32Array.from(x);
    for (let i = 0; i < 4; i++) for (let j = 0; j < 50; j++) want[i * 6 + index[i * 50 + j]!] = Math.fround(want[i * 6 + index[i * 50 + j]!]! + src[i * 60 + j]!);
    expect(Array.from(await y.data())).toEqual(Array.from(want));
    // An index smaller than x in the other dimension: the rows past it keep x.
    const small = T.scatterAddAlong(T.tensor(x, { shape: [4, 6], backend: 'webgpu' }), 0, T.tensor([[1, 1, 3]], { dtype: 'int32', backend: 'webgpu' }), T.tensor([[1, 2, 3]], { backend: 'webgpu' }));
    const want2 = Float32Array.from(x);
    want2[6] = Math.fround(Math.fround(want2[6]! + 1));
    want2[7] = Math.fround(want2[7]! + 2);
    want2[20] = Math.fround(want2[20]! + 3);
    expect(Array.from(await small.data())).toEqual(Array.from(want2));
  });

  it('setDeterministic(false) takes the atomic kernels (zero pass + add), within rounding', async () => {
    T.setDeterministic(false);
    const ids = randomIds(2000, 7, 5);
    const src = Float32Array.from(randomData(2000 * 3, 6));
    T.gpuCounters(true);
    const y = T.scatterAdd(T.tensor(src, { shape: [2000, 3], backend: 'webgpu' }), T.tensor(ids, { dtype: 'int32', backend: 'webgpu' }), 7);
    expect(T.gpuCounters(true)!.dispatches).toBe(2);
    const want = orderedF32(src, ids, 7, 3);
    const got = await y.data();
    want.forEach((w, k) => expect(Math.abs(got[k]! - w)).toBeLessThan(1e-3));
  });
});

describe.skipIf(!gpu)('host copies of uploaded ids', () => {
  it('are copies (refilling the array after the upload changes nothing) and go stale when the GPU writes the buffer', async () => {
    const be = T.webGpuBackend()!;
    const arr = Int32Array.from([0, 1, 1, 2]);
    const ids = T.fromTypedArray(arr, [4], 'int32', { backend: 'webgpu' });
    arr.fill(3);
    const src = T.tensor([1, 2, 3, 4], { shape: [4, 1], backend: 'webgpu' });
    expect(Array.from(await T.scatterAdd(src, ids, 4).data())).toEqual([1, 5, 4, 0]);
    const handle = (ids as unknown as { storage: { handle: T.GpuBuffer } }).storage.handle;
    expect(Array.from(be.hostInts(handle)!)).toEqual([0, 1, 1, 2]);
    // A GPU copy into the buffer (in place) makes the host copy stale: the scan kernel takes over.
    be.copy((T.tensor([2, 2, 0, 0], { dtype: 'int32', backend: 'webgpu' }) as unknown as { storage: { handle: T.GpuBuffer } }).storage.handle, handle, 4, 'int32');
    expect(be.hostInts(handle)).toBeUndefined();
    expect(Array.from(await T.scatterAdd(src, ids, 4).data())).toEqual([7, 0, 3, 0]);
  });
});
