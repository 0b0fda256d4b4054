// `aitm eval`: a saved model's (or a torch-rechub checkpoint's) AUC and logloss per task on a
// labelled CSV file.

import { disposeWebGpu, initBackend, type BackendName } from '@aitm/tensor';
import { metricsOf, predict, type TaskMetrics } from '../train/evaluate.js';
import { readForModel } from './data.js';
import { loadModel, memoryLimitOf, type ModelSource } from './model-source.js';
import { aucNotes, metricsLines } from './print-report.js';

/** The arrays one after the other. */
function joined(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** `aitm eval`: metrics of a saved model on a labelled CSV, read block by block. */
export async function evalCommand(opts: ModelSource & { data: string; backend?: BackendName; log?: (l: string) => void; strictIds?: boolean; maxMemory?: number }): Promise<TaskMetrics> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const backend = await initBackend(opts.backend ? { backend: opts.backend } : {});
  try {
    const { config, model } = await loadModel(opts, opts.data, (l) => console.error(l), memoryLimitOf(opts.maxMemory));
    // Block by block; only the predictions and labels are kept (what AUC needs).
    const probs: Float32Array[][] = config.labels.map(() => []);
    const labels: Float32Array[][] = config.labels.map(() => []);
    for await (const block of readForModel(config, opts.data, true, opts.strictIds)) {
      const p = await predict(model, block, { backend });
      config.labels.forEach((_, t) => {
        if (p[t]) probs[t]!.push(p[t]!);
        labels[t]!.push(block.labels[t]!.slice(0, block.n));
      });
    }
    const ds = { n: labels[0]?.reduce((a, c) => a + c.length, 0) ?? 0, labels: labels.map(joined) };
    const m = metricsOf(probs.map(joined), ds);
    for (const line of metricsLines(config.labels, m)) log(line);
    for (const note of aucNotes(config.labels, ds, opts.data)) console.error(note);
    return m;
  } finally {
    disposeWebGpu();
  }
}
