// Every op function, for `import * as ops` (the Tensor methods) and the package index.
export * from './elementwise.js';
export * from './reduce.js';
export * from './layout.js';
export * from './matmul.js';
export * from './softmax.js';
export * from './gather.js';
export * from './where.js';
export * from './cast.js';
export * from './composite.js';
export * from './batchnorm.js';
export * from './gather-concat.js';
export * from './linear.js';
export * from './logical.js';
export * from './scan.js';
export * from './gather-along.js';
