// config.json: the model's architecture and data schema, written by `aitm train` and read
// by eval/predict (and by train with --config). Every key is documented on ModelConfig;
// validation names the offending key so a hand-written config fails clearly.

import { DenseFeature, SparseFeature, type Feature } from '@aitm/nn';
import type { DType } from '@aitm/tensor';
import { AITM } from './models/aitm.js';
import { AITMAutoInt } from './models/aitm-autoint.js';
import { ESMM } from './models/esmm.js';
import { MMOE } from './models/mmoe.js';
import { PLE } from './models/ple.js';
import { SharedBottom } from './models/shared-bottom.js';
import type { MultiTaskModel } from './models/multitask.js';
import type { DataSchema, FeatureSpecConfig } from './data/schema.js';

/** The models `--model` accepts. */
export const MODEL_NAMES = ['aitm', 'aitm-autoint', 'mmoe', 'esmm', 'sharedbottom', 'ple'] as const;
/** One of `MODEL_NAMES`. */
export type ModelName = (typeof MODEL_NAMES)[number];

/** The models trained with AITM's label constraint (alpha); the others train on the plain sum of BCEs. */
export const AITM_FAMILY: readonly ModelName[] = ['aitm', 'aitm-autoint'];

/** An MLP tower's configuration: layer sizes, activation, batch norm, dropout. */
export interface MlpConfig {
  /** Hidden layer sizes. */
  readonly dims: readonly number[];
  /** Dropout after each hidden layer (default 0). */
  readonly dropout?: number;
  /** Hidden activation: relu, sigmoid, tanh, leakyrelu, prelu, dice (default relu). */
  readonly activation?: string;
  /** A BatchNorm1d after each hidden Linear (default true, as torch-rechub). */
  readonly batchNorm?: boolean;
}

/** MMoE's experts: `nExpert` MLPs (no output layer) with the MlpConfig keys; the last dim feeds the towers. */
export interface MmoeExpertsConfig extends MlpConfig {
  /** Number of experts, shared by every task through its own softmax gate. */
  readonly nExpert: number;
}

/** PLE's experts per extraction level, every one an MLP (no output layer) with the MlpConfig keys. */
export interface PleExpertsConfig extends MlpConfig {
  /** Task-specific experts per task and level (>= 0). */
  readonly nSpecific: number;
  /** Shared experts per level (>= 0; nSpecific + nShared >= 1). */
  readonly nShared: number;
}

/** AutoInt's interacting layers at the start of each aitm-autoint bottom. */
export interface AutoIntConfig {
  /** Interacting layers stacked. */
  readonly layers: number;
  /** Attention heads per layer. */
  readonly heads: number;
  /** Width of one head; a field leaves a layer with heads * attDim values. */
  readonly attDim: number;
  /** Add the projected input (W_Res) before the ReLU (default true). */
  readonly residual?: boolean;
}

/** Keys every model has. */
interface BaseConfig {
  /** Which model; it decides which of the keys below exist. */
  readonly model: ModelName;
  /** Label columns in task order (click before purchase); the number of tasks is their count. */
  readonly labels: readonly string[];
  /** Input features: sparse ids with a vocabulary size and embedding dim, or dense floats. */
  readonly features: readonly Readonly<FeatureSpecConfig>[];
  /**
   * One tower MLP per task, in label order (each ends in Linear(last, 1) and a sigmoid).
   * esmm: towers[0] is the CTR tower (first label), towers[1] the CVR tower.
   */
  readonly towers: readonly MlpConfig[];
  /**
   * Weight of AITM's label-constraint loss (aitm and aitm-autoint; default 0.6; 0 disables
   * it). Every other model trains on the plain sum of task BCEs: alpha is 0 there, and a
   * config that sets it to anything else is rejected.
   */
  readonly alpha: number;
  /**
   * Set by `aitm import`: how the feature and label order was chosen (a model loaded with
   * its labels or two same-sized features swapped predicts wrong values without an error).
   */
  readonly imported?: { readonly featureOrder: string; readonly labelOrder: string };
}

