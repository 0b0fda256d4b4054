// @aitm/aitm: the AITM multi-task recommender, its loss, data, metrics and training, on every
// host (Node and browsers). The commands and CSV files are in '@aitm/aitm/node'.
export * from './models/index.js';
export * from './data/index.js';
export * from './metrics/index.js';
export * from './config.js';
export * from './train/trainer.js';
export * from './train/warmup.js';
export * from './train/evaluate.js';
export * from './train/batch-tensors.js';
export { progressSink, type ProgressSink } from './train/progress.js';
export { inferConfig, type ImportOptions } from './import.js';
export { learningCurves, attentionHistogram, aucByModel } from './plots/charts.js';
export { attentionWeights } from './train/attention.js';
export type { Report, CompareResult, CompareModelResult } from './report.js';
export { onnxBytes } from './export/onnx.js';
