// config.json for every model: the defaults build and run, hand-written configs are checked
// key by key (each model's own keys, AutoInt's equal embedding dims, ESMM's two labels,
// alpha only for the AITM models), and existing AITM configs stay valid.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as T from '@aitm/tensor';
import { MODEL_NAMES, buildModel, checkTrainOptions, defaultConfig, parseConfig, readConfigFile, type DataSchema, type ModelConfig } from '../src/node.js';

const schema: DataSchema = {
  labels: ['click', 'purchase'],
  features: [
    { name: 'a', type: 'sparse', vocabSize: 6, embedDim: 3 },
    { name: 'b', type: 'sparse', vocabSize: 4, embedDim: 3 },
    { name: 'd', type: 'dense' },
  ],
};
const batch = () => ({
  a: T.tensor([0, 5, 2, 1], { dtype: 'int32' }),
  b: T.tensor([3, 0, 1, 2], { dtype: 'int32' }),
  d: T.tensor([0.5, -1, 0.25, 2]),
});
const roundTrip = (c: ModelConfig) => parseConfig(JSON.parse(JSON.stringify(c)));

describe('default configs', () => {
  it.each(MODEL_NAMES)('%s: survives JSON, builds, and gives [B, nTask] probabilities', (model) => {
    const c = roundTrip(defaultConfig(schema, { model }));
    expect(c.model).toBe(model);
    expect(c.alpha).toBe(model === 'aitm' || model === 'aitm-autoint' ? 0.6 : 0);
    const m = buildModel(c);
    m.train();
    const p = m.forward(batch());
    expect(p.shape).toEqual([4, 2]);
    expect(p.dataSync().every((v) => v > 0 && v < 1)).toBe(true);
    m.dispose();
  });

  it('each model has its own keys and the torch-rechub module names', () => {
    const top = (model: (typeof MODEL_NAMES)[number]) => [...new Set(buildModel(defaultConfig(schema, { model })).namedParameters().map(([n]) => n.split('.')[0]))];
    expect(top('aitm')).toEqual(['embedding', 'bottoms', 'towers', 'info_gates', 'aits']);
    expect(top('aitm-autoint')).toEqual(['embedding', 'int_layers', 'bottoms', 'towers', 'info_gates', 'aits']);
    expect(top('sharedbottom')).toEqual(['embedding', 'bottom_mlp', 'towers']);
    expect(top('mmoe')).toEqual(['embedding', 'experts', 'gates', 'towers']);
    expect(top('ple')).toEqual(['embedding', 'cgc_layers', 'towers']);
    expect(top('esmm')).toEqual(['embedding', 'tower_cvr', 'tower_ctr']);
    const mmoe = defaultConfig(schema, { model: 'mmoe' });
    expect(mmoe.model === 'mmoe' && mmoe.experts).toEqual({ nExpert: 4, dims: [64, 32], dropout: 0, activation: 'relu', batchNorm: true });
    const ple = defaultConfig(schema, { model: 'ple' });
    expect(ple.model === 'ple' && [ple.levels, ple.experts.nSpecific, ple.experts.nShared]).toEqual([2, 1, 1]);
    const ai = defaultConfig(schema, { model: 'aitm-autoint' });
    expect(ai.model === 'aitm-autoint' && ai.autoint).toEqual({ layers: 1, heads: 2, attDim: 4 });
  });

  it('alpha stays with the AITM models', () => {
    expect(defaultConfig(schema, { alpha: 0.3 }).alpha).toBe(0.3);
    expect(defaultConfig(schema, { model: 'aitm-autoint', alpha: 0 }).alpha).toBe(0);
    expect(() => defaultConfig(schema, { model: 'mmoe', alpha: 0.5 })).toThrow(/config: alpha: model mmoe has no label constraint/);
    // `aitm train --config esmm.json --alpha X`: the flag goes into the file's keys before they are checked.
    const file = join(mkdtempSync(join(tmpdir(), 'aitm-config-')), 'esmm.json');
    writeFileSync(file, JSON.stringify(defaultConfig(schema, { model: 'esmm' })));
    expect(() => readConfigFile(file, { alpha: 0.6 })).toThrow(/esmm\.json: config: alpha: model esmm has no label constraint/);
    expect(readConfigFile(file, { alpha: 0 }).alpha).toBe(0);
    const aitmFile = join(mkdtempSync(join(tmpdir(), 'aitm-config-')), 'aitm.json');
    writeFileSync(aitmFile, JSON.stringify(defaultConfig(schema)));
    expect(readConfigFile(aitmFile, { alpha: 0.25 }).alpha).toBe(0.25);
    // `aitm train --model mmoe --alpha X`: refused before any data is read, naming the flag.
    expect(() => checkTrainOptions({ model: 'mmoe', alpha: 0.5 })).toThrow(/^--alpha: model mmoe has no label constraint/);
    expect(() => checkTrainOptions({ model: 'mmoe', alpha: 0 })).not.toThrow();
    expect(() => checkTrainOptions({ model: 'aitm-autoint', alpha: 0.5 })).not.toThrow();
  });

  it('parseConfig fills in alpha on a copy and leaves its input as it was', () => {
    const raw = { model: 'aitm', labels: ['click', 'purchase'], features: schema.features, bottom: { dims: [4] }, towers: [{ dims: [2] }, { dims: [2] }] };
    const before = JSON.stringify(raw);
    const c = parseConfig(raw);
    expect(c.alpha).toBe(0.6);
    expect(Object.keys(c).at(-1)).toBe('alpha'); // config.json's key order: a missing alpha comes last
    expect(JSON.stringify(raw)).toBe(before);
  });
});

