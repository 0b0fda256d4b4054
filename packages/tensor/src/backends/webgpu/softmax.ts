// WGSL softmax and log-softmax along one axis. A row is the `n` elements at one (outer,
// inner) position, `inner` apart in memory. Long rows get one workgroup each, which finds
// the maximum and then the sum of exp(x - max) with shared-memory trees (any length: each
// thread first folds a strided slice); short rows (attention over a handful of positions)
// get one thread each, since a workgroup per 2-element row would leave it nearly idle.

import type { Kernel } from '../../backend.js';
import type { AxisAttrs } from '../../attrs.js';
import { kernelPreamble, wgslType, memoWgsl } from './backend.js';
import { Params } from './params.js';

// Shared with the backward kernels (softmax-grad.ts): the two kernel shapes, one thread per
// row for short rows, one workgroup per row otherwise, over params (rows, n, inner, ...).
export const THREAD_WG = 64;
export const ROW_WG = 256;
/** Rows up to this long are done by one thread each. */
export const SHORT_ROW = 64;

/** Row j's first element, for params (rows, n, inner). */
export const ROW_BASE_WGSL = /* wgsl */ `
fn row_base(j: u32) -> u32 {
  let inner = pu(2u);
  let p = j / inner;
  return p * pu(1u) * inner + (j - p * inner);
}`;

/** Entry of a one-thread-per-row kernel: row j, its length n, stride inner and first element base. */
export const THREAD_ENTRY = `@compute @workgroup_size(${THREAD_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let j = linear_workgroup_id(wid, nwg) * ${THREAD_WG}u + lid;
  if (j >= pu(0u)) { return; }
  let n = pu(1u);
  let inner = pu(2u);
  let base = row_base(j);`;

/** Entry of a one-workgroup-per-row kernel, with its ROW_WG-wide `partial` buffer for reductions. */
export const ROW_ENTRY = `var<workgroup> partial: array<f32, ${ROW_WG}>;
@compute @workgroup_size(${ROW_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let j = linear_workgroup_id(wid, nwg);
  if (j >= pu(0u)) { return; } // uniform: the whole workgroup leaves together
  let n = pu(1u);
  let inner = pu(2u);
  let base = row_base(j);`;

// Params: rows (outer * inner), n, inner, then -inf and NaN as f32 bits (WGSL constant
// expressions may not be infinite or NaN, so they come in at run time).
const common = /* wgsl */ `
fn not_finite(v: f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) >= 0x7f800000u; }
// NaN wins, like Math.max in the CPU kernel.
fn max_nan(a: f32, b: f32) -> f32 {
  if (is_nan(a)) { return a; }
  if (is_nan(b) || b > a) { return b; }
  return a;
}
${ROW_BASE_WGSL}`;

/**
 * Rows whose max is not finite (all -inf, or containing +inf or NaN) come out all NaN,
 * as from the CPU kernel (and PyTorch); the kernels say so explicitly instead of trusting
 * the GPU's exp and log at infinities.
 */
function outputExpr(log: boolean): string {
  return log ? 'z - log(total)' : 'exp(z) / total';
}

function threadCodeBuild(log: boolean): string {
  return `${kernelPreamble(2)}
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
${common}
${THREAD_ENTRY}
  var m = pf(3u);
  for (var i = 0u; i < n; i++) { m = max_nan(m, X[base + i * inner]); }
  if (not_finite(m)) {
    for (var i = 0u; i < n; i++) { Y[base + i * inner] = pf(4u); }
    return;
  }
  var total = 0.0;
  for (var i = 0u; i < n; i++) { total += exp(X[base + i * inner] - m); }
  for (var i = 0u; i < n; i++) {
    let z = X[base + i * inner] - m;
    Y[base + i * inner] = ${outputExpr(log)};
  }
}`;
}
const threadCode = memoWgsl(threadCodeBuild);

function rowCodeBuild(log: boolean): string {
  return `${kernelPreamble(2)}
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
${common}
${ROW_ENTRY}

  var m = pf(3u);
  for (var i = lid; i < n; i += ${ROW_WG}u) { m = max_nan(m, X[base + i * inner]); }
  partial[lid] = m;
  workgroupBarrier();
  for (var s = ${ROW_WG / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) { partial[lid] = max_nan(partial[lid], partial[lid + s]); }
    workgroupBarrier();
  }
  let row_max = partial[0];
  workgroupBarrier(); // everyone has read the max before partial is reused
  // A non-finite max poisons the row; carry on with 0 so that control flow stays uniform.
  let bad = not_finite(row_max);
  let mx = select(row_max, 0.0, bad);

  var acc = 0.0;
  for (var i = lid; i < n; i += ${ROW_WG}u) { acc += exp(X[base + i * inner] - mx); }
  partial[lid] = acc;
  workgroupBarrier();
  for (var s = ${ROW_WG / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) { partial[lid] = partial[lid] + partial[lid + s]; }
    workgroupBarrier();
  }
  let total = partial[0];
  for (var i = lid; i < n; i += ${ROW_WG}u) {
    let z = X[base + i * inner] - mx;
    Y[base + i * inner] = select(${outputExpr(log)}, pf(4u), bad);
  }
}`;
}
const rowCode = memoWgsl(rowCodeBuild);

/** The WebGPU kernel of softmax (log = false) or logSoftmax (log = true) along `axis`. */
export function gpuSoftmax(log: boolean): Kernel<'webgpu', AxisAttrs> {
  const label = log ? 'logSoftmax' : 'softmax';
  return (backend, [x], out, { axis }) => {
    const y = backend.output(out);
    if (out.size === 0) return y;
    wgslType(x!.dtype);
    const n = x!.shape[axis]!;
    let inner = 1;
    for (let d = axis + 1; d < x!.shape.length; d++) inner *= x!.shape[d]!;
    const rows = out.size / n;
    const p = new Params(label).u32(rows, n, inner).f32(-Infinity, NaN);
    if (n <= SHORT_ROW) backend.run(label, threadCode(log), [x!.data, y], p, Math.ceil(rows / THREAD_WG));
    else backend.run(label, rowCode(log), [x!.data, y], p, rows);
    return y;
  };
}
