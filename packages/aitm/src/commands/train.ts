// `aitm train`: trains a model on synthetic data or CSV files and writes a run folder
// (config.json, model.safetensors, report.json and the plots).

import { join } from 'node:path';
import { disposeWebGpu, initBackend, isDeterministic, manualSeed, setDeterministic, wasmFlavour, wasmThreads, webGpuAdapter, type BackendName } from '@aitm/tensor';
import { saveCheckpoint } from '@aitm/nn/node';
import { alphaOf, buildModel, checkModelMemory, defaultConfig, type ModelName } from '../config.js';
import { TRAIN_DEFAULTS } from '../data/builtin.js';
import { withVocab } from '../data/schema.js';
import { attentionHistogram, learningCurves } from '../plots/charts.js';
import type { Report } from '../report.js';
import { writeRunDir } from '../run-dir.js';
import { attentionWeights } from '../train/attention.js';
import { metricsOf, predict, scoreSource, type Predictor, type Scored } from '../train/evaluate.js';
import { DEFAULT_WINDOW_ROWS, headRows, isRowSource, type RowSource } from '../data/stream.js';
import type { Dataset } from '../data/batch.js';
import { progressSink } from '../train/progress.js';
import { fit, type EpochRecord } from '../train/trainer.js';
import { writeAtomic } from './atomic-write.js';
import { loadSplits, type DataOptions } from './data.js';
import { memoryHint, memoryLimitOf, readConfigFile } from './model-source.js';
import { aucNotes, trainSummary } from './print-report.js';

/** The options of `aitm train` (each a flag of the CLI); the data options are `DataOptions`'. */
export interface TrainCommandOptions extends DataOptions {
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
  quiet?: boolean;
  /** Where progress lines go (default: stdout). */
  log?: (line: string) => void;
  /** Replace an --out folder that already holds a run (default: refuse). */
  overwrite?: boolean;
  /** GiB the model may take to train (parameters, gradients, Adam's moments; default half the machine's memory). */
  maxMemory?: number;
  /**
   * Take the WebGPU backend's atomic scatter-adds (`setDeterministic(false)`): results then
   * vary run to run in the last bits. Default false: a seed gives the same model.safetensors
   * bytes on every run, on every backend.
   */
  nondeterministic?: boolean;
}

/** Predictions and labels of a split, held in memory or read from its file block by block. */
async function scored(model: Predictor, split: Dataset | RowSource, backend: BackendName): Promise<Scored> {
  if (isRowSource(split)) return scoreSource(model, split, { backend });
  return { n: split.n, probs: await predict(model, split, { backend }), labels: split.labels };
}

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
  int('window-rows', opts.windowRows, 1);
  if (opts.lr !== undefined && !(Number.isFinite(opts.lr) && opts.lr > 0)) throw new Error(`--lr: expected a positive number, got ${opts.lr}`);
  if (opts.weightDecay !== undefined && !(Number.isFinite(opts.weightDecay) && opts.weightDecay >= 0)) {
    throw new Error(`--weight-decay: expected a number >= 0, got ${opts.weightDecay}`);
  }
  if (opts.alpha !== undefined && !(Number.isFinite(opts.alpha) && opts.alpha >= 0)) throw new Error(`--alpha: expected a number >= 0, got ${opts.alpha}`);
  // With --config the file names the model, and its alpha is checked as the file is read.
  if (opts.alpha !== undefined && opts.config === undefined) alphaOf(opts.model ?? 'aitm', opts.alpha, '--alpha');
}

/**
 * `aitm train`: trains and writes DIR/config.json, DIR/model.safetensors, DIR/report.json,
 * DIR/learning-curves.svg and, for the AITM family, DIR/attention.svg.
 * Returns the report.
 */
