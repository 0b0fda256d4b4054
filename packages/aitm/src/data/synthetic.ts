// Seeded synthetic click -> purchase data with known true probabilities, so a model's AUC can be
// judged against the oracle AUC of the generating process (see oracleAuc).

import { auc } from '../metrics/auc.js';
import { allocDataset, type Dataset } from './batch.js';
import { mixSeeds, Rng } from './rng.js';
import { DEFAULT_EMBED_DIM, type DataSchema, type FeatureSpecConfig } from './schema.js';

/**
 * Two seeds, so splits can share one world:
 * - `worldSeed` fixes the world: per-id effects, interaction pairs and tables, the Zipf rank -> id
 *   permutation, dense weights and the intercepts (calibrated on a world-seeded sample).
 * - `sampleSeed` fixes which rows are drawn (ids, dense values) and the label coin flips.
 * Train/val/test = same worldSeed, different sampleSeed. Each world component draws from its own
 * seed stream, so e.g. adding dense features does not change the sparse effects. Features and
 * label flips use separate streams too, so a sample is prefix-stable: the first k rows of a
 * larger sample equal a sample of k rows.
 */
export interface SyntheticConfig {
  rows: number;
  worldSeed: number;
  sampleSeed: number;
  /** Sparse fields "f0".."f{fields-1}" (default 10). */
  fields?: number;
  /** Ids per field (default 1000): vocabSize; id 0 is reserved as the OOV slot and never drawn. */
  vocab?: number;
  /** Zipf exponent of id frequency (default 1.1; 0 = uniform). */
  zipf?: number;
  /** Dense features "D0".. with values uniform in [0, 1] (default 0). */
  denseFeatures?: number;
  /** Share of the purchase logit that is the click logit, 0..1 (default 0.6). */
  dependence?: number;
  /** Expected click rate over impressions (default 0.1). */
  clickBase?: number;
  /** Expected P(purchase | click) (default 0.2). */
  purchaseBase?: number;
  /** Number of field pairs with an interaction effect (default 3, capped by the pair count). */
  interactionPairs?: number;
  /** Std of the summed field effects in a logit (default 1.0; split evenly over fields). */
  fieldEffectStd?: number;
  /** Std of the summed interaction effects in a logit (default 0.5). */
  interactionStd?: number;
  /** Rank of the latent factors behind each pairwise interaction (default 4). */
  interactionRank?: number;
  /** Std of the summed dense contributions in a logit (default 0.5). */
  denseStd?: number;
  /** embedDim written into the schema (default 4). */
  embedDim?: number;
}

/** A generated synthetic dataset: features, labels and the true probabilities. */
export interface SyntheticData {
  data: Dataset;
  /** [P(click), P(click and purchase)] per row: the probabilities the labels were drawn from. */
  trueProb: Float32Array[];
  /** Calibrated logit intercepts (click base, purchase-given-click base) of this world. */
  intercepts: { click: number; purchase: number };
}

const CALIBRATION_ROWS = 20000;
// Seed stream tags, one per world component.
const S_PERM = 1, S_FIELD = 2, S_PAIRS = 3, S_INTER = 4, S_DENSE = 5, S_CALIB = 6, S_SAMPLE = 7, S_LABEL = 8;

type Resolved = Required<SyntheticConfig>;

/** The schema of the synthetic data a config generates. */
export function syntheticSchema(config: SyntheticConfig): DataSchema {
  const c = resolve(config);
  const features: FeatureSpecConfig[] = [];
  for (let f = 0; f < c.fields; f++) features.push({ name: `f${f}`, type: 'sparse', vocabSize: c.vocab, embedDim: c.embedDim });
  for (let d = 0; d < c.denseFeatures; d++) features.push({ name: `D${d}`, type: 'dense' });
  return { labels: ['click', 'purchase'], features };
}

