// The WebGPU row gather and scatter-add against the CPU backend: exact for gather, and
// for scatterAdd up to float32 rounding (fixed order by default: webgpu-deterministic.test.ts;
// 1.1M ids, past the host-copy limit, take the atomic kernel, whose order varies).
import { afterAll, describe, expect, it } from 'vitest';
import { disposeWebGpu, gather, scatterAdd, sum, tensor } from '../src/index.js';
import { gpuAvailable } from './gpu.js';
import { expectParity, pair, randomData } from './parity.js';

const gpu = await gpuAvailable();

afterAll(() => disposeWebGpu());

const randomIds = (n: number, rows: number, seed: number): Int32Array => Int32Array.from(randomData(n, seed, 0, 1), (v) => Math.floor(v * rows));

const GATHER_CASES: { table: number[]; ids: number[]; rows?: number }[] = [
  { table: [6, 3], ids: [4] },
  { table: [6], ids: [5] }, // 1-D table: rows of one element
  { table: [6, 3], ids: [] }, // 0-d ids: one row, shape [3]
  { table: [5, 2, 3], ids: [4, 7] }, // rows of 6
  { table: [1, 1], ids: [1000] },
  { table: [97, 257], ids: [300] }, // rows not a multiple of the workgroup
  { table: [10, 4], ids: [0] }, // no ids
  { table: [0, 4], ids: [0] }, // empty table, no ids
  { table: [7, 0], ids: [5] }, // empty rows
];

