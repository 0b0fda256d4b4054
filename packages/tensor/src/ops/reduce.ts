// Reductions along axes (sum, max; mean and sumTo are built on sum). Reduced axes are
// dropped unless keepdim. max follows torch.amax: on ties the gradient is shared evenly.
// The elementwise and layout ops take their broadcast gradients from sumTo here, so this
// file calls them as Tensor methods (x.div(n), dy.expand(shape)) instead of importing them.

import { isFloat } from '../dtype.js';
import { fmtShape, normAxes, shapesEqual, type Shape } from '../shape.js';
import type { TensorMeta } from '../backend.js';
import { defineOp, runOp } from '../op.js';
import { referenceOnWasm, withWasm } from '../backends/wasm/reference.js';
import { wasmReduce } from '../backends/wasm/reduce.js';
import type { ReduceAttrs } from '../attrs.js';
import type { Tensor } from '../tensor.js';
import { reduce, sumInt32 } from '../backends/cpu/kernels.js';
import { gpuReduce } from '../backends/webgpu/reduce.js';
import { tidy } from '../memory.js';

function reducedShape(shape: Shape, axes: readonly number[], keepdim: boolean): number[] {
  return keepdim ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i));
}

function inferReduce(name: string) {
  return ([x]: readonly TensorMeta[], { axes, keepdim }: ReduceAttrs) => {
    if (x!.dtype === 'bool') throw new Error(`${name}: bool tensors are not supported; cast to float32 or int32 first`);
    if (name === 'max' && axes.some((a) => x!.shape[a] === 0)) {
      throw new Error(`max: cannot reduce an empty axis of ${fmtShape(x!.shape)}`);
    }
    return { shape: reducedShape(x!.shape, axes, keepdim), dtype: x!.dtype };
  };
}

/** dy reshaped so that it broadcasts against the input (reduced axes as size 1). */
function keptGrad(dy: Tensor, input: Tensor, axes: readonly number[]): Tensor {
  return dy.reshape(reducedShape(input.shape, axes, true));
}

/** The `sum` op's definition (`defineOp`): run it with `runOp`, or find it in `opRegistry`. */
export const sumOp = defineOp<ReduceAttrs>({
  name: 'sum',
  infer: inferReduce('sum'),
  kernels: withWasm(
    referenceOnWasm({
      cpu: (_b, [x], out, { axes }) => (out.dtype === 'int32' ? sumInt32(x!, out, axes) : reduce(x!, out, axes, 0, (acc, v) => acc + v)),
      webgpu: gpuReduce('sum'),
    }),
    wasmReduce('sum'),
  ),
  grad: (dy, { inputs: [x], attrs }) => [keptGrad(dy, x!, attrs.axes).expand(x!.shape)],
});

/** The `max` op's definition (`defineOp`): run it with `runOp`, or find it in `opRegistry`. */
export const maxOp = defineOp<ReduceAttrs>({
  name: 'max',
  infer: inferReduce('max'),
  kernels: withWasm(
    referenceOnWasm({
      cpu: (_b, [x], out, { axes }) => reduce(x!, out, axes, -Infinity, (acc, v) => (v > acc || Number.isNaN(v) ? v : acc)),
      webgpu: gpuReduce('max'),
    }),
    wasmReduce('max'),
  ),
  grad: (dy, { inputs: [x], output, attrs }) => {
    const y = keptGrad(output, x!, attrs.axes);
    const mask = x!.eq(y);
    const count = sum(mask, attrs.axes, true);
    return [mask.div(count).mul(keptGrad(dy, x!, attrs.axes))];
  },
});

/**
 * Sum over `dims` (all when omitted or null), like `torch.sum`. An int32 sum is exact and
 * stays int32; one that does not fit int32 raises, naming the op and the value (where
 * PyTorch would return int64): at the call on the CPU and wasm, at the next read on WebGPU.
 */
export function sum(x: Tensor, dims?: number | readonly number[] | null, keepdim = false): Tensor {
  return runOp(sumOp, [x], { axes: normAxes('sum', dims, x.rank), keepdim });
}

/** Maximum over `dims` (all when omitted or null), like `torch.amax`. */
export function max(x: Tensor, dims?: number | readonly number[] | null, keepdim = false): Tensor {
  return runOp(maxOp, [x], { axes: normAxes('max', dims, x.rank), keepdim });
}

/**
 * Minimum over `dims`, like `torch.amin`: -max(-x), so NaN propagates and ties share the
 * gradient evenly, as for max.
 */
export function min(x: Tensor, dims?: number | readonly number[] | null, keepdim = false): Tensor {
  return tidy(() => max(x.neg(), dims, keepdim).neg());
}

/**
 * Variance over `dims` (all when omitted or null) with Bessel's correction by default,
 * like `torch.var(x, dims, correction=1)`: sum((x - mean)^2) / (n - correction).
 *
 * @example
 * variance(x, 0);                      // unbiased, per column
 * variance(x, 0, { correction: 0 });   // biased (population) variance
 */
export function variance(x: Tensor, dims?: number | readonly number[] | null, opts: { correction?: number; keepdim?: boolean } = {}): Tensor {
  if (!isFloat(x.dtype)) throw new Error(`variance: expected a floating-point tensor, got ${x.dtype}`);
  const axes = normAxes('variance', dims, x.rank);
  const n = axes.reduce((acc, a) => acc * x.shape[a]!, 1);
  const correction = opts.correction ?? 1;
  return tidy(() => {
    const centered = x.sub(mean(x, axes, true));
    // n <= correction divides by zero or less, giving inf/NaN, as PyTorch does.
    return sum(centered.mul(centered), axes, opts.keepdim ?? false).div(Math.max(0, n - correction));
  });
}

/** Standard deviation: sqrt(variance(...)), like `torch.std` (Bessel's correction by default). */
export function std(x: Tensor, dims?: number | readonly number[] | null, opts: { correction?: number; keepdim?: boolean } = {}): Tensor {
  return tidy(() => variance(x, dims, opts).sqrt());
}

/**
 * Mean over `dims` (all when omitted or null). Like `torch.mean`, it needs a floating-point
 * tensor: an int32 or bool one (a comparison of int32 tensors, say) is refused, saying to cast.
 *
 * @example
 * mean(eq(pred, labels).cast('float32')); // accuracy of int32 predictions
 */
export function mean(x: Tensor, dims?: number | readonly number[] | null, keepdim = false): Tensor {
  if (!isFloat(x.dtype)) {
    throw new Error(
      `mean: could not infer output dtype: the input must be floating-point, got ${x.dtype} (as in PyTorch); ` +
        `cast it first: mean(x.cast('float32'))`,
    );
  }
  const axes = normAxes('mean', dims, x.rank);
  const n = axes.reduce((acc, a) => acc * x.shape[a]!, 1);
  return tidy(() => sum(x, axes, keepdim).div(n));
}

/**
 * Sums a broadcast result back to `shape` (the inverse of broadcasting), as every binary
 * op's gradient needs: leading extra axes and axes where `shape` has 1 are summed.
 */
export function sumTo(g: Tensor, shape: Shape): Tensor {
  if (shapesEqual(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  const s = axes.length > 0 ? sum(g, axes, true) : g;
  return s.reshape(shape);
}
