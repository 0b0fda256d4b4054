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
}
