// `aitm compare` on a tiny run (the Ali-CCP sample, one epoch, one seed, CPU): every model
// trains through `aitm train`'s pipeline, compare.json has the documented shape, compare.md
// holds the table, and each run directory loads back (config.json + strict checkpoint).

import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MODEL_NAMES, loadModelDir } from '../src/node.js';
import { compareCommand, seedsToResolve, withinNoise } from '../src/commands/compare.js';

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
      expect(m.aucSe).toEqual([0, 0]);
      expect(m.vsReference === null).toBe(m.model === 'aitm');
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

  it('on a 4-step funnel: skips esmm saying why, pairs every model with aitm by seed, and says which differences are within noise', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'aitm-compare-')), 'cmp');
    const lines: string[] = [];
    const { result } = await compareCommand({ world: 'funnel4', rows: 1500, seeds: 2, epochs: 2, batchSize: 256, models: ['aitm', 'esmm', 'sharedbottom'], backend: 'wasm', out, log: (l) => lines.push(l) });
    expect(result.labels).toEqual(['click', 'cart', 'purchase', 'repurchase']);
    expect(result.world).toBe('funnel4');
    expect(result.reference).toBe('aitm');
    expect(result.skipped).toEqual([{ model: 'esmm', reason: 'ESMM models exactly 2 tasks (pCTR and pCTCVR), this world has 4' }]);
    expect(result.models.map((m) => m.model)).toEqual(['aitm', 'sharedbottom']);
    expect(result.oracleAuc).toHaveLength(4);
    expect(lines.join('\n')).toContain('skipped esmm: ESMM models exactly 2 tasks');
    const [aitm, sb] = result.models;
    expect(aitm!.vsReference).toBeNull();
    for (const m of result.models) {
      expect(m.aucBySeed).toHaveLength(2);
      expect(m.epochsBySeed.every((e) => e >= 1 && e <= 2)).toBe(true);
      m.auc.forEach((a, t) => expect(a).toBeCloseTo((m.aucBySeed[0]![t]! + m.aucBySeed[1]![t]!) / 2, 12));
      m.aucSe.forEach((se, t) => expect(se).toBeCloseTo(m.aucStd[t]! / Math.sqrt(2), 12));
    }
    // The paired statistics from the per-seed AUCs by hand.
    const v = sb!.vsReference!;
    for (let t = 0; t < 4; t++) {
      const d = [0, 1].map((s) => sb!.aucBySeed[s]![t]! - aitm!.aucBySeed[s]![t]!);
      const sd = Math.abs(d[0]! - d[1]!) / Math.sqrt(2);
      expect(v.diff[t]).toBeCloseTo((d[0]! + d[1]!) / 2, 12);
      expect(v.se[t]).toBeCloseTo(sd / Math.sqrt(2), 12);
      expect(v.wins[t]).toBe(d.filter((x) => x > 0).length);
      expect(v.seedsFor005[t]).toBe(Math.max(2, Math.ceil(((2 * 1.96 * sd) / 0.005) ** 2)));
    }
    const md = readFileSync(join(out, 'compare.md'), 'utf8');
    expect(md).toContain('Skipped esmm: ESMM models exactly 2 tasks');
    expect(md).toContain('| model | click AUC | cart AUC | purchase AUC | repurchase AUC |');
    expect(md).toContain('## Paired differences from aitm');
    expect(md).toContain('n = ceil((2 * 1.96 * sd / 0.005)^2)');
    expect(md).toContain('same worlds, splits and initialisation seeds');
    const verdicts = md.split('\n').filter((l) => l.startsWith('- '));
    expect(verdicts).toHaveLength(4);
    verdicts.forEach((l, t) => expect(l).toContain(withinNoise(v.diff[t]!, v.se[t]!, 2) ? 'within noise (|diff| < 2 SE)' : 'beyond noise (|diff| >= 2 SE)'));
  });

  it('sizes the seeds for a 0.005 difference from the spread: ceil((2 * 1.96 * sd / 0.005)^2)', () => {
    expect(seedsToResolve(0.005, 3)).toBe(16); // (2 * 1.96)^2 = 15.4
    expect(seedsToResolve(0.01, 3)).toBe(62);
    expect(seedsToResolve(0, 3)).toBe(2);
    expect(seedsToResolve(0.01, 1)).toBeNull();
    expect(withinNoise(0.01, 0.006, 3)).toBe(true);
    expect(withinNoise(0.012, 0.006, 3)).toBe(false);
    expect(withinNoise(-0.02, 0.001, 3)).toBe(false);
  });

  it('rejects an unknown model and a bad seed count before training', async () => {
    await expect(compareCommand({ models: ['nope' as never], log: () => {} })).rejects.toThrow("compare: unknown model 'nope'");
    await expect(compareCommand({ seeds: 0, log: () => {} })).rejects.toThrow('compare: seeds must be a positive integer, got 0');
    await expect(compareCommand({ world: 'funnel4', models: ['esmm'], log: () => {} })).rejects.toThrow('compare: no model left to run');
    await expect(compareCommand({ data: ali('train'), world: 'funnel4', log: () => {} })).rejects.toThrow('--world applies to the synthetic data');
  });
});
