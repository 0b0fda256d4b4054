// gatherConcat: the embedding lookup of many categorical fields at once. Field f looks its
// ids [B] up in its table [V_f, D_f]; the rows land side by side in one [B, sum D_f] tensor.
// Composed, that is one gather per field plus a concat forward, and a slice plus a zeroed
// scatter-add per field backward; fused it is one kernel forward (per chunk of fields the
// adapter can bind) and two backward, which write every table's gradient into one flat
// block whose aligned slots the tables' gradients are views of.
// The composed form (`concat(fields.map((f) => gather(table_f, ids_f)), 1)`) stays the reference.

import { fmtShape } from '../shape.js';
import { defineOp, runOp } from '../op.js';
import { referenceOnWasm, withWasm } from '../backends/wasm/reference.js';
import { wasmGatherConcat, wasmGatherConcatGrad } from '../backends/wasm/gather.js';
import type { GatherConcatAttrs, GatherConcatGradAttrs } from '../attrs.js';
import type { Tensor } from '../tensor.js';
import { isFloat } from '../dtype.js';
import { FLAT_ALIGN, storageView } from '../fused/flat.js';
import { gatherConcatCpu, gatherConcatGradCpu } from '../backends/cpu/gather-concat.js';
import { gpuGatherConcat, gpuGatherConcatGrad } from '../backends/webgpu/gather-concat.js';
import { composedGrad } from '../autograd.js';
import { isGradEnabled } from '../grad-mode.js';
import { gather } from './gather.js';
import { concat } from './layout.js';

/** dTables as one flat block (inputs [dy, ids_0..]); no gradient of its own. */
export const gatherConcatGradOp = defineOp<GatherConcatGradAttrs>({
  name: 'gatherConcatGrad',
  infer: ([dy], { total }) => ({ shape: [total], dtype: dy!.dtype }),
  kernels: withWasm(
    referenceOnWasm({
      cpu: (_b, [dy, ...ids], out, { fields }) => gatherConcatGradCpu(dy!, ids, fields, out),
      webgpu: (b, [dy, ...ids], out, { fields }) => gpuGatherConcatGrad(b, dy!, ids, fields, out),
    }),
    wasmGatherConcatGrad,
  ),
  grad: 'notImplemented',
});

/** The `gatherConcat` op's definition (`defineOp`): run it with `runOp`, or find it in `opRegistry`. */
export const gatherConcatOp = defineOp<GatherConcatAttrs>({
  name: 'gatherConcat',
  infer: (inputs, { fields }) => {
    if (fields < 1 || inputs.length !== 2 * fields) {
      throw new Error(`gatherConcat: expected ${fields} tables and ${fields} id vectors, got ${inputs.length} inputs`);
    }
    const tables = inputs.slice(0, fields);
    const ids = inputs.slice(fields);
    const dtype = tables[0]!.dtype;
    const batch = ids[0]!.shape[0];
    let width = 0;
    tables.forEach((t, f) => {
      if (t.shape.length !== 2 || t.dtype !== dtype || !isFloat(dtype)) {
        throw new Error(`gatherConcat: field ${f}: expected a 2-D ${dtype} table [rows, dim], got ${fmtShape(t.shape)} ${t.dtype}`);
      }
      const id = ids[f]!;
      if (id.dtype !== 'int32' || id.shape.length !== 1 || id.shape[0] !== batch) {
        throw new Error(`gatherConcat: field ${f}: expected int32 ids of shape [${batch}], got ${fmtShape(id.shape)} ${id.dtype}`);
      }
      width += t.shape[1]!;
    });
    return { shape: [batch ?? 0, width], dtype };
  },
  kernels: withWasm(
    referenceOnWasm({
      cpu: (_b, inputs, out, { fields }) => gatherConcatCpu(inputs.slice(0, fields), inputs.slice(fields), out),
      webgpu: (b, inputs, out, { fields }) => gpuGatherConcat(b, inputs.slice(0, fields), inputs.slice(fields), out),
    }),
    wasmGatherConcat,
  ),
  grad: (dy, { inputs, attrs: { fields } }) => {
    if (isGradEnabled()) {
      const reference = (xs: readonly Tensor[]) => concat(xs.slice(0, fields).map((t, f) => gather(t, xs[fields + f]!)), 1);
      return composedGrad(reference, dy, inputs);
    }
    const tables = inputs.slice(0, fields);
    // A table used by several fields (shared embeddings) gets one slot; both fields add into it.
    const unique = [...new Set(tables)];
    const bases = new Map<Tensor, number>();
    let total = 0;
    for (const t of unique) {
      bases.set(t, total);
      total += Math.ceil(t.size / FLAT_ALIGN) * FLAT_ALIGN;
    }
    const perField = tables.map((t) => ({ rows: t.shape[0]!, dim: t.shape[1]!, base: bases.get(t)! }));
    const flat = runOp(gatherConcatGradOp, [dy, ...inputs.slice(fields)], { fields: perField, total });
    const grads = tables.map((t, f) => (tables.indexOf(t) === f && t.requiresGrad ? storageView(flat, bases.get(t)!, t.shape) : null));
    flat.dispose(); // the views keep the block alive
    return [...grads, ...inputs.slice(fields).map(() => null)];
  },
});

/**
 * Looks each field's ids up in its table and concatenates the rows: field f contributes
 * columns [sum of earlier dims, + D_f) of the [B, sum D_f] result. Equal to
 * `concat(tables.map((t, f) => gather(t, ids[f])), 1)`, in one kernel. A table may appear
 * for several fields. Out-of-range ids raise an error naming the field and position.
 *
 * @example
 * const x = gatherConcat([userTable, itemTable], [userIds, itemIds]); // [B, dimU + dimI]
 */
export function gatherConcat(tables: readonly Tensor[], ids: readonly Tensor[]): Tensor {
  if (tables.length !== ids.length) {
    throw new Error(`gatherConcat: ${tables.length} tables but ${ids.length} id vectors`);
  }
  return runOp(gatherConcatOp, [...tables, ...ids], { fields: tables.length });
}
