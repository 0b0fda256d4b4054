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

/** [rows, cols] shapes around the 4-lane blocks, one row, one column, empty. */
const SHAPES: [number, number][] = [[1, 1], [1, 7], [3, 5], [4, 8], [7, 13], [2, 33], [17, 1], [0, 5], [5, 0]];

/** f on the wasm backend in float32 and on the CPU in float64 (the oracle), the same values. */
function vsOracle(shape: readonly number[], vals: number[], f: (x: T.Tensor) => T.Tensor, tol = 2e-6): void {
  const got = f(wasm(vals, shape));
  const want = f(cpu(vals, shape, 'float64'));
  expect(got.shape).toEqual(want.shape);
  expectClose(got.dataSync(), want.dataSync(), tol);
}

describe('wasm softmax, logSoftmax and their gradient (last axis)', () => {
  for (const [r, c] of SHAPES) {
    it(`[${r}, ${c}], with NaN/inf rows, and along axis 0 (the reference)`, () => {
      const v = values(r * c, r * 31 + c);
      if (r >= 3 && c >= 2) {
        v[0] = NaN; // row 0: NaN
        v[c] = Infinity; // row 1: +inf
        for (let j = 0; j < c; j++) v[2 * c + j] = -Infinity; // row 2: all -inf
      }
      const dy = values(r * c, 5);
      for (const log of [false, true]) {
        const op = log ? T.logSoftmax : T.softmax;
        vsOracle([r, c], v, (x) => op(x, -1));
        vsOracle([r, c], v, (x) => op(x, 0));
        // The gradient, through backward (softmaxBackward on the last axis).
        const grad = (x: T.Tensor, mk: typeof cpu, dtype: T.DType) => {
          const xx = x.requireGrad();
          T.sum(T.mul(op(xx, -1), mk(dy, [r, c], dtype))).backward();
          return xx.grad!.dataSync();
        };
        const finite = values(r * c, r + c + 1);
        expectClose(grad(wasm(finite, [r, c]), wasm, 'float32'), grad(cpu(finite, [r, c], 'float64'), cpu, 'float64'), 5e-6);
      }
    });
  }
});

describe('wasm sum and max (trailing and leading axes)', () => {
  for (const [r, c] of SHAPES) {
    it(`[${r}, ${c}]: last axis, first axis, all, with NaN and inf`, () => {
      const v = withSpecials(values(r * c, r * 7 + c)).map((x) => (Math.abs(x) > 3.4e38 ? x / 10 : x));
      for (const dims of [-1, 0, null] as const) {
        if (r * c === 0 && dims !== null) continue;
        vsOracle([r, c], v, (x) => T.sum(x, dims), 1e-5);
        if (!(dims === null && r * c === 0) && !(dims === -1 && c === 0) && !(dims === 0 && r === 0)) vsOracle([r, c], v, (x) => T.max(x, dims));
      }
    });
  }

  it('leading-axis sums are the CPU float32 sums bit for bit; max keeps the CPU sign of zero', () => {
    const v = values(37 * 11, 3).map((x, i) => x * 10 ** (i % 9));
    expectSame(T.sum(wasm(v, [37, 11]), 0).dataSync(), T.sum(cpu(v, [37, 11]), 0).dataSync());
    for (const row of [[0, -0, -1], [-0, 0, -1], [-1, -2, -3, -4, 0, -0], [-1, -2, -3, -4, -0, 0, -5], [-0, -1, -2, -3, 0]]) {
      expectSame(T.max(wasm(row, [1, row.length]), -1).dataSync(), T.max(cpu(row, [1, row.length]), -1).dataSync());
      expectSame(T.max(wasm(row, [row.length, 1]), 0).dataSync(), T.max(cpu(row, [row.length, 1]), 0).dataSync());
    }
  });

  it('a 3-D block: trailing pairs, leading pairs, the middle axis (the reference), int32 max', () => {
    const v = values(3 * 5 * 6, 4);
    for (const dims of [[1, 2], [0, 1], [1], [2], [0]]) {
      vsOracle([3, 5, 6], v, (x) => T.sum(x, dims, true), 1e-5);
      vsOracle([3, 5, 6], v, (x) => T.max(x, dims));
    }
    const ints = [5, -7, 2147483647, -2147483648, 0, 3, 9, -1, 4, 4, 8, -9];
    for (const dims of [0, 1, null]) {
      expectSame(T.max(wasm(ints, [3, 4], 'int32'), dims).dataSync(), T.max(cpu(ints, [3, 4], 'int32'), dims).dataSync());
    }
    // int32 sums stay exact and refuse overflow (the reference).
    expect(() => T.sum(wasm([2147483647, 1], [2], 'int32'))).toThrow(/does not fit int32/);
  });
});

