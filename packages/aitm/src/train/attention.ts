// AITM's attention weights over a dataset: per transfer step, the weight each row puts on the
// transferred vector (column 1 of the [B, 2] softmax over [own, transferred]), read in eval
// mode in batches like `predict`.

import { noGrad, tidy, type BackendName, type Tensor } from '@aitm/tensor';
import type { Dataset } from '../data/batch.js';
import { forEachEvalBatch, type Predictor } from './evaluate.js';
import { batchTensors } from './batch-tensors.js';

/** What a model's `run()` returns when it attends over [own, transferred] (AITM, AITM-AutoInt). */
export interface AttentionOutput {
  readonly probs: Tensor;
  readonly attention: readonly Tensor[];
}

type Runnable = Predictor & { run(inputs: Readonly<Record<string, Tensor>>, opts?: { attention?: boolean }): unknown };

function hasRun(model: Predictor): model is Runnable {
  return typeof (model as Partial<Runnable>).run === 'function';
}

/** True when `out` carries attention weights (ESMM's and MMoE's `run()` return other things). */
export function isAttentionOutput(out: unknown): out is AttentionOutput {
  return typeof out === 'object' && out !== null && Array.isArray((out as { attention?: unknown }).attention);
}

/**
 * Per transfer step, the weight on the transferred vector for every row of `ds`, in row
 * order; null when the model has no `run()` returning attention.
 */
export async function attentionWeights(model: Predictor, ds: Dataset, opts: { batchSize?: number; backend: BackendName }): Promise<Float32Array[] | null> {
  if (!hasRun(model)) return null;
  let out: Float32Array[] | null = [];
  await forEachEvalBatch(model, ds, opts.batchSize ?? 8192, async (rows, start) => {
    // Only the attention tensors leave the scope; probs and the inputs are freed with it.
    const weights = tidy(() =>
      noGrad(() => {
        const r = model.run(batchTensors(ds, rows, opts.backend).inputs, { attention: true });
        return isAttentionOutput(r) ? [...r.attention] : null;
      }),
    );
    if (weights === null) {
      out = null;
      return false;
    }
    const acc: Float32Array[] = out!.length === 0 ? (out = weights.map(() => new Float32Array(ds.n))) : out!;
    try {
      for (let t = 0; t < weights.length; t++) {
        const w = weights[t]!;
        if (w.shape.length !== 2 || w.shape[1] !== 2) throw new Error(`attentionWeights: step ${t} weights have shape [${w.shape.join(',')}], expected [${rows.length},2]`);
        const d = await w.data();
        for (let i = 0; i < rows.length; i++) acc[t]![start + i] = d[i * 2 + 1]!;
      }
    } finally {
      weights.forEach((w) => w.dispose());
    }
  });
  return out;
}
