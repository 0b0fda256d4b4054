// Data layer public surface on every host: schema, columnar datasets, synthetic data, seeded
// RNG. CSV files (Node) are in ../node.ts.
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
  generateSynthetic,
  oracleAuc,
  syntheticSchema,
  MAX_FUNNEL_TASKS,
  type FunnelStep,
  type SyntheticConfig,
  type SyntheticData,
} from './synthetic.js';
export { hash32, mixSeeds, Rng } from './rng.js';
export { SYNTHETIC_DEFAULTS, TRAIN_DEFAULTS, WORLD_NAMES, WORLD_PRESETS, syntheticSplits, worldPreset, type Splits, type WorldName } from './builtin.js';