/** AITM: per-task bottoms, info gates and AIT attention between consecutive tasks. */
export interface AitmConfig extends BaseConfig {
  readonly model: 'aitm';
  /** The per-task bottom MLPs (no output layer); the last dim is the task-vector width. */
  readonly bottom: MlpConfig;
}

/** AITM whose per-task bottoms start with AutoInt interacting layers (sparse fields need one embedDim). */
export interface AitmAutoIntConfig extends BaseConfig {
  readonly model: 'aitm-autoint';
  /** The per-task bottom MLPs after the interacting layers; input nSparse * heads * attDim + nDense. */
  readonly bottom: MlpConfig;
  /** The interacting layers at the start of each bottom. */
  readonly autoint: AutoIntConfig;
}

/** Shared-Bottom: one bottom MLP shared by every task's tower. */
export interface SharedBottomConfig extends BaseConfig {
  readonly model: 'sharedbottom';
  /** The shared bottom MLP (no output layer); its last dim feeds every tower. */
  readonly bottom: MlpConfig;
}

/** MMoE: shared experts mixed per task by softmax gates. */
export interface MmoeConfig extends BaseConfig {
  readonly model: 'mmoe';
  /** The shared experts. */
  readonly experts: MmoeExpertsConfig;
}

/** PLE: `levels` stacked extraction (CGC) levels of task-specific and shared experts. */
export interface PleConfig extends BaseConfig {
  readonly model: 'ple';
  /** The experts of every extraction level. */
  readonly experts: PleExpertsConfig;
  /** Extraction levels (>= 1); 1 is the CGC model. */
  readonly levels: number;
}

/**
 * ESMM: exactly two labels (click, then purchase); the CTR tower predicts the first, and
 * pCTR * pCVR (the CVR tower's output) the second. Both towers read every feature.
 */
export interface EsmmConfig extends BaseConfig {
  readonly model: 'esmm';
}

/**
 * The contents of config.json: the common keys (model, labels, features, towers, alpha)
 * plus the model's own (aitm, sharedbottom: bottom; aitm-autoint: bottom, autoint; mmoe:
 * experts; ple: experts, levels; esmm: none). Keys of another model are rejected.
 *
 * @example
 * {"model":"aitm","labels":["click","purchase"],
 *  "features":[{"name":"205","type":"sparse","vocabSize":120,"embedDim":4},{"name":"D508","type":"dense"}],
 *  "bottom":{"dims":[32,16],"dropout":0,"activation":"relu","batchNorm":true},
 *  "towers":[{"dims":[8]},{"dims":[8]}],"alpha":0.6}
 * @example
 * {"model":"mmoe", ..., "experts":{"nExpert":4,"dims":[64,32]},"towers":[{"dims":[32]},{"dims":[32]}],"alpha":0}
 * @example
 * {"model":"ple", ..., "experts":{"nSpecific":1,"nShared":1,"dims":[64,32]},"levels":2,"towers":[...],"alpha":0}
 * @example
 * {"model":"aitm-autoint", ..., "autoint":{"layers":1,"heads":2,"attDim":4},"bottom":{"dims":[64,32]},"towers":[...],"alpha":0.6}
 *
 * A parsed config is read-only: changes such as `--alpha` go into the raw object before
 * `parseConfig` (or into `defaultConfig`'s overrides), so every rule is checked there once.
 */
export type ModelConfig = AitmConfig | AitmAutoIntConfig | SharedBottomConfig | MmoeConfig | PleConfig | EsmmConfig;

/** The model-specific keys of each model (the rest are common). */
const MODEL_KEYS: Record<ModelName, readonly string[]> = {
  aitm: ['bottom'],
  'aitm-autoint': ['bottom', 'autoint'],
  sharedbottom: ['bottom'],
  mmoe: ['experts'],
  ple: ['experts', 'levels'],
  esmm: [],
};

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

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

