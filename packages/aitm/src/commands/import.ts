// `aitm import`: a model dir (config.json and model.safetensors) from a torch-rechub
// checkpoint; the inference of its config is ../import.ts.

import { join } from 'node:path';
import { saveCheckpoint } from '@aitm/nn/node';
import type { ModelConfig } from '../config.js';
import type { ImportOptions } from '../import.js';
import { writeRunDir } from '../run-dir.js';
import { writeAtomic } from './atomic-write.js';
import { loadModel, memoryLimitOf } from './model-source.js';

/**
 * `aitm import`: writes a model dir (config.json and model.safetensors, PyTorch names) from a
 * torch-rechub checkpoint, printing what it inferred and what it assumed.
 */
export async function importCommand(
  opts: { checkpoint: string; data: string; out: string; overwrite?: boolean; maxMemory?: number; log?: (l: string) => void } & ImportOptions,
): Promise<ModelConfig> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const { config, model } = await loadModel(opts, opts.data, log, memoryLimitOf(opts.maxMemory));
  try {
    await writeRunDir(opts.out, { overwrite: opts.overwrite ?? false, inputs: [opts.checkpoint, opts.data] }, async (stage) => {
      writeAtomic(join(stage, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
      await saveCheckpoint(model, join(stage, 'model.safetensors'));
    });
  } finally {
    model.dispose();
  }
  log(`wrote ${opts.out}/config.json and model.safetensors`);
  return config;
}
