// WGSL kernels that move elements: a strided gather serves expand, permute and slice
// (out[i] = X[offset + sum(coord_d * stride_d)]); pad reads inside its box and writes zeros
// elsewhere, so every output element is written exactly once (no atomics, no clearing pass);
// concat copies each input into its block; cast converts f32 <-> i32. (expand is an
// elementwise identity: see elementwise.ts.)

import type { Kernel, TensorMeta } from '../../backend.js';
import { stridesOf } from '../../shape.js';
import type { BoxAttrs } from '../../ops/layout.js';
import type { DType } from '../../dtype.js';
import type { GpuBuffer } from './runtime.js';
import { kernelPreamble, wgslType, type WebGpuBackend, memoWgsl } from './backend.js';
import { MAX_RANK, Params } from './params.js';

const WG = 256;

const MAIN = (body: string): string => `
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = linear_workgroup_id(wid, nwg) * ${WG}u + lid;
  if (i >= pu(0u)) { return; }
${body}
}`;

const io = (inType: string, outType: string): string => `
@group(0) @binding(0) var<storage, read> X: array<${inType}>;
@group(0) @binding(1) var<storage, read_write> Y: array<${outType}>;`;

// params: n, rank, offset, out shape [MAX_RANK], input strides [MAX_RANK]
const STRIDED_CODE = memoWgsl((t: string): string => `${kernelPreamble(2)}${io(t, t)}
${MAIN(`  var rem = i;
  var src = pu(2u);
  let rank = pu(1u);
  for (var d = 0u; d < rank; d++) {
    let dim = rank - 1u - d;
    let size = pu(3u + dim);
    src += (rem % size) * pu(${3 + MAX_RANK}u + dim);
    rem = rem / size;
  }
  Y[i] = X[src];`)}`);

function stridedGather(backend: WebGpuBackend, label: string, x: GpuBuffer, out: TensorMeta, strides: readonly number[], offset: number): GpuBuffer {
  const y = backend.output(out);
  if (out.size === 0) return y;
  const p = new Params(label).u32(out.size, out.shape.length, offset).u32Padded(out.shape, MAX_RANK).u32Padded(strides, MAX_RANK);
  backend.run(label, STRIDED_CODE(wgslType(out.dtype)), [x, y], p, Math.ceil(out.size / WG));
  return y;
}

export const gpuPermute: Kernel<'webgpu', { dims: readonly number[] }> = (backend, [x], out, { dims }) => {
  const s = stridesOf(x!.shape);
  return stridedGather(backend, 'permute', x!.data, out, dims.map((d) => s[d]!), 0);
};

export const gpuSlice: Kernel<'webgpu', BoxAttrs> = (backend, [x], out, { starts }) => {
  const s = stridesOf(x!.shape);
  return stridedGather(backend, 'slice', x!.data, out, s, starts.reduce((acc, v, i) => acc + v * s[i]!, 0));
};

// params: n, rank, out shape, starts, input shape, input strides
const PAD_CODE = memoWgsl((t: string): string => `${kernelPreamble(2)}${io(t, t)}
${MAIN(`  var rem = i;
  var src = 0u;
  var inside = true;
  let rank = pu(1u);
  for (var d = 0u; d < rank; d++) {
    let dim = rank - 1u - d;
    let c = rem % pu(2u + dim);
    rem = rem / pu(2u + dim);
    let start = pu(${2 + MAX_RANK}u + dim);
    // c - start wraps around below start, so one unsigned compare tests both bounds.
    let local = c - start;
    inside = inside && (c >= start) && (local < pu(${2 + 2 * MAX_RANK}u + dim));
    src += local * pu(${2 + 3 * MAX_RANK}u + dim);
  }
  Y[i] = select(${t}(0), X[select(0u, src, inside)], inside);`)}`);

export const gpuPad: Kernel<'webgpu', BoxAttrs> = (backend, [x], out, { starts }) => {
  const y = backend.output(out);
  if (out.size === 0) return y;
  const p = new Params('pad')
    .u32(out.size, out.shape.length)
    .u32Padded(out.shape, MAX_RANK)
    .u32Padded(starts, MAX_RANK)
    .u32Padded(x!.shape, MAX_RANK)
    .u32Padded(stridesOf(x!.shape), MAX_RANK);
  backend.run('pad', PAD_CODE(wgslType(out.dtype)), [x!.data, y], p, Math.ceil(out.size / WG));
  return y;
};

// params: n (input elements), block (input elements per outer row), outRow, at
const CONCAT_CODE = memoWgsl((t: string): string => `${kernelPreamble(2)}${io(t, t)}
${MAIN(`  let block = pu(1u);
  Y[(i / block) * pu(2u) + pu(3u) + i % block] = X[i];`)}`);

export const gpuConcat: Kernel<'webgpu', { axis: number }> = (backend, inputs, out, { axis }) => {
  const y = backend.output(out);
  let inner = 1;
  for (let i = axis + 1; i < out.shape.length; i++) inner *= out.shape[i]!;
  const outRow = out.shape[axis]! * inner;
  // Along the leading non-trivial axis each piece is one contiguous block: a buffer copy.
  const contiguous = out.shape.slice(0, axis).every((d) => d === 1);
  let at = 0;
  for (const t of inputs) {
    const block = t.shape[axis]! * inner;
    if (t.size > 0 && contiguous) backend.runtime.copy(t.data, y, t.size * 4, 0, at * 4);
    else if (t.size > 0) {
      const p = new Params('concat').u32(t.size, block, outRow, at);
      backend.run('concat', CONCAT_CODE(wgslType(out.dtype)), [t.data, y], p, Math.ceil(t.size / WG));
    }
    at += block;
  }
  return y;
};

const CAST_CODE = memoWgsl((from: DType, to: DType): string => `${kernelPreamble(2)}${io(wgslType(from), wgslType(to))}
${MAIN(`  Y[i] = ${wgslType(to)}(X[i]);`)}`);

/** Conversion (f32 -> i32 truncates toward zero, like PyTorch), or a plain copy for the same dtype. */
export const gpuCast: Kernel<'webgpu', { dtype: DType }> = (backend, [x], out) => {
  const y = backend.output(out);
  if (out.size === 0) return y;
  if (x!.dtype === out.dtype) {
    backend.runtime.copy(x!.data, y, out.size * 4);
    return y;
  }
  backend.run('cast', CAST_CODE(x!.dtype, out.dtype), [x!.data, y], new Params('cast').u32(out.size), Math.ceil(out.size / WG));
  return y;
};
