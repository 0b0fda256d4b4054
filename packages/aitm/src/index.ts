// @aitm/aitm: the AITM multi-task recommender, its loss, data loading, metrics and training.
export * from './models/index.js';
export * from './data/index.js';
export * from './metrics/index.js';
export * from './config.js';
export * from './train/trainer.js';
export * from './train/warmup.js';
export * from './train/evaluate.js';
export * from './train/batch-tensors.js';
export { progressSink, type ProgressSink } from './train/progress.js';
export { trainCommand, evalCommand, predictCommand, importCommand, loadModel, loadModelDir, checkTrainOptions, readConfigFile, type ModelSource, type TrainCommandOptions, type Report } from './run.js';
export { inferConfig, importCheckpoint, type ImportOptions, type ImportResult } from './import.js';
export { compareCommand, compareTable, COMPARE_DEFAULTS, type CompareOptions, type CompareResult, type CompareModelResult } from './compare.js';
export { learningCurves, attentionHistogram, aucByModel } from './plots/charts.js';
export { attentionWeights } from './train/attention.js';
