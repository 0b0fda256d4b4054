// Ops that move elements without arithmetic: reshape (a zero-copy view), expand
// (broadcast_to), permute, concat, slice and pad; and their composites (transpose,
// unsqueeze, squeeze, stack, narrow, flatten). Each gradient is another layout op.

import { allocArray } from '../dtype.js';
import { assertShape, broadcastShapes, broadcastStrides, fmtShape, normAxis, shapesEqual, sizeOf, stridesOf } from '../shape.js';
import { defineOp, runOp } from '../op.js';
import { referenceOnWasm, withWasm } from '../backends/wasm/reference.js';
import { wasmConcat, wasmSplit } from '../backends/wasm/gather.js';
import type { AxisAttrs, BoxAttrs, PermuteAttrs, ShapeAttrs, SplitAttrs } from '../attrs.js';
import type { Tensor } from '../tensor.js';
import { concat as cpuConcat, gatherStrided, scatterStrided } from '../backends/cpu/kernels.js';
import { sumTo } from './reduce.js';
import { gpuConcat, gpuPad, gpuPermute, gpuSlice, gpuSplit } from '../backends/webgpu/layout.js';
import { gpuExpand } from '../backends/webgpu/elementwise.js';
import { FLAT_ALIGN, storageView } from '../fused/flat.js';
import { isGradEnabled } from '../grad-mode.js';
import { tidy } from '../memory.js';

/** The `reshape` op's definition (`defineOp`): run it with `runOp`, or find it in `opRegistry`. */
export const reshapeOp = defineOp<ShapeAttrs>({
  name: 'reshape',
  infer: ([x], { shape }) => {
    if (sizeOf(shape) !== x!.size) {
      throw new Error(`reshape: cannot view ${fmtShape(x!.shape)} (${x!.size} elements) as ${fmtShape(shape)} (${sizeOf(shape)} elements)`);
    }
    return { shape, dtype: x!.dtype };
  },
  // Storage is always contiguous, so a reshape is the same storage read with a new shape.
  kernels: referenceOnWasm({ cpu: (_b, [x]) => x!.data, webgpu: (_b, [x]) => x!.data }),
  grad: (dy, { inputs: [x] }) => [reshape(dy, x!.shape)],
});

/** A view with a new shape; one dimension may be -1 (inferred). Zero-copy. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const free = shape.indexOf(-1);
  const resolved = [...shape];
  if (free >= 0) {
    const known = shape.reduce((a, d, i) => (i === free ? a : a * d), 1);
    if (known === 0 || x.size % known !== 0) {
      throw new Error(`reshape: cannot infer -1 in ${fmtShape(shape)} for ${x.size} elements`);
    }
    resolved[free] = x.size / known;
  }
  assertShape('reshape', resolved);
  return runOp(reshapeOp, [x], { shape: resolved });
}

/** The `expand` op's definition (`defineOp`): run it with `runOp`, or find it in `opRegistry`. */
export const expandOp = defineOp<ShapeAttrs>({
  name: 'expand',
  infer: ([x], { shape }) => {
    const b = broadcastShapes('expand', x!.shape, shape);
    if (!shapesEqual(b, shape)) throw new Error(`expand: ${fmtShape(x!.shape)} cannot be expanded to ${fmtShape(shape)}`);
    return { shape, dtype: x!.dtype };
  },
  kernels: referenceOnWasm({
    cpu: (_b, [x], out) => gatherStrided(x!, out, broadcastStrides(x!.shape, out.shape)),
    webgpu: gpuExpand,
  }),
  grad: (dy, { inputs: [x] }) => [sumTo(dy, x!.shape)],
});

/** Broadcasts `x` to `shape` (materialised), like `torch.broadcast_to`. */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  if (shapesEqual(x.shape, shape)) return x;
  return runOp(expandOp, [x], { shape });
}

/** The `permute` op's definition (`defineOp`): run it with `runOp`, or find it in `opRegistry`. */
export const permuteOp = defineOp<PermuteAttrs>({
  name: 'permute',
  infer: ([x], { dims }) => {
    const sorted = [...dims].sort((a, b) => a - b);
    if (dims.length !== x!.shape.length || sorted.some((d, i) => d !== i)) {
      throw new Error(`permute: [${dims.join(',')}] is not a permutation of the ${x!.shape.length} axes of ${fmtShape(x!.shape)}`);
    }
    return { shape: dims.map((d) => x!.shape[d]!), dtype: x!.dtype };
  },
  kernels: referenceOnWasm({
    cpu: (_b, [x], out, { dims }) => {
      const s = stridesOf(x!.shape);
      return gatherStrided(x!, out, dims.map((d) => s[d]!));
    },
    webgpu: gpuPermute,
  }),
  grad: (dy, { attrs: { dims } }) => {
    const inverse = new Array<number>(dims.length);
    dims.forEach((d, i) => (inverse[d] = i));
    return [permute(dy, inverse)];
  },
});

