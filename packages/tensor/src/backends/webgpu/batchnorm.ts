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

/** With `running`, the kernel also updates running mean/var (momentum pf(3)) and the batch counter in place. */
const forwardCode = (relu: boolean, running: boolean) => `${kernelPreamble(running ? 7 : 4)}
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> W: array<f32>;
@group(0) @binding(2) var<storage, read> B: array<f32>;
${
  running
    ? `@group(0) @binding(3) var<storage, read_write> RM: array<f32>;
@group(0) @binding(4) var<storage, read_write> RV: array<f32>;
@group(0) @binding(5) var<storage, read_write> NBT: array<i32>;
@group(0) @binding(6) var<storage, read_write> Y: array<f32>;`
    : '@group(0) @binding(3) var<storage, read_write> Y: array<f32>;'
}
${COLUMN_WGSL}
${COLUMN_HEAD}
  let mv = column_mean_var(c, n, cols, lid);
  ${
    running
      ? `if (lid == 0u) {
    let m = pf(3u);
    RM[c] = (1.0 - m) * RM[c] + m * mv.x;
    RV[c] = (1.0 - m) * RV[c] + m * mv.y * f32(n) / f32(n - 1u);
    if (c == 0u) { NBT[0] = NBT[0] + 1; }
  }`
      : ''
  }
  let scale = inverseSqrt(mv.y + pf(2u)) * W[c];
  // (x - mean) * scale + b, not x * scale + (b - mean * scale): the latter cancels badly
  // in f32 when the column's variance is small next to its mean.
  for (var i = lid; i < n; i += ${WG}u) {
    let y = (X[i * cols + c] - mv.x) * scale + B[c];
    Y[i * cols + c] = ${relu ? 'max(y, 0.0)' : 'y'};
  }
}`;

/**
 * dx, dw and db of one column per workgroup, into one flat output: dx at 0, dw at pu(3),
 * db at pu(4). With relu, the gradient only flows where the affine output was positive.
 */
const backwardCode = (relu: boolean) => `${kernelPreamble(relu ? 5 : 4)}
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> DY: array<f32>;
@group(0) @binding(2) var<storage, read> W: array<f32>;
${relu ? '@group(0) @binding(3) var<storage, read> B: array<f32>;' : ''}
@group(0) @binding(${relu ? 4 : 3}) var<storage, read_write> Y: array<f32>;
${COLUMN_WGSL}
fn grad_at(i: u32, c: u32, cols: u32, mean: f32, inv: f32) -> f32 {
  ${relu ? 'if ((X[i * cols + c] - mean) * inv * W[c] + B[c] <= 0.0) { return 0.0; }' : ''}
  return DY[i * cols + c];
}
${COLUMN_HEAD}
  let mv = column_mean_var(c, n, cols, lid);
  let inv = inverseSqrt(mv.y + pf(2u));
  var sg = 0.0;
  var sgx = 0.0;
  for (var i = lid; i < n; i += ${WG}u) {
    let g = grad_at(i, c, cols, mv.x, inv);
    sg += g;
    sgx += g * (X[i * cols + c] - mv.x) * inv;
  }
  let sum_g = column_sum(sg, lid);
  let sum_g_xhat = column_sum(sgx, lid);
  if (lid == 0u) { Y[pu(3u) + c] = sum_g_xhat; Y[pu(4u) + c] = sum_g; }
  let k = W[c] * inv / f32(n);
  for (var i = lid; i < n; i += ${WG}u) {
    let xhat = (X[i * cols + c] - mv.x) * inv;
    Y[i * cols + c] = k * (f32(n) * grad_at(i, c, cols, mv.x, inv) - sum_g - xhat * sum_g_xhat);
  }
}`;

function launch(
  backend: WebGpuBackend,
  label: string,
  code: string,
  buffers: GpuBuffer[],
  shape: readonly number[],
  eps: number,
  outBytes: number,
  extra: (p: Params) => Params = (p) => p,
  writes?: number[],
): GpuBuffer {
  const [n, c] = shape as [number, number];
  const y = backend.runtime.alloc(outBytes);
  if (n === 0 || c === 0) return y;
  backend.run(label, code, [...buffers, y], extra(new Params(label).u32(n, c).f32(eps)), c, writes);
  return y;
}

const f32Only = (dtype: string, op: string): void => {
  if (wgslType(dtype as 'float32') !== 'f32') throw new Error(`${op}: expected float32 on WebGPU, got ${dtype}`);
};

export const gpuBnStats: Kernel<'webgpu', null> = (backend, [x], out) => {
  f32Only(x!.dtype, 'bnStats');
  return launch(backend, 'bnStats', STATS_CODE, [x!.data], x!.shape, 0, out.size * 4);
};

export const gpuBnForward: Kernel<'webgpu', { eps: number; act: 'none' | 'relu'; momentum: number | null }> = (backend, inputs, out, { eps, act, momentum }) => {
  const running = momentum !== null;
  return launch(backend, 'batchNorm', forwardCode(act === 'relu', running), inputs.map((t) => t.data), inputs[0]!.shape, eps, out.size * 4, (p) => (running ? p.f32(momentum) : p), running ? [3, 4, 5] : undefined);
};

export const gpuBnBackward: Kernel<'webgpu', { eps: number; act: 'none' | 'relu'; dw: number; db: number }> = (backend, [x, dy, w, b], out, { eps, act, dw, db }) =>
  launch(backend, 'batchNormBackward', backwardCode(act === 'relu'), [x!.data, dy!.data, w!.data, ...(act === 'relu' ? [b!.data] : [])], x!.shape, eps, out.size * 4, (p) => p.u32(dw, db));
