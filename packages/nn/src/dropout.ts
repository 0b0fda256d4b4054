// Inverted dropout: in train mode each element is kept with probability 1 - p and scaled by
// 1 / (1 - p); in eval mode (or with p = 0) the input passes through unchanged.

import { defaultGenerator, fromTypedArray, mul, type Generator, type Tensor } from '@aitm/tensor';
import { Module } from './module.js';

/**
 * Multiplies `x` by a fresh mask of 0 and 1/(1-p). The mask is drawn on the host from the
 * seeded generator and uploaded, so a seed gives the same mask on every backend.
 *
 * @example
 * dropout(x, 0.5, new Generator(1)); // about half the values zeroed, the rest doubled
 */
export function dropout(x: Tensor, p: number, generator: Generator = defaultGenerator()): Tensor {
  checkP(p);
  if (p === 0) return x;
  const scale = p === 1 ? 0 : 1 / (1 - p);
  const mask = x.dtype === 'float64' ? new Float64Array(x.size) : new Float32Array(x.size);
  for (let i = 0; i < mask.length; i++) mask[i] = generator.uniform() < 1 - p ? scale : 0;
  return mul(x, fromTypedArray(mask, x.shape, x.dtype, { backend: x.backendName }));
}

function checkP(p: number): void {
  if (!(p >= 0 && p <= 1)) throw new Error(`Dropout: probability must be in [0, 1], got ${p}`);
}

/**
 * `torch.nn.Dropout(p)`. Without a generator it reads the global one at each call, so
 * `manualSeed` after construction still takes effect.
 *
 * @example
 * const drop = new Dropout(0.2);
 * drop.forward(x);         // train mode: masked and scaled
 * drop.eval().forward(x);  // returns x itself
 */
export class Dropout extends Module {
  constructor(
    readonly p = 0.5,
    private readonly generator?: Generator,
  ) {
    super();
    checkP(p);
  }

  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    return dropout(x, this.p, this.generator ?? defaultGenerator());
  }
}
