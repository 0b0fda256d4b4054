// Loading a trained AITM and predicting, from TypeScript: a model dir written by
// `aitm train` (config.json + model.safetensors), rows read with the model's schema, one
// probability per task and row. Run: node examples/dist/predict-aitm.js [MODEL_DIR] [CSV]

import { initBackend } from '@aitm/tensor';
import { loadModelDir, predict, readCsv, schemaOf } from '@aitm/aitm/node';

const dir = process.argv[2] ?? 'packages/aitm/test/fixtures/reverse';
const csv = process.argv[3] ?? `${dir}/data.csv`;

const backend = await initBackend();
const { config, model } = await loadModelDir(dir);
const { data } = await readCsv(csv, { schema: schemaOf(config), labelsOptional: true });
const probs = await predict(model, data, { backend });
console.log(`model ${config.model}, tasks ${config.labels.join(', ')}, ${data.n} rows`);
for (let i = 0; i < Math.min(3, data.n); i++) {
  console.log(`row ${i}: ${config.labels.map((label, t) => `${label} ${probs[t]![i]!.toFixed(4)}`).join(', ')}`);
}
model.dispose();
