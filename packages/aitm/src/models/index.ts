// The models of the aitm package.
export * from './attention.js';
export * from './aitm.js';
export * from './loss.js';
