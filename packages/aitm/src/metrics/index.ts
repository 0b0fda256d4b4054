// Evaluation metrics on plain arrays (no tensor dependency).
export { auc, aucOfChunks } from './auc.js';
export { logloss, loglossOfChunks, LOGLOSS_EPS } from './logloss.js';
