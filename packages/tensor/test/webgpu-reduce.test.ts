// The WebGPU reductions (sum, max) and softmax / logSoftmax against the CPU backend in
// float64 on the same (float32-rounded) data. Sums are compared at an fp32 tolerance that
// grows with the number of elements added. Forward checks use only these kernels; the
// backward checks also need the elementwise and layout kernels their gradient rules use.
import { afterAll, describe, expect, it } from 'vitest';
import { disposeWebGpu, logSoftmax, max, softmax, sum, tensor, webGpuBackend, type Tensor } from '../src/index.js';
import { reductionBlocks } from '../src/backends/webgpu/reduce.js';
import { gpuAvailable } from './gpu.js';
import { expectParity, pair, randomData } from './parity.js';

const gpu = await gpuAvailable();

afterAll(() => disposeWebGpu());

function randomInts(n: number, seed: number, lo: number, hi: number): Int32Array {
  return Int32Array.from(randomData(n, seed), (v) => lo + Math.floor(((v + 1) / 2) * (hi - lo)));
}

/** fp32 tolerance for a sum of `r` values in [-1, 1]. */
const sumTol = (r: number): number => 1e-6 + 2e-7 * r;

const reducedLength = (shape: readonly number[], axes: readonly number[]): number => axes.reduce((acc, a) => acc * shape[a]!, 1);

interface ReduceCase {
  shape: number[];
  axes: number[] | null;
  keepdim?: boolean;
}

const REDUCE_CASES: ReduceCase[] = [
  { shape: [1], axes: [0] },
  { shape: [7], axes: null },
  { shape: [], axes: null },
  { shape: [13, 1, 5], axes: [1], keepdim: true },
  { shape: [13, 1, 5], axes: [0, 2] },
  { shape: [3, 4, 5, 6], axes: [1, 2] }, // middle axes, merged into one block
  { shape: [3, 4, 5, 6], axes: [0, 3], keepdim: true }, // outer and inner
  { shape: [3, 4, 5, 6], axes: [0, 2] }, // alternating kept / reduced
  { shape: [3, 4, 5, 6], axes: null },
  { shape: [2, 1, 3, 1, 5, 1, 2, 3], axes: [1, 2, 5, 7] }, // rank 8
  { shape: [65, 67], axes: [0] },
  { shape: [65, 67], axes: [1], keepdim: true },
  { shape: [8192, 32], axes: [0] }, // bias gradient: 32 outputs over 8192 rows
  { shape: [3, 1000, 2], axes: [1] },
  { shape: [1000], axes: null },
  { shape: [70000], axes: null }, // one output, each of 256 threads folds ~273 elements
  { shape: [257, 129], axes: [1] },
  { shape: [0, 5], axes: [1] }, // empty kept dimension: empty output
  { shape: [0, 5], axes: [0], keepdim: true },
];

function randomCases(count: number, seed: number): ReduceCase[] {
  const dims = [1, 2, 3, 5, 7, 13, 31, 64, 65, 127];
  const r = randomData(count * 12, seed, 0, 1);
  let k = 0;
  const next = (): number => r[k++]!;
  const cases: ReduceCase[] = [];
  while (cases.length < count) {
    const rank = 1 + Math.floor(next() * 5);
    const shape = Array.from({ length: rank }, () => dims[Math.floor(next() * dims.length)]!);
    if (shape.reduce((a, b) => a * b, 1) > 2_000_000) {
      k %= r.length - 12;
      continue;
    }
    const axes = shape.map((_, i) => i).filter(() => next() < 0.5);
    cases.push({ shape, axes: axes.length > 0 ? axes : [rank - 1], keepdim: next() < 0.5 });
  }
  return cases;
}

const caseName = (c: ReduceCase): string => `[${c.shape.join(', ')}] over ${c.axes === null ? 'all' : `[${c.axes.join(', ')}]`}${c.keepdim ? ' keepdim' : ''}`;