/**
 * Generates `rows` impressions. Per row: field ids ~ Zipf; clickPart = sum of per-id field effects
 * + hashed pairwise interactions (+ dense terms); ownPart = the same structure with independent
 * tables. P(click) = sigmoid(cb + clickPart); P(purchase | click) =
 * sigmoid(pb + dependence * clickPart + (1 - dependence) * ownPart); purchase only after a click.
 */
export function generateSynthetic(config: SyntheticConfig): SyntheticData {
  const c = resolve(config);
  const world = buildWorld(c);
  const ds = allocDataset(syntheticSchema(c), c.rows);
  const zc = new Float64Array(c.rows);
  const zo = new Float64Array(c.rows);
  drawRows(world, c.rows, new Rng(mixSeeds(c.worldSeed, S_SAMPLE, c.sampleSeed)), ds.sparse, ds.dense, zc, zo);
  const rng = new Rng(mixSeeds(c.worldSeed, S_LABEL, c.sampleSeed));

  const pClick = new Float32Array(c.rows);
  const pBoth = new Float32Array(c.rows);
  const [click, purchase] = ds.labels;
  const dep = c.dependence;
  for (let i = 0; i < c.rows; i++) {
    const pc = sigmoid(world.clickIntercept + zc[i]);
    const pcvr = sigmoid(world.purchaseIntercept + dep * zc[i] + (1 - dep) * zo[i]);
    pClick[i] = pc;
    pBoth[i] = pc * pcvr;
    // Two coin flips, drawn for every row so the stream does not depend on outcomes.
    const u1 = rng.float();
    const u2 = rng.float();
    if (u1 < pc) {
      click[i] = 1;
      if (u2 < pcvr) purchase[i] = 1;
    }
  }
  return { data: ds, trueProb: [pClick, pBoth], intercepts: { click: world.clickIntercept, purchase: world.purchaseIntercept } };
}

/** AUC of the true probabilities against the sampled labels, per task: the best AUC any model can
 * expect on this sample (up to noise). */
export function oracleAuc(s: SyntheticData): number[] {
  return s.trueProb.map((p, t) => auc(p, s.data.labels[t]));
}

// ---- world ----

interface World {
  c: Resolved;
  /** Zipf CDF over ranks 0..vocab-2 (shared by all fields). */
  cdf: Float64Array;
  /** Per field: rank -> id in 1..vocab-1, so frequent ids are not always the small ones. */
  perm: Int32Array[];
  clickEff: Float32Array[]; // per field, indexed by id
  ownEff: Float32Array[];
  pairs: Array<[number, number]>;
  /** Per interacting pair (a, b): latent factors of a's ids and of b's ids, [vocab * rank] each. */
  clickInter: Array<[Float32Array, Float32Array]>;
  ownInter: Array<[Float32Array, Float32Array]>;
  clickDenseW: Float64Array;
  ownDenseW: Float64Array;
  clickIntercept: number;
  purchaseIntercept: number;
}

