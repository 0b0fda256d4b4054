// @aitm/aitm/node: everything in @aitm/aitm plus what needs Node: CSV files, the commands
// behind the `aitm` CLI (train, eval, predict, import, export, compare; in ./commands/) and
// run folders.
export * from './index.js';
export { DEFAULT_CHUNK_ROWS, MAX_LINE_BYTES, readCsv, readCsvChunks, scanVocab, type CsvChunk, type CsvOptions, type CsvReadResult } from './data/csv.js';
export {
  DEFAULT_BLOCK_ROWS,
  DEFAULT_WINDOW_ROWS,
  csvSource,
  headRows,
  indexCsv,
  isRowSource,
  memorySource,
  sequenceCounts,
  shuffledEpoch,
  sourceBlocks,
  splitOfRow,
  type CsvBlock,
  type CsvIndex,
  type EpochBatch,
  type EpochStats,
  type FileSplit,
  type IndexOptions,
  type RowSource,
  type SplitName,
} from './data/stream.js';
export { trainCommand, checkTrainOptions, type TrainCommandOptions } from './commands/train.js';
export { evalCommand } from './commands/eval.js';
export { predictCommand } from './commands/predict.js';
export { importCommand } from './commands/import.js';
export { exportCommand } from './commands/export.js';
export { importCheckpoint, loadModel, loadModelDir, readConfigFile, type ImportResult, type ModelSource } from './commands/model-source.js';
export type { Report } from './report.js';
export { writeRunDir, type RunDirOptions } from './run-dir.js';
export { compareCommand, compareTable, pairedTable, noiseVerdicts, seedsToResolve, withinNoise, RESOLVE_DIFF, COMPARE_DEFAULTS, type CompareOptions, type CompareResult, type CompareModelResult } from './commands/compare.js';