function checkModelKeys(c: Record<string, unknown>): void {
  const model = c.model as ModelName;
  if (model === 'aitm-autoint') {
    const a = c.autoint;
    if (typeof a !== 'object' || a === null) fail('autoint', 'expected an object like {"layers":1,"heads":2,"attDim":4}');
    const o = a as Record<string, unknown>;
    for (const k of ['layers', 'heads', 'attDim']) if (!isPosInt(o[k])) fail(`autoint.${k}`, `expected a positive integer, got ${JSON.stringify(o[k])}`);
    if (o.residual !== undefined && typeof o.residual !== 'boolean') fail('autoint.residual', 'expected true or false');
    // AutoInt attends over the sparse fields as one [B, nFields, dim] tensor.
    const sparse = (c.features as FeatureSpecConfig[]).filter((f) => f.type === 'sparse');
    if (sparse.length === 0) fail('features', 'aitm-autoint needs at least one sparse feature (AutoInt attends over sparse fields)');
    if (new Set(sparse.map((f) => f.embedDim)).size > 1) {
      fail('features', `aitm-autoint needs one embedDim for every sparse feature, got ${sparse.map((f) => `${f.name}: ${f.embedDim}`).join(', ')}`);
    }
  }
  if (model === 'mmoe' || model === 'ple') {
    checkMlp('experts', c.experts);
    const e = c.experts as Record<string, unknown>;
    if (model === 'mmoe' && !isPosInt(e.nExpert)) fail('experts.nExpert', `expected a positive integer, got ${JSON.stringify(e.nExpert)}`);
    if (model === 'ple') {
      for (const k of ['nSpecific', 'nShared']) if (!isCount(e[k])) fail(`experts.${k}`, `expected an integer >= 0, got ${JSON.stringify(e[k])}`);
      if ((e.nSpecific as number) + (e.nShared as number) === 0) fail('experts', 'nSpecific + nShared must be at least 1');
      if (!isPosInt(c.levels)) fail('levels', `expected a positive integer, got ${JSON.stringify(c.levels)}`);
    }
  }
  const nLabels = (c.labels as string[]).length;
  if (model === 'esmm' && nLabels !== 2) {
    fail('labels', `esmm has exactly 2 tasks (click, then purchase), got ${nLabels} labels`);
  }
}

/** Validates a parsed config.json, naming the first bad key. */
export function parseConfig(raw: unknown): ModelConfig {
  if (typeof raw !== 'object' || raw === null) fail('(root)', 'expected a JSON object');
  const c = raw as Record<string, unknown>;
  if (!MODEL_NAMES.includes(c.model as ModelName)) fail('model', `expected one of ${MODEL_NAMES.join(', ')}, got ${JSON.stringify(c.model)}`);
  const model = c.model as ModelName;
  if (!Array.isArray(c.labels) || c.labels.length < 2 || !c.labels.every((l) => typeof l === 'string')) {
    fail('labels', `expected at least 2 label names (one per task), got ${JSON.stringify(c.labels)}`);
  }
  const labels = new Set<string>();
  for (const l of c.labels as string[]) {
    if (labels.has(l)) fail('labels', `"${l}" is named twice: the model would train two identical tasks`);
    labels.add(l);
  }
  if (!Array.isArray(c.features) || c.features.length === 0) fail('features', 'expected a non-empty array');
  const names = new Set<string>();
  c.features.forEach((f: unknown, i: number) => {
    const key = `features[${i}]`;
    if (typeof f !== 'object' || f === null) fail(key, 'expected an object');
    const o = f as Record<string, unknown>;
    if (typeof o.name !== 'string' || o.name === '') fail(`${key}.name`, 'expected a non-empty string');
    if (names.has(o.name)) fail(`${key}.name`, `duplicate feature '${o.name}'`);
    if (labels.has(o.name)) fail(`${key}.name`, `'${o.name}' is a label: a model must not read its own target as an input feature`);
    names.add(o.name);
    if (o.type === 'sparse') {
      if (!isPosInt(o.vocabSize)) fail(`${key}.vocabSize`, `expected a positive integer for feature '${o.name}', got ${JSON.stringify(o.vocabSize)}`);
      if (!isPosInt(o.embedDim)) fail(`${key}.embedDim`, `expected a positive integer for feature '${o.name}'`);
    } else if (o.type !== 'dense') {
      fail(`${key}.type`, `expected "sparse" or "dense", got ${JSON.stringify(o.type)}`);
    }
  });
  const own = MODEL_KEYS[model];
  for (const k of new Set(Object.values(MODEL_KEYS).flat())) {
    if (!own.includes(k) && c[k] !== undefined) fail(k, `is not a key of model ${model} (its own keys: ${own.join(', ') || 'none besides the common ones'})`);
  }
  if (own.includes('bottom')) checkMlp('bottom', c.bottom);
  checkModelKeys(c);
  if (!Array.isArray(c.towers)) fail('towers', 'expected an array with one MLP per task');
  if (c.towers.length !== c.labels.length) {
    fail('towers', `has ${c.towers.length} entries but labels name ${c.labels.length} tasks`);
  }
  c.towers.forEach((t: unknown, i: number) => checkMlp(`towers[${i}]`, t));
  // A copy with alpha set (its key keeps its place, or comes last): `raw` is left as it was.
  return { ...c, alpha: alphaOf(model, c.alpha) } as unknown as ModelConfig;
}

