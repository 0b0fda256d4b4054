// The built-in data and training defaults, on every host: `aitm train` in Node and the
// browser playground train on the same synthetic world with the same defaults.

import type { Dataset } from './batch.js';
import type { DataSchema } from './schema.js';
import { generateSynthetic, oracleAuc, type SyntheticConfig } from './synthetic.js';

/**
 * The built-in data: one synthetic world, three independent samples of it. The world is
 * sized so that AITM can get within about 0.01 AUC of the oracle in the main job's time
 * budget (3 minutes on 2 cores): 8 id fields of 20 Zipf-distributed ids, two rank-2
 * pairwise interactions, click rate 20%, purchase after click 30%, and a purchase logit that
 * is 80% the click logit (the sequential dependence AITM is built to transfer).
 */
export const SYNTHETIC_DEFAULTS: Omit<SyntheticConfig, 'rows' | 'worldSeed' | 'sampleSeed'> = {
  fields: 8,
  vocab: 20,
  zipf: 1.0,
  clickBase: 0.2,
  purchaseBase: 0.3,
  dependence: 0.8,
  interactionPairs: 2,
  interactionRank: 2,
  interactionStd: 0.3,
  embedDim: 8,
};

/**
 * Training defaults of `aitm train` (each has a flag). 1M rows: with the fused kernels a step
 * is 2x faster than when 500k was chosen, and the purchase gap to the oracle at 500k moved
 * between 0.006 and 0.008 with float rounding (0.004 at 1M, in about 90 s here).
 */
export const TRAIN_DEFAULTS = { epochs: 3, batchSize: 2048, lr: 0.01, syntheticRows: 1_000_000 } as const;

/** Train, validation and test sets, their schema, and the oracle AUC (synthetic data only). */
export interface Splits {
  train: Dataset;
  val: Dataset;
  test: Dataset;
  schema: DataSchema;
  oracle: number[] | null;
}

/**
 * Three independent samples of the built-in world seeded by `seed`: `rows` training rows and
 * a sixth of that each for validation and test, with the test set's oracle AUC.
 *
 * @example
 * const { train, val, test, oracle } = syntheticSplits(20_000, 1);
 */
export function syntheticSplits(rows: number, seed: number, world: Partial<typeof SYNTHETIC_DEFAULTS> = {}): Splits {
  const base = { ...SYNTHETIC_DEFAULTS, ...world, worldSeed: seed };
  const gen = (n: number, s: number) => generateSynthetic({ ...base, rows: n, sampleSeed: s });
  const train = gen(rows, seed * 3 + 1);
  const val = gen(Math.round(rows / 6), seed * 3 + 2);
  const test = gen(Math.round(rows / 6), seed * 3 + 3);
  return { train: train.data, val: val.data, test: test.data, schema: train.data.schema, oracle: oracleAuc(test) };
}
