// WGSL kernels of the fused batch-norm ops over [N, C] in the column layout of ./columns.ts:
// a workgroup walks the N values of its columns (statistics, then the output), combining
// the lanes' partial sums in shared memory. One dispatch replaces the dozen a composed
// BatchNorm takes.

import type { Kernel } from '../../backend.js';
import type { BatchNormAttrs, BatchNormBackwardAttrs, BatchNormForwardAttrs } from '../../attrs.js';
import type { GpuBuffer } from './runtime.js';
import { kernelPreamble, wgslType, type WebGpuBackend, memoWgsl } from './backend.js';
import { Params } from './params.js';
import { COLUMN_HEAD, columnGroups, columnSumWgsl, RW } from './columns.js';


/** Column sums (see ./columns.ts) and the exact two-pass mean and variance of column c of X. */
const COLUMN_WGSL = /* wgsl */ `
${columnSumWgsl('column_sum', 'f32')}
${columnSumWgsl('column_sum4', 'vec4<f32>')}
fn column_mean_var(c: u32, n: u32, cols: u32, cl: u32, rl: u32) -> vec2<f32> {
  var s = 0.0;
  for (var i = rl; i < n; i += ${RW}u) { s += X[i * cols + c]; }
  let mean = column_sum(s, cl, rl) / f32(n);
  var q = 0.0;
  for (var i = rl; i < n; i += ${RW}u) { let e = X[i * cols + c] - mean; q += e * e; }
  return vec2<f32>(mean, column_sum(q, cl, rl) / f32(n));
}`;

const STATS_CODE = `${kernelPreamble(2)}
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
${COLUMN_WGSL}
${COLUMN_HEAD}
  let mv = column_mean_var(c, n, cols, cl, rl);
  if (rl == 0u && live) { Y[c] = mv.x; Y[cols + c] = mv.y; }
}`;

// Forward and backward read the data in one pass for the statistics: sums of x - x0 and
// (x - x0)^2 around a pivot x0 taken from the column (its first value), which keeps the
// variance E[(x-x0)^2] - E[x-x0]^2 accurate as long as x0 is within a few deviations of the
// mean (any value of the column is, for data worth normalising). One pass fewer than the
// exact two-pass form, and on llvmpipe each pass costs as much as the arithmetic.
const MOMENTS = /* wgsl */ `
  let x0 = X[c];
  let m1 = acc.x / f32(n);
  let mean = x0 + m1;
  let v = acc.y / f32(n) - m1 * m1;
  // Clamped at 0, but NaN (an infinite value in the column gives inf - inf) stays NaN: WGSL's max may give 0.
  let variance = select(max(v, 0.0), v, is_nan(v));`;

/** The relu of y as the elementwise op computes it: NaN stays NaN (WGSL's max leaves it unspecified). */
const RELU_Y = 'select(y, 0.0, y < 0.0)';

/** With `running`, the kernel also updates running mean/var (momentum pf(3)) and the batch counter in place. */
const forwardCode = memoWgsl((relu: boolean, running: boolean) => `${kernelPreamble(running ? 7 : 4)}
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
  var part = vec4<f32>(0.0);
  for (var i = rl; i < n; i += ${RW}u) { let e = X[i * cols + c] - X[c]; part += vec4<f32>(e, e * e, 0.0, 0.0); }
  let acc = column_sum4(part, cl, rl);
  ${MOMENTS}
  if (!live) { return; }
  ${
    running
      ? `if (rl == 0u) {
    let m = pf(3u);
    RM[c] = (1.0 - m) * RM[c] + m * mean;
    RV[c] = (1.0 - m) * RV[c] + m * variance * f32(n) / f32(n - 1u);
    if (c == 0u) { NBT[0] = NBT[0] + 1; }
  }`
      : ''
  }
  let scale = inverseSqrt(variance + pf(2u)) * W[c];
  // (x - mean) * scale + b, not x * scale + (b - mean * scale): the latter cancels badly
  // in f32 when the column's variance is small next to its mean.
  for (var i = rl; i < n; i += ${RW}u) {
    let y = (X[i * cols + c] - mean) * scale + B[c];
    Y[i * cols + c] = ${relu ? RELU_Y : 'y'};
  }
}`);

/**
 * dx, dw and db of a workgroup's columns into one flat output: dx at 0, dw at pu(3), db at
 * pu(4). With relu the gradient is 0 where the forward output Y was <= 0 (a NaN Y passes it, as reluBackward).
 * One pass for every sum (sum(g x) is taken around the pivot, then re-centred), one for dx.
 */
