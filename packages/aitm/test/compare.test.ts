// `aitm compare` on a tiny run (the Ali-CCP sample, one epoch, one seed, CPU): every model
// trains through `aitm train`'s pipeline, compare.json has the documented shape, compare.md
// holds the table, and each run directory loads back (config.json + strict checkpoint).

import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MODEL_NAMES, loadModelDir } from '../src/node.js';
import { compareCommand } from '../src/commands/compare.js';

const ali = (split: string) => fileURLToPath(new URL(`../data/ali-ccp/ali_ccp_${split}_sample.csv`, import.meta.url));

describe('aitm compare', () => {
  it('trains every model on the same data and writes compare.json and compare.md', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'aitm-compare-')), 'cmp');
    const lines: string[] = [];
    const { result } = await compareCommand({ data: ali('train'), val: ali('val'), test: ali('test'), epochs: 1, seeds: 1, batchSize: 50, backend: 'cpu', out, log: (l) => lines.push(l) });
    const json = JSON.parse(readFileSync(join(out, 'compare.json'), 'utf8'));
    expect(json).toEqual(JSON.parse(JSON.stringify(result)));
    expect(json.oracleAuc).toBeNull();
    expect(json.labels).toEqual(['click', 'purchase']);
    expect(json.models.map((m: { model: string }) => m.model)).toEqual([...MODEL_NAMES]);
    for (const m of json.models) {
      expect(Object.keys(m)).toEqual(expect.arrayContaining(['model', 'auc', 'aucStd', 'logloss', 'params', 'samplesPerSecond']));
      for (const key of ['auc', 'aucStd', 'logloss']) {
        expect(m[key], `${m.model} ${key}`).toHaveLength(2);
        // The sample's test split has both classes for both tasks, so every AUC is a number.
        for (const v of m[key]) expect(Number.isFinite(v), `${m.model} ${key}`).toBe(true);
      }
      expect(m.aucStd).toEqual([0, 0]); // one seed
      expect(Number.isInteger(m.params) && m.params > 0).toBe(true);
      // With one seed the row is that seed's run: its test metrics and training throughput as in its report.json.
      const run = JSON.parse(readFileSync(join(out, 'runs', `${m.model}-seed1`, 'report.json'), 'utf8'));
      expect(m.auc).toEqual(run.test.auc);
      expect(m.logloss).toEqual(run.test.logloss);
      expect(Number.isFinite(m.samplesPerSecond) && m.samplesPerSecond > 0, `${m.model} samples/s ${m.samplesPerSecond}`).toBe(true);
      expect(m.samplesPerSecond).toBe(run.samplesPerSecond);
      const { config, model } = await loadModelDir(join(out, 'runs', `${m.model}-seed1`));
      expect(config.model).toBe(m.model);
      expect(model.parameters().reduce((n, p) => n + p.size, 0)).toBe(m.params);
      model.dispose();
    }
    const md = readFileSync(join(out, 'compare.md'), 'utf8');
    expect(md).toContain('| model | click AUC | purchase AUC | click logloss | purchase logloss | params | samples/s |');
    for (const m of json.models) expect(md).toContain(`| ${m.params} | ${Math.round(m.samplesPerSecond)} |`);
    for (const m of MODEL_NAMES) expect(md).toContain(`| ${m} |`);
    expect(lines.join('\n')).toContain('compare.json');
  });

  it('rejects an unknown model and a bad seed count before training', async () => {
    await expect(compareCommand({ models: ['nope' as never], log: () => {} })).rejects.toThrow("compare: unknown model 'nope'");
    await expect(compareCommand({ seeds: 0, log: () => {} })).rejects.toThrow('compare: seeds must be a positive integer, got 0');
  });
});
