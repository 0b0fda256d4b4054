// CPU reference kernels of the fused linear op and its activation gradient.

import type { KernelInput, TensorMeta } from '../../backend.js';
import { allocArray, type TypedArray } from '../../dtype.js';
import { stableSigmoid } from './math.js';
import type { LinearActivation } from '../../attrs.js';

type In = KernelInput<TypedArray>;

/** act(x W^T + b) for x [N, in], W [out, in], b [out] or null. */
export function linearCpu(x: In, w: In, b: In | null, out: TensorMeta, act: LinearActivation): TypedArray {
  const [n, k] = x.shape as [number, number];
  const m = w.shape[0]!;
  const o = allocArray(out.dtype, out.size);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += x.data[i * k + p]! * w.data[j * k + p]!;
      if (b) s += b.data[j]!;
      // relu as the elementwise op: NaN stays NaN.
      o[i * m + j] = act === 'relu' ? (s < 0 ? 0 : s) : act === 'sigmoid' ? stableSigmoid(s) : s;
    }
  }
  return o;
}

/**
 * dy times the activation's derivative, written with its output y: relu 0 where y <= 0 and
 * dy elsewhere (NaN y included, as PyTorch's threshold_backward), sigmoid dy y (1 - y).
 */
export function activationGradCpu(y: In, dy: In, out: TensorMeta, act: LinearActivation): TypedArray {
  const o = allocArray(out.dtype, out.size);
  for (let i = 0; i < out.size; i++) {
    const v = y.data[i]!;
    o[i] = act === 'relu' ? (v <= 0 ? 0 : dy.data[i]!) : act === 'sigmoid' ? dy.data[i]! * (v * (1 - v)) : dy.data[i]!;
  }
  return o;
}

/** activationGrad's g at 0 and its column sums at `sumAt`, for y and dy of [N, C]. */
export function activationGradSumCpu(y: In, dy: In, out: TensorMeta, act: LinearActivation, sumAt: number): TypedArray {
  const [n, c] = y.shape as [number, number];
  const g = activationGradCpu(y, dy, { shape: y.shape, dtype: out.dtype, size: y.size }, act);
  const o = allocArray(out.dtype, out.size);
  if (act !== 'none') o.set(g, 0);
  for (let i = 0; i < n; i++) for (let j = 0; j < c; j++) o[sumAt + j] += g[i * c + j]!;
  return o;
}