describe('reductionBlocks', () => {
  it('drops size-1 axes and merges neighbours of the same kind', () => {
    expect(reductionBlocks([3, 4, 5, 6], [1, 2])).toEqual({
      kept: [
        { size: 3, stride: 120 },
        { size: 6, stride: 1 },
      ],
      reduced: [{ size: 20, stride: 6 }],
    });
    expect(reductionBlocks([2, 1, 3, 1, 5], [1, 2, 3])).toEqual({
      kept: [
        { size: 2, stride: 15 },
        { size: 5, stride: 1 },
      ],
      reduced: [{ size: 3, stride: 5 }],
    });
    expect(reductionBlocks([8192, 32], [0])).toEqual({ kept: [{ size: 32, stride: 1 }], reduced: [{ size: 8192, stride: 32 }] });
    expect(reductionBlocks([4, 1], [1])).toEqual({ kept: [{ size: 4, stride: 1 }], reduced: [] });
  });
});

describe.skipIf(!gpu)('WebGPU sum and max: forward parity with the CPU in float64', () => {
  const cases = [...REDUCE_CASES, ...randomCases(24, 7)];
  it.each(cases.map((c, i) => [caseName(c), c, i] as const))('%s', async (_name, c, i) => {
    const n = c.shape.reduce((a, b) => a * b, 1);
    const { g, c: cpu } = pair(randomData(n, 100 + i), c.shape);
    const r = c.axes === null ? n : reducedLength(c.shape, c.axes);
    await expectParity(sum(g, c.axes, c.keepdim), sum(cpu, c.axes, c.keepdim), sumTol(r));
    if (r > 0) await expectParity(max(g, c.axes, c.keepdim), max(cpu, c.axes, c.keepdim), 0, 0);
  });

  it('sums an empty axis to zeros, and an empty tensor to a scalar zero', async () => {
    const x = tensor(new Float32Array(0), { shape: [4, 0, 3], backend: 'webgpu' });
    const s = sum(x, [1]);
    expect(s.shape).toEqual([4, 3]);
    expect(Array.from(await s.data())).toEqual(new Array(12).fill(0));
    expect(Array.from(await sum(x, [1], true).data())).toEqual(new Array(12).fill(0));
    expect(Array.from(await sum(tensor([], { backend: 'webgpu' })).data())).toEqual([0]);
    expect(() => max(x, [1])).toThrow('max: cannot reduce an empty axis of [4,0,3]');
  });

  it('runs more outputs than one grid dimension holds (split dispatch), in both strategies', async () => {
    // Thread per output: 64 * 65535 outputs is the most one grid row holds. Checked
    // against plain loops: the float64 CPU reference is slow at 12M elements.
    const rows = 64 * 65535 + 1000;
    const data = randomData(rows * 3, 5);
    const x = tensor(data, { shape: [rows, 3], backend: 'webgpu' });
    const [s, m] = [await sum(x, [1]).data(), await max(x, [1]).data()];
    expect(s.length).toBe(rows);
    for (let i = 0; i < rows; i++) {
      const [a, b, c] = [data[3 * i]!, data[3 * i + 1]!, data[3 * i + 2]!];
      if (Math.abs(s[i]! - (a + b + c)) > sumTol(3) || m[i] !== Math.max(a, b, c)) expect.fail(`row ${i}: sum ${s[i]}, max ${m[i]} of ${a}, ${b}, ${c}`);
    }
    // Workgroup per output: 70000 workgroups.
    const wide = pair(randomData(70000 * 65, 6), [70000, 65]);
    await expectParity(sum(wide.g, [1]), sum(wide.c, [1]), sumTol(65));
    await expectParity(max(wide.g, [1]), max(wide.c, [1]), 0, 0);
  });

  it('propagates NaN through max and handles infinities', async () => {
    const nan = NaN;
    const inf = Infinity;
    // Short rows (thread per output) and long rows (workgroup per output).
    for (const len of [4, 300]) {
      const rows = [
        [1, nan, 3],
        [nan, -inf, 2],
        [-inf, -inf, -inf],
        [5, inf, nan],
        [-3, -2, -7],
      ];
      const data = new Float32Array(rows.length * len).fill(-100);
      rows.forEach((r, i) => r.forEach((v, j) => (data[i * len + Math.floor((j * (len - 1)) / 2)] = v)));
      const { g, c } = pair(data, [rows.length, len]);
      await expectParity(max(g, [1]), max(c, [1]), 0, 0);
      await expectParity(sum(g, [1]), sum(c, [1]), sumTol(len) * 100);
    }
  });

  it('reduces int32 in i32 (sum and max)', async () => {
    for (const [shape, axes] of [
      [[17, 5], [1]],
      [[300, 7], [0]],
      [[4, 5, 6], [0, 2]],
      [[1000], null],
    ] as [number[], number[] | null][]) {
      const n = shape.reduce((a, b) => a * b, 1);
      const { g, c } = pair(randomInts(n, n, -1000, 1000), shape);
      expect(sum(g, axes).dtype).toBe('int32');
      expect(Array.from(await sum(g, axes).data())).toEqual(Array.from(await sum(c, axes).data()));
      expect(Array.from(await max(g, axes).data())).toEqual(Array.from(await max(c, axes).data()));
    }
    const { g } = pair(Int32Array.from([-2147483648, -2147483648, -5]), [3]);
    expect(Array.from(await max(g).data())).toEqual([-5]);
  });

  it('reuses one pipeline per block structure, whatever the sizes', async () => {
    const rt = webGpuBackend()!.runtime;
    const x = (shape: number[]): Tensor => tensor(randomData(shape.reduce((a, b) => a * b, 1), 1), { shape, backend: 'webgpu' });
    await sum(x([5, 6]), [1]).data();
    const before = rt.stats().pipelines;
    await sum(x([7, 9]), [1]).data();
    await sum(x([2, 1, 11]), [2]).data();
    await sum(x([31, 40]), [1]).data();
    expect(rt.stats().pipelines).toBe(before);
  });
});

