// The commands end to end: train on the shipped Ali-CCP sample, then eval and predict from
// the saved directory; a hand-made torch-rechub model directory predicts what PyTorch
// predicted; bad inputs fail with clear errors and write nothing.

import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { evalCommand, predictCommand, trainCommand } from '../src/node.js';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const ali = (split: string) => here(`../data/ali-ccp/ali_ccp_${split}_sample.csv`);
const tmp = () => mkdtempSync(join(tmpdir(), 'aitm-cli-'));
const quiet = { log: () => {}, quiet: true };

describe('aitm train / eval / predict on the Ali-CCP sample', () => {
  it('trains, writes config.json, model.safetensors and report.json, and eval/predict reproduce the report', async () => {
    const out = join(tmp(), 'run');
    const { report } = await trainCommand({ data: ali('train'), val: ali('val'), test: ali('test'), epochs: 2, batchSize: 32, backend: 'cpu', out, ...quiet });
    for (const f of ['config.json', 'model.safetensors', 'report.json']) expect(existsSync(join(out, f))).toBe(true);
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    expect(config.model).toBe('aitm');
    expect(config.labels).toEqual(['click', 'purchase']);
    expect(config.features).toHaveLength(31);
    expect(config.features.find((f: { name: string }) => f.name === '205')).toEqual({ name: '205', type: 'sparse', vocabSize: 120, embedDim: 4 });
    const saved = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(Object.keys(saved)).toEqual(expect.arrayContaining(['val', 'test', 'oracleAuc', 'samplesPerSecond', 'epochs']));
    expect(saved.oracleAuc).toBeNull();
    expect(saved.epochs).toHaveLength(2);
    expect(saved.test.auc).toHaveLength(2);

    const metrics = await evalCommand({ modelDir: out, data: ali('test'), backend: 'cpu', log: () => {} });
    expect(metrics.auc[0]).toBeCloseTo(report.test.auc[0]!, 6);
    expect(metrics.logloss[1]).toBeCloseTo(report.test.logloss[1]!, 6);

    const predFile = join(out, 'pred.csv');
    await predictCommand({ modelDir: out, data: ali('test'), out: predFile, backend: 'cpu' });
    const lines = readFileSync(predFile, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('click,purchase');
    expect(lines).toHaveLength(51);
    const row = lines[1]!.split(',');
    expect(row).toHaveLength(2);
    expect(row[0]!.replace(/^0\.0*/, '').length).toBeGreaterThanOrEqual(7); // 7+ significant digits
  });

  it('a torch-rechub model directory (state_dict as safetensors + config) predicts what PyTorch predicted', async () => {
    const fx = JSON.parse(readFileSync(here('./fixtures/aitm.json'), 'utf8'));
    const dir = tmp();
    const config = {
      model: 'aitm',
      labels: ['click', 'purchase'],
      features: [
        ...fx.config.sparse_features.map((f: { name: string; vocab_size: number; embed_dim: number }) => ({ name: f.name, type: 'sparse', vocabSize: f.vocab_size, embedDim: f.embed_dim })),
        ...fx.config.dense_features.map((f: { name: string }) => ({ name: f.name, type: 'dense' })),
      ],
      bottom: { dims: fx.config.bottom_params.dims },
      towers: [{ dims: fx.config.tower_params.dims }, { dims: fx.config.tower_params.dims }],
      alpha: 0.6,
    };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    copyFileSync(here('./fixtures/aitm2.safetensors'), join(dir, 'model.safetensors'));
    const names = ['f1', 'f2', 'f3', 'd1'];
    const rows = fx.inputs.f1.data.map((_: number, i: number) => names.map((n) => fx.inputs[n].data[i]).join(','));
    const input = join(dir, 'input.csv');
    writeFileSync(input, `${names.join(',')}\n${rows.join('\n')}\n`); // no label columns: predict does not need them
    const out = join(dir, 'pred.csv');
    await predictCommand({ modelDir: dir, data: input, out, backend: 'cpu' });
    const got = readFileSync(out, 'utf8').trim().split('\n').slice(1).flatMap((l) => l.split(',').map(Number));
    const want: number[] = fx.n2.pred_eval_initial.data;
    expect(got).toHaveLength(want.length);
    got.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThan(2e-6)); // float32 model, float64 reference
  });
});

describe('aitm train on synthetic data', () => {
  it('takes changes to the built-in world (dependence, base rates) and reports the oracle AUC', async () => {
    const run = (synthetic: { dependence: number; purchaseBase: number }) =>
      trainCommand({ syntheticRows: 3000, epochs: 1, batchSize: 512, backend: 'cpu', out: join(tmp(), 'run'), synthetic, ...quiet });
    const a = (await run({ dependence: 0.9, purchaseBase: 0.3 })).report;
    const b = (await run({ dependence: 0, purchaseBase: 0.3 })).report;
    expect(a.oracleAuc).toHaveLength(2);
    // Same world seed and click part: the click oracle is unchanged, the purchase one is not.
    expect(a.oracleAuc![0]).toBeCloseTo(b.oracleAuc![0]!, 10);
    expect(a.oracleAuc![1]).not.toBeCloseTo(b.oracleAuc![1]!, 3);
  });
});

