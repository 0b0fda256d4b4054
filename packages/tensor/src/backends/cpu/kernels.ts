// CPU kernels: plain loops over typed arrays. Each is generic over the op it serves (the
// elementwise function comes from the op table), so one loop serves many ops.

import { allocArray, type TypedArray } from '../../dtype.js';
import { broadcastStrides, stridesOf, type Shape } from '../../shape.js';
import type { KernelInput, TensorMeta } from '../../backend.js';
import { aroundAxis, walk } from './indexing.js';

type In = KernelInput<TypedArray>;

function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** out[i] = f(x[i], a, b) */
export function mapUnary(x: In, out: TensorMeta, f: (v: number, a: number, b: number) => number, a: number, b: number): TypedArray {
  const o = allocArray(out.dtype, out.size);
  const d = x.data;
  for (let i = 0; i < o.length; i++) o[i] = f(d[i]!, a, b);
  return o;
}

/** out = f(inputs...) with NumPy broadcasting of every input to `out.shape`. */
export function mapBroadcast(inputs: readonly In[], out: TensorMeta, f: (...v: number[]) => number): TypedArray {
  const o = allocArray(out.dtype, out.size);
  if (inputs.length === 2) {
    // Binary ops are most of a training step: loops without spread calls or index walking.
    const [a, b] = [inputs[0]!, inputs[1]!];
    const A = a.data;
    const B = b.data;
    const fab = f as (x: number, y: number) => number;
    if (sameShape(a.shape, out.shape) && sameShape(b.shape, out.shape)) {
      for (let i = 0; i < o.length; i++) o[i] = fab(A[i]!, B[i]!);
      return o;
    }
    if (sameShape(a.shape, out.shape) && b.size === 1) {
      const bv = B[0]!;
      for (let i = 0; i < o.length; i++) o[i] = fab(A[i]!, bv);
      return o;
    }
    if (sameShape(b.shape, out.shape) && a.size === 1) {
      const av = A[0]!;
      for (let i = 0; i < o.length; i++) o[i] = fab(av, B[i]!);
      return o;
    }
  }
  const datas = inputs.map((t) => t.data);
  const strides = inputs.map((t) => broadcastStrides(t.shape, out.shape));
  const args = new Array<number>(datas.length);
  walk(out.shape, strides, (i, offs) => {
    for (let k = 0; k < datas.length; k++) args[k] = datas[k]![offs[k]!]!;
    o[i] = f(...args);
  });
  return o;
}

/**
 * Batched matmul on [B,M,K] x [B,K,N] (either operand stored transposed), float64
 * accumulation. Each layout gets a loop order whose inner loop walks memory contiguously.
 */
export function bmm(a: In, b: In, out: TensorMeta, transA: boolean, transB: boolean): TypedArray {
  const [B, M, N] = out.shape as [number, number, number];
  const K = transA ? a.shape[1]! : a.shape[2]!;
  const o = allocArray(out.dtype, out.size);
  const A = a.data;
  const Bd = b.data;
  const acc = new Float64Array(M * N);
  const row = new Float64Array(N);
  for (let z = 0; z < B; z++) {
    const aBase = z * M * K;
    const bBase = z * K * N;
    acc.fill(0);
    if (!transA && !transB) {
      // C[m,:] += A[m,k] * B[k,:], accumulated in a row buffer that stays in cache
      for (let m = 0; m < M; m++) {
        row.fill(0);
        for (let k = 0; k < K; k++) {
          // No skipping of zero entries: 0 * inf and 0 * NaN must give NaN, as IEEE, the GPU and PyTorch do.
          const av = A[aBase + m * K + k]!;
          const bRow = bBase + k * N;
          for (let n = 0; n < N; n++) row[n] += av * Bd[bRow + n]!;
        }
        acc.set(row, m * N);
      }
    } else if (!transA && transB) {
      // C[m,n] = A[m,:] . B[n,:] (both rows contiguous)
      for (let m = 0; m < M; m++) {
        const aRow = aBase + m * K;
        for (let n = 0; n < N; n++) {
          const bRow = bBase + n * K;
          let s = 0;
          for (let k = 0; k < K; k++) s += A[aRow + k]! * Bd[bRow + k]!;
          acc[m * N + n] = s;
        }
      }
    } else if (transA && !transB) {
      // C[m,:] += A[k,m] * B[k,:]
      for (let k = 0; k < K; k++) {
        const aRow = aBase + k * M;
        const bRow = bBase + k * N;
        for (let m = 0; m < M; m++) {
          const av = A[aRow + m]!;
          if (av === 0) continue;
          const cRow = m * N;
          for (let n = 0; n < N; n++) acc[cRow + n] += av * Bd[bRow + n]!;
        }
      }
    } else {
      // C[m,n] = sum_k A[k,m] B[n,k]
      for (let m = 0; m < M; m++) {
        for (let n = 0; n < N; n++) {
          let s = 0;
          for (let k = 0; k < K; k++) s += A[aBase + k * M + m]! * Bd[bBase + n * K + k]!;
          acc[m * N + n] = s;
        }
      }
    }
    o.set(acc, z * M * N);
  }
  return o;
}

