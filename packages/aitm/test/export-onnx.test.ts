// `aitm export --onnx` against onnxruntime-node (CPU execution provider): the exported graph's
// predictions equal `aitm predict`'s within 1e-5, for AITM (with and without BatchNorm, three
// tasks), AITM-AutoInt, MMoE, SharedBottom, PLE and ESMM; the interface is one input per feature and `probs`.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { exportCommand, importCommand, predictCommand, trainCommand } from '../src/node.js';

const fx = (p: string) => fileURLToPath(new URL(`./fixtures/${p}`, import.meta.url));
const tmp = () => mkdtempSync(join(tmpdir(), 'aitm-onnx-'));
const quiet = { log: () => {} };

function readCsv(file: string): { header: string[]; rows: string[][] } {
  const [head, ...lines] = readFileSync(file, 'utf8').trim().split(/\r?\n/);
  return { header: head!.split(','), rows: lines.map((l) => l.split(',')) };
}

/** Runs the ONNX file on the CSV's rows and returns probs [rows][tasks]. */
async function runOnnx(file: string, data: string, features: { name: string; type: 'sparse' | 'dense' }[]): Promise<number[][]> {
  const session = await ort.InferenceSession.create(readFileSync(file));
  const { header, rows } = readCsv(data);
  const feeds: Record<string, ort.Tensor> = {};
  for (const f of features) {
    const col = rows.map((r) => r[header.indexOf(f.name)]!);
    feeds[f.name] = f.type === 'sparse' ? new ort.Tensor('int64', BigInt64Array.from(col.map((v) => BigInt(v))), [rows.length]) : new ort.Tensor('float32', Float32Array.from(col.map(Number)), [rows.length]);
  }
  expect([...session.inputNames].sort()).toEqual(features.map((f) => f.name).sort());
  expect(session.outputNames).toEqual(['probs']);
  const out = (await session.run(feeds)).probs!;
  const tasks = out.dims[1]!;
  const values = out.data as Float32Array;
  return rows.map((_, i) => Array.from(values.subarray(i * tasks, (i + 1) * tasks)));
}

async function expectSamePredictions(modelDir: string, data: string): Promise<void> {
  const onnxFile = join(modelDir, 'model.onnx');
  await exportCommand({ modelDir, onnx: onnxFile, ...quiet });
  const config = JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8'));
  const got = await runOnnx(onnxFile, data, config.features);
  const predFile = join(modelDir, 'pred.csv');
  await predictCommand({ modelDir, data, out: predFile, backend: 'cpu' });
  const want = readCsv(predFile);
  expect(want.header).toEqual(config.labels);
  got.forEach((r, i) => r.forEach((v, t) => expect(Math.abs(v - Number(want.rows[i]![t])), `row ${i} task ${t}: onnx ${v}, ours ${want.rows[i]![t]}`).toBeLessThan(1e-5)));
}

describe('aitm export --onnx', () => {
  it('AITM trained here (reverse fixture): onnxruntime predicts what aitm predict does', async () => {
    const dir = join(tmp(), 'run');
    // A copy, so the export does not write into the fixture.
    const { mkdirSync, copyFileSync } = await import('node:fs');
    mkdirSync(dir);
    for (const f of ['config.json', 'model.safetensors']) copyFileSync(fx(`reverse/${f}`), join(dir, f));
    await expectSamePredictions(dir, fx('reverse/data.csv'));
  });

  for (const [name, flags] of [
    ['aitm_nobn', { dense: ['D1', 'D2'] }],
    ['aitm_3task', { labels: ['click', 'purchase', 'pay'] }],
    ['mmoe', { dense: ['D1', 'D2'] }],
    ['sharedbottom', { dense: ['D1', 'D2'] }],
    ['ple', { dense: ['D1', 'D2'] }],
  ] as const) {
    it(`${name} (a torch-rechub checkpoint, imported): onnxruntime predicts what aitm predict does`, async () => {
      const dir = join(tmp(), name);
      await importCommand({ checkpoint: fx(`torch-rechub/${name}.pth`), data: fx('torch-rechub/data.csv'), out: dir, ...flags, ...quiet });
      await expectSamePredictions(dir, fx('torch-rechub/data.csv'));
    });
  }

  it('ESMM trained here: onnxruntime predicts what aitm predict does', async () => {
    const dir = tmp();
    const data = join(dir, 'data.csv');
    const src = readCsv(fx('reverse/data.csv'));
    writeFileSync(data, [src.header.join(','), ...src.rows.map((r) => r.join(','))].join('\n') + '\n');
    const out = join(dir, 'run');
    await trainCommand({ model: 'esmm', data, epochs: 1, batchSize: 16, backend: 'cpu', out, quiet: true, ...quiet });
    await expectSamePredictions(out, data);
  });

  it('AITM-AutoInt trained here: onnxruntime predicts what aitm predict does', async () => {
    const out = join(tmp(), 'run');
    await trainCommand({ model: 'aitm-autoint', data: fx('reverse/data.csv'), epochs: 1, batchSize: 16, backend: 'cpu', out, quiet: true, ...quiet });
    await expectSamePredictions(out, fx('reverse/data.csv'));
  });
});