/** Reorders axes (materialised copy), like `torch.permute`. Negative axes allowed. */
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  return runOp(permuteOp, [x], { dims: dims.map((d) => (d < 0 ? d + x.rank : d)) });
}

/** Swaps two axes (default: the last two). */
export function transpose(x: Tensor, dim0 = -2, dim1 = -1): Tensor {
  const a = normAxis('transpose', dim0, x.rank);
  const b = normAxis('transpose', dim1, x.rank);
  const dims = Array.from({ length: x.rank }, (_, i) => i);
  dims[a] = b;
  dims[b] = a;
  return permute(x, dims);
}

/** concat's inverse for its gradient: each piece of x laid out contiguously at its offset of one flat block. */
export const splitOp = defineOp<SplitAttrs>({
  name: 'split',
  infer: ([x], { total }) => ({ shape: [total], dtype: x!.dtype }),
  kernels: withWasm(referenceOnWasm({
    cpu: (_b, [x], out, { blocks, offsets, outer }) => {
      const o = allocArray(out.dtype, out.size);
      const row = blocks.reduce((a, b) => a + b, 0);
      for (let r = 0; r < outer; r++) {
        let at = 0;
        blocks.forEach((b, p) => {
          o.set(x!.data.subarray(r * row + at, r * row + at + b), offsets[p]! + r * b);
          at += b;
        });
      }
      return o;
    },
    webgpu: gpuSplit,
  }), () => wasmSplit),
  grad: 'notImplemented',
});

/** The `concat` op's definition (`defineOp`): run it with `runOp`, or find it in `opRegistry`. */
export const concatOp = defineOp<AxisAttrs>({
  name: 'concat',
  infer: (inputs, { axis }) => {
    const first = inputs[0]!;
    let len = 0;
    for (const t of inputs) {
      const ok = t.shape.length === first.shape.length && t.shape.every((d, i) => i === axis || d === first.shape[i]);
      if (!ok || t.dtype !== first.dtype) {
        throw new Error(
          `concat: along axis ${axis}, ${inputs.map((i) => `${fmtShape(i.shape)} ${i.dtype}`).join(', ')} ` +
            'must share dtype, rank and every other dimension',
        );
      }
      len += t.shape[axis]!;
    }
    return { shape: first.shape.map((d, i) => (i === axis ? len : d)), dtype: first.dtype };
  },
  kernels: withWasm(referenceOnWasm({ cpu: (_b, inputs, out, { axis }) => cpuConcat(inputs, out, axis), webgpu: gpuConcat }), () => wasmConcat),
  grad: (dy, { inputs, attrs: { axis } }) => {
    if (isGradEnabled()) {
      // Recording a double backward: slices of dy (differentiable) instead of views.
      let at = 0;
      return inputs.map((t) => {
        const g = t.requiresGrad ? narrow(dy, axis, at, t.shape[axis]!) : null;
        at += t.shape[axis]!;
        return g;
      });
    }
    const inner = sizeOf(dy.shape.slice(axis + 1));
    // Pieces joined along the leading non-trivial axis are contiguous blocks of dy: their
    // gradients are zero-copy views of it.
    if (dy.shape.slice(0, axis).every((d) => d === 1)) {
      let at = 0;
      return inputs.map((t) => {
        const g = t.requiresGrad ? storageView(dy, at * inner, t.shape) : null;
        at += t.shape[axis]!;
        return g;
      });
    }
    // Otherwise one kernel lays every piece of dy out contiguously in one block: views again.
    const blocks = inputs.map((t) => t.shape[axis]! * inner);
    const offsets: number[] = [];
    let total = 0;
    for (const t of inputs) {
      offsets.push(total);
      total += Math.ceil(t.size / FLAT_ALIGN) * FLAT_ALIGN;
    }
    const outer = sizeOf(dy.shape.slice(0, axis));
    const flat = runOp(splitOp, [dy], { blocks, offsets, outer, total });
    const grads = inputs.map((t, p) => (t.requiresGrad ? storageView(flat, offsets[p]!, t.shape) : null));
    flat.dispose(); // the views keep it
    return grads;
  },
});

/** Joins tensors along an existing axis, like `torch.cat`. */
export function concat(tensors: readonly Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new Error('concat: needs at least one tensor');
  const a = normAxis('concat', axis, tensors[0]!.rank);
  if (tensors.length === 1) return tensors[0]!;
  return runOp(concatOp, tensors, { axis: a });
}

