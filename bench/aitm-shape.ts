// The benchmarked AITM's shape, imported by every implementation, in Node and in the browser.

/** The benchmarked AITM: every implementation builds exactly this. */
export const SHAPE = {
  fields: 10,
  vocab: 1000,
  embedDim: 5,
  bottom: [64, 32],
  tower: [32],
  tasks: 2,
  alpha: 0.6,
  lr: 1e-3,
} as const;