describe.skipIf(!gpu)('WebGPU gather and scatterAdd: parity with the CPU', () => {
  it.each(GATHER_CASES.map((c, i) => [`table [${c.table.join(', ')}], ids [${c.ids.join(', ')}]`, c, i] as const))('%s', async (_n, c, i) => {
    const rows = c.table[0]!;
    const nIds = c.ids.reduce((a, b) => a * b, 1);
    const tableSize = c.table.reduce((a, b) => a * b, 1);
    const ids = pair(randomIds(nIds, rows, 50 + i), c.ids);
    const { g, c: cpu } = pair(randomData(tableSize, 60 + i), c.table);
    await expectParity(gather(g, ids.g), gather(cpu, ids.c), 0, 0);
    // scatterAdd is gather's adjoint: src has the shape of gather's output.
    const out = gather(cpu, ids.c);
    const src = pair(randomData(out.size, 70 + i), out.shape);
    await expectParity(scatterAdd(src.g, ids.g, rows), scatterAdd(src.c, ids.c, rows), 1e-6);
  });

  it('gathers int32 tables, with duplicate ids', async () => {
    const ids = pair(Int32Array.from([2, 0, 2, 2, 1]), [5]);
    const table = pair(Int32Array.from([10, 11, 20, 21, 30, 31]), [3, 2]);
    expect(Array.from(await gather(table.g, ids.g).data())).toEqual([30, 31, 10, 11, 30, 31, 30, 31, 20, 21]);
    const src = pair(Int32Array.from({ length: 10 }, (_, k) => k), [5, 2]);
    expect(Array.from(await scatterAdd(src.g, ids.g, 4).data())).toEqual(Array.from(await scatterAdd(src.c, ids.c, 4).data()));
  });

  it('accumulates many duplicates (10000 rows into 7) within fp32 rounding', async () => {
    const ids = pair(randomIds(10000, 7, 1), [10000]);
    const src = pair(randomData(10000 * 5, 2), [10000, 5]);
    // ~1400 additions per element, in an order the atomics choose.
    await expectParity(scatterAdd(src.g, ids.g, 7), scatterAdd(src.c, ids.c, 7), 1e-6 + 2e-7 * 1500);
    const ints = pair(randomIds(10000 * 5, 1000, 3), [10000, 5]);
    expect(Array.from(await scatterAdd(ints.g, ids.g, 7).data())).toEqual(Array.from(await scatterAdd(ints.c, ids.c, 7).data()));
  });

  it('handles more elements than one grid dimension holds (split dispatch)', async () => {
    const n = 1_100_000; // 1.1M ids x 16 columns > 65535 * 256 threads
    const ids = randomIds(n, 1000, 4);
    const table = randomData(1000 * 16, 5);
    const idsG = tensor(ids, { dtype: 'int32', backend: 'webgpu' });
    const y = await gather(tensor(table, { shape: [1000, 16], backend: 'webgpu' }), idsG).data();
    let bad = -1;
    for (let i = 0; i < n && bad < 0; i++) {
      for (let c = 0; c < 16; c++) if (y[i * 16 + c] !== table[ids[i]! * 16 + c]) bad = i;
    }
    expect(bad).toBe(-1);
    // Scatter ones: each row's entries count how often its id occurs.
    const counts = new Array<number>(1000).fill(0);
    for (const r of ids) counts[r]!++;
    const s = await scatterAdd(tensor(new Float32Array(n * 16).fill(1), { shape: [n, 16], backend: 'webgpu' }), idsG, 1000).data();
    for (let r = 0; r < 1000; r++) expect(s[r * 16 + 15]).toBe(counts[r]);
  });

  it('throws for out-of-range ids uploaded from the host, like the CPU backend', () => {
    const table = tensor(randomData(18, 1), { shape: [6, 3], backend: 'webgpu' });
    expect(() => gather(table, tensor([0, 6], { dtype: 'int32', backend: 'webgpu' }))).toThrow(
      'gather: index 6 at position 1 is out of range for 6 rows (valid: 0..5)',
    );
    expect(() => gather(table, tensor([-1], { dtype: 'int32', backend: 'webgpu' }))).toThrow(
      'gather: index -1 at position 0 is out of range for 6 rows (valid: 0..5)',
    );
    const src = tensor(randomData(6, 2), { shape: [2, 3], backend: 'webgpu' });
    expect(() => scatterAdd(src, tensor([1, 4], { dtype: 'int32', backend: 'webgpu' }), 4)).toThrow(
      'scatterAdd: index 4 at position 1 is out of range for 4 rows',
    );
  });

  it('bad ids computed on the GPU: a zero row (gather) or a dropped row (scatterAdd), and an error naming the op at the next read', async () => {
    // A sum on the GPU makes ids the host never saw, so they cannot be checked before the kernel.
    const ids = sum(tensor([[1, 1], [3, 4], [0, -3]], { dtype: 'int32', backend: 'webgpu' }), [1]); // [2, 7, -3]
    const table = tensor(randomData(12, 3), { shape: [4, 3], backend: 'webgpu' });
    const t = await table.data();
    const rows = gather(table, ids);
    await expect(rows.data()).rejects.toThrow(/^gather: index (7|-3) is out of range for 4 rows \(valid: 0\.\.3\) \(and 5 more out-of-range indices\); found by a GPU kernel/);
    // The error is reported once; the memory was never touched out of bounds.
    expect(Array.from(await rows.data())).toEqual([...t.subarray(6, 9), 0, 0, 0, 0, 0, 0]);
    const src = tensor([1, 2, 3, 4, 5, 6], { shape: [3, 2], backend: 'webgpu' });
    const scattered = scatterAdd(src, ids, 4);
    await expect(scattered.data()).rejects.toThrow(/^scatterAdd: index (7|-3) is out of range for 4 rows/);
    expect(Array.from(await scattered.data())).toEqual([0, 0, 0, 0, 1, 2, 0, 0]);
    // The CPU raises at the call, naming the same op.
    const cpuIds = tensor([2, 7, -3], { dtype: 'int32' });
    expect(() => gather(tensor(randomData(12, 3), { shape: [4, 3] }), cpuIds)).toThrow(/^gather: index 7 at position 1 is out of range for 4 rows/);
  });

  it('backward of gather is a scatterAdd of the upstream gradient', async () => {
    const ids = pair(Int32Array.from([3, 1, 3, 3, 0, 1]), [2, 3]);
    const table = pair(randomData(5 * 4, 8), [5, 4], true);
    const yg = gather(table.g, ids.g);
    const yc = gather(table.c, ids.c);
    const dy = pair(randomData(yc.size, 9), yc.shape);
    yg.backward(dy.g);
    yc.backward(dy.c);
    await expectParity(table.g.grad!, table.c.grad!, 1e-6);
    // and scatterAdd's backward is a gather
    const src = pair(randomData(6 * 4, 10), [2, 3, 4], true);
    const sg = scatterAdd(src.g, ids.g, 5);
    const sc = scatterAdd(src.c, ids.c, 5);
    const ds = pair(randomData(sc.size, 11), sc.shape);
    sg.backward(ds.g);
    sc.backward(ds.c);
    await expectParity(src.g.grad!, src.c.grad!, 0, 0);
  });
});
