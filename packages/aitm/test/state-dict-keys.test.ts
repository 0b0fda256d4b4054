// Modules register children and parameters on assignment (PyTorch's habit); the models here
// register explicitly under torch-rechub's names. This pins every model kind's state-dict keys
// and parameter order to what they were before registration on assignment existed
// (fixtures/state-dict-keys.json, written by the explicit-registration code), so torch-rechub
// checkpoints keep loading.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, expect, it } from 'vitest';
import { setBackend } from '@aitm/tensor';
import { buildModel, defaultConfig, MODEL_NAMES, type DataSchema } from '../src/index.js';

const expected = JSON.parse(readFileSync(fileURLToPath(new URL('./fixtures/state-dict-keys.json', import.meta.url)), 'utf8')) as Record<
  string,
  { stateDict: string[]; parameters: string[] }
>;

beforeAll(() => setBackend('cpu'));

const schema: DataSchema = {
  labels: ['click', 'purchase'],
  features: [
    { name: 'u', type: 'sparse', vocabSize: 10, embedDim: 4 },
    { name: 'i', type: 'sparse', vocabSize: 7, embedDim: 4 },
    { name: 'D1', type: 'dense' },
  ],
};

for (const name of MODEL_NAMES) {
  for (const bn of [false, true]) {
    it(`${name}${bn ? ' with BatchNorm' : ''}: state-dict keys and parameter order are unchanged`, () => {
      const c = defaultConfig(schema, { model: name }) as unknown as Record<string, unknown> & { towers: { batchNorm: boolean }[] };
      for (const k of ['bottom', 'experts']) if (c[k]) (c[k] as { batchNorm: boolean }).batchNorm = bn;
      for (const t of c.towers) t.batchNorm = bn;
      const m = buildModel(c as unknown as Parameters<typeof buildModel>[0]);
      const sd = m.stateDict();
      const want = expected[`${name}${bn ? '+bn' : ''}`]!;
      expect(Object.keys(sd)).toEqual(want.stateDict);
      expect(m.namedParameters().map(([k]) => k)).toEqual(want.parameters);
      Object.values(sd).forEach((t) => t.dispose());
      m.dispose();
    });
  }
}