describe('bad input: a clear error and nothing written', () => {
  it('a config naming a column the CSV lacks', async () => {
    const dir = tmp();
    const cfg = join(dir, 'config.json');
    writeFileSync(cfg, JSON.stringify({ model: 'aitm', labels: ['click', 'purchase'], features: [{ name: 'nope', type: 'sparse', vocabSize: 10, embedDim: 4 }], bottom: { dims: [4] }, towers: [{ dims: [2] }, { dims: [2] }], alpha: 0.6 }));
    const out = join(dir, 'run');
    await expect(trainCommand({ data: ali('train'), config: cfg, backend: 'cpu', out, ...quiet })).rejects.toThrow(/column "nope" named in the schema is missing from the header/);
    expect(existsSync(out)).toBe(false);
  });

  it('a config whose towers do not match its labels', async () => {
    const dir = tmp();
    const cfg = join(dir, 'config.json');
    writeFileSync(cfg, JSON.stringify({ model: 'aitm', labels: ['click', 'purchase'], features: [{ name: '205', type: 'sparse', vocabSize: 120, embedDim: 4 }], bottom: { dims: [4] }, towers: [{ dims: [2] }], alpha: 0.6 }));
    await expect(trainCommand({ data: ali('train'), config: cfg, backend: 'cpu', out: join(dir, 'run'), ...quiet })).rejects.toThrow('config: towers: has 1 entries but labels name 2 tasks');
    expect(existsSync(join(dir, 'run'))).toBe(false);
  });

  it('an empty data file', async () => {
    const dir = tmp();
    const empty = join(dir, 'empty.csv');
    writeFileSync(empty, '');
    await expect(trainCommand({ data: empty, backend: 'cpu', out: join(dir, 'run'), ...quiet })).rejects.toThrow(/empty file/);
    expect(existsSync(join(dir, 'run'))).toBe(false);
  });

  it('a checkpoint that does not match its config', async () => {
    const out = join(tmp(), 'run');
    await trainCommand({ data: ali('train'), val: ali('val'), test: ali('test'), epochs: 1, batchSize: 50, backend: 'cpu', out, ...quiet });
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    cfg.bottom.dims = [16, 8];
    writeFileSync(join(out, 'config.json'), JSON.stringify(cfg));
    const pred = join(out, 'pred.csv');
    await expect(predictCommand({ modelDir: out, data: ali('test'), out: pred, backend: 'cpu' })).rejects.toThrow(/model.safetensors does not match config.json/);
    expect(existsSync(pred)).toBe(false);
  });

  it('a model directory without a checkpoint', async () => {
    await expect(evalCommand({ modelDir: tmp(), data: ali('test'), backend: 'cpu', log: () => {} })).rejects.toThrow(/no config.json/);
  });
});

describe('keeping the best epoch', () => {
  it('snapshotState / restoreState put every parameter and buffer back, in the model itself', async () => {
    const { snapshotState, restoreState, buildModel, defaultConfig } = await import('../src/index.js');
    const T = await import('@aitm/tensor');
    const schema = { labels: ['click', 'purchase'], features: [{ name: 'a', type: 'sparse' as const, vocabSize: 5, embedDim: 3 }, { name: 'd', type: 'dense' as const }] };
    const model = buildModel(defaultConfig(schema));
    const before = new Map(model.stateEntries().map(([k, t]) => [k, Array.from(t.dataSync())]));
    const snap = await snapshotState(model);
    for (const [, t] of model.stateEntries()) t.assign(T.full([...t.shape], 7, { dtype: t.dtype }));
    restoreState(model, snap);
    for (const [k, t] of model.stateEntries()) expect(Array.from(t.dataSync())).toEqual(before.get(k));
  });
});

describe('aitm train --world', () => {
  const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
  it('trains on a named funnel (4 tasks, an oracle AUC each) and refuses an unknown name or a 2-step knob with it', async () => {
    const { spawnSync } = await import('node:child_process');
    const out = join(tmp(), 'run');
    const args = ['train', '--world', 'funnel4', '--rows', '1200', '--epochs', '1', '--batch-size', '256', '--backend', 'cpu', '--quiet', '--out', out];
    const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('world funnel4 (click -> cart -> purchase -> repurchase)');
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(report.labels).toEqual(['click', 'cart', 'purchase', 'repurchase']);
    expect(report.oracleAuc).toHaveLength(4);
    const bad = spawnSync(process.execPath, [cli, 'train', '--world', 'funnel9'], { encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("--world: expected one of default, funnel3, funnel4, funnel5, got 'funnel9'");
    const knob = spawnSync(process.execPath, [cli, 'train', '--world', 'funnel3', '--dependence', '0.5', '--rows', '600', '--backend', 'cpu', '--out', join(tmp(), 'x')], { encoding: 'utf8' });
    expect(knob.status).toBe(1);
    expect(knob.stderr).toContain('--dependence applies to the 2-step world');
  });
});
