// `aitm eval`: a saved model's (or a torch-rechub checkpoint's) AUC and logloss per task on a
// labelled CSV file.

import { disposeWebGpu, initBackend, type BackendName } from '@aitm/tensor';
import { aucOfChunks } from '../metrics/auc.js';
import { loglossOfChunks } from '../metrics/logloss.js';
import { predict, type TaskMetrics } from '../train/evaluate.js';
import { readForModel } from './data.js';
import { loadModel, memoryLimitOf, type ModelSource } from './model-source.js';
import { aucNote, metricsLines, positives } from './print-report.js';

/** `aitm eval`: metrics of a saved model on a labelled CSV, read block by block. */
export async function evalCommand(opts: ModelSource & { data: string; backend?: BackendName; log?: (l: string) => void; strictIds?: boolean; maxMemory?: number }): Promise<TaskMetrics> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const backend = await initBackend(opts.backend ? { backend: opts.backend } : {});
  try {
    const { config, model } = await loadModel(opts, opts.data, (l) => console.error(l), memoryLimitOf(opts.maxMemory));
    // Block by block; only the predictions (4 bytes a row and task) and the 0/1 labels (1 byte)
    // are kept, what the exact AUC needs, never joined: the metrics read the blocks' parts, one
    // task at a time, and each task's parts are let go once it is scored.
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
      const [ps, ys] = [probs[t]!.splice(0), labels[t]!.splice(0)];
      m.auc.push(aucOfChunks(ps, ys));
      m.logloss.push(loglossOfChunks(ps, ys));
      const note = aucNote(name, ys.reduce((a, c) => a + c.length, 0), ys.reduce((a, c) => a + positives(c), 0), opts.data);
      if (note !== null) console.error(note);
    });
    for (const line of metricsLines(config.labels, m)) log(line);
    return m;
  } finally {
    disposeWebGpu();
  }
}
