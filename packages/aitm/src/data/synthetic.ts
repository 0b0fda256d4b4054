// Seeded synthetic conversion funnels (click -> purchase by default, up to 5 steps) with known
// true probabilities, so a model's AUC can be judged against the oracle AUC of the generating
// process (see oracleAuc).

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
  /**
   * The funnel's steps after the first (click), 1 to 4 of them (2 to 5 tasks). Default: one
   * step, "purchase", with `purchaseBase` and `dependence` (the 2-step world, unchanged).
   * When given, `purchaseBase` and `dependence` are not used.
   */
  steps?: FunnelStep[];
}

/**
 * One step of a funnel after the first: possible only after the previous step, with
 * P(step | previous) = sigmoid(intercept + dependence * previous step's logit part +
 * (1 - dependence) * this step's own part) (parts without intercepts; the own part has the
 * click part's structure with independent tables).
 */
export interface FunnelStep {
  /** The label column's name. */
  name: string;
  /** Expected P(step | previous step) over the rows that reach the previous step, in (0, 1). */
  base: number;
  /** Share of the step's logit that is the previous step's logit part, 0..1. */
  dependence: number;
}

/** A generated synthetic dataset: features, labels and the true probabilities. */
export interface SyntheticData {
  data: Dataset;
  /**
   * Per task, per row, the probability its label was drawn from: P(click), P(click and
   * purchase), ... (reaching step t = every step up to t).
   */
  trueProb: Float32Array[];
  /** Calibrated logit intercepts (click base, purchase-given-click base) of this world. */
  intercepts: { click: number; purchase: number };
  /** Every step's calibrated intercept, in task order (the first two are `intercepts`'). */
  stepIntercepts: number[];
}

const CALIBRATION_ROWS = 20000;
// Seed stream tags, one per world component.
const S_PERM = 1, S_FIELD = 2, S_PAIRS = 3, S_INTER = 4, S_DENSE = 5, S_CALIB = 6, S_SAMPLE = 7, S_LABEL = 8;
// Own tables of the steps after the second (funnels of 3+ tasks): new streams, so the first
// two steps' tables, and the 2-step world, are what they always were.
const S_STEP_FIELD = 9, S_STEP_INTER = 10, S_STEP_DENSE = 11;
/** Most tasks a funnel may have. */
export const MAX_FUNNEL_TASKS = 5;

type Resolved = Required<SyntheticConfig>;

/** The steps after the first: the config's, or the 2-step world's one purchase step. */
function stepsOf(c: Resolved): FunnelStep[] {
  return c.steps.length > 0 ? c.steps : [{ name: 'purchase', base: c.purchaseBase, dependence: c.dependence }];
}

/** The schema of the synthetic data a config generates. */
export function syntheticSchema(config: SyntheticConfig): DataSchema {
  const c = resolve(config);
  const features: FeatureSpecConfig[] = [];
  for (let f = 0; f < c.fields; f++) features.push({ name: `f${f}`, type: 'sparse', vocabSize: c.vocab, embedDim: c.embedDim });
  for (let d = 0; d < c.denseFeatures; d++) features.push({ name: `D${d}`, type: 'dense' });
  return { labels: ['click', ...stepsOf(c).map((st) => st.name)], features };
}

/**
 * Generates `rows` impressions. Per row: field ids ~ Zipf; clickPart = sum of per-id field effects
 * + hashed pairwise interactions (+ dense terms); ownPart = the same structure with independent
 * tables. P(click) = sigmoid(cb + clickPart); P(purchase | click) =
 * sigmoid(pb + dependence * clickPart + (1 - dependence) * ownPart); purchase only after a click.
 * With `steps`, each further step t is likewise sigmoid(b_t + dependence_t * part_{t-1} +
 * (1 - dependence_t) * own_t), possible only after step t - 1.
 */
export function generateSynthetic(config: SyntheticConfig): SyntheticData {
  const c = resolve(config);
  const world = buildWorld(c);
  const ds = allocDataset(syntheticSchema(c), c.rows);
  const zc = new Float64Array(c.rows);
  const zo = new Float64Array(c.rows);
  const extra = world.extra.map(() => new Float64Array(c.rows));
  drawRows(world, c.rows, new Rng(mixSeeds(c.worldSeed, S_SAMPLE, c.sampleSeed)), ds.sparse, ds.dense, zc, zo, extra);
  const rng = new Rng(mixSeeds(c.worldSeed, S_LABEL, c.sampleSeed));
  const steps = stepsOf(c);
  if (steps.length > 1) return funnelRows(world, steps, ds, rng, zc, [zo, ...extra]);

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
  const intercepts = { click: world.clickIntercept, purchase: world.purchaseIntercept };
  return { data: ds, trueProb: [pClick, pBoth], intercepts, stepIntercepts: [...world.stepIntercepts] };
}

/** Labels and true probabilities of a funnel of 3+ tasks (one coin flip per task per row). */
function funnelRows(world: World, steps: FunnelStep[], ds: Dataset, rng: Rng, zc: Float64Array, own: Float64Array[]): SyntheticData {
  const n = ds.n;
  const tasks = steps.length + 1;
  const trueProb = Array.from({ length: tasks }, () => new Float32Array(n));
  for (let i = 0; i < n; i++) {
    let part = zc[i]!;
    let reach = sigmoid(world.stepIntercepts[0]! + part);
    trueProb[0]![i] = reach;
    let alive = rng.float() < reach;
    if (alive) ds.labels[0]![i] = 1;
    for (let t = 1; t < tasks; t++) {
      const dep = steps[t - 1]!.dependence;
      part = dep * part + (1 - dep) * own[t - 1]![i]!;
      const p = sigmoid(world.stepIntercepts[t]! + part);
      reach *= p;
      trueProb[t]![i] = reach;
      // Every flip is drawn, so the stream does not depend on outcomes.
      alive = rng.float() < p && alive;
      if (alive) ds.labels[t]![i] = 1;
    }
  }
  const intercepts = { click: world.stepIntercepts[0]!, purchase: world.stepIntercepts[1]! };
  return { data: ds, trueProb, intercepts, stepIntercepts: [...world.stepIntercepts] };
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
  /** Own-part tables of steps 3.. (empty in a 2-step world). */
  extra: StepTables[];
  /** Every step's intercept (click, purchase, then the further steps'). */
  stepIntercepts: number[];
}

