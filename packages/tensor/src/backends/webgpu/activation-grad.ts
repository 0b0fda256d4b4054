// WGSL kernels of activationGrad: dy times the activation's derivative, computed from the
// activation's output y, one element per thread; and activationGradSum, which also sums
// that gradient over the rows (a Linear layer's bias gradient) in the same pass.

import type { Kernel } from '../../backend.js';
import type { LinearActivation } from '../cpu/linear.js';
import { kernelPreamble, wgslType } from './backend.js';
import { Params } from './params.js';

const WG = 256;

const FACTOR: Record<LinearActivation, string> = {
  none: 'g',
  relu: 'select(0.0, g, y > 0.0)',
  sigmoid: 'g * (y * (1.0 - y))',
};

const code = (act: LinearActivation) => `${kernelPreamble(3)}
@group(0) @binding(0) var<storage, read> Y: array<f32>;
@group(0) @binding(1) var<storage, read> DY: array<f32>;
@group(0) @binding(2) var<storage, read_write> OUT: array<f32>;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = linear_workgroup_id(wid, nwg) * ${WG}u + lid;
  if (i >= pu(0u)) { return; }
  let y = Y[i];
  let g = DY[i];
  OUT[i] = ${FACTOR[act]};
}`;

export const gpuActivationGrad: Kernel<'webgpu', { act: LinearActivation }> = (backend, [y, dy], out, { act }) => {
  wgslType(out.dtype);
  const buf = backend.output(out);
  if (out.size === 0) return buf;
  backend.run('activationGrad', code(act), [y!.data, dy!.data, buf], new Params('activationGrad').u32(out.size), Math.ceil(out.size / WG));
  return buf;
};

// activationGradSum: a workgroup owns CW adjacent columns, RW lanes per column walk the rows
// (lanes of a row read consecutive values), and the lanes' sums meet in workgroup memory.
const CW = 8;
const RW = 8;

const sumCode = (act: LinearActivation) => `${kernelPreamble(3)}
@group(0) @binding(0) var<storage, read> Y: array<f32>;
@group(0) @binding(1) var<storage, read> DY: array<f32>;
@group(0) @binding(2) var<storage, read_write> OUT: array<f32>;
var<workgroup> partial: array<f32, ${CW * RW}>;

@compute @workgroup_size(${CW * RW})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let n = pu(0u);
  let cols = pu(1u);
  let cl = lid % ${CW}u;
  let rl = lid / ${CW}u;
  let c_raw = linear_workgroup_id(wid, nwg) * ${CW}u + cl;
  let live = c_raw < cols;
  let c = min(c_raw, cols - 1u);
  var s = 0.0;
  for (var i = rl; i < n; i += ${RW}u) {
    let y = Y[i * cols + c];
    let g = DY[i * cols + c];
    let v = ${FACTOR[act]};
    ${act === 'none' ? '' : 'if (live) { OUT[i * cols + c] = v; }'}
    s += v;
  }
  partial[lid] = s;
  workgroupBarrier();
  for (var st = ${RW / 2}u; st > 0u; st >>= 1u) {
    if (rl < st) { partial[lid] += partial[lid + st * ${CW}u]; }
    workgroupBarrier();
  }
  if (live && rl == 0u) { OUT[pu(2u) + c] = partial[cl]; }
}`;

/** Inputs y and dy of [N, C]; the output holds g at 0 (not with act 'none': g is dy) and its column sums at `sumAt`. */
export const gpuActivationGradSum: Kernel<'webgpu', { act: LinearActivation; sumAt: number }> = (backend, [y, dy], out, { act, sumAt }) => {
  wgslType(out.dtype);
  const buf = backend.output(out);
  const [n, cols] = y!.shape as [number, number];
  if (n === 0 || cols === 0) return buf;
  backend.run('activationGradSum', sumCode(act), [y!.data, dy!.data, buf], new Params('activationGradSum').u32(n, cols, sumAt), Math.ceil(cols / CW));
  return buf;
};
