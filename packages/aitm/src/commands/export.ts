// `aitm export --onnx FILE`: a saved model's (or a torch-rechub checkpoint's) eval-mode forward
// as an ONNX graph; the graph itself is built by ../export/onnx.ts.

import { setBackend } from '@aitm/tensor';
import { onnxBytes } from '../export/onnx.js';
import { writeAtomic } from './atomic-write.js';
import { loadModel, type ModelSource } from './model-source.js';

/**
 * `aitm export --onnx FILE`: the model's eval-mode forward as an ONNX graph (opset 17, a
 * dynamic batch axis, one input per feature named as the feature, output `probs`).
 */
export async function exportCommand(opts: ModelSource & { onnx: string; data?: string; log?: (l: string) => void }): Promise<void> {
  const log = opts.log ?? ((l: string) => console.log(l));
  await setBackend('cpu');
  if ('checkpoint' in opts && opts.data === undefined) throw new Error('--checkpoint needs --data (its CSV header names the dense features)');
  const { config, model } = await loadModel(opts, opts.data ?? '', (l) => console.error(l));
  try {
    writeAtomic(opts.onnx, await onnxBytes(model, config));
    log(`wrote ${opts.onnx}: ${config.model}, inputs ${config.features.map((f) => f.name).join(', ')}; output probs [batch, ${config.labels.length}] (${config.labels.join(', ')})`);
  } finally {
    model.dispose();
  }
}