function buildWorld(c: Resolved): World {
  const ranks = c.vocab - 1;
  const cdf = new Float64Array(ranks);
  let total = 0;
  for (let r = 0; r < ranks; r++) cdf[r] = total += 1 / Math.pow(r + 1, c.zipf);
  for (let r = 0; r < ranks; r++) cdf[r] /= total;
  cdf[ranks - 1] = 1; // guard against rounding so the search always lands

  const perm: Int32Array[] = [];
  const clickEff: Float32Array[] = [];
  const ownEff: Float32Array[] = [];
  const fieldStd = c.fieldEffectStd / Math.sqrt(c.fields);
  for (let f = 0; f < c.fields; f++) {
    const p = Int32Array.from({ length: ranks }, (_, r) => r + 1);
    perm.push(new Rng(mixSeeds(c.worldSeed, S_PERM, f)).shuffle(p));
    const rng = new Rng(mixSeeds(c.worldSeed, S_FIELD, f));
    clickEff.push(normalTable(rng, c.vocab, fieldStd));
    ownEff.push(normalTable(rng, c.vocab, fieldStd));
  }

  const allPairs: Array<[number, number]> = [];
  for (let a = 0; a < c.fields; a++) for (let b = a + 1; b < c.fields; b++) allPairs.push([a, b]);
  const pairRng = new Rng(mixSeeds(c.worldSeed, S_PAIRS));
  const pairs: Array<[number, number]> = [];
  const nPairs = Math.min(c.interactionPairs, allPairs.length);
  for (let k = 0; k < nPairs; k++) pairs.push(allPairs.splice(pairRng.int(allPairs.length), 1)[0]);
  // Interactions are dot products of per-id latent factors (as in a factorisation machine):
  // structured enough that embeddings and an MLP can learn them, unlike a random table per id pair.
  // The dot of two rank-L vectors with N(0, s^2) entries has variance L s^4, so s = (std^2 / L)^(1/4).
  const interStd = nPairs > 0 ? c.interactionStd / Math.sqrt(nPairs) : 0;
  const factorStd = Math.pow((interStd * interStd) / c.interactionRank, 0.25);
  const clickInter: Array<[Float32Array, Float32Array]> = [];
  const ownInter: Array<[Float32Array, Float32Array]> = [];
  pairs.forEach((_, k) => {
    const rng = new Rng(mixSeeds(c.worldSeed, S_INTER, k));
    const table = () => normalTable(rng, c.vocab * c.interactionRank, factorStd);
    clickInter.push([table(), table()]);
    ownInter.push([table(), table()]);
  });

  // Uniform [0,1] values centred at 0.5 have std 1/sqrt(12); scale weights so the sum has denseStd.
  const wStd = c.denseFeatures > 0 ? (c.denseStd / Math.sqrt(c.denseFeatures)) * Math.sqrt(12) : 0;
  const denseRng = new Rng(mixSeeds(c.worldSeed, S_DENSE));
  const clickDenseW = Float64Array.from(normalTable(denseRng, c.denseFeatures, wStd));
  const ownDenseW = Float64Array.from(normalTable(denseRng, c.denseFeatures, wStd));

  const world: World = {
    c, cdf, perm, clickEff, ownEff, pairs, clickInter, ownInter, clickDenseW, ownDenseW,
    clickIntercept: 0, purchaseIntercept: 0,
  };
  calibrate(world);
  return world;
}

/** Picks intercepts so that on a large world-seeded sample the mean P(click) is clickBase and the
 * click-weighted mean P(purchase | click) is purchaseBase (a plain logit(base) would be biased by
 * the spread of the effects). Both means are monotone in the intercept, so bisection suffices. */
function calibrate(w: World): void {
  const n = CALIBRATION_ROWS;
  const sparse = Array.from({ length: w.c.fields }, () => new Int32Array(n));
  const dense = Array.from({ length: w.c.denseFeatures }, () => new Float32Array(n));
  const zc = new Float64Array(n);
  const zo = new Float64Array(n);
  drawRows(w, n, new Rng(mixSeeds(w.c.worldSeed, S_CALIB)), sparse, dense, zc, zo);
  const dep = w.c.dependence;

  w.clickIntercept = bisect((b) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += sigmoid(b + zc[i]);
    return s / n - w.c.clickBase;
  });
  const pc = zc.map((z) => sigmoid(w.clickIntercept + z));
  const pcSum = pc.reduce((a, b) => a + b, 0);
  w.purchaseIntercept = bisect((b) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += pc[i] * sigmoid(b + dep * zc[i] + (1 - dep) * zo[i]);
    return s / pcSum - w.c.purchaseBase;
  });
}

