// torch-rechub checkpoints (torch.save of a state dict, as MTLTrainer writes them) through
// `aitm import` and `aitm predict --checkpoint`: the architecture read off the keys, and the
// predictions equal to PyTorch's eval-mode outputs (fixtures/gen_torch_rechub.py, made with
// torch-rechub's own code) on both backends.

import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { disposeWebGpu, tryInitWebGpu } from '@aitm/tensor';
import { importCommand, predictCommand } from '../src/node.js';

const gpu = await tryInitWebGpu();
disposeWebGpu();
afterAll(() => disposeWebGpu());

const fx = (p: string) => fileURLToPath(new URL(`./fixtures/torch-rechub/${p}`, import.meta.url));
const tmp = () => mkdtempSync(join(tmpdir(), 'aitm-import-'));
const data = fx('data.csv');
const readCsvNumbers = (file: string): { header: string[]; rows: number[][] } => {
  const [head, ...lines] = readFileSync(file, 'utf8').trim().split('\n');
  return { header: head!.split(','), rows: lines.map((l) => l.split(',').map(Number)) };
};

// The data has a third label column (pay) that the two-task models do not use: they name
// their dense columns with --dense; the three-task model finds them in the header.
const DENSE = ['D1', 'D2'];
const CASES = [
  { name: 'aitm_bn', labels: undefined, dense: DENSE, kind: 'aitm', batchNorm: true },
  { name: 'aitm_nobn', labels: undefined, dense: DENSE, kind: 'aitm', batchNorm: false },
  { name: 'aitm_3task', labels: ['click', 'purchase', 'pay'], dense: undefined, kind: 'aitm', batchNorm: true },
  { name: 'mmoe', labels: undefined, dense: DENSE, kind: 'mmoe', batchNorm: true },
  { name: 'sharedbottom', labels: undefined, dense: DENSE, kind: 'sharedbottom', batchNorm: true },
  { name: 'ple', labels: undefined, dense: DENSE, kind: 'ple', batchNorm: true },
] as const;

describe('aitm import and predict --checkpoint with torch-rechub checkpoints', () => {
  for (const c of CASES) {
    it(`${c.name}: import infers the architecture and writes a model dir that predicts as torch`, async () => {
      const out = join(tmp(), c.name);
      const lines: string[] = [];
      const flags = { ...(c.labels && { labels: c.labels }), ...(c.dense && { dense: c.dense }) };
      const config = await importCommand({ checkpoint: fx(`${c.name}.pth`), data, out, ...flags, log: (l) => lines.push(l) });
      expect(config.model).toBe(c.kind);
      expect(config.labels).toEqual(c.labels ?? ['click', 'purchase']);
      // Sparse in the state dict's order, dense from the header (labels and sparse left out).
      expect(config.features.map((f) => `${f.name}:${f.type}`)).toEqual(['user:sparse', 'item:sparse', 'cate:sparse', 'D1:dense', 'D2:dense']);
      expect(config.towers.every((t) => t.batchNorm === c.batchNorm && t.dims.join() === '4')).toBe(true);
      expect(config.imported?.featureOrder).toMatch(/state dict order/);
      expect(lines.join('\n')).toMatch(/assumed \(a state dict does not record them\): activation relu and dropout 0/);
      expect(lines.join('\n')).toMatch(/labels in order: /);
      for (const f of ['config.json', 'model.safetensors']) expect(existsSync(join(out, f))).toBe(true);

      const want = readCsvNumbers(fx(`${c.name}.predictions.csv`));
      for (const backend of gpu ? (['cpu', 'webgpu'] as const) : (['cpu'] as const)) {
        for (const source of [{ modelDir: out }, { checkpoint: fx(`${c.name}.pth`), ...flags }]) {
          const pred = join(out, `pred-${backend}.csv`);
          await predictCommand({ ...source, data, out: pred, backend, overwrite: true });
          const got = readCsvNumbers(pred);
          expect(got.header).toEqual(want.header);
          got.rows.forEach((r, i) => r.forEach((v, t) => expect(Math.abs(v - want.rows[i]![t]!), `${backend} row ${i} task ${t}`).toBeLessThan(1e-5)));
        }
      }
    });
  }

  it("the reverse path: our model dir, loaded into torch-rechub's AITM by the README's python, predicts what we predict", async () => {
    const rev = (p: string) => fileURLToPath(new URL(`./fixtures/reverse/${p}`, import.meta.url));
    const want = readCsvNumbers(rev('torch-predictions.csv'));
    for (const backend of gpu ? (['cpu', 'webgpu'] as const) : (['cpu'] as const)) {
      const pred = join(tmp(), `pred-${backend}.csv`);
      await predictCommand({ modelDir: fileURLToPath(new URL('./fixtures/reverse', import.meta.url)), data: rev('data.csv'), out: pred, backend });
      const got = readCsvNumbers(pred);
      expect(got.header).toEqual(want.header);
      expect(got.rows).toHaveLength(want.rows.length);
      got.rows.forEach((r, i) => r.forEach((v, t) => expect(Math.abs(v - want.rows[i]![t]!), `${backend} row ${i} task ${t}`).toBeLessThan(1e-5)));
    }
  });

  it('says what it cannot infer, naming the key and shapes', async () => {
    const out = join(tmp(), 'bad');
    await expect(importCommand({ checkpoint: fx('aitm_bn.pth'), data, out, log: () => {} })).rejects.toThrow(
      'but the CSV header has 3 other column(s) [pay,D1,D2]; pass the dense columns with --dense',
    );
    await expect(importCommand({ checkpoint: fx('aitm_3task.pth'), data, out, log: () => {} })).rejects.toThrow(
      'aitm import: the checkpoint has 3 tasks: name their label columns in order with --labels',
    );
    await expect(importCommand({ checkpoint: fx('aitm_bn.pth'), data, out, dense: ['D1'], log: () => {} })).rejects.toThrow(
      "aitm import: 'bottoms.0.mlp.0.weight' [8, 14] takes 14 inputs: 12 from the 3 embeddings leaves 2 dense, but --dense names 1 other column(s) [D1]; pass the dense columns with --dense",
    );
    await expect(importCommand({ checkpoint: fx('mmoe.pth'), data, out, model: 'aitm', log: () => {} })).rejects.toThrow('aitm import: --model aitm, but the keys are those of mmoe');
    expect(existsSync(out)).toBe(false); // nothing written
  });
});