/**
 * The label-constraint weight of `model` for a given `alpha` (undefined: the default, 0.6 for
 * the AITM family and 0 for the rest). Throws, naming `key`, for a negative or non-numeric
 * alpha, and for a non-zero alpha on a model without the constraint.
 *
 * @example
 * alphaOf('aitm', undefined); // 0.6
 * alphaOf('mmoe', 0.5, '--alpha'); // throws "--alpha: model mmoe has no label constraint ..."
 */
export function alphaOf(model: ModelName, alpha: unknown, key = 'config: alpha'): number {
  if (AITM_FAMILY.includes(model)) {
    if (alpha === undefined) return 0.6;
    if (typeof alpha !== 'number' || !(alpha >= 0)) throw new Error(`${key}: expected a number >= 0`);
    return alpha;
  }
  if (alpha !== undefined && alpha !== 0) {
    throw new Error(`${key}: model ${model} has no label constraint (it trains on the sum of BCEs); alpha applies to ${AITM_FAMILY.join(' and ')} only, so leave it out or set 0`);
  }
  return 0;
}

/** The data schema a config describes (labels and features). */
export function schemaOf(config: ModelConfig): DataSchema {
  return { labels: [...config.labels], features: [...config.features] };
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

/** Bytes per parameter while training: the float32 value, its gradient and Adam's two moments. */
export const TRAINING_BYTES_PER_PARAMETER = 16;

/** The memory limit of `buildModel` where none is given (the host's memory is not known): 4 GiB. */
export const DEFAULT_MEMORY_LIMIT = 4 * 2 ** 30;

/** Most float32 values one embedding table may hold: one 4 GiB array buffer. */
const MAX_TABLE_VALUES = 2 ** 30;

/** What a config's model needs: its parameter count (estimated), the bytes to train it, its embedding tables. */
export interface ModelMemory {
  /** Parameters (embedding tables exactly; MLPs, gates and attention from their dims, BatchNorm included). */
  parameters: number;
  /** parameters * TRAINING_BYTES_PER_PARAMETER. */
  bytes: number;
  /** The embedding tables, largest first. */
  tables: { name: string; rows: number; dim: number }[];
}

/** Parameters of an MLP from `input` through `dims` (Linear + BatchNorm each), plus an output Linear(*, 1). */
function mlpParameters(input: number, m: MlpConfig, output: boolean): number {
  let n = 0;
  let from = input;
  for (const d of m.dims) {
    n += from * d + d + (m.batchNorm === false ? 0 : 2 * d);
    from = d;
  }
  return n + (output ? from + 1 : 0);
}

/**
 * The parameters and training memory of the model `config` describes, computed from the
 * config alone (nothing is allocated), so that an impossible size is refused before it is.
 */
export function modelMemory(config: ModelConfig): ModelMemory {
  const tables = config.features.flatMap((f) => (f.type === 'sparse' ? [{ name: f.name, rows: f.vocabSize as number, dim: f.embedDim }] : []));
  tables.sort((a, b) => b.rows * b.dim - a.rows * a.dim);
  const nDense = config.features.filter((f) => f.type === 'dense').length;
  const inputDim = tables.reduce((a, t) => a + t.dim, 0) + nDense;
  const nTask = config.labels.length;
  const lastOf = (m: MlpConfig, input: number) => m.dims.at(-1) ?? input;
  let body = 0;
  let towerInput = inputDim;
  switch (config.model) {
    case 'aitm':
    case 'aitm-autoint': {
      let bottomInput = inputDim;
      if (config.model === 'aitm-autoint') {
        const a = config.autoint;
        const width = a.heads * a.attDim;
        let dim = tables[0]?.dim ?? 0;
        for (let l = 0; l < a.layers; l++) {
          body += nTask * dim * width * (a.residual === false ? 3 : 4);
          dim = width;
        }
        bottomInput = tables.length * width + nDense;
      }
      body += nTask * mlpParameters(bottomInput, config.bottom, false);
      towerInput = lastOf(config.bottom, bottomInput);
      // Info gates (an MLP of one layer) and the attention's three projections per transfer.
      body += (nTask - 1) * (mlpParameters(towerInput, { ...config.bottom, dims: [towerInput] }, false) + 3 * towerInput * (towerInput + 1));
      break;
    }
    case 'sharedbottom':
      body = mlpParameters(inputDim, config.bottom, false);
      towerInput = lastOf(config.bottom, inputDim);
      break;
    case 'mmoe': {
      const e = config.experts;
      body = e.nExpert * mlpParameters(inputDim, e, false) + nTask * mlpParameters(inputDim, { dims: [e.nExpert] }, false);
      towerInput = lastOf(e, inputDim);
      break;
    }
    case 'ple': {
      const e = config.experts;
      let input = inputDim;
      for (let l = 0; l < config.levels; l++) {
        body += (nTask * e.nSpecific + e.nShared) * mlpParameters(input, e, false);
        body += nTask * mlpParameters(input, { dims: [e.nSpecific + e.nShared] }, false);
        if (l < config.levels - 1) body += mlpParameters(input, { dims: [nTask * e.nSpecific + e.nShared] }, false);
        input = lastOf(e, input);
      }
      towerInput = input;
      break;
    }
    case 'esmm':
      break;
  }
  const towers = config.towers.reduce((a, t) => a + mlpParameters(towerInput, t, true), 0);
  const parameters = tables.reduce((a, t) => a + t.rows * t.dim, 0) + body + towers;
  return { parameters, bytes: parameters * TRAINING_BYTES_PER_PARAMETER, tables };
}

/** A byte count for people: "1.5 GiB", "12.0 MiB". */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} bytes` : `${v.toFixed(1)} ${units[u]}`;
}

/**
 * Throws, before anything is allocated, when the model `config` describes needs more than
 * `limitBytes` to train (parameters, their gradients and Adam's two moments, 4 bytes each),
 * or has an embedding table larger than one array can be (2^30 values); the message names
 * the figure, the limit and the largest tables, then `hint` (what the caller's user can change).
 *
 * @example
 * checkModelMemory(config, 8 * 2 ** 30, 'lower vocabSize or embedDim in the config');
 */
export function checkModelMemory(config: ModelConfig, limitBytes: number = DEFAULT_MEMORY_LIMIT, hint = ''): void {
  const m = modelMemory(config);
  const largest = m.tables
    .slice(0, 3)
    .map((t) => `"${t.name}" ${t.rows} x ${t.dim} (${formatBytes(t.rows * t.dim * TRAINING_BYTES_PER_PARAMETER)})`)
    .join(', ');
  const tail = `${largest ? `; largest embedding tables: ${largest}` : ''}${hint ? `; ${hint}` : ''}`;
  const big = m.tables.find((t) => t.rows * t.dim > MAX_TABLE_VALUES);
  if (big !== undefined) {
    throw new Error(`model too large: the embedding table of feature "${big.name}" has ${big.rows} rows x ${big.dim} = ${big.rows * big.dim} values, over the ${MAX_TABLE_VALUES} one array can hold${tail}`);
  }
  if (m.bytes > limitBytes) {
    throw new Error(
      `model too large: ${config.model} with about ${m.parameters} parameters needs about ${formatBytes(m.bytes)} to train ` +
        `(parameters, gradients and Adam's two moments, 4 bytes each), over the limit of ${formatBytes(limitBytes)}${tail}`,
    );
  }
}