interface SoftmaxCase {
  shape: number[];
  axis: number;
  scale?: number;
}

const SOFTMAX_CASES: SoftmaxCase[] = [
  { shape: [1], axis: 0 },
  { shape: [2], axis: 0 },
  { shape: [5, 2], axis: 1 }, // AITM's attention: B rows of 2 positions
  { shape: [3, 2, 4], axis: 1 }, // a middle axis (rows strided by 4)
  { shape: [7, 1], axis: 1 },
  { shape: [13, 64], axis: 1 }, // longest thread-per-row
  { shape: [13, 65], axis: 1 }, // shortest workgroup-per-row
  { shape: [1000], axis: 0 },
  { shape: [3, 1000], axis: 1 },
  { shape: [2, 1000, 3], axis: 1 },
  { shape: [1000, 3], axis: 0 },
  { shape: [70000], axis: 0 },
  { shape: [31, 257], axis: 0 },
  { shape: [4, 0], axis: 1 },
  { shape: [0, 4], axis: 1 },
  { shape: [6, 300], axis: 1, scale: 1e4 }, // large values: stable only by subtracting the max
  { shape: [6, 5], axis: 1, scale: 1e4 },
];

describe.skipIf(!gpu)('WebGPU softmax and logSoftmax: forward parity with the CPU in float64', () => {
  it.each(SOFTMAX_CASES.map((c, i) => [`[${c.shape.join(', ')}] along ${c.axis}${c.scale ? ` (values x${c.scale})` : ''}`, c, i] as const))(
    '%s',
    async (_name, c, i) => {
      const n = c.shape.reduce((a, b) => a * b, 1);
      const scale = c.scale ?? 3;
      const { g, c: cpu } = pair(randomData(n, 300 + i, -scale, scale), c.shape);
      await expectParity(softmax(g, c.axis), softmax(cpu, c.axis), 1e-7, 2e-5);
      // log-softmax is x - max - log(sum): absolute error follows the size of the values.
      await expectParity(logSoftmax(g, c.axis), logSoftmax(cpu, c.axis), 2e-6 * Math.max(1, scale), 1e-5);
    },
  );

  it('runs more rows than one grid dimension holds, in both strategies', async () => {
    const rows = 64 * 65535 + 100; // thread per row, checked against a plain loop
    const data = randomData(rows * 2, 9, -5, 5);
    const y = await softmax(tensor(data, { shape: [rows, 2], backend: 'webgpu' }), 1).data();
    for (let i = 0; i < rows; i++) {
      const p = 1 / (1 + Math.exp(data[2 * i + 1]! - data[2 * i]!));
      if (Math.abs(y[2 * i]! - p) > 1e-7 + 2e-5 * p || Math.abs(y[2 * i + 1]! - (1 - p)) > 1e-7 + 2e-5 * (1 - p)) {
        expect.fail(`row ${i}: got ${y[2 * i]}, ${y[2 * i + 1]}, expected ${p}, ${1 - p}`);
      }
    }
    const long = pair(randomData(70000 * 65, 10, -5, 5), [70000, 65]); // workgroup per row
    await expectParity(logSoftmax(long.g, 1), logSoftmax(long.c, 1), 1e-5, 1e-5);
  });

  it('gives NaN rows for all -inf, +inf or NaN rows, and exact zeros for -inf entries', async () => {
    const inf = Infinity;
    for (const len of [3, 100]) {
      const rows = [
        [-inf, -inf, -inf],
        [0, -inf, 1],
        [inf, 0, 1],
        [NaN, 0, 1],
        [2, 2, 2],
      ];
      // Long rows are padded with -inf, which must not change the finite rows' results.
      const data = new Float32Array(rows.length * len).fill(-inf);
      rows.forEach((r, i) => r.forEach((v, j) => (data[i * len + j] = v)));
      const { g, c } = pair(data, [rows.length, len]);
      await expectParity(softmax(g, 1), softmax(c, 1), 1e-7, 2e-5);
      await expectParity(logSoftmax(g, 1), logSoftmax(c, 1), 1e-6, 1e-5);
      const y = await softmax(g, 1).data();
      expect(Array.from(y.subarray(0, len)).every(Number.isNaN)).toBe(true);
      expect(y[len + 1]).toBe(0);
    }
  });

  it('is stable for huge logits', async () => {
    const { g } = pair(Float32Array.from([1e30, 1e30, -1e30, 3e38, 3e38, -3e38]), [2, 3]);
    const y = await softmax(g, 1).data();
    expect(Array.from(y)).toEqual([0.5, 0.5, 0, 0.5, 0.5, 0]);
  });
});

