// `aitm eval`: a saved model's (or a torch-rechub checkpoint's) AUC and logloss per task on a
// labelled CSV file.

import { disposeWebGpu, initBackend, type BackendName } from '@aitm/tensor';
import { metricsOf, predict, type TaskMetrics } from '../train/evaluate.js';
import { readForModel } from './data.js';
import { loadModel, memoryLimitOf, type ModelSource } from './model-source.js';
import { aucNotes, metricsLines } from './print-report.js';

/** The arrays one after the other (as `make` makes them); the parts are dropped from `parts`. */
function joined<A extends Float32Array | Uint8Array>(parts: A[], make: (n: number) => A): A {
  const out = make(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts.splice(0)) {
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
    // Block by block; only the predictions (4 bytes a row and task) and the 0/1 labels (1 byte)
    // are kept, what the exact AUC needs. The tasks are then scored one at a time, each task's
    // parts joined and let go before the next, so the peak is the kept data plus one task's.
    const probs: Float32Array[][] = config.labels.map(() => []);
    const labels: Uint8Array[][] = config.labels.map(() => []);
    for await (const block of readForModel(config, opts.data, true, opts.strictIds)) {
      const p = await predict(model, block, { backend });
      config.labels.forEach((_, t) => {
        if (p[t]) probs[t]!.push(p[t]!);
        labels[t]!.push(Uint8Array.from(block.labels[t]!.subarray(0, block.n)));
      });
    }
    const m: TaskMetrics = { auc: [], logloss: [] };
    config.labels.forEach((name, t) => {
      const y = joined(labels[t]!, (n) => new Uint8Array(n));
      const one = metricsOf([joined(probs[t]!, (n) => new Float32Array(n))], { labels: [y] });
      m.auc.push(one.auc[0]!);
      m.logloss.push(one.logloss[0]!);
      for (const note of aucNotes([name], { n: y.length, labels: [y] }, opts.data)) console.error(note);
    });
    for (const line of metricsLines(config.labels, m)) log(line);
    return m;
  } finally {
    disposeWebGpu();
  }
}