/** One further step's own-part tables: per-field effects, interaction factors, dense weights. */
interface StepTables {
  eff: Float32Array[];
  inter: Array<[Float32Array, Float32Array]>;
  denseW: Float64Array;
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

  // Steps 3..: own tables from their own streams (the 2-step world draws none of them).
  const extra: StepTables[] = stepsOf(c).slice(1).map((_, s) => {
    const step = s + 2;
    const eff = Array.from({ length: c.fields }, (_, f) => normalTable(new Rng(mixSeeds(c.worldSeed, S_STEP_FIELD, step, f)), c.vocab, fieldStd));
    const inter = pairs.map((_, k): [Float32Array, Float32Array] => {
      const rng = new Rng(mixSeeds(c.worldSeed, S_STEP_INTER, step, k));
      return [normalTable(rng, c.vocab * c.interactionRank, factorStd), normalTable(rng, c.vocab * c.interactionRank, factorStd)];
    });
    const denseW = Float64Array.from(normalTable(new Rng(mixSeeds(c.worldSeed, S_STEP_DENSE, step)), c.denseFeatures, wStd));
    return { eff, inter, denseW };
  });

  const world: World = {
    c, cdf, perm, clickEff, ownEff, pairs, clickInter, ownInter, clickDenseW, ownDenseW,
    clickIntercept: 0, purchaseIntercept: 0, extra, stepIntercepts: [],
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
  const extra = w.extra.map(() => new Float64Array(n));
  drawRows(w, n, new Rng(mixSeeds(w.c.worldSeed, S_CALIB)), sparse, dense, zc, zo, extra);
  const steps = stepsOf(w.c);
  const dep = steps[0]!.dependence;

  w.clickIntercept = bisect((b) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += sigmoid(b + zc[i]);
    return s / n - w.c.clickBase;
  });
  const pc = zc.map((z) => sigmoid(w.clickIntercept + z));
  const pcSum = pc.reduce((a, b) => a + b, 0);
  const base = steps[0]!.base;
  w.purchaseIntercept = bisect((b) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += pc[i] * sigmoid(b + dep * zc[i] + (1 - dep) * zo[i]);
    return s / pcSum - base;
  });
  w.stepIntercepts = [w.clickIntercept, w.purchaseIntercept];
  // Further steps: each intercept makes the reach-weighted mean P(step | previous) its base.
  let part = zc.map((z, i) => dep * z + (1 - dep) * zo[i]!);
  let reach = pc.map((p, i) => p * sigmoid(w.purchaseIntercept + part[i]!));
  for (let t = 1; t < steps.length; t++) {
    const { dependence: d, base: bt } = steps[t]!;
    const own = extra[t - 1]!;
    const next = part.map((z, i) => d * z + (1 - d) * own[i]!);
    const reachSum = reach.reduce((a, b) => a + b, 0);
    const b = bisect((x) => {
      let s = 0;
      for (let i = 0; i < n; i++) s += reach[i]! * sigmoid(x + next[i]!);
      return s / reachSum - bt;
    });
    w.stepIntercepts.push(b);
    reach = reach.map((r, i) => r * sigmoid(b + next[i]!));
    part = next;
  }
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
  extra: Float64Array[],
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
  // Further steps' own parts, from the ids and values just drawn (no random draws).
  w.extra.forEach((st, s) => {
    const z = extra[s]!;
    for (let i = 0; i < n; i++) {
      let v = 0;
      for (let f = 0; f < c.fields; f++) v += st.eff[f]![sparse[f]![i]!]!;
      for (let k = 0; k < w.pairs.length; k++) {
        const [a, b] = w.pairs[k]!;
        v += dot(st.inter[k]!, sparse[a]![i]!, sparse[b]![i]!, c.interactionRank);
      }
      for (let d = 0; d < c.denseFeatures; d++) v += st.denseW[d]! * (dense[d]![i]! - 0.5);
      z[i] = v;
    }
  });
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
    embedDim: DEFAULT_EMBED_DIM, steps: [],
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
  if (c.steps.length > 0) {
    check(c.steps.length + 1 <= MAX_FUNNEL_TASKS, `a funnel has 2 to ${MAX_FUNNEL_TASKS} tasks, got ${c.steps.length + 1}`);
    const names = new Set(['click']);
    c.steps.forEach((st, t) => {
      check(typeof st.name === 'string' && st.name.length > 0 && !names.has(st.name), `step ${t + 2}: name must be new and non-empty, got '${st.name}'`);
      names.add(st.name);
      check(st.base > 0 && st.base < 1, `step ${t + 2} (${st.name}): base must be in (0, 1), got ${st.base}`);
      check(st.dependence >= 0 && st.dependence <= 1, `step ${t + 2} (${st.name}): dependence must be in [0, 1], got ${st.dependence}`);
    });
  }
  return c;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
