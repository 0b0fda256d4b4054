// CPU reference kernels of gatherConcat (one embedding lookup per field, concatenated)
// and its gradient (every table's scatter-add into one flat block).

import type { KernelInput, TensorMeta } from '../../backend.js';
import { allocArray, type TypedArray } from '../../dtype.js';

type In = KernelInput<TypedArray>;

function checkId(op: string, r: number, b: number, field: number, rows: number): void {
  if (r < 0 || r >= rows) {
    throw new Error(`${op}: field ${field}: index ${r} at position ${b} is out of range for ${rows} rows (valid: 0..${rows - 1})`);
  }
}

/** out[b, cols of field f] = tables[f][ids[f][b], :]. */
export function gatherConcatCpu(tables: readonly In[], ids: readonly In[], out: TensorMeta): TypedArray {
  const o = allocArray(out.dtype, out.size);
  const [batch, width] = out.shape as [number, number];
  let col = 0;
  tables.forEach((t, f) => {
    const [rows, dim] = t.shape as [number, number];
    const idx = ids[f]!.data;
    for (let b = 0; b < batch; b++) {
      const r = idx[b]!;
      checkId('gatherConcat', r, b, f, rows);
      o.set(t.data.subarray(r * dim, (r + 1) * dim), b * width + col);
    }
    col += dim;
  });
  return o;
}

/** Adds dy's field columns into each field's table at `bases[f]` of a flat zero block. */
export function gatherConcatGradCpu(
  dy: In,
  ids: readonly In[],
  fields: readonly { rows: number; dim: number; base: number }[],
  out: TensorMeta,
): TypedArray {
  const o = allocArray(out.dtype, out.size);
  const [batch, width] = dy.shape as [number, number];
  let col = 0;
  fields.forEach(({ rows, dim, base }, f) => {
    const idx = ids[f]!.data;
    for (let b = 0; b < batch; b++) {
      const r = idx[b]!;
      checkId('gatherConcat backward', r, b, f, rows);
      for (let c = 0; c < dim; c++) o[base + r * dim + c] += dy.data[b * width + col + c]!;
    }
    col += dim;
  });
  return o;
}
