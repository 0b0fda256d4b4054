// Row gather by int32 index (the embedding lookup, `weight[idx]`) and its adjoint, the
// scatter-add of rows, which is gather's gradient: rows picked several times receive the
// sum of their gradients.

import { fmtShape } from '../shape.js';
import { defineOp, runOp } from '../op.js';
import { referenceOnWasm, withWasm } from '../backends/wasm/reference.js';
import { wasmGather, wasmScatterAdd } from '../backends/wasm/gather.js';
import type { ScatterAddAttrs } from '../attrs.js';
import type { Tensor } from '../tensor.js';
import { gatherRows, scatterAddRows } from '../backends/cpu/kernels.js';
import { gpuGather, gpuScatterAdd } from '../backends/webgpu/gather.js';

/** The `gather` op's definition (`defineOp`): run it with `runOp`, or find it in `opRegistry`. */
export const gatherOp = defineOp<null>({
  name: 'gather',
  infer: ([table, idx]) => {
    if (idx!.dtype !== 'int32') throw new Error(`gather: indices must be int32, got ${idx!.dtype}`);
    if (table!.shape.length < 1) throw new Error(`gather: the table must have at least 1 dimension, got ${fmtShape(table!.shape)}`);
    return { shape: [...idx!.shape, ...table!.shape.slice(1)], dtype: table!.dtype };
  },
  kernels: withWasm(referenceOnWasm({ cpu: (_b, [table, idx], out) => gatherRows('gather', table!, idx!, out), webgpu: gpuGather }), wasmGather),
  grad: (dy, { inputs: [table, idx] }) => [scatterAdd(dy, idx!, table!.shape[0]!), null],
});

/** The `scatterAdd` op's definition (`defineOp`): run it with `runOp`, or find it in `opRegistry`. */
export const scatterAddOp = defineOp<ScatterAddAttrs>({
  name: 'scatterAdd',
  infer: ([src, idx], { rows }) => {
    if (idx!.dtype !== 'int32') throw new Error(`scatterAdd: indices must be int32, got ${idx!.dtype}`);
    const lead = src!.shape.slice(0, idx!.shape.length);
    if (lead.length !== idx!.shape.length || lead.some((d, i) => d !== idx!.shape[i])) {
      throw new Error(`scatterAdd: source ${fmtShape(src!.shape)} must start with the index shape ${fmtShape(idx!.shape)}`);
    }
    return { shape: [rows, ...src!.shape.slice(idx!.shape.length)], dtype: src!.dtype };
  },
  kernels: withWasm(referenceOnWasm({ cpu: (_b, [src, idx], out) => scatterAddRows('scatterAdd', src!, idx!, out), webgpu: gpuScatterAdd }), wasmScatterAdd),
  grad: (dy, { inputs: [, idx] }) => [gather(dy, idx!), null],
});

/**
 * Rows of `table` picked by `indices`: the result has shape [...indices.shape, ...table.shape[1:]].
 * Out-of-range indices raise an error naming the index and the row count.
 *
 * @example
 * gather(weight, tensor([[0, 2], [2, 1]], { dtype: 'int32' })); // [2, 2, dim]
 */
export function gather(table: Tensor, indices: Tensor): Tensor {
  return runOp(gatherOp, [table, indices], null);
}

/** Sums the rows of `src` into a zero tensor with `rows` rows at `indices` (duplicates add up). */
export function scatterAdd(src: Tensor, indices: Tensor, rows: number): Tensor {
  return runOp(scatterAddOp, [src, indices], { rows });
}