describe('hand-written configs', () => {
  const base = { labels: ['click', 'purchase'], features: schema.features, towers: [{ dims: [4] }, { dims: [4] }] };

  it('an AITM config from before the baselines still parses (alpha defaults to 0.6)', () => {
    const c = parseConfig({ model: 'aitm', ...base, bottom: { dims: [8] } });
    expect(c.alpha).toBe(0.6);
    expect(buildModel(c).forward(batch()).shape).toEqual([4, 2]);
  });

  it('names the offending key', () => {
    const bad: [Record<string, unknown>, string][] = [
      [{ model: 'mmoe', ...base, experts: { dims: [4] } }, 'config: experts.nExpert: expected a positive integer, got undefined'],
      [{ model: 'mmoe', ...base, bottom: { dims: [4] }, experts: { nExpert: 2, dims: [4] } }, 'config: bottom: is not a key of model mmoe (its own keys: experts)'],
      [{ model: 'ple', ...base, experts: { nSpecific: 1, nShared: 1, dims: [4] } }, 'config: levels: expected a positive integer, got undefined'],
      [{ model: 'ple', ...base, experts: { nSpecific: 0, nShared: 0, dims: [4] }, levels: 1 }, 'config: experts: nSpecific + nShared must be at least 1'],
      [{ model: 'ple', ...base, experts: { nSpecific: 1, nShared: 1 }, levels: 1 }, 'config: experts.dims: expected an array of positive integers'],
      [{ model: 'esmm', ...base, labels: ['x', 'y', 'z'], towers: [{ dims: [2] }, { dims: [2] }, { dims: [2] }] }, 'config: labels: esmm has exactly 2 tasks (click, then purchase), got 3 labels'],
      [{ model: 'esmm', ...base, experts: { nExpert: 2, dims: [4] } }, 'config: experts: is not a key of model esmm (its own keys: none besides the common ones)'],
      [{ model: 'sharedbottom', ...base, bottom: { dims: [4] }, alpha: 0.6 }, 'config: alpha: model sharedbottom has no label constraint'],
      [{ model: 'aitm-autoint', ...base, bottom: { dims: [4] } }, 'config: autoint: expected an object like {"layers":1,"heads":2,"attDim":4}'],
      [{ model: 'aitm-autoint', ...base, bottom: { dims: [4] }, autoint: { layers: 1, heads: 0, attDim: 2 } }, 'config: autoint.heads: expected a positive integer, got 0'],
      [
        { model: 'aitm-autoint', ...base, features: [{ name: 'a', type: 'sparse', vocabSize: 6, embedDim: 3 }, { name: 'b', type: 'sparse', vocabSize: 4, embedDim: 5 }], bottom: { dims: [4] }, autoint: { layers: 1, heads: 2, attDim: 2 } },
        'config: features: aitm-autoint needs one embedDim for every sparse feature, got a: 3, b: 5',
      ],
      [{ model: 'gru', ...base }, 'config: model: expected one of aitm, aitm-autoint, mmoe, esmm, sharedbottom, ple, got "gru"'],
    ];
    for (const [raw, msg] of bad) expect(() => parseConfig(raw), msg).toThrow(msg);
  });

  it('ESMM: towers[0] is the CTR tower, towers[1] the CVR tower', () => {
    const c = parseConfig({ model: 'esmm', ...base, towers: [{ dims: [2] }, { dims: [7] }] });
    const shapes = Object.fromEntries(buildModel(c).namedParameters().map(([n, p]) => [n, p.shape]));
    expect(shapes['tower_ctr.mlp.0.weight']).toEqual([2, 7]);
    expect(shapes['tower_cvr.mlp.0.weight']).toEqual([7, 7]);
  });
});
