// WGSL kernels that move elements: a strided gather serves expand, permute and slice
// (out[i] = X[offset + sum(coord_d * stride_d)]); pad reads inside its box and writes zeros
// elsewhere, so every output element is written exactly once (no atomics, no clearing pass);
// concat copies each input into its block; cast converts f32 <-> i32. (expand is an
// elementwise identity: see elementwise.ts.)

import type { Kernel, TensorMeta } from '../../backend.js';
import { stridesOf } from '../../shape.js';
import type { AxisAttrs, BoxAttrs, CastAttrs, PermuteAttrs, SplitAttrs } from '../../attrs.js';
import type { DType } from '../../dtype.js';
import type { GpuBuffer } from './runtime.js';
import { kernelPreamble, wgslType, type WebGpuBackend, memoWgsl } from './backend.js';
import { MAX_PARAM_WORDS, MAX_RANK, Params } from './params.js';

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

export const gpuPermute: Kernel<'webgpu', PermuteAttrs> = (backend, [x], out, { dims }) => {
  const s = stridesOf(x!.shape);
  return stridedGather(backend, 'permute', x!.data, out, dims.map((d) => s[d]!), 0);
};

export const gpuSlice: Kernel<'webgpu', BoxAttrs> = (backend, [x], out, { starts, steps }) => {
  const s = stridesOf(x!.shape);
  return stridedGather(backend, 'slice', x!.data, out, s.map((v, i) => v * (steps?.[i] ?? 1)), starts.reduce((acc, v, i) => acc + v * s[i]!, 0));
};

// params: n, rank, out shape, starts, input shape, input strides, steps
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
    let step = pu(${2 + 4 * MAX_RANK}u + dim);
    // Inside when c = start + step * local with local < the input's size along dim.
    let local = (c - start) / step;
    inside = inside && (c >= start) && ((c - start) % step == 0u) && (local < pu(${2 + 2 * MAX_RANK}u + dim));
    src += local * pu(${2 + 3 * MAX_RANK}u + dim);
  }
  Y[i] = select(${t}(0), X[select(0u, src, inside)], inside);`)}`);

export const gpuPad: Kernel<'webgpu', BoxAttrs> = (backend, [x], out, { starts, steps }) => {
  const y = backend.output(out);
  if (out.size === 0) return y;
  const p = new Params('pad')
    .u32(out.size, out.shape.length)
    .u32Padded(out.shape, MAX_RANK)
    .u32Padded(starts, MAX_RANK)
    .u32Padded(x!.shape, MAX_RANK)
    .u32Padded(stridesOf(x!.shape), MAX_RANK)
    .u32Padded(steps ?? out.shape.map(() => 1), MAX_RANK, 1);
  backend.run('pad', PAD_CODE(wgslType(out.dtype)), [x!.data, y], p, Math.ceil(out.size / WG));
  return y;
};

/** Splits 0..n-1 into consecutive chunks of at most `k`. */
function chunks(n: number, k: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < n; i += k) out.push(Array.from({ length: Math.min(k, n - i) }, (_, j) => i + j));
  return out;
}

/** Where piece p's block (its axis length times the inner size) starts in an output row. */
function rowStarts(blocks: readonly number[]): number[] {
  const starts: number[] = [];
  let at = 0;
  for (const b of blocks) {
    starts.push(at);
    at += b;
  }
  return starts;
}

/**
 * WGSL locating element i of rows `row` wide among k pieces: its outer row o, its column j,
 * its piece p, and p's start and block, read from the params at `first` + `words` * p.
 */
const pieceOf = (row: string, k: number, first: number, words: number): string => `  let o = i / ${row};
  let j = i - o * ${row};
  var p = 0u;
  for (var q = 1u; q < ${k}u; q++) { if (j >= pu(${first}u + ${words}u * q)) { p = q; } }
  let start = pu(${first}u + ${words}u * p);
  let block = pu(${first + 1}u + ${words}u * p);`;

/**
 * concat along a strided axis, k pieces per dispatch (a WGSL shader cannot index an array of
 * bindings: the piece is picked with a switch). One thread per output element of the chunk's
 * columns [c0, c0 + w) of each outer row. params: count, w, c0, outRow, then per piece its
 * start (relative to c0) and block.
 */
const CONCAT_CODE = memoWgsl((t: string, k: number): string => `${kernelPreamble(k + 1)}
${Array.from({ length: k }, (_, p) => `@group(0) @binding(${p}) var<storage, read> X${p}: array<${t}>;`).join('\n')}
@group(0) @binding(${k}) var<storage, read_write> Y: array<${t}>;
${MAIN(`${pieceOf('pu(1u)', k, 4, 2)}
  var v = ${t}(0);
  switch p {
${Array.from({ length: k }, (_, q) => `    case ${q}u: { v = X${q}[o * block + j - start]; }`).join('\n')}
    default: {}
  }
  Y[o * pu(3u) + pu(2u) + j] = v;`)}`);