describe.skipIf(!gpu)('WebGPU reduction and softmax gradients match the CPU in float64', () => {
  /** dL/dx for y = f(x) and upstream gradient dy, on each backend. */
  async function gradParity(shape: number[], seed: number, f: (x: Tensor) => Tensor, atol: number, rtol = 1e-5, data?: Float32Array): Promise<void> {
    const n = shape.reduce((a, b) => a * b, 1);
    const { g, c } = pair(data ?? randomData(n, seed, -2, 2), shape, true);
    const yg = f(g);
    const yc = f(c);
    const dy = pair(randomData(yc.size, seed + 1), yc.shape);
    yg.backward(dy.g);
    yc.backward(dy.c);
    await expectParity(g.grad!, c.grad!, atol, rtol);
  }

  it('sum', async () => {
    await gradParity([3, 4, 5], 1, (x) => sum(x, [1]), 1e-7);
    await gradParity([3, 4, 5], 2, (x) => sum(x, [0, 2], true), 1e-7);
    await gradParity([8192, 32], 3, (x) => sum(x, [0]), 1e-7);
    await gradParity([7], 4, (x) => sum(x), 1e-7);
  });

  it('max, sharing the gradient between ties', async () => {
    await gradParity([6, 70], 5, (x) => max(x, [1]), 1e-7);
    await gradParity([3, 4, 5], 6, (x) => max(x, [0, 2], true), 1e-7);
    const ties = Float32Array.from([1, 3, 3, 2, 5, 5, 5, 0]);
    await gradParity([2, 4], 7, (x) => max(x, [1]), 1e-7, 1e-5, ties);
  });

  it('softmax and logSoftmax', async () => {
    for (const [shape, axis] of [
      [[5, 2], 1],
      [[3, 2, 4], 1],
      [[4, 300], 1],
      [[1000, 3], 0],
    ] as [number[], number][]) {
      await gradParity(shape, 10 + axis, (x) => softmax(x, axis), 1e-6, 1e-4);
      await gradParity(shape, 20 + axis, (x) => logSoftmax(x, axis), 1e-5, 1e-4);
    }
  });
});
