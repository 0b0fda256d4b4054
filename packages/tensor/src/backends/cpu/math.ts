// Scalar functions shared by CPU kernels.

/** 1 / (1 + e^-x) without overflow: exp's argument is kept <= 0. */
export const stableSigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