/** Draws `n` rows: fills ids and dense values, and the click / own logit parts (no intercepts). */
function drawRows(
  w: World,
  n: number,
  rng: Rng,
  sparse: Int32Array[],
  dense: Float32Array[],
  zc: Float64Array,
  zo: Float64Array,
): void {
  const { cdf, c } = w;
  for (let i = 0; i < n; i++) {
    let click = 0;
    let own = 0;
    for (let f = 0; f < c.fields; f++) {
      const id = w.perm[f][searchCdf(cdf, rng.float())];
      sparse[f][i] = id;
      click += w.clickEff[f][id];
      own += w.ownEff[f][id];
    }
    for (let k = 0; k < w.pairs.length; k++) {
      const [a, b] = w.pairs[k];
      click += dot(w.clickInter[k], sparse[a][i], sparse[b][i], c.interactionRank);
      own += dot(w.ownInter[k], sparse[a][i], sparse[b][i], c.interactionRank);
    }
    for (let d = 0; d < c.denseFeatures; d++) {
      const x = rng.float();
      dense[d][i] = x;
      click += w.clickDenseW[d] * (x - 0.5);
      own += w.ownDenseW[d] * (x - 0.5);
    }
    zc[i] = click;
    zo[i] = own;
  }
}

// ---- helpers ----

/** <u[ia], v[ib]> for rank-`r` factor tables. */
function dot([u, v]: [Float32Array, Float32Array], ia: number, ib: number, r: number): number {
  let s = 0;
  for (let j = 0; j < r; j++) s += u[ia * r + j] * v[ib * r + j];
  return s;
}

/** First rank r with cdf[r] > u (u in [0, 1)). */
function searchCdf(cdf: Float64Array, u: number): number {
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cdf[mid] > u) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function normalTable(rng: Rng, size: number, std: number): Float32Array {
  const t = new Float32Array(size);
  for (let i = 0; i < size; i++) t[i] = rng.normal() * std;
  return t;
}

/** Root of an increasing function on [-30, 30]. */
function bisect(f: (x: number) => number): number {
  let lo = -30;
  let hi = 30;
  for (let it = 0; it < 60; it++) {
    const mid = (lo + hi) / 2;
    if (f(mid) < 0) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

function resolve(config: SyntheticConfig): Resolved {
  const c: Resolved = {
    fields: 10, vocab: 1000, zipf: 1.1, denseFeatures: 0, dependence: 0.6, clickBase: 0.1,
    purchaseBase: 0.2, interactionPairs: 3, fieldEffectStd: 1.0, interactionStd: 0.5, interactionRank: 4, denseStd: 0.5,
    embedDim: DEFAULT_EMBED_DIM,
    ...stripUndefined(config),
  } as Resolved;
  const check = (ok: boolean, what: string): void => {
    if (!ok) throw new Error(`synthetic config: ${what}`);
  };
  check(Number.isInteger(c.rows) && c.rows >= 0, `rows must be a non-negative integer, got ${c.rows}`);
  check(Number.isInteger(c.worldSeed) && Number.isInteger(c.sampleSeed), 'worldSeed and sampleSeed must be integers');
  check(Number.isInteger(c.fields) && c.fields >= 1, `fields must be >= 1, got ${c.fields}`);
  check(Number.isInteger(c.vocab) && c.vocab >= 2, `vocab must be >= 2 (id 0 is reserved), got ${c.vocab}`);
  check(c.zipf >= 0, `zipf must be >= 0, got ${c.zipf}`);
  check(Number.isInteger(c.denseFeatures) && c.denseFeatures >= 0, `denseFeatures must be >= 0, got ${c.denseFeatures}`);
  check(c.dependence >= 0 && c.dependence <= 1, `dependence must be in [0, 1], got ${c.dependence}`);
  check(c.clickBase > 0 && c.clickBase < 1, `clickBase must be in (0, 1), got ${c.clickBase}`);
  check(c.purchaseBase > 0 && c.purchaseBase < 1, `purchaseBase must be in (0, 1), got ${c.purchaseBase}`);
  check(Number.isInteger(c.interactionPairs) && c.interactionPairs >= 0, `interactionPairs must be >= 0`);
  return c;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
