// How the commands read data: train's splits (synthetic, or CSV with val/test split off when
// not given), vocabulary sizes capped by --max-vocab, OOV reports, and a model's input CSV.

import { closeSync, openSync, readSync } from 'node:fs';
import { schemaOf, type ModelConfig } from '../config.js';
import { subset, type Dataset } from '../data/batch.js';
import { TRAIN_DEFAULTS, syntheticSplits, worldPreset, type Splits, type WorldName } from '../data/builtin.js';
import { readCsv, scanVocab } from '../data/csv.js';
import { Rng } from '../data/rng.js';
import type { SyntheticConfig } from '../data/synthetic.js';
import { checkInputFile, fsFailure } from '../files.js';

/** Tables this large from max id + 1 are usually one stray id; they are named on stderr. */
const LARGE_VOCAB = 100_000;

/** Where train's data comes from and how it is read (a part of `TrainCommandOptions`). */
export interface DataOptions {
  /** 'synthetic' (default) or a CSV path. */
  data?: string;
  val?: string;
  test?: string;
  /** Rows of synthetic training data (default 1M; val and test get a sixth each). */
  syntheticRows?: number;
  /** A named synthetic world (`WORLD_PRESETS`, default 'default': the 2-step click -> purchase world). */
  world?: WorldName;
  /** Changes to the built-in synthetic world (SYNTHETIC_DEFAULTS and the preset), e.g. `{ dependence: 0 }`. */
  synthetic?: Partial<Omit<SyntheticConfig, 'rows' | 'worldSeed' | 'sampleSeed'>>;
  /** An id at or beyond its feature's vocabulary is an error instead of the OOV slot 0. */
  strictIds?: boolean;
  /** Cap on embedding-table rows sized from the data (max id + 1); ids past it read as slot 0. */
  maxVocab?: number;
}

/**
 * Vocabulary sizes from the data (max id + 1), capped at `max` (--max-vocab) where given: ids
 * beyond the cap are then read as slot 0 and counted. Large tables are named on stderr, since
 * one stray huge id would otherwise grow a table to that many rows silently.
 */
function capVocab(sizes: Record<string, number>, max: number | undefined): Record<string, number> {
  const out: Record<string, number> = Object.create(null) as Record<string, number>; // column names are data, never prototype keys
  for (const [name, size] of Object.entries(sizes)) {
    out[name] = max === undefined ? size : Math.min(size, max);
    if (size > LARGE_VOCAB && (max === undefined || max > LARGE_VOCAB)) {
      console.error(`data: feature "${name}": its largest id is ${size - 1}, so its embedding table has ${out[name]} rows; if that is one stray id, cap the table with --max-vocab (ids past it are read as slot 0)`);
    } else if (out[name]! < size) {
      console.error(`data: feature "${name}": table capped at ${out[name]} rows by --max-vocab (largest id ${size - 1}); ids past it are read as slot 0`);
    }
  }
  return out;
}

/** Says on stderr how many ids per column were past the vocabulary (read as slot 0). */
function reportOov(file: string, counts: Record<string, number>): Record<string, number> {
  const remapped = Object.entries(counts).filter(([, n]) => n > 0);
  if (remapped.length > 0) {
    console.error(`data: ${file}: ids at or beyond the vocabulary were read as slot 0: ${remapped.map(([k, n]) => `${k}: ${n}`).join(', ')} (--strict-ids makes this an error)`);
  }
  return Object.fromEntries(remapped);
}

/**
 * Says on stderr how many rows contradict the tasks' order: the tasks are a sequence (click,
 * then purchase), so a later task's positive implies the earlier one's; a row with purchase=1
 * and click=0 is counted (a warning, not an error: the data may be so, or the labels swapped).
 * Returns the count per later task.
 */
export function warnSequence(file: string, ds: Dataset): number[] {
  const names = ds.schema.labels;
  const counts: number[] = [];
  for (let t = 1; t < ds.labels.length; t++) {
    const prev = ds.labels[t - 1]!;
    const cur = ds.labels[t]!;
    let n = 0;
    for (let i = 0; i < ds.n; i++) if (cur[i]! > 0.5 && !(prev[i]! > 0.5)) n++;
    counts.push(n);
    if (n > 0) {
      console.error(
        `data: ${file}: ${n} of ${ds.n} rows have ${names[t]}=1 but ${names[t - 1]}=0, though the tasks are a sequence ` +
          `(a ${names[t]} implies a ${names[t - 1]}); check the label order (--labels, the config's "labels") or the data`,
      );
    }
  }
  return counts;
}

