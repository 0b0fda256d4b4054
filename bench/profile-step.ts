// Where one AITM training step's GPU time goes: `node bench/dist/profile-step.js [B] [bn|no-bn]`
// prints samples/s and gpuProfile's milliseconds per op (timestamp queries) for one case.
// A developer's tool for the kernel work described in bench/README.md ("What limits us").

import * as T from '@aitm/tensor';
import { Adam } from '@aitm/nn';
import { batchTensors, buildModel, generateSynthetic } from '@aitm/aitm';
import { configFor, stepFor } from './aitm.js';
import { SHAPE } from './aitm-cases.js';
import { timeIt, timingFor } from './common.js';

async function main(): Promise<void> {
  const batch = Number(process.argv[2] ?? 2048);
  const batchNorm = (process.argv[3] ?? 'bn') === 'bn';
  const mode = process.argv[4] === 'infer' ? 'infer' : 'train';
  await T.setBackend('webgpu');
  const { data } = generateSynthetic({ rows: batch, worldSeed: 1, sampleSeed: 2, fields: SHAPE.fields, vocab: SHAPE.vocab, embedDim: SHAPE.embedDim });
  const model = buildModel(configFor(data, batchNorm));
  const b = batchTensors(data, Int32Array.from({ length: batch }, (_, i) => i), 'webgpu');
  const opt = new Adam(model.parameters(), { lr: SHAPE.lr });
  const { step, sync } = stepFor(model, b, opt, mode);
  const s = await timeIt(step, sync, timingFor(true));
  T.gpuCounters(true);
  step();
  const n = T.gpuCounters()!;
  await sync();
  console.log(`${mode} B=${batch} ${batchNorm ? 'bn' : 'no-bn'}: ${(batch / s).toFixed(0)} samples/s, ${(s * 1000).toFixed(2)} ms/step, ${n.dispatches} dispatches`);
  const prof = await T.gpuProfile(() => { for (let i = 0; i < 3; i++) step(); });
  let total = 0;
  for (const r of prof ?? []) total += r.ms / 3;
  for (const r of prof ?? []) console.log(`  ${r.op.padEnd(28)} ${String(r.dispatches / 3).padStart(4)} ${(r.ms / 3).toFixed(3).padStart(8)} ms ${((100 * r.ms) / 3 / total).toFixed(1).padStart(5)}%`);
  console.log(`  total GPU ${total.toFixed(2)} ms`);
}

await main();