describe('wasm unary functions, where and cast', () => {
  const UN: [string, (x: T.Tensor) => T.Tensor][] = [
    ['relu', T.relu], ['neg', T.neg], ['abs', T.abs], ['sqrt', T.sqrt], ['exp', T.exp], ['log', T.log], ['tanh', T.tanh], ['sigmoid', T.sigmoid],
  ];
  for (const [name, f] of UN) {
    it(`${name}: the CPU's float32 bit for bit (specials, -0, sizes 0..9)`, () => {
      for (let n = 0; n < 10; n++) {
        const v = withSpecials(values(n, n + 1).map((x) => x * 30));
        expectSame(f(wasm(v, [n])).dataSync(), f(cpu(v, [n])).dataSync());
      }
      const v = [...SPECIALS, -1e-40, 1e-40, -3, 88.7, 89, -104, 20, -20, 0.5];
      expectSame(f(wasm(v, [v.length])).dataSync(), f(cpu(v, [v.length])).dataSync());
    });
  }

  it('relu, neg and abs on int32 wrap as the CPU does', () => {
    const v = [0, 1, -1, 2147483647, -2147483648, 7, -9, 12, 5];
    for (const f of [T.relu, T.neg, T.abs]) expectSame(f(wasm(v, [9], 'int32')).dataSync(), f(cpu(v, [9], 'int32')).dataSync());
  });

  it('where: any nonzero condition (NaN, -0 is zero) of every dtype, scalar branches, broadcasts', () => {
    const c = [1, 0, NaN, -0, 0.5, -2, 0, 1, Infinity];
    const a = values(9, 1);
    const b = values(9, 2);
    for (const cd of ['float32', 'int32', 'bool'] as const) {
      const cv = cd === 'float32' ? c : c.map((x) => (Number.isNaN(x) || x === 0 ? 0 : 1));
      const run = (mk: typeof cpu) => [
        T.where(mk(cv, [9], cd), mk(a, [9]), mk(b, [9])),
        T.where(mk(cv, [9], cd), 0, mk(b, [9])),
        T.where(mk(cv, [9], cd), mk(a, [9]), -1.5),
        T.where(mk(cv.slice(0, 3), [3, 1], cd), mk(a, [3, 3]), mk(b.slice(0, 3), [3])),
        T.where(mk(cv, [9], cd), mk(a.map(Math.round), [9], 'int32'), mk(b.map(Math.round), [9], 'int32')),
      ];
      const [w, k] = [run(wasm), run(cpu)];
      w.forEach((t, i) => expectSame(t.dataSync(), k[i]!.dataSync()));
    }
  });

  it('cast float32 <-> int32: toward zero, saturating, NaN to 0, rounding to nearest even', () => {
    const f = [...SPECIALS, 2.5, -2.5, 2147483520, -2147483904, 0.99, -0.99, 7];
    expectSame(T.cast(wasm(f, [f.length]), 'int32').dataSync(), T.cast(cpu(f, [f.length]), 'int32').dataSync());
    const i = [16777217, -16777217, 2147483647, -2147483648, 1, 0, -3, 33554435];
    expectSame(T.cast(wasm(i, [8], 'int32'), 'float32').dataSync(), T.cast(cpu(i, [8], 'int32'), 'float32').dataSync());
    expectSame(T.clone(wasm(f, [f.length])).dataSync(), T.clone(cpu(f, [f.length])).dataSync());
    expectSame(T.cast(wasm(f, [f.length]), 'bool').dataSync(), T.cast(cpu(f, [f.length]), 'bool').dataSync());
  });
});

describe('wasm fused Adam step', () => {
  for (const n of [1, 3, 8, 13, 0]) {
    for (const decoupled of [false, true]) {
      it(`${n} elements, ${decoupled ? 'AdamW' : 'Adam'}: the WGSL arithmetic in float32, within float32 of the float64 loop`, () => {
        const h = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.1, decoupled, step: 3 };
        const mk = (backend: 'cpu' | 'wasm', dtype: T.DType) => [values(n, 1), values(n, 2), values(n, 3).map(Math.abs), values(n, 4).map((x) => x * x)].map((v) => T.tensor(v, { shape: [n], dtype, backend }));
        const [p, g, m, v] = mk('wasm', 'float32');
        const [p2, g2, m2, v2] = mk('cpu', 'float64');
        for (let s = 0; s < 3; s++) {
          T.adamStep_(p!, g!, m!, v!, { ...h, step: h.step + s });
          T.adamStep_(p2!, g2!, m2!, v2!, { ...h, step: h.step + s });
        }
        expectClose(p!.dataSync(), p2!.dataSync(), 1e-5);
        expectClose(m!.dataSync(), m2!.dataSync(), 1e-5);
        expectClose(v!.dataSync(), v2!.dataSync(), 1e-5);
      });
    }
  }

  it('NaN and inf gradients reach the parameter as in the float64 loop', () => {
    const h = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false, step: 1 };
    const gv = [NaN, Infinity, -Infinity, 0, 1, -0];
    const run = (backend: 'cpu' | 'wasm', dtype: T.DType) => {
      const [p, g, m, v] = [values(6, 1), gv, new Array(6).fill(0), new Array(6).fill(0)].map((x) => T.tensor(x, { shape: [6], dtype, backend }));
      T.adamStep_(p!, g!, m!, v!, h);
      return [p!, m!, v!].map((t) => t.dataSync());
    };
    const [w, c] = [run('wasm', 'float32'), run('cpu', 'float64')];
    w.forEach((part, k) => expectClose(part, c[k]!, 1e-5));
  });
});
