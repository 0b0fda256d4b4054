// `aitm predict`: a saved model's (or a torch-rechub checkpoint's) per-task probabilities for
// every row of a CSV file, written as a CSV.

import { disposeWebGpu, initBackend, type BackendName } from '@aitm/tensor';
import { predict } from '../train/evaluate.js';
import { writeOutputFile } from './atomic-write.js';
import { readForModel } from './data.js';
import { loadModel, memoryLimitOf, modelFiles, type ModelSource } from './model-source.js';

/**
 * `aitm predict`: a CSV of per-task probabilities (header: the label names), one row per input
 * row. `out` must not be one of the command's inputs, nor an existing file unless `overwrite`.
 */
export async function predictCommand(
  opts: ModelSource & { data: string; out: string; backend?: BackendName; strictIds?: boolean; overwrite?: boolean; maxMemory?: number },
): Promise<void> {
  const output = { flag: '--out', inputs: [opts.data, ...modelFiles(opts)], overwrite: opts.overwrite ?? false };
  await writeOutputFile(opts.out, output, async () => {
    const backend = await initBackend(opts.backend ? { backend: opts.backend } : {});
    try {
      const { config, model } = await loadModel(opts, opts.data, (l) => console.error(l), memoryLimitOf(opts.maxMemory));
      const ds = await readForModel(config, opts.data, false, opts.strictIds);
      const probs = await predict(model, ds, { backend });
      const lines = [config.labels.join(',')];
      for (let i = 0; i < ds.n; i++) lines.push(probs.map((p) => p[i]!.toPrecision(9)).join(','));
      return `${lines.join('\n')}\n`;
    } finally {
      disposeWebGpu();
    }
  });
}
