// What the `aitm` commands do, as functions (the CLI only parses arguments): train a model
// on synthetic data or CSV files and write config.json, model.safetensors and report.json;
// evaluate a saved model; write predictions.

import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { disposeWebGpu, initBackend, manualSeed, setBackend, webGpuAdapter, type BackendName } from '@aitm/tensor';
import { onnxBytes } from './export/onnx.js';
import { loadCheckpoint, loadCheckpointEntries, readCheckpointEntries, saveCheckpoint, type SafetensorsEntry } from '@aitm/nn/node';
import { inferConfig, type ImportOptions } from './import.js';
import type { Report } from './report.js';
export type { Report };
import { writeRunDir } from './run-dir.js';
import { alphaOf, buildModel, defaultConfig, parseConfig, schemaOf, type ModelConfig, type ModelName } from './config.js';
import { subset, type Dataset } from './data/batch.js';
import { readCsv, scanVocab } from './data/csv.js';
import type { SyntheticConfig } from './data/synthetic.js';
import { SYNTHETIC_DEFAULTS, TRAIN_DEFAULTS, syntheticSplits, type Splits as BuiltinSplits } from './data/builtin.js';
export { SYNTHETIC_DEFAULTS, TRAIN_DEFAULTS };
import { Rng } from './data/rng.js';
import { withVocab, type DataSchema } from './data/schema.js';
import { fit, type EpochRecord } from './train/trainer.js';
import { metricsOf, predict, type TaskMetrics } from './train/evaluate.js';
import { progressSink } from './train/progress.js';
import { attentionWeights } from './train/attention.js';
import { attentionHistogram, learningCurves } from './plots/charts.js';

export interface TrainCommandOptions {
  /** 'synthetic' (default) or a CSV path. */
  data?: string;
  val?: string;
  test?: string;
  config?: string;
  /** The model to build when no --config is given (default aitm). */
  model?: ModelName;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  weightDecay?: number;
  alpha?: number;
  seed?: number;
  backend?: BackendName;
  out?: string;
  /** Rows of synthetic training data (default 1M; val and test get a sixth each). */
  syntheticRows?: number;
  /** Changes to the built-in synthetic world (SYNTHETIC_DEFAULTS), e.g. `{ dependence: 0 }`. */
  synthetic?: Partial<Omit<SyntheticConfig, 'rows' | 'worldSeed' | 'sampleSeed'>>;
  quiet?: boolean;
  log?: (line: string) => void;
  /** An id at or beyond its feature's vocabulary is an error instead of the OOV slot 0. */
  strictIds?: boolean;
  /** Replace an --out folder that already holds a run (default: refuse). */
  overwrite?: boolean;
  /** Cap on embedding-table rows sized from the data (max id + 1); ids past it read as slot 0. */
  maxVocab?: number;
}

/** Tables this large from max id + 1 are usually one stray id; they are named on stderr. */
const LARGE_VOCAB = 100_000;

/**
 * Vocabulary sizes from the data (max id + 1), capped at `max` (--max-vocab) where given: ids
 * beyond the cap are then read as slot 0 and counted. Large tables are named on stderr, since
 * one stray huge id would otherwise grow a table to that many rows silently.
 */
function capVocab(sizes: Record<string, number>, max: number | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, size] of Object.entries(sizes)) {
    out[name] = max === undefined ? size : Math.min(size, max);
    if (size > LARGE_VOCAB && (max === undefined || max > LARGE_VOCAB)) {
      console.error(`data: feature "${name}": its largest id is ${size - 1}, so its embedding table has ${out[name]} rows; if that is one stray id, cap the table with --max-vocab (ids past it are read as slot 0)`);
    } else if (out[name]! < size) {
      console.error(`data: feature "${name}": table capped at ${out[name]} rows by --max-vocab (largest id ${size - 1}); ids past it are read as slot 0`);
    }
  }
  return out;
}

/** Says on stderr how many ids per column were past the vocabulary (read as slot 0). */
function reportOov(file: string, counts: Record<string, number>): Record<string, number> {
  const remapped = Object.entries(counts).filter(([, n]) => n > 0);
  if (remapped.length > 0) {
    console.error(`data: ${file}: ids at or beyond the vocabulary were read as slot 0: ${remapped.map(([k, n]) => `${k}: ${n}`).join(', ')} (--strict-ids makes this an error)`);
  }
  return Object.fromEntries(remapped);
}

