// WGSL kernels of activationGrad: dy times the activation's derivative, computed from the
// activation's output y, one element per thread; and activationGradSum, which also sums
// that gradient over the rows (a Linear layer's bias gradient) in the same pass.

import type { Kernel } from '../../backend.js';
import type { ActivationGradSumAttrs, LinearActivation, LinearAttrs } from '../../attrs.js';
import { kernelPreamble, wgslType, memoWgsl } from './backend.js';
import { Params } from './params.js';
import { COLUMN_HEAD, columnGroups, columnSumWgsl, RW } from './columns.js';

const WG = 256;

const FACTOR: Record<LinearActivation, string> = {
  none: 'g',
  // As reluBackward: 0 where y <= 0, else g (a NaN y passes g on).
  relu: 'select(g, 0.0, y <= 0.0)',
  sigmoid: 'g * (y * (1.0 - y))',
};

const code = memoWgsl((act: LinearActivation) => `${kernelPreamble(3)}
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
}`);

export const gpuActivationGrad: Kernel<'webgpu', LinearAttrs> = (backend, [y, dy], out, { act }) => {
  wgslType(out.dtype);
  const buf = backend.output(out);
  if (out.size === 0) return buf;
  backend.run('activationGrad', code(act), [y!.data, dy!.data, buf], new Params('activationGrad').u32(out.size), Math.ceil(out.size / WG));
  return buf;
};

// activationGradSum uses the column layout of ./columns.ts: one pass writes g and sums it.
const sumCode = memoWgsl((act: LinearActivation) => `${kernelPreamble(3)}
@group(0) @binding(0) var<storage, read> Y: array<f32>;
@group(0) @binding(1) var<storage, read> DY: array<f32>;
@group(0) @binding(2) var<storage, read_write> OUT: array<f32>;
${columnSumWgsl('column_sum', 'f32')}
${COLUMN_HEAD}
  var s = 0.0;
  for (var i = rl; i < n; i += ${RW}u) {
    let y = Y[i * cols + c];
    let g = DY[i * cols + c];
    let v = ${FACTOR[act]};
    ${act === 'none' ? '' : 'if (live) { OUT[i * cols + c] = v; }'}
    s += v;
  }
  let total = column_sum(s, cl, rl);
  if (live && rl == 0u) { OUT[pu(2u) + c] = total; }
}`);

/** Inputs y and dy of [N, C]; the output holds g at 0 (not with act 'none': g is dy) and its column sums at `sumAt`. */
export const gpuActivationGradSum: Kernel<'webgpu', ActivationGradSumAttrs> = (backend, [y, dy], out, { act, sumAt }) => {
  wgslType(out.dtype);
  const buf = backend.output(out);
  const [n, cols] = y!.shape as [number, number];
  if (n === 0 || cols === 0) return buf;
  backend.run('activationGradSum', sumCode(act), [y!.data, dy!.data, buf], new Params('activationGradSum').u32(n, cols, sumAt), columnGroups(cols));
  return buf;
};
