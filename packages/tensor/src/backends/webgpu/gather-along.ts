// WGSL for torch-style gather and scatter-add along one axis, one thread per index element:
// its coordinates over the index's shape, the element it names in the other tensor (the
// coordinates with the axis replaced by the index value), and for scatter an atomic add
// (a compare-and-swap loop for f32, as the row scatter-add). Out-of-range indices read 0
// or are dropped, and are reported at the next read (kernel-errors.ts).

import type { Kernel } from '../../backend.js';
import type { AxisAttrs } from '../../attrs.js';
import { stridesOf } from '../../shape.js';
import { kernelPreamble, memoWgsl, numericType, type WebGpuBackend } from './backend.js';
import { MAX_RANK, Params } from './params.js';
import { kernelErrorCode, kernelErrorWgsl } from './kernel-errors.js';
import { addStatement } from './gather.js';
import { isDeterministic } from '../../determinism.js';
import type { GpuBuffer } from './runtime.js';

const WG = 256;
// Params: n, rank, axis, rows, then index shape, target strides, source strides (MAX_RANK each).
// (`target` is a WGSL keyword: the offsets are at_target and at_source.)
const SHAPE = 4;
const TARGET = SHAPE + MAX_RANK;
const SOURCE = TARGET + MAX_RANK;

/** Where index element e points: at_target in the tensor the axis indexes, at_source in the source. */
const LOCATE = `
  let rank = pu(1u);
  let axis = pu(2u);
  let rows = pu(3u);
  let r = I[e];
  let valid = r >= 0 && u32(r) < rows;
  var rem = e;
  var at_target = 0u;
  var at_source = 0u;
  for (var d = 0u; d < rank; d++) {
    let dim = rank - 1u - d;
    let c = rem % pu(${SHAPE}u + dim);
    rem = rem / pu(${SHAPE}u + dim);
    at_target += select(c, u32(max(r, 0)), dim == axis) * pu(${TARGET}u + dim);
    at_source += c * pu(${SOURCE}u + dim);
  }`;

const MAIN_HEAD = `@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let e = linear_workgroup_id(wid, nwg) * ${WG}u + lid;
  if (e >= pu(0u)) { return; }`;

const GATHER_CODE = memoWgsl((t: string): string => `${kernelPreamble(4)}
@group(0) @binding(0) var<storage, read> X: array<${t}>;
@group(0) @binding(1) var<storage, read> I: array<i32>;
@group(0) @binding(2) var<storage, read_write> Y: array<${t}>;
${kernelErrorWgsl(3)}
${MAIN_HEAD}
${LOCATE}
  if (!valid) { Y[e] = ${t}(0); report_index_error(${kernelErrorCode('gatherAlong')}u, r, rows); return; }
  Y[e] = X[at_target];
}`);

const SCATTER_CODE = memoWgsl((t: 'f32' | 'i32'): string => `${kernelPreamble(4)}
@group(0) @binding(0) var<storage, read> S: array<${t}>;
@group(0) @binding(1) var<storage, read> I: array<i32>;
@group(0) @binding(2) var<storage, read_write> Y: array<atomic<${t === 'f32' ? 'u32' : 'i32'}>>;
${kernelErrorWgsl(3)}
${MAIN_HEAD}
${LOCATE}
  if (!valid) { report_index_error(${kernelErrorCode('scatterAddAlong')}u, r, rows); return; }
  let dst = at_target;
  let v = S[at_source];
  ${addStatement(t)}
}`);