export const gpuConcat: Kernel<'webgpu', AxisAttrs> = (backend, inputs, out, { axis }) => {
  const y = backend.output(out);
  let inner = 1;
  for (let i = axis + 1; i < out.shape.length; i++) inner *= out.shape[i]!;
  const outRow = out.shape[axis]! * inner;
  const blocks = inputs.map((t) => t.shape[axis]! * inner);
  const starts = rowStarts(blocks);
  // Along the leading non-trivial axis each piece is one contiguous block: a buffer copy.
  if (out.shape.slice(0, axis).every((d) => d === 1)) {
    inputs.forEach((t, p) => t.size > 0 && backend.runtime.copy(t.data, y, t.size * 4, 0, starts[p]! * 4));
    return y;
  }
  if (out.size === 0) return y;
  const outer = out.size / outRow;
  const live = inputs.map((_, p) => p).filter((p) => blocks[p]! > 0);
  const perDispatch = Math.min(backend.runtime.limits.maxStorageBuffersPerShaderStage - 1, (MAX_PARAM_WORDS - 4) / 2);
  for (const fs of chunks(live.length, perDispatch).map((c) => c.map((q) => live[q]!))) {
    const c0 = starts[fs[0]!]!;
    const w = fs.reduce((a, p) => a + blocks[p]!, 0);
    const params = new Params('concat').u32(outer * w, w, c0, outRow);
    for (const p of fs) params.u32(starts[p]! - c0, blocks[p]!);
    backend.run('concat', CONCAT_CODE(wgslType(out.dtype), fs.length), [...fs.map((p) => inputs[p]!.data), y], params, Math.ceil((outer * w) / WG));
  }
  return y;
};

/**
 * The inverse of a strided concat, for its gradient: every piece of dy, each laid out
 * contiguously at its own offset of one flat output (then handed out as views). One thread
 * per element of dy; params: count, outRow, then per piece its start, block and offset.
 */
const SPLIT_CODE = memoWgsl((t: string, k: number): string => `${kernelPreamble(2)}${io(t, t)}
${MAIN(`${pieceOf('pu(1u)', k, 2, 3)}
  Y[pu(4u + 3u * p) + o * block + j - start] = X[i];`)}`);

export const gpuSplit: Kernel<'webgpu', SplitAttrs> = (backend, [x], out, { blocks, offsets, outer }) => {
  const y = backend.output(out);
  if (x!.size === 0) return y;
  const outRow = blocks.reduce((a, b) => a + b, 0);
  const starts = rowStarts(blocks);
  // Pieces beyond the parameter block go to further dispatches, each over its columns only.
  const perDispatch = Math.floor((MAX_PARAM_WORDS - 2) / 3);
  for (const fs of chunks(blocks.length, perDispatch)) {
    const c0 = starts[fs[0]!]!;
    const w = fs.reduce((a, p) => a + blocks[p]!, 0);
    if (w === 0) continue;
    if (fs.length === blocks.length) {
      const params = new Params('split').u32(x!.size, outRow);
      for (const p of fs) params.u32(starts[p]!, blocks[p]!, offsets[p]!);
      backend.run('split', SPLIT_CODE(wgslType(out.dtype), fs.length), [x!.data, y], params, Math.ceil(x!.size / WG));
    } else {
      // Only reached with more than 20 pieces: split this chunk's columns out of each row first.
      const sub = stridedGather(backend, 'split', x!.data, { shape: [outer, w], dtype: out.dtype, size: outer * w }, [outRow, 1], c0);
      const params = new Params('split').u32(outer * w, w);
      for (const p of fs) params.u32(starts[p]! - c0, blocks[p]!, offsets[p]!);
      backend.run('split', SPLIT_CODE(wgslType(out.dtype), fs.length), [sub, y], params, Math.ceil((outer * w) / WG));
      backend.runtime.release(sub);
    }
  }
  return y;
};

// f32 -> i32 spelled out (truncate, saturate, NaN to 0) so it matches the CPU bit for bit;
// 2147483520 is the largest f32 below 2^31.
const F32_TO_I32 = 'select(select(i32(clamp(v, -2147483648.0, 2147483520.0)), 2147483647, v >= 2147483648.0), 0, is_nan(v))';
const CAST_CODE = memoWgsl((from: DType, to: DType): string => {
  const expr =
    from === 'float32' && to === 'int32' ? F32_TO_I32 : to === 'bool' ? `u32(!(v == ${wgslType(from)}(0)))` : `${wgslType(to)}(v)`;
  return `${kernelPreamble(2)}${io(wgslType(from), wgslType(to))}
${MAIN(`  let v = X[i];
  Y[i] = ${expr};`)}`;
});

/** Conversion (float -> int32 truncates toward zero, saturates, NaN gives 0: as the CPU), or a plain copy. */
export const gpuCast: Kernel<'webgpu', CastAttrs> = (backend, [x], out) => {
  const y = backend.output(out);
  if (out.size === 0) return y;
  if (x!.dtype === out.dtype) {
    backend.runtime.copy(x!.data, y, out.size * 4);
    return y;
  }
  backend.run('cast', CAST_CODE(x!.dtype, out.dtype), [x!.data, y], new Params('cast').u32(out.size), Math.ceil(out.size / WG));
  return y;
};
