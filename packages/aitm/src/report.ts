// The shapes of what the commands write (report.json, compare.json), on every host: the
// plots read them in Node and in the browser alike.

import type { BackendName } from '@aitm/tensor';
import type { ModelName } from './config.js';
import type { TaskMetrics } from './train/evaluate.js';

/** What `report.json` of a run holds: the config, metrics per split, timings. */
export interface Report {
  val: TaskMetrics;
  test: TaskMetrics;
  oracleAuc: number[] | null;
  samplesPerSecond: number;
  /** WebGPU dispatches, submits and host syncs per training step (null on the CPU). */
  perStep: { dispatches: number; submits: number; syncs: number } | null;
  /** The pipeline warm-up before training (null on the CPU). */
  warmUp: { seconds: number; pipelines: number } | null;
  epochs: { loss: number | null; valAuc: number[]; valLogloss: number[]; seconds: number }[];
  bestEpoch: number;
  backend: BackendName;
  labels: readonly string[];
  /** Per data file, per sparse column: ids at or beyond the vocabulary, read as slot 0. */
  oovIds: Record<string, Record<string, number>>;
}

/** One model's results in `compare`: AUC and log loss per task, mean and spread over seeds. */
export interface CompareModelResult {
  model: ModelName;
  /** Per task, mean test AUC over seeds (NaN, null in the JSON, when some seed's test split has one class). */
  auc: number[];
  /** Per task, standard deviation of the test AUC over seeds (sample std; 0 for one seed). */
  aucStd: number[];
  /** Per task, mean test logloss over seeds. */
  logloss: number[];
  loglossStd: number[];
  /** Trainable parameters. */
  params: number;
  /** Training throughput, mean over seeds. */
  samplesPerSecond: number;
  /** Per task, standard error of the mean test AUC over seeds (std / sqrt(seeds); 0 for one seed). */
  aucSe: number[];
  /** Per seed (1..seeds), per task, the test AUC. */
  aucBySeed: number[][];
  /** Per seed, the epochs trained (early stopping ends a run before the budget's maximum). */
  epochsBySeed: number[];
  /**
   * Per task, this model's AUC minus the reference model's (`CompareResult.reference`), paired
   * by seed (same world, splits and initialisation seed): the mean, its standard error, the
   * seeds it won (strictly higher AUC), and the seeds a difference of 0.005 needs at this
   * spread (`seedsFor005`, null with one seed). Null for the reference itself.
   */
  vsReference: { diff: number[]; se: number[]; wins: number[]; seedsFor005: Array<number | null> } | null;
}

/** What `compare.json` holds: every model's results on the same data. */
export interface CompareResult {
  /** Mean over seeds of the oracle AUC (the true probabilities' AUC) per task; null for CSV data. */
  oracleAuc: number[] | null;
  models: CompareModelResult[];
  labels: readonly string[];
  data: string;
  seeds: number;
  epochs: number;
  rows: number | null;
  backend: BackendName | null;
  /** The model the others' paired differences are taken from (aitm when compared). */
  reference: ModelName;
  /** The synthetic world's preset (null for CSV data). */
  world: string | null;
  /** Models asked for but not run, with why (ESMM on a funnel of more than 2 tasks). */
  skipped: Array<{ model: ModelName; reason: string }>;
  /** The most epochs a run may train (early stopping on validation ends most runs before). */
  maxEpochs: number;
}
