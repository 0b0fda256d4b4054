// @aitm/aitm/node: everything in @aitm/aitm plus what needs Node: CSV files, the commands
// behind the `aitm` CLI (train, eval, predict, import, compare) and run folders.
export * from './index.js';
export { DEFAULT_CHUNK_ROWS, readCsv, readCsvChunks, scanVocab, type CsvChunk, type CsvOptions, type CsvReadResult } from './data/csv.js';
export {
  trainCommand,
  evalCommand,
  predictCommand,
  importCommand,
  exportCommand,
  importCheckpoint,
  loadModel,
  loadModelDir,
  checkTrainOptions,
  readConfigFile,
  type ImportResult,
  type ModelSource,
  type TrainCommandOptions,
  type Report,
} from './run.js';
export { writeRunDir, type RunDirOptions } from './run-dir.js';
export { compareCommand, compareTable, COMPARE_DEFAULTS, type CompareOptions, type CompareResult, type CompareModelResult } from './compare.js';