type Splits = BuiltinSplits;

function split(ds: Dataset, fraction: number, rng: Rng): [Dataset, Dataset] {
  const idx = Int32Array.from({ length: ds.n }, (_, i) => i);
  rng.shuffle(idx);
  const k = Math.round(ds.n * fraction);
  return [subset(ds, idx.subarray(k)), subset(ds, idx.subarray(0, k))];
}

async function loadSplits(opts: TrainCommandOptions, seed: number, config: ModelConfig | null, log: (l: string) => void, oovIds: Record<string, Record<string, number>>): Promise<Splits> {
  const data = opts.data ?? 'synthetic';
  if (data === 'synthetic') {
    const splits = syntheticSplits(opts.syntheticRows ?? TRAIN_DEFAULTS.syntheticRows, seed, opts.synthetic);
    log(`data: synthetic, ${splits.train.n} train / ${splits.val.n} val / ${splits.test.n} test rows (world seed ${seed})`);
    return splits;
  }
  const files = [data, opts.val, opts.test].filter((f): f is string => f !== undefined);
  for (const f of files) if (!existsSync(f)) throw new Error(`data: file not found: ${f}`);
  const schema0 = config ? schemaOf(config) : undefined;
  // Vocabulary sizes: the config's, or max id + 1 over every given file (torch-rechub's rule).
  const vocab = config ? undefined : capVocab(await scanVocab(files, schema0 ? { schema: schema0 } : {}), opts.maxVocab);
  const read = async (f: string) => {
    const r = await readCsv(f, { ...(schema0 ? { schema: schema0 } : {}), ...(vocab ? { vocab } : {}), strictIds: opts.strictIds ?? false });
    oovIds[f] = reportOov(f, r.oovRemaps);
    return r.data;
  };
  let train = await read(data);
  const rng = new Rng(seed);
  let val: Dataset;
  let test: Dataset;
  if (opts.val) val = await read(opts.val);
  else [train, val] = split(train, 0.1, rng);
  if (opts.test) test = await read(opts.test);
  else [train, test] = split(train, 0.1, rng);
  log(`data: ${data}: ${train.n} train / ${val.n} val / ${test.n} test rows` + (opts.val ? '' : ' (val split from train)') + (opts.test ? '' : ' (test split from train)'));
  return { train, val, test, schema: train.schema, oracle: null };
}

function fmt(v: number[]): string {
  return v.map((x) => x.toFixed(4)).join(' / ');
}

/** Writes `text` to `path` atomically (temporary file, then rename). */
function writeAtomic(path: string, content: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, content);
    renameSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/**
 * `aitm train`: trains and writes DIR/config.json, DIR/model.safetensors, DIR/report.json,
 * DIR/learning-curves.svg and, for the AITM family, DIR/attention.svg.
 * Returns the report.
 */
/** Rejects option values that would train nothing or something else than asked, naming the flag. */
export function checkTrainOptions(opts: TrainCommandOptions): void {
  const int = (flag: string, v: number | undefined, min: number): void => {
    if (v !== undefined && !(Number.isInteger(v) && v >= min)) throw new Error(`--${flag}: expected an integer >= ${min}, got ${v}`);
  };
  int('epochs', opts.epochs, 1);
  int('batch-size', opts.batchSize, 1);
  int('rows', opts.syntheticRows, 1);
  int('seed', opts.seed, 0);
  int('max-vocab', opts.maxVocab, 1);
  if (opts.lr !== undefined && !(Number.isFinite(opts.lr) && opts.lr > 0)) throw new Error(`--lr: expected a positive number, got ${opts.lr}`);
  if (opts.weightDecay !== undefined && !(Number.isFinite(opts.weightDecay) && opts.weightDecay >= 0)) {
    throw new Error(`--weight-decay: expected a number >= 0, got ${opts.weightDecay}`);
  }
  if (opts.alpha !== undefined && !(Number.isFinite(opts.alpha) && opts.alpha >= 0)) throw new Error(`--alpha: expected a number >= 0, got ${opts.alpha}`);
  // With --config the file names the model, and its alpha is checked as the file is read.
  if (opts.alpha !== undefined && opts.config === undefined) alphaOf(opts.model ?? 'aitm', opts.alpha, '--alpha');
}

