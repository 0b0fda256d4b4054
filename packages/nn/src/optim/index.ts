// Optimizers and gradient utilities.
export { Optimizer, type ParamState } from './optimizer.js';
export { SGD, sgdUpdate, type SGDOptions, type SgdHyper } from './sgd.js';
export { Adam, AdamW, adamUpdate, type AdamOptions, type AdamValues } from './adam.js';
export { clipGradNorm } from './clip.js';
