// Data layer public surface: schema, columnar datasets, CSV streaming, synthetic data, seeded RNG.
export {
  DEFAULT_EMBED_DIM,
  DEFAULT_LABELS,
  denseFeatures,
  inferSchema,
  isDenseColumnName,
  sameColumns,
  sparseFeatures,
  withVocab,
  type DataSchema,
  type DenseFeatureConfig,
  type FeatureSpecConfig,
  type InferSchemaOptions,
  type SparseFeatureConfig,
} from './schema.js';
export {
  allocDataset,
  concatDatasets,
  sequentialBatches,
  shuffledBatches,
  shuffledIndexBatches,
  sliceRows,
  subset,
  type BatchOptions,
  type Dataset,
} from './batch.js';
export {
  DEFAULT_CHUNK_ROWS,
  readCsv,
  readCsvChunks,
  scanVocab,
  type CsvChunk,
  type CsvOptions,
  type CsvReadResult,
} from './csv.js';
export {
  generateSynthetic,
  oracleAuc,
  syntheticSchema,
  type SyntheticConfig,
  type SyntheticData,
} from './synthetic.js';
export { hash32, mixSeeds, Rng } from './rng.js';
