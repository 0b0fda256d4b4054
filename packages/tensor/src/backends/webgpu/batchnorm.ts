// WGSL kernels of the fused batch-norm ops over [N, C]: one workgroup per column walks its
// N values a few times (mean, centred variance, then the output), combining the threads'
// partial sums in shared memory. One dispatch replaces the dozen a composed BatchNorm takes.

import type { Kernel } from '../../backend.js';
import type { GpuBuffer } from './runtime.js';
import { kernelPreamble, wgslType, type WebGpuBackend } from './backend.js';
import { Params } from './params.js';


const WG = 64;

/** Shared helpers: `column_sum` reduces one value per thread across the workgroup. */
export const COLUMN_WGSL = /* wgsl */ `
var<workgroup> partial: array<f32, ${WG}>;
fn column_sum(v: f32, lid: u32) -> f32 {
  partial[lid] = v;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) { partial[lid] = partial[lid] + partial[lid + s]; }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier();
  return total;
}
fn column_mean_var(c: u32, n: u32, cols: u32, lid: u32) -> vec2<f32> {
  var s = 0.0;
  for (var i = lid; i < n; i += ${WG}u) { s += X[i * cols + c]; }
  let mean = column_sum(s, lid) / f32(n);
  var q = 0.0;
  for (var i = lid; i < n; i += ${WG}u) { let e = X[i * cols + c] - mean; q += e * e; }
  return vec2<f32>(mean, column_sum(q, lid) / f32(n));
}`;

export const COLUMN_HEAD = `@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let c = linear_workgroup_id(wid, nwg);
  let n = pu(0u);
  let cols = pu(1u);
  if (c >= cols) { return; }`;

const STATS_CODE = `${kernelPreamble(2)}
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
${COLUMN_WGSL}
${COLUMN_HEAD}
  let mv = column_mean_var(c, n, cols, lid);
  if (lid == 0u) { Y[c] = mv.x; Y[cols + c] = mv.y; }
}`;

const FORWARD_CODE = `${kernelPreamble(4)}
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> W: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
@group(0) @binding(3) var<storage, read_write> Y: array<f32>;
${COLUMN_WGSL}
${COLUMN_HEAD}
  let mv = column_mean_var(c, n, cols, lid);
  let scale = inverseSqrt(mv.y + pf(2u)) * W[c];
  let shift = B[c] - mv.x * scale;
  for (var i = lid; i < n; i += ${WG}u) { Y[i * cols + c] = X[i * cols + c] * scale + shift; }
}`;

/** dx, or with WEIGHT_GRAD the per-column sum(dy * xhat). */
const backwardCode = (weightGrad: boolean) => `${kernelPreamble(weightGrad ? 3 : 4)}
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> DY: array<f32>;
${weightGrad ? '' : '@group(0) @binding(2) var<storage, read> W: array<f32>;'}
@group(0) @binding(${weightGrad ? 2 : 3}) var<storage, read_write> Y: array<f32>;
${COLUMN_WGSL}
${COLUMN_HEAD}
  let mv = column_mean_var(c, n, cols, lid);
  let inv = inverseSqrt(mv.y + pf(2u));
  var sdy = 0.0;
  var sdyx = 0.0;
  for (var i = lid; i < n; i += ${WG}u) {
    let g = DY[i * cols + c];
    sdy += g;
    sdyx += g * (X[i * cols + c] - mv.x) * inv;
  }
  let sum_dy = column_sum(sdy, lid);
  let sum_dy_xhat = column_sum(sdyx, lid);
${
  weightGrad
    ? '  if (lid == 0u) { Y[c] = sum_dy_xhat; }'
    : `  let k = W[c] * inv / f32(n);
  for (var i = lid; i < n; i += ${WG}u) {
    let xhat = (X[i * cols + c] - mv.x) * inv;
    Y[i * cols + c] = k * (f32(n) * DY[i * cols + c] - sum_dy - xhat * sum_dy_xhat);
  }`
}
}`;

function launch(backend: WebGpuBackend, label: string, code: string, buffers: GpuBuffer[], shape: readonly number[], eps: number, outBytes: number): GpuBuffer {
  const [n, c] = shape as [number, number];
  const y = backend.runtime.alloc(outBytes);
  if (n === 0 || c === 0) return y;
  backend.run(label, code, [...buffers, y], new Params(label).u32(n, c).f32(eps), c);
  return y;
}

const f32Only = (dtype: string, op: string): void => {
  if (wgslType(dtype as 'float32') !== 'f32') throw new Error(`${op}: expected float32 on WebGPU, got ${dtype}`);
};

export const gpuBnStats: Kernel<'webgpu', null> = (backend, [x], out) => {
  f32Only(x!.dtype, 'bnStats');
  return launch(backend, 'bnStats', STATS_CODE, [x!.data], x!.shape, 0, out.size * 4);
};

export const gpuBnForward: Kernel<'webgpu', { eps: number }> = (backend, [x, w, b], out, { eps }) =>
  launch(backend, 'batchNorm', FORWARD_CODE, [x!.data, w!.data, b!.data], x!.shape, eps, out.size * 4);

export const gpuBnGradInput: Kernel<'webgpu', { eps: number }> = (backend, [x, dy, w], out, { eps }) =>
  launch(backend, 'batchNormGradInput', backwardCode(false), [x!.data, dy!.data, w!.data], x!.shape, eps, out.size * 4);

export const gpuBnGradWeight: Kernel<'webgpu', { eps: number }> = (backend, [x, dy], out, { eps }) =>
  launch(backend, 'batchNormGradWeight', backwardCode(true), [x!.data, dy!.data], x!.shape, eps, out.size * 4);
