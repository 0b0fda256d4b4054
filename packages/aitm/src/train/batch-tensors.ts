// Turning rows of a columnar Dataset into the tensors a model reads: int32 ids per sparse
// feature, float values per dense feature, and a [B, nTask] label matrix. Every sparse
// feature's ids go up in ONE upload (an [F, B] block whose rows the features' tensors are
// views of, which also lets the embedding kernels bind the ids once); dense columns and the
// labels are one upload each. On WebGPU these are queue writes, not host syncs.

import { FLAT_ALIGN, fromTypedArray, storageView, type BackendName, type Tensor } from '@aitm/tensor';
import type { Dataset } from '../data/batch.js';
import { denseFeatures, sparseFeatures } from '../data/schema.js';

/** A batch as tensors: the model's inputs by feature and the labels. */
export interface BatchTensors {
  inputs: Record<string, Tensor>;
  /** [B, nTask] 0/1 labels. */
  labels: Tensor;
  size: number;
}

/** Tensors for the rows `rows` of `ds` (all rows when omitted), on `backend`. */
export function batchTensors(ds: Dataset, rows: Int32Array | null, backend: BackendName): BatchTensors {
  const n = rows === null ? ds.n : rows.length;
  const pick = <A extends Int32Array | Float32Array>(col: A, make: (k: number) => A): A => {
    if (rows === null) return col;
    const out = make(n);
    for (let i = 0; i < n; i++) out[i] = col[rows[i]!]!;
    return out;
  };
  // Feature names are data: "__proto__" or "constructor" must be plain keys, not Object.prototype's.
  const inputs: Record<string, Tensor> = Object.create(null) as Record<string, Tensor>;
  const sparse = sparseFeatures(ds.schema);
  if (sparse.length > 0) {
    // Rows padded to FLAT_ALIGN ints so each feature's view starts at a bindable offset.
    const stride = Math.ceil(n / FLAT_ALIGN) * FLAT_ALIGN;
    const block = new Int32Array(sparse.length * stride);
    sparse.forEach((_, k) => block.set(pick(ds.sparse[k]!, (m) => new Int32Array(m)), k * stride));
    const all = fromTypedArray(block, [block.length], 'int32', { backend });
    sparse.forEach((f, k) => (inputs[f.name] = storageView(all, k * stride, [n])));
    all.dispose(); // the views keep the block alive
  }
  denseFeatures(ds.schema).forEach((f, k) => {
    inputs[f.name] = fromTypedArray(pick(ds.dense[k]!, (m) => new Float32Array(m)), [n], 'float32', { backend });
  });
  const nTask = ds.labels.length;
  const y = new Float32Array(n * nTask);
  for (let t = 0; t < nTask; t++) {
    const col = ds.labels[t]!;
    for (let i = 0; i < n; i++) y[i * nTask + t] = col[rows === null ? i : rows[i]!]!;
  }
  return { inputs, labels: fromTypedArray(y, [n, nTask], 'float32', { backend }), size: n };
}
