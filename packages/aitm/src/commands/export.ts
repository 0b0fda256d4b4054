// `aitm export --onnx FILE`: a saved model's (or a torch-rechub checkpoint's) eval-mode forward
// as an ONNX graph; the graph itself is built by ../export/onnx.ts.

import { setBackend } from '@aitm/tensor';
import { onnxBytes } from '../export/onnx.js';
import { writeOutputFile } from './atomic-write.js';
import { loadModel, memoryLimitOf, modelFiles, type ModelSource } from './model-source.js';

/**
 * `aitm export --onnx FILE`: the model's eval-mode forward as an ONNX graph (opset 17, a
 * dynamic batch axis, one input per feature named as the feature, output `probs`). FILE must
 * not be one of the command's inputs, nor an existing file unless `overwrite`.
 */
export async function exportCommand(opts: ModelSource & { onnx: string; data?: string; overwrite?: boolean; maxMemory?: number; log?: (l: string) => void }): Promise<void> {
  const log = opts.log ?? ((l: string) => console.log(l));
  if ('checkpoint' in opts && opts.data === undefined) throw new Error('--checkpoint needs --data (its CSV header names the dense features)');
  const output = { flag: '--onnx', inputs: [opts.data, ...modelFiles(opts)], overwrite: opts.overwrite ?? false };
  let summary = '';
  await writeOutputFile(opts.onnx, output, async () => {
    await setBackend('cpu');
    const { config, model } = await loadModel(opts, opts.data ?? '', (l) => console.error(l), memoryLimitOf(opts.maxMemory));
    try {
      summary = `${config.model}, inputs ${config.features.map((f) => f.name).join(', ')}; output probs [batch, ${config.labels.length}] (${config.labels.join(', ')})`;
      return await onnxBytes(model, config);
    } finally {
      model.dispose();
    }
  });
  log(`wrote ${opts.onnx}: ${summary}`);
}
