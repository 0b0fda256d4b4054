// Fused update of BatchNorm's running statistics from a training batch x [N, C]:
//   running_mean = (1 - m) running_mean + m mean(x)
//   running_var  = (1 - m) running_var  + m var(x) N / (N - 1)   (the unbiased variance, as PyTorch)
// One kernel (column statistics and both updates) instead of a statistics kernel and nine
// elementwise ops. Outside autograd; like the Adam update it writes fresh buffers and
// `assign`s them, so earlier views keep their values.

import type { BackendKinds, BackendName, Handle } from '../backend.js';
import { allocArray, type TypedArray } from '../dtype.js';
import { fmtShape } from '../shape.js';
import { Storage, Tensor } from '../tensor.js';
import type { GpuBuffer } from '../backends/webgpu/runtime.js';
import { kernelPreamble } from '../backends/webgpu/backend.js';
import { COLUMN_HEAD, COLUMN_WGSL } from '../backends/webgpu/batchnorm.js';
import { Params } from '../backends/webgpu/params.js';

type RunningKernel<B extends BackendName> = (
  backend: BackendKinds[B]['backend'],
  x: Handle<B>,
  mean: Handle<B>,
  variance: Handle<B>,
  n: number,
  c: number,
  momentum: number,
  dtype: Tensor['dtype'],
) => [Handle<B>, Handle<B>];

const RUNNING_WGSL = `${kernelPreamble(5)}
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read> RM: array<f32>;
@group(0) @binding(2) var<storage, read> RV: array<f32>;
@group(0) @binding(3) var<storage, read_write> RM2: array<f32>;
@group(0) @binding(4) var<storage, read_write> RV2: array<f32>;
${COLUMN_WGSL}
${COLUMN_HEAD}
  let mv = column_mean_var(c, n, cols, lid);
  let m = pf(2u);
  if (lid == 0u) {
    RM2[c] = (1.0 - m) * RM[c] + m * mv.x;
    RV2[c] = (1.0 - m) * RV[c] + m * mv.y * f32(n) / f32(n - 1u);
  }
}`;

const KERNELS: { readonly [B in BackendName]: RunningKernel<B> } = {
  cpu: (_b, X, RM, RV, n, c, m, dtype) => {
    const [mean, variance] = [new Float64Array(c), new Float64Array(c)];
    for (let i = 0; i < n; i++) for (let j = 0; j < c; j++) mean[j] += X[i * c + j]!;
    for (let j = 0; j < c; j++) mean[j] /= n;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < c; j++) {
        const e = X[i * c + j]! - mean[j]!;
        variance[j] += e * e;
      }
    }
    const [rm, rv]: TypedArray[] = [allocArray(dtype, c), allocArray(dtype, c)];
    for (let j = 0; j < c; j++) {
      rm[j] = (1 - m) * RM[j]! + m * mean[j]!;
      rv[j] = (1 - m) * RV[j]! + (m * variance[j]!) / (n - 1);
    }
    return [rm, rv];
  },
  webgpu: (backend, x, rm, rv, n, c, m) => {
    const out: [GpuBuffer, GpuBuffer] = [backend.runtime.alloc(c * 4), backend.runtime.alloc(c * 4)];
    if (c > 0) backend.run('batchNormRunningStats', RUNNING_WGSL, [x, rm, rv, ...out], new Params('batchNormRunningStats').u32(n, c).f32(m), c);
    return out;
  },
};

/**
 * Updates `runningMean` and `runningVar` ([C]) from the batch x [N, C] with momentum `m`,
 * as BatchNorm1d does in training (N > 1).
 *
 * @example
 * batchNormRunningStats_(bn.runningMean, bn.runningVar, x, 0.1);
 */
export function batchNormRunningStats_(runningMean: Tensor, runningVar: Tensor, x: Tensor, momentum: number): void {
  const [n, c] = x.shape as [number, number];
  if (x.rank !== 2 || n < 2) throw new Error(`batchNormRunningStats: expected an input [N, C] with N > 1, got ${fmtShape(x.shape)}`);
  for (const t of [runningMean, runningVar]) {
    if (t.rank !== 1 || t.shape[0] !== c || t.dtype !== x.dtype || t.backendName !== x.backendName) {
      throw new Error(`batchNormRunningStats: running statistic ${fmtShape(t.shape)} ${t.dtype} on ${t.backendName} does not match input ${fmtShape(x.shape)} ${x.dtype} on ${x.backendName}`);
    }
  }
  const b = x.backend;
  const kernel = KERNELS[b.name] as RunningKernel<BackendName>;
  const handles = kernel(b as never, x.storage.handle as never, runningMean.storage.handle as never, runningVar.storage.handle as never, n, c, momentum, x.dtype);
  [runningMean, runningVar].forEach((t, k) => {
    const fresh = new Tensor(new Storage(b, (b.adopt as (h: unknown) => unknown)(handles[k])), t.shape, t.dtype);
    t.assign(fresh);
    fresh.dispose();
  });
}