/**
 * Builds the model a config describes (fresh weights from the global generator). Every
 * model's forward gives [B, nTask] probabilities in label order. A model that would need more
 * than `memoryLimit` bytes to train (default DEFAULT_MEMORY_LIMIT) is refused before it is
 * allocated (see checkModelMemory).
 */
export function buildModel(config: ModelConfig, opts: { dtype?: DType; memoryLimit?: number } = {}): MultiTaskModel {
  checkModelMemory(config, opts.memoryLimit ?? DEFAULT_MEMORY_LIMIT);
  const features = featuresOf(config);
  const n = config.labels.length;
  const towers = config.towers.map(mlpOptions);
  const o = opts.dtype === undefined ? {} : { dtype: opts.dtype };
  switch (config.model) {
    case 'aitm':
      return new AITM(features, n, mlpOptions(config.bottom), towers, o);
    case 'aitm-autoint':
      return new AITMAutoInt(features, n, config.autoint, mlpOptions(config.bottom), towers, o);
    case 'sharedbottom':
      return new SharedBottom(features, n, mlpOptions(config.bottom), towers, o);
    case 'mmoe':
      return new MMOE(features, n, config.experts.nExpert, mlpOptions(config.experts), towers, o);
    case 'ple':
      return new PLE(features, n, config.levels, config.experts.nSpecific, config.experts.nShared, mlpOptions(config.experts), towers, o);
    case 'esmm':
      // torch-rechub's argument order: the CVR tower's params first; towers[] is in label order (CTR first).
      return new ESMM(features, towers[1]!, towers[0]!, o);
  }
}

