// Evaluation metrics on plain arrays (no tensor dependency).
export { auc } from './auc.js';
export { logloss, LOGLOSS_EPS } from './logloss.js';