// The fixed-order form (determinism.ts): one thread per output element, which walks the
// index elements along the axis that share its other coordinates, in order, and adds the
// sources of those whose index names it: out = x + s_0 + s_1 + ... as on the CPU. Params:
// n, rank, axis, rows, then the index shape, the output strides, the source strides and the
// index strides (MAX_RANK each). The first out-of-range index is found by thread 0.
const ISTRIDE = SOURCE + MAX_RANK;
const SCATTER_ORDERED_CODE = memoWgsl((t: 'f32' | 'i32'): string => `${kernelPreamble(5)}
@group(0) @binding(0) var<storage, read> X: array<${t}>;
@group(0) @binding(1) var<storage, read> S: array<${t}>;
@group(0) @binding(2) var<storage, read> I: array<i32>;
@group(0) @binding(3) var<storage, read_write> Y: array<${t}>;
${kernelErrorWgsl(4)}
${MAIN_HEAD}
  let rank = pu(1u);
  let axis = pu(2u);
  let rows = pu(3u);
  var rem = e;
  var inside = true;
  var at_index = 0u;
  var at_source = 0u;
  var k = 0u;
  for (var d = 0u; d < rank; d++) {
    let stride = pu(${TARGET}u + d);
    let c = rem / stride;
    rem = rem - c * stride;
    if (d == axis) { k = c; continue; }
    if (c >= pu(${SHAPE}u + d)) { inside = false; }
    at_index += c * pu(${ISTRIDE}u + d);
    at_source += c * pu(${SOURCE}u + d);
  }
  var acc = X[e];
  if (inside) {
    for (var j = 0u; j < pu(${SHAPE}u + axis); j++) {
      if (I[at_index + j * pu(${ISTRIDE}u + axis)] == i32(k)) { acc += S[at_source + j * pu(${SOURCE}u + axis)]; }
    }
  }
  Y[e] = acc;
  if (e == 0u) {
    for (var i = 0u; i < arrayLength(&I); i++) {
      if (I[i] < 0 || u32(I[i]) >= rows) { report_index_error(${kernelErrorCode('scatterAddAlong')}u, I[i], rows); break; }
    }
  }
}`);

function params(op: string, index: readonly number[], target: readonly number[], source: readonly number[], axis: number): Params {
  return new Params(op)
    .u32(index.reduce((a, b) => a * b, 1), index.length, axis, target[axis]!)
    .u32Padded(index, MAX_RANK)
    .u32Padded(stridesOf(target), MAX_RANK)
    .u32Padded(stridesOf(source), MAX_RANK);
}

function checkRank(op: string, rank: number): void {
  if (rank > MAX_RANK) throw new Error(`${op}: rank ${rank} exceeds the ${MAX_RANK} the GPU kernels index`);
}

/** out[pos] = x[pos with pos[axis] = index[pos]] (torch.gather). */
export const gpuGatherAlong: Kernel<'webgpu', AxisAttrs> = (backend, [x, index], out, { axis }) => {
  checkRank('gatherAlong', out.shape.length);
  const y = backend.output(out);
  if (out.size === 0) return y;
  const p = params('gatherAlong', index!.shape, x!.shape, index!.shape, axis);
  run(backend, 'gatherAlong', GATHER_CODE(numericType('gatherAlong', out.dtype)), [x!.data, index!.data, y], p, out.size);
  return y;
};

/** out = x, then out[pos with pos[axis] = index[pos]] += src[pos] (torch.scatter_add). */
export const gpuScatterAddAlong: Kernel<'webgpu', AxisAttrs> = (backend, [x, index, src], out, { axis }) => {
  checkRank('scatterAddAlong', out.shape.length);
  const y = backend.output(out);
  if (out.size === 0) return y;
  if (isDeterministic() && index!.size > 0) {
    // As params(), but one thread per output element, and the index strides too.
    const p = new Params('scatterAddAlong')
      .u32(out.size, index!.shape.length, axis, x!.shape[axis]!)
      .u32Padded(index!.shape, MAX_RANK)
      .u32Padded(stridesOf(x!.shape), MAX_RANK)
      .u32Padded(stridesOf(src!.shape), MAX_RANK)
      .u32Padded(stridesOf(index!.shape), MAX_RANK);
    const code = SCATTER_ORDERED_CODE(numericType('scatterAddAlong', out.dtype));
    backend.run('scatterAddAlong.ordered', code, [x!.data, src!.data, index!.data, y, backend.runtime.kernelErrors], p, Math.ceil(out.size / WG));
    return y;
  }
  backend.runtime.copy(x!.data, y, out.size * 4);
  if (index!.size === 0) return y;
  const p = params('scatterAddAlong', index!.shape, x!.shape, src!.shape, axis);
  run(backend, 'scatterAddAlong', SCATTER_CODE(numericType('scatterAddAlong', out.dtype)), [src!.data, index!.data, y], p, index!.size);
  return y;
};

function run(backend: WebGpuBackend, label: string, code: string, buffers: GpuBuffer[], p: Params, n: number): void {
  backend.run(label, code, [...buffers, backend.runtime.kernelErrors], p, Math.ceil(n / WG));
}