/** Reduction over `axes` (sorted) with `init` and `step`; output has the reduced dims removed or kept as 1. */
export function reduce(x: In, out: TensorMeta, axes: readonly number[], init: number, step: (acc: number, v: number) => number): TypedArray {
  const o = allocArray(out.dtype, out.size);
  const acc = new Float64Array(out.size).fill(init);
  // Output strides seen from the input's dimensions: 0 on reduced axes.
  const keptShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const outStrides = stridesOf(keptShape).map((s, i) => (axes.includes(i) ? 0 : s));
  const d = x.data;
  walk(x.shape, [outStrides], (i, offs) => {
    const j = offs[0]!;
    acc[j] = step(acc[j]!, d[i]!);
  });
  o.set(acc);
  return o;
}

/** The error for an int32 sum that does not fit int32 (both backends raise it). */
export function int32SumOverflow(value: number, index?: number): string {
  const at = index === undefined ? '' : ` (output element ${index})`;
  return `the int32 sum ${value}${at} does not fit int32 (PyTorch would return int64); cast to a float dtype first`;
}

/** sum of int32: exact (accumulated in doubles), refused naming the op if a result does not fit int32. */
export function sumInt32(x: In, out: TensorMeta, axes: readonly number[]): TypedArray {
  const acc = reduce(x, { ...out, dtype: 'float64' }, axes, 0, (a, v) => a + v);
  for (let i = 0; i < acc.length; i++) {
    const v = acc[i]!;
    if (v > 2147483647 || v < -2147483648) throw new Error(`sum: ${int32SumOverflow(v, i)}`);
  }
  return Int32Array.from(acc);
}

/** Softmax or log-softmax along `axis`, subtracting the max first for stability. */
export function softmax(x: In, out: TensorMeta, axis: number, log: boolean): TypedArray {
  const o = allocArray(out.dtype, out.size);
  const { outer, n, inner } = aroundAxis(x.shape, axis);
  const d = x.data;
  for (let p = 0; p < outer; p++) {
    for (let q = 0; q < inner; q++) {
      const base = p * n * inner + q;
      let max = -Infinity;
      for (let i = 0; i < n; i++) max = Math.max(max, d[base + i * inner]!);
      if (max === -Infinity) max = 0; // an all -inf row: keep exp finite, result is NaN like PyTorch
      let sum = 0;
      for (let i = 0; i < n; i++) sum += Math.exp(d[base + i * inner]! - max);
      const logSum = Math.log(sum);
      for (let i = 0; i < n; i++) {
        const z = d[base + i * inner]! - max;
        o[base + i * inner] = log ? z - logSum : Math.exp(z) / sum;
      }
    }
  }
  return o;
}

