// Bool results: the logical ops (any dtype in, nonzero is true, NaN included, as in
// PyTorch) and isnan. None has a gradient. Comparisons (gt, eq, ...) are in elementwise.ts
// and give 0/1 in their inputs' dtype instead, so they multiply into gradients directly.

import { broadcastShapes } from '../shape.js';
import { isFloat } from '../dtype.js';
import { defineOp, runOp, type OpDef } from '../op.js';
import { referenceOnWasm } from '../backends/wasm/reference.js';
import type { Tensor } from '../tensor.js';
import { mapBroadcast, mapUnary } from '../backends/cpu/kernels.js';
import { gpuPredicate, truthy } from '../backends/webgpu/elementwise.js';

const bit = (v: boolean): number => (v ? 1 : 0);
const on = (v: number): boolean => v !== 0; // NaN !== 0: true

/** The `isnan` op's definition (`defineOp`): run it with `runOp`, or find it in `opRegistry`. */
export const isnanOp = defineOp<null>({
  name: 'isnan',
  infer: ([x]) => ({ shape: x!.shape, dtype: 'bool' }),
  kernels: referenceOnWasm({
    cpu: (_b, [x], out) => mapUnary(x!, out, (v) => bit(Number.isNaN(v)), 0, 0),
    webgpu: gpuPredicate('isnan', (inputs) => (isFloat(inputs[0]!.dtype) ? 'is_nan(v0)' : 'false')),
  }),
  grad: 'none',
});

/** The `logicalNot` op's definition (`defineOp`): run it with `runOp`, or find it in `opRegistry`. */
export const logicalNotOp = defineOp<null>({
  name: 'logicalNot',
  infer: ([x]) => ({ shape: x!.shape, dtype: 'bool' }),
  kernels: referenceOnWasm({
    cpu: (_b, [x], out) => mapUnary(x!, out, (v) => bit(!on(v)), 0, 0),
    webgpu: gpuPredicate('logicalNot', (inputs) => `!(${truthy(inputs, 0)})`),
  }),
  grad: 'none',
});

const LOGICAL = {
  logicalAnd: { cpu: (a: number, b: number) => bit(on(a) && on(b)), wgsl: '&&' },
  logicalOr: { cpu: (a: number, b: number) => bit(on(a) || on(b)), wgsl: '||' },
  logicalXor: { cpu: (a: number, b: number) => bit(on(a) !== on(b)), wgsl: '!=' },
} as const;

type LogicalName = keyof typeof LOGICAL;

const logicalOps = Object.fromEntries(
  (Object.keys(LOGICAL) as LogicalName[]).map((name) => [
    name,
    defineOp<null>({
      name,
      infer: ([a, b]) => ({ shape: broadcastShapes(name, a!.shape, b!.shape), dtype: 'bool' }),
      kernels: referenceOnWasm({
        cpu: (_b, inputs, out) => mapBroadcast(inputs, out, LOGICAL[name].cpu),
        webgpu: gpuPredicate(name, (inputs) => `(${truthy(inputs, 0)}) ${LOGICAL[name].wgsl} (${truthy(inputs, 1)})`),
      }),
      grad: 'none',
    }),
  ]),
) as Record<LogicalName, OpDef<null>>;

/** True where x is NaN, like `torch.isnan` (always false for int32 and bool). */
export const isnan = (x: Tensor): Tensor => runOp(isnanOp, [x], null);
/** Elementwise NOT of x's truthiness (nonzero is true), as bool. */
export const logicalNot = (x: Tensor): Tensor => runOp(logicalNotOp, [x], null);
/**
 * Elementwise AND of two tensors' truthiness, as bool, broadcasting; any dtypes.
 *
 * @example
 * logicalAnd(gt(x, 0), logicalNot(isnan(y))); // bool mask
 */
export const logicalAnd = (a: Tensor, b: Tensor): Tensor => runOp(logicalOps.logicalAnd, [a, b], null);
/** Elementwise `a || b` of two bool tensors. */
export const logicalOr = (a: Tensor, b: Tensor): Tensor => runOp(logicalOps.logicalOr, [a, b], null);
/** Elementwise `a !== b` of two bool tensors. */
export const logicalXor = (a: Tensor, b: Tensor): Tensor => runOp(logicalOps.logicalXor, [a, b], null);
