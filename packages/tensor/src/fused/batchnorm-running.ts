// Fused update of BatchNorm's running statistics from a training batch x [N, C]:
//   running_mean = (1 - m) running_mean + m mean(x)
//   running_var  = (1 - m) running_var  + m var(x) N / (N - 1)   (the unbiased variance, as PyTorch)
// One kernel (column statistics, both updates and the num_batches_tracked counter) instead
// of a statistics kernel and ten elementwise ops. Outside autograd; in place, like the Adam
// update and PyTorch: views of the running statistics see the new values.

import type { BackendKinds, BackendName, Handle } from '../backend.js';
import { fmtShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { kernelPreamble } from '../backends/webgpu/backend.js';
import { COLUMN_HEAD, COLUMN_WGSL } from '../backends/webgpu/batchnorm.js';
import { Params } from '../backends/webgpu/params.js';

type RunningKernel<B extends BackendName> = (
  backend: BackendKinds[B]['backend'],
  x: Handle<B>,
  mean: Handle<B>,
  variance: Handle<B>,
  counter: Handle<B> | null,
  n: number,
  c: number,
  momentum: number,
) => void;

const runningWgsl = (counter: boolean) => `${kernelPreamble(counter ? 4 : 3)}
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> RM: array<f32>;
@group(0) @binding(2) var<storage, read_write> RV: array<f32>;
${counter ? '@group(0) @binding(3) var<storage, read_write> NBT: array<i32>;' : ''}
${COLUMN_WGSL}
${COLUMN_HEAD}
  let mv = column_mean_var(c, n, cols, lid);
  let m = pf(2u);
  if (lid == 0u) {
    RM[c] = (1.0 - m) * RM[c] + m * mv.x;
    RV[c] = (1.0 - m) * RV[c] + m * mv.y * f32(n) / f32(n - 1u);
    ${counter ? 'if (c == 0u) { NBT[0] = NBT[0] + 1; }' : ''}
  }
}`;

const KERNELS: { readonly [B in BackendName]: RunningKernel<B> } = {
  cpu: (_b, X, RM, RV, counter, n, c, m) => {
    const [mean, variance] = [new Float64Array(c), new Float64Array(c)];
    for (let i = 0; i < n; i++) for (let j = 0; j < c; j++) mean[j] += X[i * c + j]!;
    for (let j = 0; j < c; j++) mean[j] /= n;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < c; j++) {
        const e = X[i * c + j]! - mean[j]!;
        variance[j] += e * e;
      }
    }
    for (let j = 0; j < c; j++) {
      RM[j] = (1 - m) * RM[j]! + m * mean[j]!;
      RV[j] = (1 - m) * RV[j]! + (m * variance[j]!) / (n - 1);
    }
    if (counter) counter[0]! += 1;
  },
  webgpu: (backend, x, rm, rv, counter, n, c, m) => {
    if (c === 0) return;
    const bufs = counter ? [x, rm, rv, counter] : [x, rm, rv];
    backend.run('batchNormRunningStats', runningWgsl(counter !== null), bufs, new Params('batchNormRunningStats').u32(n, c).f32(m), c, counter ? [1, 2, 3] : [1, 2]);
  },
};

/**
 * Updates `runningMean` and `runningVar` ([C]) in place from the batch x [N, C] with
 * momentum `m`, as BatchNorm1d does in training (N > 1), and adds 1 to the int32 scalar
 * `numBatchesTracked` when given.
 *
 * @example
 * batchNormRunningStats_(bn.runningMean, bn.runningVar, x, 0.1, bn.numBatchesTracked);
 */
export function batchNormRunningStats_(runningMean: Tensor, runningVar: Tensor, x: Tensor, momentum: number, numBatchesTracked: Tensor | null = null): void {
  const [n, c] = x.shape as [number, number];
  if (x.rank !== 2 || n < 2) throw new Error(`batchNormRunningStats: expected an input [N, C] with N > 1, got ${fmtShape(x.shape)}`);
  for (const t of [runningMean, runningVar]) {
    if (t.rank !== 1 || t.shape[0] !== c || t.dtype !== x.dtype || t.backendName !== x.backendName) {
      throw new Error(`batchNormRunningStats: running statistic ${fmtShape(t.shape)} ${t.dtype} on ${t.backendName} does not match input ${fmtShape(x.shape)} ${x.dtype} on ${x.backendName}`);
    }
  }
  const nbt = numBatchesTracked;
  if (nbt && (nbt.size !== 1 || nbt.dtype !== 'int32' || nbt.backendName !== x.backendName)) {
    throw new Error(`batchNormRunningStats: numBatchesTracked must be an int32 scalar on ${x.backendName}, got ${fmtShape(nbt.shape)} ${nbt.dtype} on ${nbt.backendName}`);
  }
  const b = x.backend;
  const kernel = KERNELS[b.name] as RunningKernel<BackendName>;
  const h = (t: Tensor) => t.storage.handle as never;
  kernel(b as never, h(x), h(runningMean), h(runningVar), nbt ? h(nbt) : null, n, c, momentum);
}
