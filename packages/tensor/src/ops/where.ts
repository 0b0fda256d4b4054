// where(cond, a, b): a where cond is nonzero, else b, with broadcasting of all three.
// The condition gets no gradient; a and b get dy masked by the condition. The elementwise
// ops import where (for their gradients), so it calls them as Tensor methods (cond.ne(0)).

import { broadcastShapes } from '../shape.js';
import { defineOp, runOp } from '../op.js';
import { referenceOnWasm, withWasm } from '../backends/wasm/reference.js';
import { wasmWhere } from '../backends/wasm/unary.js';
import type { Tensor, TensorLike } from '../tensor.js';
import { scalarLike, zerosLike } from '../creation.js';
import { mapBroadcast } from '../backends/cpu/kernels.js';
import { gpuWhere } from '../backends/webgpu/elementwise.js';
import { sumTo } from './reduce.js';
import { tidy } from '../memory.js';

/** The `where` op's definition (`defineOp`): run it with `runOp`, or find it in `opRegistry`. */
export const whereOp = defineOp<null>({
  name: 'where',
  infer: ([c, a, b]) => {
    if (a!.dtype !== b!.dtype) throw new Error(`where: dtype mismatch between the branches, ${a!.dtype} and ${b!.dtype}`);
    return { shape: broadcastShapes('where', c!.shape, a!.shape, b!.shape), dtype: a!.dtype };
  },
  kernels: withWasm(
    referenceOnWasm({
      cpu: (_b, inputs, out) => mapBroadcast(inputs, out, (c, a, b) => (c !== 0 ? a! : b!)),
      webgpu: gpuWhere,
    }),
    wasmWhere,
  ),
  grad: (dy, { inputs: [c, a, b] }) => {
    const zero = zerosLike(dy);
    return [
      // A float condition may require grad; its gradient is zero (the choice is piecewise constant).
      c!.requiresGrad ? zerosLike(c!) : null,
      a!.requiresGrad ? sumTo(where(c!, dy, zero), a!.shape) : null,
      b!.requiresGrad ? sumTo(where(c!, zero, dy), b!.shape) : null,
    ];
  },
});

/** Elementwise choice: `a` where `cond` != 0, else `b` (numbers become 0-d tensors). */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  const like = typeof a === 'number' ? (typeof b === 'number' ? cond : b) : a;
  const ta = typeof a === 'number' ? scalarLike(like, a) : a;
  const tb = typeof b === 'number' ? scalarLike(like, b) : b;
  // Any nonzero condition is true (0.5 too): compare in the condition's own dtype, then cast the 0/1.
  const c = cond.dtype === ta.dtype ? cond : cond.dtype === 'bool' ? cond.cast(ta.dtype) : tidy(() => cond.ne(0).cast(ta.dtype));
  const y = runOp(whereOp, [c, ta, tb], null);
  for (const [t, given] of [[ta, a], [tb, b], [c, cond]] as const) if (t !== given) t.dispose();
  return y;
}
