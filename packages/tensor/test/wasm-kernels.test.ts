// The wasm backend's SIMD kernels beyond the products and batch norm (gathers, scatter-adds,
// block copies, softmax, reductions, unary functions, where, cast, the fused Adam step)
// against the CPU: on awkward sizes (not multiples of 4, empty, one row), duplicate ids,
// ids out of range, and NaN/inf inputs. Kernels that only move values or add them in one
// order are compared bit for bit with the CPU in float32; the others with the float64 oracle.

import { beforeAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';

beforeAll(async () => {
  await T.initWasm();
});

/** Deterministic values in [-2, 2) (a Generator, so the test needs no fixture). */
function values(n: number, seed: number): number[] {
  const g = new T.Generator(seed);
  return Array.from({ length: n }, () => 4 * g.uniform() - 2);
}

/** Deterministic int32 ids in [0, rows). */
function ids(n: number, rows: number, seed: number): number[] {
  const g = new T.Generator(seed);
  return Array.from({ length: n }, () => Math.min(rows - 1, Math.floor(g.uniform() * rows)));
}

const SPECIALS = [NaN, Infinity, -Infinity, -0, 0, 1e30, -1e30, 3.5e38];

/** `vals` with the IEEE specials sprinkled in (every 5th element). */
function withSpecials(vals: number[]): number[] {
  return vals.map((v, i) => (i % 5 === 2 ? SPECIALS[(i / 5) % SPECIALS.length | 0]! : v));
}

const wasm = (v: readonly number[], shape: readonly number[], dtype: T.DType = 'float32') => T.tensor([...v], { shape, dtype, backend: 'wasm' });
const cpu = (v: readonly number[], shape: readonly number[], dtype: T.DType = 'float32') => T.tensor([...v], { shape, dtype, backend: 'cpu' });

/** Bit-for-bit (NaN equal to NaN, -0 distinct from 0). */
function expectSame(got: ArrayLike<number>, want: ArrayLike<number>): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i])) expect.fail(`element ${i}: ${got[i]} but the CPU gives ${want[i]}`);
  }
}

/** Within `tol` (relative above 1) of the float64 oracle; NaN and infinities exactly. */
function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol = 2e-6): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const [g, w] = [got[i]!, want[i]!];
    const ok = Number.isNaN(w) ? Number.isNaN(g) : !Number.isFinite(w) ? g === w : Math.abs(g - w) <= tol * Math.max(1, Math.abs(w));
    if (!ok) expect.fail(`element ${i}: ${g} but the float64 oracle gives ${w}`);
  }
}

describe('wasm gather and scatterAdd', () => {
  for (const [rows, dim, n] of [[1, 1, 1], [7, 3, 13], [5, 8, 9], [9, 17, 33], [4, 0, 6], [3, 5, 0], [50, 70, 21]] as const) {
    it(`gather and scatterAdd, table [${rows}, ${dim}], ${n} ids (duplicates)`, () => {
      const t = values(rows * dim, rows + dim);
      const id = ids(n, rows, n + 1);
      const got = T.gather(wasm(t, [rows, dim]), wasm(id, [n], 'int32')).dataSync();
      expectSame(got, T.gather(cpu(t, [rows, dim]), cpu(id, [n], 'int32')).dataSync());
      // The sums of duplicate rows, in index order: the CPU's float32 sums bit for bit.
      const src = withSpecials(values(n * dim, n + dim)).map((v, i) => (i % 7 === 0 ? v * 1e7 : v));
      const sGot = T.scatterAdd(wasm(src, [n, dim]), wasm(id, [n], 'int32'), rows).dataSync();
      expectSame(sGot, T.scatterAdd(cpu(src, [n, dim]), cpu(id, [n], 'int32'), rows).dataSync());
    });
  }

  it('gathers int32 and bool rows and scatter-adds int32 with wrapping', () => {
    const t = [1, -2, 2147483647, 4, 5, -2147483648, 7, 8, 9];
    const id = [2, 0, 2, 1];
    expectSame(T.gather(wasm(t, [3, 3], 'int32'), wasm(id, [4], 'int32')).dataSync(), T.gather(cpu(t, [3, 3], 'int32'), cpu(id, [4], 'int32')).dataSync());
    const b = [1, 0, 1, 1, 0, 0];
    expectSame(T.gather(wasm(b, [3, 2], 'bool'), wasm(id, [4], 'int32')).dataSync(), T.gather(cpu(b, [3, 2], 'bool'), cpu(id, [4], 'int32')).dataSync());
    const src = [2147483647, 1, 5, -2147483648, 2147483647, 3, -7, 9];
    expectSame(
      T.scatterAdd(wasm(src, [4, 2], 'int32'), wasm(id, [4], 'int32'), 3).dataSync(),
      T.scatterAdd(cpu(src, [4, 2], 'int32'), cpu(id, [4], 'int32'), 3).dataSync(),
    );
  });

  it('a batch of id vectors (a [2, 3] index) gathers [2, 3, dim]', () => {
    const t = values(6 * 5, 2);
    const id = [5, 0, 3, 3, 1, 4];
    const got = T.gather(wasm(t, [6, 5]), wasm(id, [2, 3], 'int32'));
    expect(got.shape).toEqual([2, 3, 5]);
    expectSame(got.dataSync(), T.gather(cpu(t, [6, 5]), cpu(id, [2, 3], 'int32')).dataSync());
  });

  it('ids out of range raise the CPU reference error at the call, and leak nothing', () => {
    const t = wasm(values(12, 3), [6, 2]);
    const before = T.memory('wasm').buffers;
    for (const bad of [6, -1]) {
      const id = wasm([0, bad, 2], [3], 'int32');
      expect(() => T.gather(t, id)).toThrow(`gather: index ${bad} at position 1 is out of range for 6 rows (valid: 0..5)`);
      expect(() => T.scatterAdd(wasm(values(6, 1), [3, 2]), id, 6)).toThrow(`scatterAdd: index ${bad} at position 1 is out of range for 6 rows`);
    }
    // What remains are the inputs made above (t's 1 is older than `before`).
    expect(T.memory('wasm').buffers - before).toBe(2 * 2);
  });
});