/** Default hidden dims: every model's bottom or experts are [64, 32] and its towers [32]. */
const HIDDEN: MlpConfig = { dims: [64, 32], dropout: 0, activation: 'relu', batchNorm: true };
const TOWER: MlpConfig = { dims: [32], dropout: 0, activation: 'relu', batchNorm: true };

/**
 * The default architecture of `model` (default aitm) for a data schema, used when no
 * --config is given. Bottoms and experts are [64, 32] MLPs and towers [32]; MMoE has 4
 * experts; PLE 2 levels of 1 specific expert per task and 1 shared; aitm-autoint 1
 * interacting layer of 2 heads of width 4 (its sparse features must share one embedDim).
 */
export function defaultConfig(schema: DataSchema, overrides: { alpha?: number; model?: ModelName } = {}): ModelConfig {
  const model = overrides.model ?? 'aitm';
  if (!MODEL_NAMES.includes(model)) throw new Error(`config: model: expected one of ${MODEL_NAMES.join(', ')}, got ${JSON.stringify(model)}`);
  const features = schema.features.map((f) => {
    if (f.type === 'sparse' && typeof f.vocabSize !== 'number') {
      throw new Error(`config: feature '${f.name}' has no vocabulary size (scan the data first)`);
    }
    return f;
  });
  const base = {
    labels: [...schema.labels],
    features,
    towers: schema.labels.map(() => ({ ...TOWER, dims: [...TOWER.dims] })),
    alpha: alphaOf(model, overrides.alpha),
  };
  const hidden = (): MlpConfig => ({ ...HIDDEN, dims: [...HIDDEN.dims] });
  let config: ModelConfig;
  switch (model) {
    case 'aitm':
      config = { model, ...base, bottom: hidden() };
      break;
    case 'aitm-autoint':
      config = { model, ...base, bottom: hidden(), autoint: { layers: 1, heads: 2, attDim: 4 } };
      break;
    case 'sharedbottom':
      config = { model, ...base, bottom: hidden() };
      break;
    case 'mmoe':
      config = { model, ...base, experts: { nExpert: 4, ...hidden() } };
      break;
    case 'ple':
      config = { model, ...base, experts: { nSpecific: 1, nShared: 1, ...hidden() }, levels: 2 };
      break;
    case 'esmm':
      config = { model, ...base };
      break;
  }
  // Same checks as a hand-written config (esmm's two labels, aitm-autoint's equal embedDims).
  return parseConfig(config);
}
