// @aitm/aitm: the AITM multi-task recommender, its loss, data loading, metrics and training.
export * from './models/index.js';
export * from './data/index.js';
export * from './metrics/index.js';
