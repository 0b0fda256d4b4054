// `aitm predict`: a saved model's (or a torch-rechub checkpoint's) per-task probabilities for
// every row of a CSV file, written as a CSV.

import { disposeWebGpu, initBackend, type BackendName } from '@aitm/tensor';
import { predict } from '../train/evaluate.js';
import { writeOutputStream } from './atomic-write.js';
import { readForModel } from './data.js';
import { loadModel, memoryLimitOf, modelFiles, type ModelSource } from './model-source.js';

/**
 * `aitm predict`: a CSV of per-task probabilities (header: the label names), one row per input
 * row, written as the rows are read and scored (the input is never held whole). `out` must
 * not be one of the command's inputs, nor an existing file unless `overwrite`.
 */
export async function predictCommand(
  opts: ModelSource & { data: string; out: string; backend?: BackendName; strictIds?: boolean; overwrite?: boolean; maxMemory?: number },
): Promise<void> {
  const output = { flag: '--out', inputs: [opts.data, ...modelFiles(opts)], overwrite: opts.overwrite ?? false };
  await writeOutputStream(opts.out, output, async (write) => {
    const backend = await initBackend(opts.backend ? { backend: opts.backend } : {});
    try {
      const { config, model } = await loadModel(opts, opts.data, (l) => console.error(l), memoryLimitOf(opts.maxMemory));
      await write(`${config.labels.join(',')}\n`);
      // Block by block: each block's rows are written before the next is read.
      for await (const block of readForModel(config, opts.data, false, opts.strictIds)) {
        const probs = await predict(model, block, { backend });
        const lines: string[] = [];
        for (let i = 0; i < block.n; i++) lines.push(`${probs.map((p) => p[i]!.toPrecision(9)).join(',')}\n`);
        await write(lines.join(''));
      }
    } finally {
      disposeWebGpu();
    }
  });
}