/** Copies `x` into a new layout: out[idx] = x[sum(idx[d] * inStrides[d])]. */
export function gatherStrided(x: In, out: TensorMeta, inStrides: readonly number[], offset = 0): TypedArray {
  const o = allocArray(out.dtype, out.size);
  const d = x.data;
  walk(out.shape, [inStrides], (i, offs) => {
    o[i] = d[offset + offs[0]!]!;
  });
  return o;
}

/** Writes `x` into a zero tensor of `out.shape` at per-axis `starts`, every `steps` (pad's kernel, slice's inverse). */
export function scatterStrided(x: In, out: TensorMeta, starts: readonly number[], steps?: readonly number[]): TypedArray {
  const o = allocArray(out.dtype, out.size);
  const oStrides = stridesOf(out.shape);
  const offset = starts.reduce((acc, s, i) => acc + s * oStrides[i]!, 0);
  const d = x.data;
  walk(x.shape, [oStrides.map((s, i) => s * (steps?.[i] ?? 1))], (i, offs) => {
    o[offset + offs[0]!] = d[i]!;
  });
  return o;
}

/** Concatenation along `axis`: each input is copied as (outer, its length * inner) blocks. */
export function concat(inputs: readonly In[], out: TensorMeta, axis: number): TypedArray {
  const o = allocArray(out.dtype, out.size);
  const { outer, n, inner } = aroundAxis(out.shape, axis);
  let at = 0;
  for (const t of inputs) {
    const len = t.shape[axis]! * inner;
    for (let p = 0; p < outer; p++) o.set(t.data.subarray(p * len, (p + 1) * len), p * n * inner + at);
    at += len;
  }
  return o;
}

/** Rows of `table` selected by `idx`: out[i, :] = table[idx[i], :]. */
export function gatherRows(op: string, table: In, idx: In, out: TensorMeta): TypedArray {
  const rows = table.shape[0]!;
  const rowSize = table.size / Math.max(rows, 1);
  const o = allocArray(out.dtype, out.size);
  const ids = idx.data;
  for (let i = 0; i < ids.length; i++) {
    const r = ids[i]!;
    if (r < 0 || r >= rows) {
      throw new Error(`${op}: index ${r} at position ${i} is out of range for ${rows} rows (valid: 0..${rows - 1})`);
    }
    o.set(table.data.subarray(r * rowSize, (r + 1) * rowSize), i * rowSize);
  }
  return o;
}

/** Sums rows of `src` into `rows` output rows: out[idx[i], :] += src[i, :]. Duplicates accumulate. */
export function scatterAddRows(op: string, src: In, idx: In, out: TensorMeta): TypedArray {
  const rows = out.shape[0]!;
  const rowSize = out.size / Math.max(rows, 1);
  const o = allocArray(out.dtype, out.size);
  const ids = idx.data;
  const s = src.data;
  for (let i = 0; i < ids.length; i++) {
    const r = ids[i]!;
    if (r < 0 || r >= rows) throw new Error(`${op}: index ${r} at position ${i} is out of range for ${rows} rows`);
    for (let c = 0; c < rowSize; c++) o[r * rowSize + c] += s[i * rowSize + c]!;
  }
  return o;
}

/** dx of softmax (y * (dy - sum(dy * y))) or logSoftmax (dy - exp(y) * sum(dy)) along `axis`. */
export function softmaxBackward(y: In, dy: In, out: TensorMeta, axis: number, log: boolean): TypedArray {
  const o = allocArray(out.dtype, out.size);
  const { outer, n, inner } = aroundAxis(y.shape, axis);
  const Y = y.data;
  const D = dy.data;
  for (let p = 0; p < outer; p++) {
    for (let q = 0; q < inner; q++) {
      const base = p * n * inner + q;
      let s = 0;
      for (let i = 0; i < n; i++) s += log ? D[base + i * inner]! : D[base + i * inner]! * Y[base + i * inner]!;
      for (let i = 0; i < n; i++) {
        const k = base + i * inner;
        o[k] = log ? D[k]! - Math.exp(Y[k]!) * s : Y[k]! * (D[k]! - s);
      }
    }
  }
  return o;
}
