// `aitm eval`: a saved model's (or a torch-rechub checkpoint's) AUC and logloss per task on a
// labelled CSV file.

import { disposeWebGpu, initBackend, type BackendName } from '@aitm/tensor';
import { metricsOf, predict, type TaskMetrics } from '../train/evaluate.js';
import { readForModel } from './data.js';
import { loadModel, memoryLimitOf, type ModelSource } from './model-source.js';
import { aucNotes, metricsLines } from './print-report.js';

/** `aitm eval`: metrics of a saved model on a labelled CSV. */
export async function evalCommand(opts: ModelSource & { data: string; backend?: BackendName; log?: (l: string) => void; strictIds?: boolean; maxMemory?: number }): Promise<TaskMetrics> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const backend = await initBackend(opts.backend ? { backend: opts.backend } : {});
  try {
    const { config, model } = await loadModel(opts, opts.data, (l) => console.error(l), memoryLimitOf(opts.maxMemory));
    const ds = await readForModel(config, opts.data, true, opts.strictIds);
    const m = metricsOf(await predict(model, ds, { backend }), ds);
    for (const line of metricsLines(config.labels, m)) log(line);
    for (const note of aucNotes(config.labels, ds, opts.data)) console.error(note);
    return m;
  } finally {
    disposeWebGpu();
  }
}
