// The built-in data and training defaults, on every host: `aitm train` in Node and the
// browser playground train on the same synthetic world with the same defaults.

import type { Dataset } from './batch.js';
import type { DataSchema } from './schema.js';
import { generateSynthetic, oracleAuc, type FunnelStep, type SyntheticConfig } from './synthetic.js';

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
 * Named worlds (`--world NAME`): changes to SYNTHETIC_DEFAULTS. `default` is the 2-step
 * click -> purchase world of the main job (its data unchanged); `funnel3` .. `funnel5` are
 * longer funnels on the same ids, each step possible only after the previous one, with a base
 * rate given the previous step and the share of its logit taken from the previous step's.
 * Reach rates (click 20%): funnel4 20% click, 8% cart, 4% purchase, 1.2% repurchase.
 */
export const WORLD_PRESETS = {
  default: {},
  funnel3: { steps: funnel(['cart', 0.4, 0.8], ['purchase', 0.5, 0.7]) },
  funnel4: { steps: funnel(['cart', 0.4, 0.8], ['purchase', 0.5, 0.7], ['repurchase', 0.3, 0.5]) },
  funnel5: { steps: funnel(['detail', 0.6, 0.9], ['cart', 0.5, 0.8], ['purchase', 0.5, 0.7], ['repurchase', 0.3, 0.5]) },
} as const satisfies Record<string, Partial<typeof SYNTHETIC_DEFAULTS>>;

/** A preset's name (`--world`). */
export type WorldName = keyof typeof WORLD_PRESETS;

/** The preset names, default first. */
export const WORLD_NAMES = Object.keys(WORLD_PRESETS) as WorldName[];

function funnel(...steps: Array<[string, number, number]>): FunnelStep[] {
  return steps.map(([name, base, dependence]) => ({ name, base, dependence }));
}

/** The changes a preset makes (a fresh copy), refusing an unknown name with the known ones. */
export function worldPreset(name: WorldName | string): Partial<typeof SYNTHETIC_DEFAULTS> {
  if (!Object.hasOwn(WORLD_PRESETS, name)) throw new Error(`--world: expected one of ${WORLD_NAMES.join(', ')}, got '${name}'`);
  const p: Partial<typeof SYNTHETIC_DEFAULTS> = WORLD_PRESETS[name as WorldName];
  return { ...p, ...(p.steps && { steps: p.steps.map((st) => ({ ...st })) }) };
}

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
