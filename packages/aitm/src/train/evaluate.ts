// Evaluation: predictions in eval mode (BatchNorm running statistics, no dropout, no graph)
// over a dataset in batches, and per-task AUC and logloss.

import { noGrad, tidy, type BackendName, type Tensor } from '@aitm/tensor';
import type { Dataset } from '../data/batch.js';
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

/** AUC and log loss per task of predicted probabilities against a dataset's labels. */
export function metricsOf(probs: readonly Float32Array[], ds: Dataset): TaskMetrics {
  return {
    auc: probs.map((p, t) => auc(p, ds.labels[t]!)),
    logloss: probs.map((p, t) => logloss(p, ds.labels[t]!)),
  };
}

/** Predicts a whole dataset in batches (no gradient, eval mode) and returns its metrics. */
export async function evaluate(model: Predictor, ds: Dataset, opts: { batchSize?: number; backend: BackendName }): Promise<TaskMetrics> {
  return metricsOf(await predict(model, ds, opts), ds);
}