/**
 * Reads and validates a config.json, naming the file in every error. `overrides` (e.g. the
 * --alpha flag) replace the file's keys before validation, so they are checked as the file is.
 */
export function readConfigFile(file: string, overrides: { alpha?: number } = {}): ModelConfig {
  if (!existsSync(file)) throw new Error(`${file}: no such config file`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
  const changed = overrides.alpha !== undefined && typeof raw === 'object' && raw !== null && !Array.isArray(raw);
  try {
    return parseConfig(changed ? { ...(raw as Record<string, unknown>), alpha: overrides.alpha } : raw);
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
}

export async function trainCommand(opts: TrainCommandOptions = {}): Promise<{ report: Report; outDir: string }> {
  checkTrainOptions(opts);
  const log = opts.log ?? ((l: string) => console.log(l));
  const seed = opts.seed ?? 1;
  const backend = await initBackend(opts.backend ? { backend: opts.backend } : {});
  try {
    manualSeed(seed);
    const alpha = opts.alpha === undefined ? {} : { alpha: opts.alpha };
    const given = opts.config ? readConfigFile(opts.config, alpha) : null;
    const oovIds: Record<string, Record<string, number>> = {};
    const splits = await loadSplits(opts, seed, given, log, oovIds);
    // Zero training steps is not a run: say which split is empty instead of writing an untrained model.
    for (const [name, ds] of [['training', splits.train], ['validation', splits.val], ['test', splits.test]] as const) {
      if (ds.n === 0) {
        const source = opts.data === undefined || opts.data === 'synthetic' ? `the synthetic data (--rows ${opts.syntheticRows ?? TRAIN_DEFAULTS.syntheticRows})` : 'the data';
        throw new Error(`data: the ${name} split of ${source} has no rows; nothing to train on or measure (give more rows${name === 'training' ? '' : ', or --val/--test files'})`);
      }
    }
    const config = given ?? defaultConfig(withVocab(splits.schema, {}), { ...alpha, ...(opts.model ? { model: opts.model } : {}) });
    const outDir = opts.out ?? join('runs', `${config.model}-${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}`);
    // Checked and locked before training; written into a staging folder renamed into place at the end.
    return await writeRunDir(outDir, { overwrite: opts.overwrite ?? false }, async (stage) => {
      const model = buildModel(config);
      const nParams = model.parameters().reduce((n, p) => n + p.size, 0);
      const adapter = backend === 'webgpu' ? webGpuAdapter() : null;
      const device = adapter ? ` (${[adapter.vendor, adapter.architecture, adapter.description].filter((x) => x).join(', ')})` : '';
      log(`model: ${config.model}, ${config.labels.length} tasks (${config.labels.join(', ')}), ${nParams} parameters, backend ${backend}${device}`);
      const result = await fit(model, splits.train, splits.val, {
        epochs: opts.epochs ?? TRAIN_DEFAULTS.epochs,
        batchSize: opts.batchSize ?? TRAIN_DEFAULTS.batchSize,
        lr: opts.lr ?? TRAIN_DEFAULTS.lr,
        weightDecay: opts.weightDecay ?? 0,
        alpha: config.alpha,
        seed,
        backend,
        progress: progressSink(process.stderr, 5000, opts.quiet ?? false),
      });
      const valPred = await predict(model, splits.val, { backend });
      const testPred = await predict(model, splits.test, { backend });
      const report: Report = {
        val: metricsOf(valPred, splits.val),
        test: metricsOf(testPred, splits.test),
        oracleAuc: splits.oracle,
        samplesPerSecond: result.samplesPerSecond,
        perStep: result.perStep,
        warmUp: result.warmUp,
        epochs: result.epochs.map((e: EpochRecord) => ({ loss: e.loss, valAuc: e.valAuc, valLogloss: e.valLogloss, seconds: e.seconds })),
        bestEpoch: result.bestEpoch,
        backend,
        labels: [...config.labels],
        oovIds,
      };
      writeAtomic(join(stage, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
      await saveCheckpoint(model, join(stage, 'model.safetensors'));
      writeAtomic(join(stage, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
      writeAtomic(join(stage, 'learning-curves.svg'), learningCurves(report));
      const attention = await attentionWeights(model, splits.val, { backend });
      if (attention) writeAtomic(join(stage, 'attention.svg'), attentionHistogram(attention, config.labels));
      log(`test AUC   ${config.labels.map((l, i) => `${l} ${report.test.auc[i]!.toFixed(4)}`).join(', ')}`);
      if (report.oracleAuc) log(`oracle AUC ${config.labels.map((l, i) => `${l} ${report.oracleAuc![i]!.toFixed(4)}`).join(', ')}`);
      if (report.oracleAuc) {
        const gaps = report.oracleAuc.map((o, i) => o - report.test.auc[i]!);
        const verdict = gaps.every((g) => g <= 0.01) ? 'every task within 0.01 of the oracle' : 'NOT every task within 0.01 of the oracle';
        log(`gap        ${config.labels.map((l, i) => `${l} ${gaps[i]!.toFixed(4)}`).join(', ')} (oracle - test): ${verdict}`);
      }
      const work = result.perStep ? `; per step: ${Math.round(result.perStep.dispatches)} dispatches, ${result.perStep.syncs.toFixed(2)} host syncs` : '';
      log(`test logloss ${fmt(report.test.logloss)}; ${Math.round(report.samplesPerSecond)} samples/s${work}; wrote ${outDir}`);
      return { report, outDir };
    });
  } finally {
    disposeWebGpu();
  }
}

/** A saved model directory: its config and the model with its weights loaded. */
export async function loadModelDir(dir: string): Promise<{ config: ModelConfig; model: ReturnType<typeof buildModel> }> {
  const cfgPath = join(dir, 'config.json');
  const ckpt = join(dir, 'model.safetensors');
  if (!existsSync(cfgPath)) throw new Error(`model dir ${dir}: no config.json`);
  if (!existsSync(ckpt)) throw new Error(`model dir ${dir}: no model.safetensors`);
  const config = readConfigFile(cfgPath);
  const model = buildModel(config);
  try {
    await loadCheckpoint(model, ckpt, { strict: true });
  } catch (e) {
    throw new Error(`model dir ${dir}: model.safetensors does not match config.json: ${(e as Error).message}`);
  }
  model.eval();
  return { config, model };
}

/** What `aitm import` found: the config, the checkpoint's tensors, and what it inferred and assumed. */
export interface ImportResult {
  config: ModelConfig;
  entries: SafetensorsEntry[];
  summary: string[];
}

/** Reads a checkpoint file and infers its config against a CSV header (for `import` and `--checkpoint`). */
export async function importCheckpoint(checkpoint: string, header: readonly string[], opts: ImportOptions = {}): Promise<ImportResult> {
  const entries = await readCheckpointEntries(checkpoint);
  return { ...inferConfig(entries, header, opts), entries };
}

/** Where a model comes from: a model dir, or a torch-rechub checkpoint read against a CSV header. */
export type ModelSource = { modelDir: string } | ({ checkpoint: string } & ImportOptions);

/** The model of `source` in eval mode, and its config; `data` is the CSV a checkpoint's dense columns are read from. */
export async function loadModel(source: ModelSource, data: string, log: (l: string) => void = () => {}): Promise<{ config: ModelConfig; model: ReturnType<typeof buildModel> }> {
  if ('modelDir' in source) return loadModelDir(source.modelDir);
  if (!existsSync(data)) throw new Error(`data: file not found: ${data}`);
  const { config, entries, summary } = await importCheckpoint(source.checkpoint, csvHeader(data), source);
  for (const line of summary) log(line);
  const model = buildModel(config);
  loadCheckpointEntries(model, entries, source.checkpoint, { strict: true });
  model.eval();
  return { config, model };
}

/**
 * `aitm import`: writes a model dir (config.json and model.safetensors, PyTorch names) from a
 * torch-rechub checkpoint, printing what it inferred and what it assumed.
 */
export async function importCommand(opts: { checkpoint: string; data: string; out: string; overwrite?: boolean; log?: (l: string) => void } & ImportOptions): Promise<ModelConfig> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const { config, model } = await loadModel(opts, opts.data, log);
  try {
    await writeRunDir(opts.out, { overwrite: opts.overwrite ?? false }, async (stage) => {
      writeAtomic(join(stage, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
      await saveCheckpoint(model, join(stage, 'model.safetensors'));
    });
  } finally {
    model.dispose();
  }
  log(`wrote ${opts.out}/config.json and model.safetensors`);
  return config;
}

/**
 * `aitm export --onnx FILE`: the model's eval-mode forward as an ONNX graph (opset 17, a
 * dynamic batch axis, one input per feature named as the feature, output `probs`).
 */
export async function exportCommand(opts: ModelSource & { onnx: string; data?: string; log?: (l: string) => void }): Promise<void> {
  const log = opts.log ?? ((l: string) => console.log(l));
  await setBackend('cpu');
  if ('checkpoint' in opts && opts.data === undefined) throw new Error('--checkpoint needs --data (its CSV header names the dense features)');
  const { config, model } = await loadModel(opts, opts.data ?? '', (l) => console.error(l));
  try {
    writeAtomic(opts.onnx, await onnxBytes(model, config));
    log(`wrote ${opts.onnx}: ${config.model}, inputs ${config.features.map((f) => f.name).join(', ')}; output probs [batch, ${config.labels.length}] (${config.labels.join(', ')})`);
  } finally {
    model.dispose();
  }
}

/** The header line of a CSV file. */
function csvHeader(file: string): string[] {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(1 << 16);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).toString('utf8').split(/\r?\n/)[0]!.replace(/^\uFEFF/, '').split(',');
  } finally {
    closeSync(fd);
  }
}

/** Reads `file` with the model's schema; label columns are required only when `labels` is set. */
async function readForModel(config: ModelConfig, file: string, labels: boolean, strictIds = false): Promise<Dataset> {
  if (!existsSync(file)) throw new Error(`data: file not found: ${file}`);
  const schema = schemaOf(config);
  if (!labels) {
    // Prediction inputs may carry the label columns or not.
    const header = new Set(csvHeader(file));
    if (!schema.labels.every((l) => header.has(l))) schema.labels = [];
  }
  const r = await readCsv(file, { schema, strictIds });
  reportOov(file, r.oovRemaps);
  return r.data;
}

/** `aitm eval`: metrics of a saved model on a labelled CSV. */
export async function evalCommand(opts: ModelSource & { data: string; backend?: BackendName; log?: (l: string) => void; strictIds?: boolean }): Promise<TaskMetrics> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const backend = await initBackend(opts.backend ? { backend: opts.backend } : {});
  try {
    const { config, model } = await loadModel(opts, opts.data, (l) => console.error(l));
    const ds = await readForModel(config, opts.data, true, opts.strictIds);
    const m = metricsOf(await predict(model, ds, { backend }), ds);
    config.labels.forEach((l, i) => log(`${l}: AUC ${m.auc[i]!.toFixed(4)}, logloss ${m.logloss[i]!.toFixed(4)}`));
    return m;
  } finally {
    disposeWebGpu();
  }
}

/** `aitm predict`: a CSV of per-task probabilities (header: the label names), one row per input row. */
export async function predictCommand(opts: ModelSource & { data: string; out: string; backend?: BackendName; strictIds?: boolean }): Promise<void> {
  const backend = await initBackend(opts.backend ? { backend: opts.backend } : {});
  try {
    const { config, model } = await loadModel(opts, opts.data, (l) => console.error(l));
    const ds = await readForModel(config, opts.data, false, opts.strictIds);
    const probs = await predict(model, ds, { backend });
    const lines = [config.labels.join(',')];
    for (let i = 0; i < ds.n; i++) lines.push(probs.map((p) => p[i]!.toPrecision(9)).join(','));
    writeAtomic(opts.out, `${lines.join('\n')}\n`);
  } finally {
    disposeWebGpu();
  }
}

