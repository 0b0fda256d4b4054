// gatherConcat (every field's embedding lookup in one op) against its composed reference,
// one gather per field and a concat, on the CPU in float64 and on WebGPU in float32:
// values, the gradient of every table (shared tables included), bad ids, and the number of
// kernels each form takes. Skips the WebGPU half without an adapter (fails with AITM_REQUIRE_WEBGPU=1).

import { afterAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';

const gpu = await T.tryInitWebGpu();
afterAll(() => T.disposeWebGpu());

const VOCABS = [7, 3, 11, 5, 2, 9, 4, 6, 8, 3, 5, 7, 2, 4, 6, 9, 10, 3, 5, 4];
const DIMS = [3, 1, 4, 2, 5, 3, 3, 1, 2, 4, 3, 2, 1, 5, 2, 3, 4, 2, 3, 1];

/** `n` fields (field 2, when present, shares table 0), batch 13: tables, ids and an upstream gradient. */
function problem(n: number, backend: T.BackendName, dtype: T.DType) {
  const g = new T.Generator(n);
  const tables = Array.from({ length: n }, (_, f) => T.randn([VOCABS[f]!, DIMS[f]!], { dtype, backend, generator: g }).requireGrad());
  const use = tables.map((t, f) => (f === 2 ? tables[0]! : t));
  const ids = use.map((t) => T.randint(0, t.shape[0]!, [13], { backend, generator: g }));
  const width = use.reduce((a, t) => a + t.shape[1]!, 0);
  const dy = T.randn([13, width], { dtype, backend, generator: g });
  return { tables, use, ids, dy };
}

/**
 * The problem moved to `backend` in `dtype`; with `oneBlock` the ids are views of one padded
 * [n, B] block, as `batchTensors` uploads a batch (the kernels then bind them once).
 */
async function run(n: number, backend: T.BackendName, dtype: T.DType, fused: boolean, oneBlock = false): Promise<number[][]> {
  const p = problem(n, 'cpu', 'float64');
  const move = (t: T.Tensor) => T.tensor(Array.from(t.dataSync()), { shape: t.shape, dtype, backend });
  const tables = p.tables.map((t) => move(t).requireGrad());
  const use = tables.map((t, f) => (f === 2 ? tables[0]! : t));
  let ids: T.Tensor[];
  if (oneBlock) {
    const stride = T.FLAT_ALIGN;
    const block = new Int32Array(n * stride);
    p.ids.forEach((t, k) => block.set(t.dataSync(), k * stride));
    const all = T.fromTypedArray(block, [block.length], 'int32', { backend });
    ids = p.ids.map((t, k) => T.storageView(all, k * stride, t.shape));
    all.dispose();
  } else {
    ids = p.ids.map((t) => T.tensor(Array.from(t.dataSync()), { shape: t.shape, dtype: 'int32', backend }));
  }
  const y = fused ? T.gatherConcat(use, ids) : T.concat(use.map((t, f) => T.gather(t, ids[f]!)), 1);
  y.backward(move(p.dy));
  const out = [Array.from(await y.data())];
  for (const t of tables) out.push(t.grad ? Array.from(await t.grad.data()) : []);
  return out;
}

function expectClose(a: number[][], b: number[][], tol: number): void {
  expect(a.map((r) => r.length)).toEqual(b.map((r) => r.length));
  a.forEach((r, i) => r.forEach((v, j) => expect(Math.abs(v - b[i]![j]!)).toBeLessThan(tol)));
}

describe('gatherConcat vs one gather per field + concat', () => {
  for (const n of [1, 3, 20]) {
    it(`${n} field(s), CPU float64: values and table gradients equal`, async () => {
      expectClose(await run(n, 'cpu', 'float64', true), await run(n, 'cpu', 'float64', false), 1e-12);
    });
    it.runIf(gpu)(`${n} field(s), WebGPU float32 vs CPU float64`, async () => {
      expectClose(await run(n, 'webgpu', 'float32', true), await run(n, 'cpu', 'float64', false), 1e-5);
    });
    it.runIf(gpu)(`${n} field(s), ids as views of one block (bound once), WebGPU vs CPU`, async () => {
      expectClose(await run(n, 'webgpu', 'float32', true, true), await run(n, 'cpu', 'float64', false), 1e-5);
    });
  }

  it('a table shared by two fields gets one gradient holding both fields', async () => {
    const [fused] = [await run(3, 'cpu', 'float64', true)];
    expect(fused[3]).toEqual([]); // table 2 is unused: field 2 reads table 0
    expect(fused[1]!.length).toBe(VOCABS[0]! * DIMS[0]!);
  });

  it('names the field and position of an out-of-range id', () => {
    const t = T.zeros([4, 2]);
    const good = T.tensor([0, 1], { dtype: 'int32' });
    expect(() => T.gatherConcat([t, t], [good, T.tensor([3, 4], { dtype: 'int32' })])).toThrow(
      'gatherConcat: field 1: index 4 at position 1 is out of range for 4 rows (valid: 0..3)',
    );
    expect(() => T.gatherConcat([t], [T.tensor([[0, 1]], { dtype: 'int32' })])).toThrow('field 0: expected int32 ids of shape [1]');
  });

  it.runIf(gpu)('WebGPU: out-of-range ids from the host are caught before any kernel runs, in views too', () => {
    const t = T.zeros([4, 2], { backend: 'webgpu' });
    const bad = T.tensor([0, 9], { dtype: 'int32', backend: 'webgpu' });
    expect(() => T.gatherConcat([t], [bad])).toThrow('gatherConcat: field 0: index 9 at position 1 is out of range for 4 rows');
    const block = T.tensor([1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 7, 1], { dtype: 'int32', backend: 'webgpu' });
    const views = [T.storageView(block, 0, [3]), T.storageView(block, 16, [3])];
    expect(() => T.gatherConcat([t, t], views)).toThrow('gatherConcat: field 1: index 7 at position 1 is out of range for 4 rows');
  });

  it.runIf(gpu)('WebGPU: ten fields take one forward kernel per seven fields; backward one fixed-order kernel (atomic: a zero pass and one per chunk)', () => {
    const limit = T.webGpuBackend()!.runtime.limits.maxStorageBuffersPerShaderStage;
    for (const deterministic of [true, false]) {
      T.setDeterministic(deterministic);
      const { use, ids, dy } = problem(10, 'webgpu', 'float32');
      T.gpuCounters(true);
      const y = T.gatherConcat(use, ids);
      expect(T.gpuCounters(true).dispatches).toBe(Math.ceil(10 / Math.floor((limit - 1) / 2)));
      y.backward(dy);
      expect(T.gpuCounters().dispatches).toBe(deterministic ? 1 : 1 + Math.ceil(10 / (limit - 2)));
    }
    T.setDeterministic(true);
  });

  it.runIf(gpu)('WebGPU: with the ids in one block, ten fields take one kernel forward and one backward (atomic: two)', () => {
    for (const deterministic of [true, false]) {
      T.setDeterministic(deterministic);
      const { use, ids, dy } = problem(10, 'webgpu', 'float32');
      void ids;
      const block = T.randint(0, 2, [10 * T.FLAT_ALIGN], { backend: 'webgpu' }); // every table has >= 2 rows
      const views = use.map((_, k) => T.storageView(block, k * T.FLAT_ALIGN, [13]));
      T.gpuCounters(true);
      const y = T.gatherConcat(use, views);
      expect(T.gpuCounters(true).dispatches).toBe(1);
      y.backward(dy);
      expect(T.gpuCounters().dispatches).toBe(deterministic ? 1 : 2);
    }
    T.setDeterministic(true);
  });
});