const backwardCode = memoWgsl((relu: boolean) => `${kernelPreamble(relu ? 5 : 4)}
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> DY: array<f32>;
@group(0) @binding(2) var<storage, read> W: array<f32>;
${relu ? '@group(0) @binding(3) var<storage, read> YF: array<f32>;' : ''}
@group(0) @binding(${relu ? 4 : 3}) var<storage, read_write> Y: array<f32>;
${COLUMN_WGSL}
fn grad_at(i: u32, c: u32, cols: u32) -> f32 {
  ${relu ? 'if (YF[i * cols + c] <= 0.0) { return 0.0; }' : ''}
  return DY[i * cols + c];
}
${COLUMN_HEAD}
  var part = vec4<f32>(0.0);
  for (var i = rl; i < n; i += ${RW}u) {
    let e = X[i * cols + c] - X[c];
    let g = grad_at(i, c, cols);
    part += vec4<f32>(e, e * e, g, g * e);
  }
  let acc = column_sum4(part, cl, rl);
  ${MOMENTS}
  if (!live) { return; }
  let inv = inverseSqrt(variance + pf(2u));
  let sum_g = acc.z;
  // sum g (x - mean) = sum g (x - x0) - (mean - x0) sum g
  let sum_g_xhat = (acc.w - m1 * sum_g) * inv;
  if (rl == 0u) { Y[pu(3u) + c] = sum_g_xhat; Y[pu(4u) + c] = sum_g; }
  let k = W[c] * inv / f32(n);
  for (var i = rl; i < n; i += ${RW}u) {
    let xhat = (X[i * cols + c] - mean) * inv;
    Y[i * cols + c] = k * (f32(n) * grad_at(i, c, cols) - sum_g - xhat * sum_g_xhat);
  }
}`);

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
  backend.run(label, code, [...buffers, y], extra(new Params(label).u32(n, c).f32(eps)), columnGroups(c), writes);
  return y;
}

const f32Only = (dtype: string, op: string): void => {
  if (wgslType(dtype as 'float32') !== 'f32') throw new Error(`${op}: expected float32 on WebGPU, got ${dtype}`);
};

export const gpuBnStats: Kernel<'webgpu', null> = (backend, [x], out) => {
  f32Only(x!.dtype, 'bnStats');
  return launch(backend, 'bnStats', STATS_CODE, [x!.data], x!.shape, 0, out.size * 4);
};

export const gpuBnForward: Kernel<'webgpu', BatchNormForwardAttrs> = (backend, inputs, out, { eps, act, momentum }) => {
  const running = momentum !== null;
  return launch(backend, 'batchNorm', forwardCode(act === 'relu', running), inputs.map((t) => t.data), inputs[0]!.shape, eps, out.size * 4, (p) => (running ? p.f32(momentum) : p), running ? [3, 4, 5] : undefined);
};

/** Inputs x, dy, w, and with relu the forward output y. */
export const gpuBnBackward: Kernel<'webgpu', BatchNormBackwardAttrs> = (backend, inputs, out, { eps, act, dw, db }) =>
  launch(backend, 'batchNormBackward', backwardCode(act === 'relu'), inputs.map((t) => t.data), inputs[0]!.shape, eps, out.size * 4, (p) => p.u32(dw, db));

/** Eval-mode batch norm with the running statistics: elementwise, one thread per value. */
const evalCode = memoWgsl((relu: boolean) => `${kernelPreamble(6)}
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> RM: array<f32>;
@group(0) @binding(2) var<storage, read> RV: array<f32>;
@group(0) @binding(3) var<storage, read> W: array<f32>;
@group(0) @binding(4) var<storage, read> B: array<f32>;
@group(0) @binding(5) var<storage, read_write> Y: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = linear_workgroup_id(wid, nwg) * 256u + lid;
  if (i >= pu(0u)) { return; }
  let c = i % pu(1u);
  let y = (X[i] - RM[c]) * inverseSqrt(RV[c] + pf(2u)) * W[c] + B[c];
  Y[i] = ${relu ? RELU_Y : 'y'};
}`);

export const gpuBnEval: Kernel<'webgpu', BatchNormAttrs> = (backend, inputs, out, { eps, act }) => {
  f32Only(out.dtype, 'batchNormEval');
  const y = backend.output(out);
  if (out.size === 0) return y;
  const p = new Params('batchNormEval').u32(out.size, inputs[0]!.shape[1]!).f32(eps);
  backend.run('batchNormEval', evalCode(act === 'relu'), [...inputs.map((t) => t.data), y], p, Math.ceil(out.size / 256));
  return y;
};
