// Evaluation: predictions in eval mode (BatchNorm running statistics, no dropout, no graph)
// over a dataset in batches, and per-task AUC and logloss.

import { noGrad, tidy, type BackendName, type Tensor } from '@aitm/tensor';
import type { Dataset } from '../data/batch.js';
import type { RowSource } from '../data/row-source.js';
import { auc } from '../metrics/auc.js';
import { logloss } from '../metrics/logloss.js';
import { batchTensors } from './batch-tensors.js';

/** What `evaluate` needs of a model. */
export interface Predictor {
  /** The predicted probabilities, [B, nTask]. */
  forward(inputs: Readonly<Record<string, Tensor>>): Tensor;
  /** Switches training mode (dropout, batch norm) on or off. */
  train(mode?: boolean): unknown;
  readonly training: boolean;
}

/**
 * A function to await in a long loop: about every `ms` milliseconds it waits for one turn of
 * the event loop (a timer), so that signal handlers (SIGTERM's clean-up) and a page's events
 * run even when every other await in the loop is a resolved promise (the CPU backend).
 *
 * @example
 * const pause = eventLoopTurns();
 * for (const b of batches) { step(b); await pause(); }
 */
export function eventLoopTurns(ms = 100): () => Promise<void> {
  let last = performance.now();
  return async () => {
    if (performance.now() - last < ms) return;
    await new Promise<void>((r) => setTimeout(r, 0));
    last = performance.now();
  };
}

/**
 * Runs `visit` on consecutive row batches of `ds` (in row order) with the model in eval mode,
 * restoring its mode afterwards. `visit` returns false to stop early. The one batching loop of
 * every eval-mode pass (predictions, attention weights).
 */
export async function forEachEvalBatch(
  model: Predictor,
  ds: Dataset,
  batchSize: number,
  visit: (rows: Int32Array, start: number) => Promise<boolean | void>,
): Promise<void> {
  const wasTraining = model.training;
  model.train(false);
  const pause = eventLoopTurns();
  try {
    for (let start = 0; start < ds.n; start += batchSize) {
      const end = Math.min(ds.n, start + batchSize);
      const rows = new Int32Array(end - start).map((_, i) => start + i);
      if ((await visit(rows, start)) === false) return;
      await pause();
    }
  } finally {
    model.train(wasTraining);
  }
}

/** Per-task probabilities for every row of `ds`, in row order. */
export async function predict(model: Predictor, ds: Dataset, opts: { batchSize?: number; backend: BackendName }): Promise<Float32Array[]> {
  let out: Float32Array[] = [];
  await forEachEvalBatch(model, ds, opts.batchSize ?? 8192, async (rows, start) => {
    const probs = tidy(() => noGrad(() => model.forward(batchTensors(ds, rows, opts.backend).inputs)));
    const p = await probs.data();
    const nTask = probs.shape[1]!;
    probs.dispose();
    if (out.length === 0) out = Array.from({ length: nTask }, () => new Float32Array(ds.n));
    for (let i = 0; i < rows.length; i++) for (let t = 0; t < nTask; t++) out[t]![start + i] = p[i * nTask + t]!;
  });
  return out;
}

/** AUC and log loss per task. */
export interface TaskMetrics {
  auc: number[];
  logloss: number[];
}

/** Per-task AUC and logloss of `probs` against the labels of `ds` (only its labels are read). */
export function metricsOf(probs: readonly Float32Array[], ds: { readonly labels: readonly ArrayLike<number>[] }): TaskMetrics {
  return {
    auc: probs.map((p, t) => auc(p, ds.labels[t]!)),
    logloss: probs.map((p, t) => logloss(p, ds.labels[t]!)),
  };
}

/** Predictions and labels of every row of a source, in its order (what metrics need; the features are not kept). */
export interface Scored {
  n: number;
  /** Per task, the predicted probabilities. */
  probs: Float32Array[];
  /** Per task, the 0/1 labels (one byte each when read from a file block by block). */
  labels: (Float32Array | Uint8Array)[];
}

/**
 * Predictions for every row of `src`, read block by block (no more than one block's features
 * held), with the labels kept beside them: 4 bytes per task and row for a prediction, 1 for
 * its 0/1 label.
 */
export async function scoreSource(model: Predictor, src: RowSource, opts: { batchSize?: number; backend: BackendName }): Promise<Scored> {
  const nTask = src.schema.labels.length;
  const probs = Array.from({ length: nTask }, () => new Float32Array(src.n));
  const labels = Array.from({ length: nTask }, () => new Uint8Array(src.n));
  let at = 0;
  for (let i = 0; i < src.blocks; i++) {
    const block = await src.block(i);
    if (at + block.n > src.n) throw new Error(`${src.name}: more rows than the ${src.n} counted at first; the file changed?`);
    const p = await predict(model, block, opts);
    for (let t = 0; t < nTask; t++) {
      if (p[t]) probs[t]!.set(p[t]!, at);
      labels[t]!.set(block.labels[t]!.subarray(0, block.n), at);
    }
    at += block.n;
  }
  if (at !== src.n) throw new Error(`${src.name}: ${at} rows, not the ${src.n} counted at first; the file changed?`);
  return { n: src.n, probs, labels };
}

/** Per-task AUC and logloss of `model` on `ds` (a dataset, or a source read block by block). */
export async function evaluate(model: Predictor, ds: Dataset | RowSource, opts: { batchSize?: number; backend: BackendName }): Promise<TaskMetrics> {
  if ('block' in ds) {
    const s = await scoreSource(model, ds, opts);
    return metricsOf(s.probs, s);
  }
  return metricsOf(await predict(model, ds, opts), ds);
}
