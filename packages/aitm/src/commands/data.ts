// How the commands read data: train's splits (synthetic, or CSV with val/test split off when
// not given), vocabulary sizes capped by --max-vocab, OOV reports, and a model's input CSV.

import { closeSync, openSync, readSync } from 'node:fs';
import { schemaOf, type ModelConfig } from '../config.js';
import { subset, type Dataset } from '../data/batch.js';
import { TRAIN_DEFAULTS, syntheticSplits, worldPreset, type Splits, type WorldName } from '../data/builtin.js';
import { readCsv, readCsvChunks } from '../data/csv.js';
import { Rng } from '../data/rng.js';
import { sparseFeatures, type DataSchema } from '../data/schema.js';
import { csvSource, DEFAULT_BLOCK_ROWS, DEFAULT_WINDOW_ROWS, headRows, indexCsv, sequenceCounts, shuffledEpoch, type CsvIndex, type EpochStats, type FileSplit, type RowSource, type SplitName } from '../data/stream.js';
import type { StreamedTraining } from '../train/trainer.js';
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
  /**
   * Rows of a CSV file held at once (default DEFAULT_WINDOW_ROWS, about a million): a file with
   * more rows is read block by block every epoch and shuffled by windows of this many rows
   * (see shuffledEpoch); one with no more is read whole and shuffled whole, as it always was.
   */
  windowRows?: number;
}

/** train's data as loadSplits gives it: each split in memory, or read from its file as needed. */
export interface DataSplits {
  train: Dataset | StreamedTraining;
  val: Dataset | RowSource;
  test: Dataset | RowSource;
  schema: DataSchema;
  /** Per task, the oracle AUC on the test split (synthetic data only). */
  oracle: number[] | null;
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
  const counts = sequenceCounts(ds);
  warnSequenceCounts(file, ds.schema.labels, counts, ds.n);
  return counts;
}