/** `ds` shuffled by `rng` and cut in two: the rest, and a `fraction` of the rows. */
function split(ds: Dataset, fraction: number, rng: Rng): [Dataset, Dataset] {
  const idx = Int32Array.from({ length: ds.n }, (_, i) => i);
  rng.shuffle(idx);
  const k = Math.round(ds.n * fraction);
  return [subset(ds, idx.subarray(k)), subset(ds, idx.subarray(0, k))];
}

/**
 * The synthetic world's changes to SYNTHETIC_DEFAULTS: the preset's (`world`), then
 * `synthetic`'s. The 2-step knobs (dependence, purchaseBase) are refused with a longer funnel,
 * whose steps carry their own.
 */
export function syntheticWorld(opts: Pick<DataOptions, 'world' | 'synthetic'>): NonNullable<DataOptions['synthetic']> {
  const preset = worldPreset(opts.world ?? 'default');
  const given = opts.synthetic ?? {};
  if (preset.steps !== undefined && given.steps === undefined) {
    for (const [key, flag] of [['dependence', '--dependence'], ['purchaseBase', '--purchase-base']] as const) {
      if (given[key] !== undefined) throw new Error(`${flag} applies to the 2-step world; --world ${opts.world} sets each step's base rate and dependence`);
    }
  }
  return { ...preset, ...given };
}

/**
 * train's data: the built-in synthetic splits, or the CSV files read with the config's schema
 * (or one inferred from the header, vocabularies from the data), val and test split off the
 * training file (10% each, shuffled by `seed`) where not given. Records each file's
 * out-of-vocabulary counts in `oovIds`.
 */
export async function loadSplits(opts: DataOptions, seed: number, config: ModelConfig | null, log: (l: string) => void, oovIds: Record<string, Record<string, number>>): Promise<Splits> {
  const data = opts.data ?? 'synthetic';
  if (data === 'synthetic') {
    const world = syntheticWorld(opts);
    const splits = syntheticSplits(opts.syntheticRows ?? TRAIN_DEFAULTS.syntheticRows, seed, world);
    const name = opts.world !== undefined && opts.world !== 'default' ? `world ${opts.world} (${splits.schema.labels.join(' -> ')}), ` : '';
    log(`data: synthetic, ${name}${splits.train.n} train / ${splits.val.n} val / ${splits.test.n} test rows (world seed ${seed})`);
    return splits;
  }
  if (opts.world !== undefined) throw new Error('--world applies to the synthetic data, not to --data FILE');
  const files = [data, opts.val, opts.test].filter((f): f is string => f !== undefined);
  checkInputFile(data, '--data');
  if (opts.val !== undefined) checkInputFile(opts.val, '--val');
  if (opts.test !== undefined) checkInputFile(opts.test, '--test');
  const schema0 = config ? schemaOf(config) : undefined;
  // Vocabulary sizes: the config's, or max id + 1 over every given file (torch-rechub's rule).
  const vocab = config ? undefined : capVocab(await scanVocab(files, schema0 ? { schema: schema0 } : {}), opts.maxVocab);
  const read = async (f: string) => {
    const r = await readCsv(f, { ...(schema0 ? { schema: schema0 } : {}), ...(vocab ? { vocab } : {}), strictIds: opts.strictIds ?? false });
    oovIds[f] = reportOov(f, r.oovRemaps);
    warnSequence(f, r.data);
    return r.data;
  };
  let train = await read(data);
  const rng = new Rng(seed);
  let val: Dataset;
  let test: Dataset;
  if (opts.val) val = await read(opts.val);
  else [train, val] = split(train, 0.1, rng);
  if (opts.test) test = await read(opts.test);
  else [train, test] = split(train, 0.1, rng);
  log(`data: ${data}: ${train.n} train / ${val.n} val / ${test.n} test rows` + (opts.val ? '' : ' (val split from train)') + (opts.test ? '' : ' (test split from train)'));
  return { train, val, test, schema: train.schema, oracle: null };
}

/** The header line of a CSV file. */
export function csvHeader(file: string): string[] {
  checkInputFile(file, '--data');
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw fsFailure(e, 'open', file);
  }
  try {
    const buf = Buffer.alloc(1 << 16);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).toString('utf8').split(/\r?\n/)[0]!.replace(/^\uFEFF/, '').split(',');
  } catch (e) {
    throw fsFailure(e, 'read', file);
  } finally {
    closeSync(fd);
  }
}

/** Reads `file` with the model's schema; label columns are required only when `labels` is set. */
export async function readForModel(config: ModelConfig, file: string, labels: boolean, strictIds = false): Promise<Dataset> {
  checkInputFile(file, '--data');
  // Prediction inputs may carry the label columns or not.
  const r = await readCsv(file, { schema: schemaOf(config), strictIds, labelsOptional: !labels });
  reportOov(file, r.oovRemaps);
  warnSequence(file, r.data);
  return r.data;
}