export async function trainCommand(opts: TrainCommandOptions = {}): Promise<{ report: Report; outDir: string }> {
  checkTrainOptions(opts);
  const log = opts.log ?? ((l: string) => console.log(l));
  const seed = opts.seed ?? 1;
  const backend = await initBackend(opts.backend ? { backend: opts.backend } : {});
  const wasDeterministic = isDeterministic();
  setDeterministic(!(opts.nondeterministic ?? false));
  try {
    manualSeed(seed);
    const alpha = opts.alpha === undefined ? {} : { alpha: opts.alpha };
    const given = opts.config ? readConfigFile(opts.config, alpha) : null;
    const memoryLimit = memoryLimitOf(opts.maxMemory);
    // A config's sizes are known before the data is read: refuse an impossible model first.
    if (given) checkModelMemory(given, memoryLimit, memoryHint(memoryLimit, `lower vocabSize or embedDim in ${opts.config}`));
    const oovIds: Record<string, Record<string, number>> = Object.create(null) as Record<string, Record<string, number>>;
    const batchSize = opts.batchSize ?? TRAIN_DEFAULTS.batchSize;
    const splits = await loadSplits(opts, seed, given, log, oovIds, batchSize);
    // Zero training steps is not a run: say which split is empty instead of writing an untrained model.
    for (const [name, ds] of [['training', splits.train], ['validation', splits.val], ['test', splits.test]] as const) {
      if (ds.n === 0) {
        const source = opts.data === undefined || opts.data === 'synthetic' ? `the synthetic data (--rows ${opts.syntheticRows ?? TRAIN_DEFAULTS.syntheticRows})` : 'the data';
        throw new Error(`data: the ${name} split of ${source} has no rows; nothing to train on or measure (give more rows${name === 'training' ? '' : ', or --val/--test files'})`);
      }
    }
    const config = given ?? defaultConfig(withVocab(splits.schema, {}), { ...alpha, ...(opts.model ? { model: opts.model } : {}) });
    if (!given) {
      const hint = 'the tables are sized from the data (largest id + 1): cap them with --max-vocab N (ids past it are read as slot 0)';
      checkModelMemory(config, memoryLimit, memoryHint(memoryLimit, hint));
    }
    const outDir = opts.out ?? join('runs', `${config.model}-${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}`);
    // Checked and locked before training; written into a staging folder renamed into place at the end.
    const inputs = [opts.data, opts.val, opts.test, opts.config];
    return await writeRunDir(outDir, { overwrite: opts.overwrite ?? false, inputs }, async (stage) => {
      const model = buildModel(config, { memoryLimit });
      const nParams = model.parameters().reduce((n, p) => n + p.size, 0);
      const adapter = backend === 'webgpu' ? webGpuAdapter() : null;
      const wasm = backend === 'wasm' ? wasmFlavour() : null;
      const threads = backend === 'wasm' ? wasmThreads()?.threads : undefined;
      const device = adapter
        ? ` (${[adapter.vendor, adapter.architecture, adapter.description].filter((x) => x).join(', ')})`
        : wasm !== null
          ? ` (${wasm}, ${threads ?? 1} thread${threads === 1 ? '' : 's'})`
          : '';
      log(`model: ${config.model}, ${config.labels.length} tasks (${config.labels.join(', ')}), ${nParams} parameters, backend ${backend}${device}`);
      const result = await fit(model, splits.train, splits.val, {
        epochs: opts.epochs ?? TRAIN_DEFAULTS.epochs,
        batchSize,
        lr: opts.lr ?? TRAIN_DEFAULTS.lr,
        weightDecay: opts.weightDecay ?? 0,
        alpha: config.alpha,
        seed,
        backend,
        progress: progressSink(process.stderr, 5000, opts.quiet ?? false),
      });
      const val = await scored(model, splits.val, backend);
      const test = await scored(model, splits.test, backend);
      const report: Report = {
        val: metricsOf(val.probs, val),
        test: metricsOf(test.probs, test),
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
      // A streamed validation split: the histogram of its first rows (one window's worth).
      const attentionRows = isRowSource(splits.val) ? await headRows(splits.val, opts.windowRows ?? DEFAULT_WINDOW_ROWS) : splits.val;
      const attention = await attentionWeights(model, attentionRows, { backend });
      if (attention) writeAtomic(join(stage, 'attention.svg'), attentionHistogram(attention, config.labels));
      for (const line of trainSummary(report, outDir)) log(line);
      for (const note of [...aucNotes(config.labels, val, 'the validation split'), ...aucNotes(config.labels, test, 'the test split')]) console.error(note);
      return { report, outDir };
    });
  } finally {
    setDeterministic(wasDeterministic);
    disposeWebGpu();
  }
}