/** Joins tensors along a new axis, like `torch.stack`. */
export function stack(tensors: readonly Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new Error('stack: needs at least one tensor');
  const first = tensors[0]!;
  for (const t of tensors) {
    if (!shapesEqual(t.shape, first.shape)) {
      throw new Error(`stack: every tensor must have the same shape, got ${tensors.map((x) => fmtShape(x.shape)).join(', ')}`);
    }
  }
  const a = normAxis('stack', axis, first.rank + 1);
  return tidy(() => concat(tensors.map((t) => unsqueeze(t, a)), a));
}

/** The last index a box of `size` taken every `step` from `start` touches (start - 1 when empty). */
const lastIndex = (start: number, size: number, step: number): number => start + (size - 1) * step;

/** The `slice` op's definition (`defineOp`): run it with `runOp`, or find it in `opRegistry`. */
export const sliceOp = defineOp<BoxAttrs>({
  name: 'slice',
  infer: ([x], { starts, shape, steps }) => {
    const ok =
      shape.length === x!.shape.length &&
      shape.every((d, i) => starts[i]! >= 0 && (steps?.[i] ?? 1) >= 1 && (d === 0 || lastIndex(starts[i]!, d, steps?.[i] ?? 1) < x!.shape[i]!));
    if (!ok) {
      throw new Error(`slice: box at [${starts.join(',')}] of size ${fmtShape(shape)} does not fit in ${fmtShape(x!.shape)}`);
    }
    return { shape, dtype: x!.dtype };
  },
  kernels: referenceOnWasm({
    cpu: (_b, [x], out, { starts, steps }) => {
      const s = stridesOf(x!.shape);
      const offset = starts.reduce((acc, v, i) => acc + v * s[i]!, 0);
      return gatherStrided(x!, out, s.map((v, i) => v * (steps?.[i] ?? 1)), offset);
    },
    webgpu: gpuSlice,
  }),
  grad: (dy, { inputs: [x], attrs: { starts, steps } }) => [pad(dy, x!.shape, starts, steps)],
});

/** The `pad` op's definition (`defineOp`): run it with `runOp`, or find it in `opRegistry`. */
export const padOp = defineOp<BoxAttrs>({
  name: 'pad',
  infer: ([x], { starts, shape, steps }) => {
    const ok =
      shape.length === x!.shape.length &&
      x!.shape.every((d, i) => starts[i]! >= 0 && (steps?.[i] ?? 1) >= 1 && (d === 0 || lastIndex(starts[i]!, d, steps?.[i] ?? 1) < shape[i]!));
    if (!ok) throw new Error(`pad: ${fmtShape(x!.shape)} placed at [${starts.join(',')}] does not fit in ${fmtShape(shape)}`);
    return { shape, dtype: x!.dtype };
  },
  kernels: referenceOnWasm({
    cpu: (_b, [x], out, { starts, steps }) => (out.size === 0 ? allocArray(out.dtype, 0) : scatterStrided(x!, out, starts, steps)),
    webgpu: gpuPad,
  }),
  grad: (dy, { inputs: [x], attrs: { starts, steps } }) => [slice(dy, starts, x!.shape, steps)],
});

/** The box of `x` starting at `starts` with size `shape`, taking every `steps[i]`-th element (a copy). */
export function slice(x: Tensor, starts: readonly number[], shape: readonly number[], steps?: readonly number[]): Tensor {
  return runOp(sliceOp, [x], steps && steps.some((v) => v !== 1) ? { starts, shape, steps } : { starts, shape });
}

/** Zero tensor of `shape` with `x` written at `starts`, every `steps[i]` apart (the inverse of slice). */
export function pad(x: Tensor, shape: readonly number[], starts: readonly number[], steps?: readonly number[]): Tensor {
  return runOp(padOp, [x], steps && steps.some((v) => v !== 1) ? { starts, shape, steps } : { starts, shape });
}

/**
 * `x[start:end:step]` along `dim`, with Python's rules: negative start and end count from
 * the end, both are clamped to the axis, `end` defaults to its length; `step` >= 1.
 *
 * @example
 * sliceRange(x, 1, -3);          // the last three columns
 * sliceRange(x, 0, 0, null, 2);  // every other row
 */
export function sliceRange(x: Tensor, dim: number, start = 0, end: number | null = null, step = 1): Tensor {
  const a = normAxis('sliceRange', dim, x.rank);
  if (!Number.isInteger(step) || step < 1) throw new Error(`sliceRange: step must be a positive integer, got ${step}`);
  const n = x.shape[a]!;
  const clampIndex = (v: number): number => Math.min(n, Math.max(0, v < 0 ? v + n : v));
  const s = clampIndex(start);
  const e = end === null ? n : clampIndex(end);
  const length = Math.max(0, Math.ceil((e - s) / step));
  return slice(
    x,
    x.shape.map((_, i) => (i === a ? (length === 0 ? 0 : s) : 0)),
    x.shape.map((d, i) => (i === a ? length : d)),
    x.shape.map((_, i) => (i === a ? step : 1)),
  );
}