describe('wasm gatherConcat and its gradient', () => {
  const VOCABS = [7, 3, 11, 5, 2, 9, 4];
  const DIMS = [3, 1, 4, 2, 5, 8, 3];
  for (const [fields, batch] of [[1, 1], [3, 13], [7, 6], [4, 0]] as const) {
    it(`${fields} fields (field 2 shares table 0), batch ${batch}: values and every table's gradient`, () => {
      const run = (backend: 'cpu' | 'wasm') => {
        const mk = backend === 'cpu' ? cpu : wasm;
        const tables = VOCABS.slice(0, fields).map((v, f) => mk(values(v * DIMS[f]!, f + 1), [v, DIMS[f]!]).requireGrad());
        const use = tables.map((t, f) => (f === 2 ? tables[0]! : t));
        const idv = use.map((t, f) => mk(ids(batch, t.shape[0]!, 10 + f), [batch], 'int32'));
        const y = T.gatherConcat(use, idv);
        const width = y.shape[1]!;
        T.sum(T.mul(y, mk(withSpecials(values(batch * width, 99)), [batch, width]))).backward();
        return [y.dataSync(), ...tables.map((t, f) => (f === 2 && fields > 2 ? new Float32Array(0) : t.grad!.dataSync()))];
      };
      const [got, want] = [run('wasm'), run('cpu')];
      got.forEach((g, k) => expectSame(g, want[k]!));
    });
  }

  it('an id out of range raises the CPU reference error naming the field', () => {
    const t = [wasm(values(6, 1), [3, 2]), wasm(values(8, 2), [4, 2])];
    const good = wasm([0, 1, 2], [3], 'int32');
    expect(() => T.gatherConcat(t, [good, wasm([3, 4, 0], [3], 'int32')])).toThrow(
      'gatherConcat: field 1: index 4 at position 1 is out of range for 4 rows (valid: 0..3)',
    );
  });
});

describe('wasm concat and split (concat backward)', () => {
  const CASES: [number[][], number][] = [
    [[[3, 5], [3, 2], [3, 0], [3, 7]], 1],
    [[[2, 3], [5, 3]], 0],
    [[[1, 1], [1, 1]], 1],
    [[[2, 3, 5], [2, 1, 5], [2, 4, 5]], 1],
    [[[4, 3, 1], [4, 3, 6]], 2],
    [[[0, 3], [0, 2]], 1],
  ];
  for (const [shapes, axis] of CASES) {
    it(`${shapes.map((s) => `[${s.join(',')}]`).join(' ++ ')} along ${axis}, and its gradient`, () => {
      const run = (backend: 'cpu' | 'wasm') => {
        const mk = backend === 'cpu' ? cpu : wasm;
        const xs = shapes.map((s, k) => mk(withSpecials(values(s.reduce((a, b) => a * b, 1), k + 5)), s).requireGrad());
        const y = T.concat(xs, axis);
        T.sum(T.mul(y, mk(values(y.size, 42), y.shape))).backward();
        return [y.dataSync(), ...xs.map((x) => x.grad!.dataSync())];
      };
      const [got, want] = [run('wasm'), run('cpu')];
      got.forEach((g, k) => expectSame(g, want[k]!));
    });
  }

  it('concatenates int32 and bool', () => {
    const a = [1, 2, 3, 4];
    const b = [5, 6];
    for (const dtype of ['int32', 'bool'] as const) {
      const f = (mk: typeof cpu) => T.concat([mk(a.map((v) => v % 2), [2, 2], dtype), mk(b.map((v) => v % 2), [2, 1], dtype)], 1).dataSync();
      expectSame(f(wasm), f(cpu));
    }
  });
});
