// Columnar in-memory dataset block (plain typed arrays, no tensors) and the helpers the training
// loop needs: concatenation, row subsets, and seeded shuffled mini-batches.

import { denseFeatures, sameColumns, sparseFeatures, type DataSchema } from './schema.js';
import type { Rng } from './rng.js';

/**
 * `n` rows stored column by column. labels[t] follows schema.labels[t]; sparse[k] / dense[k]
 * follow the k-th sparse / dense entry of schema.features. Labels are 0/1 floats so they can be
 * fed to a BCE loss directly; sparse ids are already in [0, vocabSize) when a vocab was known.
 */
export interface Dataset {
  n: number;
  labels: Float32Array[];
  sparse: Int32Array[];
  dense: Float32Array[];
  schema: DataSchema;
}

/** Zero-filled dataset of `n` rows with the columns of `schema`. */
export function allocDataset(schema: DataSchema, n: number): Dataset {
  return {
    n,
    labels: schema.labels.map(() => new Float32Array(n)),
    sparse: sparseFeatures(schema).map(() => new Int32Array(n)),
    dense: denseFeatures(schema).map(() => new Float32Array(n)),
    schema,
  };
}

/** Rows of `parts` one after the other. All parts must have the same columns (names, kinds and
 * order); the first part's schema is kept. An empty list needs `schema` to know the columns. */
export function concatDatasets(parts: readonly Dataset[], schema?: DataSchema): Dataset {
  const s = parts.length > 0 ? parts[0].schema : schema;
  if (s === undefined) throw new Error('concatDatasets: no parts and no schema');
  for (const p of parts) {
    if (!sameColumns(p.schema, s)) throw new Error('concatDatasets: parts have different columns');
  }
  const n = parts.reduce((acc, p) => acc + p.n, 0);
  const out = allocDataset(s, n);
  let offset = 0;
  for (const p of parts) {
    p.labels.forEach((col, i) => out.labels[i].set(col.subarray(0, p.n), offset));
    p.sparse.forEach((col, i) => out.sparse[i].set(col.subarray(0, p.n), offset));
    p.dense.forEach((col, i) => out.dense[i].set(col.subarray(0, p.n), offset));
    offset += p.n;
  }
  return out;
}

/** New dataset holding rows `indices` of `ds`, in that order (copies; repeats allowed). */
export function subset(ds: Dataset, indices: ArrayLike<number>): Dataset {
  const m = indices.length;
  for (let i = 0; i < m; i++) {
    const r = indices[i];
    if (!(Number.isInteger(r) && r >= 0 && r < ds.n)) throw new Error(`subset: row index ${r} out of range [0, ${ds.n})`);
  }
  const out = allocDataset(ds.schema, m);
  const gather = <T extends Float32Array | Int32Array>(src: T, dst: T): void => {
    for (let i = 0; i < m; i++) dst[i] = src[indices[i]];
  };
  ds.labels.forEach((col, i) => gather(col, out.labels[i]));
  ds.sparse.forEach((col, i) => gather(col, out.sparse[i]));
  ds.dense.forEach((col, i) => gather(col, out.dense[i]));
  return out;
}

/** Rows [start, end) as a dataset sharing memory with `ds` (zero-copy views). */
export function sliceRows(ds: Dataset, start: number, end: number): Dataset {
  const s = Math.max(0, Math.min(start, ds.n));
  const e = Math.max(s, Math.min(end, ds.n));
  return {
    n: e - s,
    labels: ds.labels.map((c) => c.subarray(s, e)),
    sparse: ds.sparse.map((c) => c.subarray(s, e)),
    dense: ds.dense.map((c) => c.subarray(s, e)),
    schema: ds.schema,
  };
}

/** Options of the mini-batch iterator: batch size, shuffling, generator. */
export interface BatchOptions {
  /** Drop the last batch when it has fewer than batchSize rows (default false). */
  dropLast?: boolean;
}

/** One epoch of row indices: a fresh permutation of 0..n-1 (from `rng`) cut into batches of
 * `batchSize`. Every row appears exactly once per epoch unless dropLast drops the tail. */
export function* shuffledIndexBatches(
  n: number,
  batchSize: number,
  rng: Rng,
  opts: BatchOptions = {},
): Generator<Int32Array> {
  if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  rng.shuffle(perm);
  for (let start = 0; start < n; start += batchSize) {
    const end = Math.min(n, start + batchSize);
    if (opts.dropLast && end - start < batchSize) break;
    yield perm.slice(start, end);
  }
}

/** One shuffled epoch of `ds` as mini-batch datasets (gathered copies, see subset). */
export function* shuffledBatches(
  ds: Dataset,
  batchSize: number,
  rng: Rng,
  opts: BatchOptions = {},
): Generator<Dataset> {
  for (const idx of shuffledIndexBatches(ds.n, batchSize, rng, opts)) yield subset(ds, idx);
}

/** In-order batches (for evaluation): zero-copy views of consecutive rows. */
export function* sequentialBatches(ds: Dataset, batchSize: number): Generator<Dataset> {
  if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
  for (let start = 0; start < ds.n; start += batchSize) yield sliceRows(ds, start, start + batchSize);
}