/**
 * The entry `index` of axis `dim`, removing that axis, like `torch.select` (`x[:, i]` for
 * dim 1); a negative index counts from the end.
 */
export function select(x: Tensor, dim: number, index: number): Tensor {
  const a = normAxis('select', dim, x.rank);
  const n = x.shape[a]!;
  const i = index < 0 ? index + n : index;
  if (!Number.isInteger(index) || i < 0 || i >= n) throw new Error(`select: index ${index} is out of range for axis ${dim} of size ${n} in ${fmtShape(x.shape)}`);
  return tidy(() => squeeze(narrow(x, a, i, 1), a));
}

/**
 * Splits `x` along `dim` into pieces of `size` entries (the last may be shorter), or of the
 * listed sizes, like `torch.split`. Each piece is a copy that takes part in autograd.
 *
 * @example
 * const [a, b] = split(x, [2, 3], 1);
 */
export function split(x: Tensor, size: number | readonly number[], dim = 0): Tensor[] {
  const a = normAxis('split', dim, x.rank);
  const n = x.shape[a]!;
  let sizes: number[];
  if (typeof size === 'number') {
    if (!Number.isInteger(size) || size < 1) throw new Error(`split: the piece size must be a positive integer, got ${size}`);
    sizes = Array.from({ length: Math.max(1, Math.ceil(n / size)) }, (_, k) => Math.min(size, n - k * size));
  } else {
    if (size.reduce((s, v) => s + v, 0) !== n || size.some((v) => !Number.isInteger(v) || v < 0)) {
      throw new Error(`split: sizes [${size.join(', ')}] must be non-negative integers adding up to ${n}, the size of axis ${dim} of ${fmtShape(x.shape)}`);
    }
    sizes = [...size];
  }
  let at = 0;
  return sizes.map((len) => {
    const piece = narrow(x, a, at, len);
    at += len;
    return piece;
  });
}

/** Splits `x` along `dim` into `chunks` pieces of equal size (the last smaller), like `torch.chunk`. */
export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  const a = normAxis('chunk', dim, x.rank);
  if (!Number.isInteger(chunks) || chunks < 1) throw new Error(`chunk: chunks must be a positive integer, got ${chunks}`);
  return split(x, Math.max(1, Math.ceil(x.shape[a]! / chunks)), a);
}

/** `length` entries of axis `dim` from `start`, like `torch.narrow`. */
export function narrow(x: Tensor, dim: number, start: number, length: number): Tensor {
  const a = normAxis('narrow', dim, x.rank);
  const s0 = start < 0 ? start + x.shape[a]! : start;
  if (s0 < 0 || length < 0 || s0 + length > x.shape[a]!) {
    throw new Error(`narrow: start ${start} and length ${length} exceed axis ${dim} of size ${x.shape[a]} in ${fmtShape(x.shape)}`);
  }
  const starts = x.shape.map((_, i) => (i === a ? s0 : 0));
  const shape = x.shape.map((d, i) => (i === a ? length : d));
  return slice(x, starts, shape);
}

/** Inserts a size-1 axis at `dim`. Zero-copy. */
export function unsqueeze(x: Tensor, dim: number): Tensor {
  const a = normAxis('unsqueeze', dim, x.rank + 1);
  const shape = [...x.shape];
  shape.splice(a, 0, 1);
  return reshape(x, shape);
}

/** Removes size-1 axes (all of them, or the given ones), like `torch.squeeze`. Zero-copy. */
export function squeeze(x: Tensor, dim?: number | readonly number[]): Tensor {
  if (dim === undefined) return reshape(x, x.shape.filter((d) => d !== 1));
  const dims = (typeof dim === 'number' ? [dim] : dim).map((d) => normAxis('squeeze', d, x.rank));
  // Like PyTorch, naming an axis that is not of size 1 leaves it in place.
  return reshape(x, x.shape.filter((d, i) => !(dims.includes(i) && d === 1)));
}

/** Flattens axes start..end (inclusive) into one. */
export function flatten(x: Tensor, start = 0, end = -1): Tensor {
  if (x.rank === 0) return reshape(x, [1]);
  const s = normAxis('flatten', start, x.rank);
  const e = normAxis('flatten', end, x.rank);
  const shape = [...x.shape.slice(0, s), sizeOf(x.shape.slice(s, e + 1)), ...x.shape.slice(e + 1)];
  return reshape(x, shape);
}