/** warnSequence's message from counts already made (`sequenceCounts`, summed over blocks) and the row total. */
function warnSequenceCounts(file: string, names: readonly string[], counts: readonly number[], rows: number): void {
  counts.forEach((n, i) => {
    const t = i + 1;
    if (n > 0) {
      console.error(
        `data: ${file}: ${n} of ${rows} rows have ${names[t]}=1 but ${names[t - 1]}=0, though the tasks are a sequence ` +
          `(a ${names[t]} implies a ${names[t - 1]}); check the label order (--labels, the config's "labels") or the data`,
      );
    }
  });
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
 * training file (10% each) where not given. Records each file's out-of-vocabulary counts in
 * `oovIds`. Every file is indexed first (one pass: rows, vocabularies, counts); a file of at
 * most `windowRows` rows is then read whole as it always was (val and test split off by a
 * seeded permutation), a larger one is left on disk and read block by block (val and test
 * split off by a seeded hash of the row index, `splitOfRow`).
 */
export async function loadSplits(opts: DataOptions, seed: number, config: ModelConfig | null, log: (l: string) => void, oovIds: Record<string, Record<string, number>>, batchSize: number = TRAIN_DEFAULTS.batchSize): Promise<DataSplits> {
  const data = opts.data ?? 'synthetic';
  if (data === 'synthetic') {
    const world = syntheticWorld(opts);
    const splits = syntheticSplits(opts.syntheticRows ?? TRAIN_DEFAULTS.syntheticRows, seed, world);
    const name = opts.world !== undefined && opts.world !== 'default' ? `world ${opts.world} (${splits.schema.labels.join(' -> ')}), ` : '';
    log(`data: synthetic, ${name}${splits.train.n} train / ${splits.val.n} val / ${splits.test.n} test rows (world seed ${seed})`);
    return splits;
  }
  if (opts.world !== undefined) throw new Error('--world applies to the synthetic data, not to --data FILE');
  const windowRows = opts.windowRows ?? DEFAULT_WINDOW_ROWS;
  checkInputFile(data, '--data');
  if (opts.val !== undefined) checkInputFile(opts.val, '--val');
  if (opts.test !== undefined) checkInputFile(opts.test, '--test');
  const schema0 = config ? schemaOf(config) : undefined;
  // Ids at or past these sizes become slot 0: the config's tables, or the --max-vocab cap.
  const limits: Record<string, number> = Object.create(null) as Record<string, number>;
  if (schema0) for (const f of sparseFeatures(schema0)) if (typeof f.vocabSize === 'number') limits[f.name] = f.vocabSize;
  const indexes = new Map<string, CsvIndex>();
  for (const f of [data, opts.val, opts.test]) {
    if (f !== undefined && !indexes.has(f)) {
      indexes.set(f, await indexCsv(f, { ...(schema0 ? { schema: schema0 } : {}), limits, ...(config || opts.maxVocab === undefined ? {} : { cap: opts.maxVocab }) }));
    }
  }
  // Vocabulary sizes: the config's, or max id + 1 over every given file (torch-rechub's rule).
  let vocab: Record<string, number> | undefined;
  if (!config) {
    const sizes: Record<string, number> = Object.create(null) as Record<string, number>;
    for (const ix of indexes.values()) for (const [k, v] of Object.entries(ix.vocab)) sizes[k] = Math.max(sizes[k] ?? 1, v);
    vocab = capVocab(sizes, opts.maxVocab);
  }
  const readOpts = { ...(schema0 ? { schema: schema0 } : {}), ...(vocab ? { vocab } : {}), strictIds: opts.strictIds ?? false };
  const read = async (f: string): Promise<Dataset> => {
    const r = await readCsv(f, readOpts);
    oovIds[f] = reportOov(f, r.oovRemaps);
    warnSequence(f, r.data);
    return r.data;
  };
  const big = (f: string): boolean => indexes.get(f)!.rows > windowRows;
  // A streamed file's counts come from its index; --strict-ids fails there at once (one more pass, only then).
  const stream = async (f: string, split?: FileSplit): Promise<RowSource> => {
    const ix = indexes.get(f)!;
    const src = csvSource(ix, readOpts, split);
    if (split === undefined || split.name === 'train') {
      const over = Object.fromEntries(Object.entries(ix.oov).filter(([, n]) => n > 0));
      if (readOpts.strictIds && Object.keys(over).length > 0) for await (const chunk of readCsvChunks(f, readOpts)) void chunk;
      oovIds[f] = reportOov(f, over);
      warnSequenceCounts(f, src.schema.labels, ix.sequence, ix.rows);
    }
    return src;
  };
  const streamed = (src: RowSource): StreamedTraining => {
    const stats: EpochStats = { peakRows: 0 };
    return { n: src.n, source: src, stats, epoch: (rng) => shuffledEpoch(src, batchSize, rng, windowRows, stats), head: (rows) => headRows(src, rows) };
  };
  let train: Dataset | StreamedTraining;
  let val: Dataset | RowSource;
  let test: Dataset | RowSource;
  if (big(data)) {
    // The parts split off the training file: a tenth each for val and test where not given.
    const parts = [...(opts.val ? [] : ['val' as const]), ...(opts.test ? [] : ['test' as const])];
    const part = (name: SplitName): FileSplit | undefined => (parts.length > 0 ? { seed, name, parts } : undefined);
    train = streamed(await stream(data, part('train')));
    val = opts.val ? (big(opts.val) ? await stream(opts.val) : await read(opts.val)) : await stream(data, part('val'));
    test = opts.test ? (big(opts.test) ? await stream(opts.test) : await read(opts.test)) : await stream(data, part('test'));
  } else {
    let t = await read(data);
    const rng = new Rng(seed);
    if (opts.val) val = big(opts.val) ? await stream(opts.val) : await read(opts.val);
    else [t, val] = split(t, 0.1, rng);
    if (opts.test) test = big(opts.test) ? await stream(opts.test) : await read(opts.test);
    else [t, test] = split(t, 0.1, rng);
    train = t;
  }
  const how = 'epoch' in train ? ` (read from the file every epoch, shuffled in windows of ${windowRows} rows)` : '';
  log(`data: ${data}: ${train.n} train / ${val.n} val / ${test.n} test rows` + (opts.val ? '' : ' (val split from train)') + (opts.test ? '' : ' (test split from train)') + how);
  return { train, val, test, schema: 'epoch' in train ? train.source.schema : train.schema, oracle: null };
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

/**
 * Reads `file` with the model's schema block by block (`blockRows` rows at most, no more held);
 * label columns are required only when `labels` is set. Out-of-vocabulary ids and rows against
 * the tasks' order are reported on stderr once the last block is read.
 */
export async function* readForModel(config: ModelConfig, file: string, labels: boolean, strictIds = false, blockRows = DEFAULT_BLOCK_ROWS): AsyncGenerator<Dataset> {
  checkInputFile(file, '--data');
  const schema = schemaOf(config);
  if (!labels) {
    // Prediction inputs may carry the label columns or not.
    const header = new Set(csvHeader(file));
    if (!schema.labels.every((l) => header.has(l))) schema.labels = [];
  }
  const oov: Record<string, number> = Object.create(null) as Record<string, number>; // column names are data
  const sequence: number[] = schema.labels.slice(1).map(() => 0);
  let rows = 0;
  for await (const chunk of readCsvChunks(file, { schema, strictIds, chunkRows: blockRows })) {
    for (const [k, v] of Object.entries(chunk.oovRemaps)) oov[k] = (oov[k] ?? 0) + v;
    sequenceCounts(chunk.data).forEach((c, t) => (sequence[t] = sequence[t]! + c));
    rows += chunk.data.n;
    yield chunk.data;
  }
  reportOov(file, oov);
  warnSequenceCounts(file, schema.labels, sequence, rows);
}
