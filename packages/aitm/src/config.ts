// config.json: the model's architecture and data schema, written by `aitm train` and read
// by eval/predict (and by train with --config). Every key is documented on ModelConfig;
// validation names the offending key so a hand-written config fails clearly.

import { DenseFeature, SparseFeature, type Feature } from '@aitm/nn';
import type { DType } from '@aitm/tensor';
import { AITM } from './models/aitm.js';
import type { DataSchema, FeatureSpecConfig } from './data/schema.js';

export const MODEL_NAMES = ['aitm'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

export interface MlpConfig {
  /** Hidden layer sizes. */
  dims: number[];
  /** Dropout after each hidden layer (default 0). */
  dropout?: number;
  /** Hidden activation: relu, sigmoid, tanh, leakyrelu, prelu, dice (default relu). */
  activation?: string;
  /** A BatchNorm1d after each hidden Linear (default true, as torch-rechub). */
  batchNorm?: boolean;
}

/**
 * The contents of config.json.
 *
 * @example
 * {"model":"aitm","labels":["click","purchase"],
 *  "features":[{"name":"205","type":"sparse","vocabSize":120,"embedDim":4},{"name":"D508","type":"dense"}],
 *  "bottom":{"dims":[32,16],"dropout":0,"activation":"relu","batchNorm":true},
 *  "towers":[{"dims":[8]},{"dims":[8]}],"alpha":0.6}
 */
export interface ModelConfig {
  /** Which model: "aitm" (the baselines arrive with their own issue). */
  model: ModelName;
  /** Label columns in task order (click before purchase); the number of tasks is their count. */
  labels: string[];
  /** Input features: sparse ids with a vocabulary size and embedding dim, or dense floats. */
  features: FeatureSpecConfig[];
  /** The per-task bottom MLPs (no output layer); the last dim is the task-vector width. */
  bottom: MlpConfig;
  /** One tower MLP per task (each ends in Linear(last, 1) and a sigmoid). */
  towers: MlpConfig[];
  /** Weight of the label-constraint loss (default 0.6; 0 disables it). */
  alpha: number;
}

function fail(key: string, msg: string): never {
  throw new Error(`config: ${key}: ${msg}`);
}

const isPosInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

function checkMlp(key: string, v: unknown): MlpConfig {
  if (typeof v !== 'object' || v === null) fail(key, 'expected an object like {"dims":[32,16]}');
  const m = v as Record<string, unknown>;
  if (!Array.isArray(m.dims) || !m.dims.every(isPosInt)) fail(`${key}.dims`, 'expected an array of positive integers');
  if (m.dropout !== undefined && !(typeof m.dropout === 'number' && m.dropout >= 0 && m.dropout < 1)) fail(`${key}.dropout`, 'expected a number in [0, 1)');
  if (m.activation !== undefined && typeof m.activation !== 'string') fail(`${key}.activation`, 'expected a string');
  if (m.batchNorm !== undefined && typeof m.batchNorm !== 'boolean') fail(`${key}.batchNorm`, 'expected true or false');
  return m as unknown as MlpConfig;
}

/** Validates a parsed config.json, naming the first bad key. */
export function parseConfig(raw: unknown): ModelConfig {
  if (typeof raw !== 'object' || raw === null) fail('(root)', 'expected a JSON object');
  const c = raw as Record<string, unknown>;
  if (!MODEL_NAMES.includes(c.model as ModelName)) fail('model', `expected one of ${MODEL_NAMES.join(', ')}, got ${JSON.stringify(c.model)}`);
  if (!Array.isArray(c.labels) || c.labels.length < 2 || !c.labels.every((l) => typeof l === 'string')) {
    fail('labels', `expected at least 2 label names (one per task), got ${JSON.stringify(c.labels)}`);
  }
  if (!Array.isArray(c.features) || c.features.length === 0) fail('features', 'expected a non-empty array');
  const names = new Set<string>();
  c.features.forEach((f: unknown, i: number) => {
    const key = `features[${i}]`;
    if (typeof f !== 'object' || f === null) fail(key, 'expected an object');
    const o = f as Record<string, unknown>;
    if (typeof o.name !== 'string' || o.name === '') fail(`${key}.name`, 'expected a non-empty string');
    if (names.has(o.name)) fail(`${key}.name`, `duplicate feature '${o.name}'`);
    names.add(o.name);
    if (o.type === 'sparse') {
      if (!isPosInt(o.vocabSize)) fail(`${key}.vocabSize`, `expected a positive integer for feature '${o.name}', got ${JSON.stringify(o.vocabSize)}`);
      if (!isPosInt(o.embedDim)) fail(`${key}.embedDim`, `expected a positive integer for feature '${o.name}'`);
    } else if (o.type !== 'dense') {
      fail(`${key}.type`, `expected "sparse" or "dense", got ${JSON.stringify(o.type)}`);
    }
  });
  checkMlp('bottom', c.bottom);
  if (!Array.isArray(c.towers)) fail('towers', 'expected an array with one MLP per task');
  if (c.towers.length !== c.labels.length) {
    fail('towers', `has ${c.towers.length} entries but labels name ${c.labels.length} tasks`);
  }
  c.towers.forEach((t: unknown, i: number) => checkMlp(`towers[${i}]`, t));
  if (c.alpha === undefined) c.alpha = 0.6;
  if (typeof c.alpha !== 'number' || !(c.alpha >= 0)) fail('alpha', 'expected a number >= 0');
  return c as unknown as ModelConfig;
}

/** The data schema a config describes (labels and features). */
export function schemaOf(config: ModelConfig): DataSchema {
  return { labels: [...config.labels], features: config.features };
}

/** nn feature objects for the model's embedding layer. */
export function featuresOf(config: ModelConfig): Feature[] {
  return config.features.map((f) =>
    f.type === 'sparse'
      ? new SparseFeature({ name: f.name, vocabSize: f.vocabSize as number, embedDim: f.embedDim })
      : new DenseFeature({ name: f.name }),
  );
}

const mlpOptions = (m: MlpConfig) => ({
  dims: m.dims,
  dropout: m.dropout ?? 0,
  activation: m.activation ?? 'relu',
  batchNorm: m.batchNorm ?? true,
});

/** Builds the model a config describes (fresh weights from the global generator). */
export function buildModel(config: ModelConfig, opts: { dtype?: DType } = {}): AITM {
  switch (config.model) {
    case 'aitm':
      return new AITM(featuresOf(config), config.labels.length, mlpOptions(config.bottom), config.towers.map(mlpOptions), opts);
  }
}

/** The default architecture for a data schema (used when no --config is given). */
export function defaultConfig(schema: DataSchema, overrides: Partial<Pick<ModelConfig, 'alpha'>> = {}): ModelConfig {
  const features = schema.features.map((f) => {
    if (f.type === 'sparse' && typeof f.vocabSize !== 'number') {
      throw new Error(`config: feature '${f.name}' has no vocabulary size (scan the data first)`);
    }
    return f;
  });
  return {
    model: 'aitm',
    labels: [...schema.labels],
    features,
    bottom: { dims: [64, 32], dropout: 0, activation: 'relu', batchNorm: true },
    towers: schema.labels.map(() => ({ dims: [32], dropout: 0, activation: 'relu', batchNorm: true })),
    alpha: overrides.alpha ?? 0.6,
  };
}
