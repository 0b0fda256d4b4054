// The models of the aitm package: AITM, its AutoInt variant, and the baselines it is judged against.
export * from './attention.js';
export * from './aitm.js';
export * from './aitm-head.js';
export * from './loss.js';
export * from './multitask.js';
export * from './shared-bottom.js';
export * from './esmm.js';
export * from './mmoe.js';
export * from './ple.js';
export * from './autoint.js';
export * from './aitm-autoint.js';
