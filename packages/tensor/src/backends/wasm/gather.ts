// The wasm backend's gathers, scatter-adds and block copies (packages/tensor/wasm/gather.ts):
// gather and scatterAdd (embedding rows and their gradient), gatherConcat and its gradient,
// concat and split. Each takes the op's reference kernel: an id out of range runs it, so the
// error raised at the call is the CPU reference's own; dtypes the kernels do not handle run it too.

import type { Kernel, KernelInput } from '../../backend.js';
import type { AxisAttrs, GatherConcatAttrs, GatherConcatGradAttrs, ScatterAddAttrs, SplitAttrs } from '../../attrs.js';
import { wasmElementBytes, type WasmBuffer } from './backend.js';

type In = KernelInput<WasmBuffer>;

/** gather: out row i is table row ids[i] (any dtype: rows are copied as bytes). */
export function wasmGather(reference: Kernel<'wasm', null>): Kernel<'wasm', null> {
  return (backend, inputs, out, attrs) => {
    const [table, idx] = inputs as [In, In];
    const rows = table.shape[0]!;
    const rowBytes = (table.size / Math.max(rows, 1)) * wasmElementBytes(table.dtype);
    const o = backend.alloc(out.size, out.dtype);
    if (backend.kernels.gatherRows(table.data.ptr, rows, rowBytes, idx.data.ptr, o.ptr, rowBytes, 0, idx.size) >= 0) {
      backend.free(o);
      return reference(backend, inputs, out, attrs); // raises the reference's error
    }
    return o;
  };
}

/** scatterAdd (float32, int32): out[ids[i]] += src[i], in index order. */
export function wasmScatterAdd(reference: Kernel<'wasm', ScatterAddAttrs>): Kernel<'wasm', ScatterAddAttrs> {
  return (backend, inputs, out, attrs) => {
    const [src, idx] = inputs as [In, In];
    if (out.dtype !== 'float32' && out.dtype !== 'int32') return reference(backend, inputs, out, attrs);
    const rows = out.shape[0]!;
    const cols = out.size / Math.max(rows, 1);
    const o = backend.alloc(out.size, out.dtype);
    const k = backend.kernels;
    if (k.scatterAddRows(src.data.ptr, cols, 0, idx.data.ptr, idx.size, o.ptr, rows, cols, out.dtype === 'int32' ? 1 : 0, 1, 0, cols) >= 0) {
      backend.free(o);
      return reference(backend, inputs, out, attrs);
    }
    return o;
  };
}

/** gatherConcat: each field's rows copied into its columns of the [B, sum D_f] output. */
export function wasmGatherConcat(reference: Kernel<'wasm', GatherConcatAttrs>): Kernel<'wasm', GatherConcatAttrs> {
  return (backend, inputs, out, attrs) => {
    const { fields } = attrs;
    const [batch, width] = out.shape as [number, number];
    const e = wasmElementBytes(out.dtype);
    const o = backend.alloc(out.size, out.dtype);
    let col = 0;
    for (let f = 0; f < fields; f++) {
      const t = inputs[f]!;
      const [rows, dim] = t.shape as [number, number];
      const bad = backend.kernels.gatherRows(t.data.ptr, rows, dim * e, inputs[fields + f]!.data.ptr, o.ptr + col * e, width * e, 0, batch);
      if (bad >= 0) {
        backend.free(o);
        return reference(backend, inputs, out, attrs);
      }
      col += dim;
    }
    return o;
  };
}

/** gatherConcat's gradient (float32): every field's columns of dy scatter-added into its table's slot. */
export function wasmGatherConcatGrad(reference: Kernel<'wasm', GatherConcatGradAttrs>): Kernel<'wasm', GatherConcatGradAttrs> {
  return (backend, inputs, out, attrs) => {
    const [dy, ...ids] = inputs as [In, ...In[]];
    if (out.dtype !== 'float32') return reference(backend, inputs, out, attrs);
    const [batch, width] = dy.shape as [number, number];
    const o = backend.alloc(out.size, out.dtype);
    // Zero once (slots and the padding between them): a table shared by fields gets both.
    new Float32Array(backend.wasmMemory.buffer, o.ptr, out.size).fill(0);
    let col = 0;
    for (let f = 0; f < attrs.fields.length; f++) {
      const { rows, dim, base } = attrs.fields[f]!;
      const bad = backend.kernels.scatterAddRows(dy.data.ptr, width, col, ids[f]!.data.ptr, batch, o.ptr + 4 * base, rows, dim, 0, 0, 0, dim);
      if (bad >= 0) {
        backend.free(o);
        return reference(backend, inputs, out, attrs);
      }
      col += dim;
    }
    return o;
  };
}

/** concat along `axis`: each input is a block per outer index (any dtype). */
export const wasmConcat: Kernel<'wasm', AxisAttrs> = (backend, inputs, out, { axis }) => {
  const e = wasmElementBytes(out.dtype);
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < axis; i++) outer *= out.shape[i]!;
  for (let i = axis + 1; i < out.shape.length; i++) inner *= out.shape[i]!;
  const row = out.shape[axis]! * inner;
  const o = backend.alloc(out.size, out.dtype);
  let at = 0;
  for (const t of inputs) {
    const len = t.shape[axis]! * inner;
    if (len > 0) backend.kernels.copyBlocks(t.data.ptr, len * e, o.ptr + at * e, row * e, len * e, 0, outer);
    at += len;
  }
  return o;
};

/** split: each piece of x laid out contiguously at its offset of a flat block, zero between (any dtype). */
export const wasmSplit: Kernel<'wasm', SplitAttrs> = (backend, [x], out, { blocks, offsets, outer, total }) => {
  const e = wasmElementBytes(out.dtype);
  const row = blocks.reduce((a, b) => a + b, 0);
  const o = backend.alloc(out.size, out.dtype);
  const bytes = new Uint8Array(backend.wasmMemory.buffer);
  let at = 0;
  blocks.forEach((b, p) => {
    const start = offsets[p]!;
    if (b > 0) backend.kernels.copyBlocks(x!.data.ptr + at * e, row * e, o.ptr + start * e, b * e, b * e, 0, outer);
    // The padding up to the next piece (the reference's output is zero there).
    const end = p + 1 < offsets.length ? offsets[p + 1]! : total;
    bytes.fill(0, o.ptr + (start + outer * b) * e, o.ptr + end * e);
    at += b;
  });
  bytes.fill(0, o.ptr, o.ptr + (offsets[0] ?? total) * e);
  return o;
};
