// Data larger than memory: a CSV file is indexed once (rows, the byte offset of every block of
// rows, largest ids, out-of-vocabulary and label-order counts), then read again block by block
// as often as needed. Training shuffles it with a windowed shuffle: the blocks in a seeded
// random order, a window of about `windowRows` rows from several blocks at a time, and the
// rows of each window in a seeded random permutation. A source no bigger than one window is
// one full permutation, exactly as an in-memory epoch (`shuffledIndexBatches`).

import { stat } from 'node:fs/promises';
import { allocDataset, concatDatasets, shuffledIndexBatches, sliceRows, subset, type BatchOptions, type Dataset } from './batch.js';
import { readCsvChunks, type CsvOptions } from './csv.js';
import { hash32, mixSeeds, type Rng } from './rng.js';
import { sparseFeatures, withVocab, type DataSchema } from './schema.js';
import { fsFailure } from '../files.js';
import type { EpochStats, RowSource } from './row-source.js';
export type { EpochStats, RowSource } from './row-source.js';

/** Rows per block of an index (the unit read at once; 8 eval batches of 8192). */
export const DEFAULT_BLOCK_ROWS = 65536;
/** Rows a training epoch holds at most at once, beside one block and one batch (about 130 MB for Ali-CCP's 33 columns). */
export const DEFAULT_WINDOW_ROWS = 1 << 20;

/** `ds` as a RowSource of `blockRows`-row blocks (zero-copy views). */
export function memorySource(ds: Dataset, name = 'data', blockRows = DEFAULT_BLOCK_ROWS): RowSource {
  const blocks = Math.max(1, Math.ceil(ds.n / blockRows));
  return {
    schema: ds.schema,
    n: ds.n,
    blocks,
    name,
    block: async (i) => sliceRows(ds, i * blockRows, (i + 1) * blockRows),
  };
}

/** True for a RowSource, false for a Dataset. */
export function isRowSource(x: Dataset | RowSource): x is RowSource {
  return typeof (x as Partial<RowSource>).block === 'function';
}

/** One block of an indexed CSV file: where its first row starts, and how many rows it has. */
export interface CsvBlock {
  /** Byte offset of the block's first row. */
  offset: number;
  /** 1-based file line of that row. */
  line: number;
  /** Rows in the block. */
  rows: number;
  /** 0-based index of its first row among the file's rows. */
  firstRow: number;
}

/** What one pass over a CSV file found (see indexCsv). */
export interface CsvIndex {
  path: string;
  /** The file's size and modification time when indexed; a later read refuses a file that changed. */
  size: number;
  mtimeMs: number;
  rows: number;
  blocks: CsvBlock[];
  /** Columns as read (sparse vocabularies 'auto': raw ids). */
  schema: DataSchema;
  /** Per sparse feature: largest id + 1 (1 when there are no rows): torch-rechub's vocabulary size. */
  vocab: Record<string, number>;
  /** Per sparse feature: ids at or beyond `limits` (what reading with those vocabularies maps to 0). */
  oov: Record<string, number>;
  /** Per later task t (1..): rows with label t = 1 but label t-1 = 0 (see warnSequence). */
  sequence: number[];
}

/** Options of indexCsv. */
export interface IndexOptions {
  schema?: DataSchema;
  labels?: CsvOptions['labels'];
  /** Rows per block (default DEFAULT_BLOCK_ROWS). */
  blockRows?: number;
  /** Vocabulary size per sparse feature to count out-of-vocabulary ids against. */
  limits?: Readonly<Record<string, number>>;
  /** The size for the sparse features not in `limits` (a --max-vocab cap). */
  cap?: number;
}

/**
 * One pass over `path`: rows, blocks, largest ids, out-of-vocabulary and label-order counts.
 * Ids are read raw (no vocabulary applied). Errors name file:line:column as readCsvChunks's.
 */
export async function indexCsv(path: string, opts: IndexOptions = {}): Promise<CsvIndex> {
  const st = await statOf(path);
  const schema = opts.schema && {
    labels: opts.schema.labels,
    features: opts.schema.features.map((f) => (f.type === 'sparse' ? { ...f, vocabSize: 'auto' as const } : f)),
  };
  const blocks: CsvBlock[] = [];
  const vocab: Record<string, number> = Object.create(null) as Record<string, number>; // column names are data
  const oov: Record<string, number> = Object.create(null) as Record<string, number>;
  let sequence: number[] = [];
  let resolved: DataSchema | undefined;
  let rows = 0;
  for await (const chunk of readCsvChunks(path, { schema, labels: opts.labels, chunkRows: opts.blockRows ?? DEFAULT_BLOCK_ROWS })) {
    const { data } = chunk;
    resolved ??= data.schema;
    if (sequence.length === 0) sequence = data.labels.slice(1).map(() => 0);
    if (data.n > 0) blocks.push({ offset: chunk.offset, line: chunk.firstLine, rows: data.n, firstRow: rows });
    rows += data.n;
    sparseFeatures(data.schema).forEach((f, k) => {
      const col = data.sparse[k]!;
      const limit = opts.limits?.[f.name] ?? opts.cap ?? Infinity;
      let max = (vocab[f.name] ?? 1) - 1;
      let over = 0;
      for (let i = 0; i < data.n; i++) {
        const v = col[i]!;
        if (v > max) max = v;
        if (v >= limit) over++;
      }
      vocab[f.name] = max + 1;
      oov[f.name] = (oov[f.name] ?? 0) + over;
    });
    const counts = sequenceCounts(data);
    counts.forEach((c, t) => (sequence[t] = sequence[t]! + c));
  }
  return { path, size: st.size, mtimeMs: st.mtimeMs, rows, blocks, schema: resolved as DataSchema, vocab, oov, sequence };
}

/** Per later task t (1..): rows of `ds` with label t = 1 but label t-1 = 0. */
export function sequenceCounts(ds: Pick<Dataset, 'n' | 'labels'>): number[] {
  const counts: number[] = [];
  for (let t = 1; t < ds.labels.length; t++) {
    const prev = ds.labels[t - 1]!;
    const cur = ds.labels[t]!;
    let n = 0;
    for (let i = 0; i < ds.n; i++) if (cur[i]! > 0.5 && !(prev[i]! > 0.5)) n++;
    counts.push(n);
  }
  return counts;
}

async function statOf(path: string): Promise<{ size: number; mtimeMs: number }> {
  try {
    const st = await stat(path);
    return { size: st.size, mtimeMs: st.mtimeMs };
  } catch (e) {
    throw fsFailure(e, 'read', path);
  }
}

/** Which split a row of a file goes to when val and/or test are split off it. */
export type SplitName = 'train' | 'val' | 'test';

/** How a file is split: `parts` (val, test or both, in that order) get a tenth of the rows each, by a hash seeded with `seed`. */
export interface FileSplit {
  seed: number;
  name: SplitName;
  parts: readonly ('val' | 'test')[];
}

/** The split of row `row` (0-based): a seeded hash of its index, so no file-sized permutation is held. */
export function splitOfRow(seed: number, row: number, parts: readonly ('val' | 'test')[] = ['val', 'test']): SplitName {
  const u = hash32(mixSeeds(seed, 0x5b11, row)) / 4294967296;
  const k = Math.floor(u * 10);
  return k < parts.length ? parts[k]! : 'train';
}

/**
 * The rows of an indexed CSV file as a RowSource, read with `read` (the schema and
 * vocabularies to apply; `strictIds`), block by block; with `split`, only the rows that
 * `splitOfRow(split.seed, row, split.parts)` puts in `split.name`. A file whose size or modification time
 * is not the index's any more is refused, naming it.
 */
export function csvSource(index: CsvIndex, read: CsvOptions, split?: FileSplit): RowSource {
  let n = index.rows;
  if (split) {
    n = 0;
    for (let r = 0; r < index.rows; r++) if (splitOfRow(split.seed, r, split.parts) === split.name) n++;
  }
  const schema = read.vocab ? withVocab(read.schema ?? index.schema, read.vocab) : (read.schema ?? index.schema);
  return {
    schema,
    n,
    blocks: index.blocks.length,
    name: split ? `${index.path} (${split.name} split)` : index.path,
    block: async (i) => {
      const b = index.blocks[i];
      if (b === undefined) throw new Error(`${index.path}: no block ${i} (of ${index.blocks.length})`);
      const st = await statOf(index.path);
      if (st.size !== index.size || st.mtimeMs !== index.mtimeMs) {
        throw new Error(`${index.path}: the file changed while it was being read (size or modification time differs from the first pass); start again`);
      }
      let data: Dataset | undefined;
      for await (const chunk of readCsvChunks(index.path, { ...read, start: { offset: b.offset, line: b.line }, maxRows: b.rows, chunkRows: b.rows })) {
        data = chunk.data;
      }
      if (data === undefined || data.n !== b.rows) {
        throw new Error(`${index.path}:${b.line}: expected ${b.rows} rows from here, as in the first pass, got ${data?.n ?? 0}; the file changed?`);
      }
      if (!split) return data;
      const keep: number[] = [];
      for (let r = 0; r < data.n; r++) if (splitOfRow(split.seed, b.firstRow + r, split.parts) === split.name) keep.push(r);
      return subset(data, keep);
    },
  };
}

/** Every row of `src` once, in order, block by block. */
export async function* sourceBlocks(src: RowSource): AsyncGenerator<Dataset> {
  for (let i = 0; i < src.blocks; i++) yield await src.block(i);
}

/** The first `rows` rows of `src` (fewer when it has fewer) as one dataset. */
export async function headRows(src: RowSource, rows: number): Promise<Dataset> {
  const parts: Dataset[] = [];
  let have = 0;
  for (let i = 0; i < src.blocks && have < rows; i++) {
    const b = await src.block(i);
    parts.push(sliceRows(b, 0, rows - have));
    have += Math.min(b.n, rows - have);
  }
  return parts.length === 1 ? parts[0]! : concatDatasets(parts, src.schema);
}

/** A mini-batch of an epoch: rows `rows` of `data` (data is shared by the batches of one window). */
export interface EpochBatch {
  data: Dataset;
  rows: Int32Array;
}


/**
 * One shuffled epoch of `src` in mini-batches; every row exactly once. When `src.n <=
 * windowRows` the whole source is one window: one permutation of all rows drawn from `rng`,
 * the batches `shuffledIndexBatches` gives (the in-memory epoch). Otherwise a windowed shuffle:
 * the blocks in an order drawn from `rng`, windows of whole blocks (about `windowRows` rows)
 * in that order, each window's rows permuted by `rng`; the rows left over after a window's
 * full batches are carried into the next window, so every batch but the epoch's last has
 * `batchSize` rows. The windows share one buffer (the batches of a window are views of it, valid
 * until the next batch is asked for). A row can only meet rows of its own window in a batch: with blocks of
 * consecutive file rows, a window of W rows mixes W / blockRows blocks from anywhere in the file.
 * `stats.peakRows` is raised to the most rows held at once.
 */
export async function* shuffledEpoch(
  src: RowSource,
  batchSize: number,
  rng: Rng,
  windowRows = DEFAULT_WINDOW_ROWS,
  stats?: EpochStats,
  opts: BatchOptions = {},
): AsyncGenerator<EpochBatch> {
  if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new Error(`batchSize must be a positive integer, got ${batchSize}`);
  if (!(Number.isInteger(windowRows) && windowRows > 0)) throw new Error(`windowRows must be a positive integer, got ${windowRows}`);
  const note = (rows: number): void => {
    if (stats && rows > stats.peakRows) stats.peakRows = rows;
  };
  if (src.n <= windowRows) {
    const parts: Dataset[] = [];
    for (let i = 0; i < src.blocks; i++) parts.push(await src.block(i));
    const data = parts.length === 1 ? parts[0]! : concatDatasets(parts, src.schema);
    note(data.n);
    for (const rows of shuffledIndexBatches(data.n, batchSize, rng, opts)) yield { data, rows };
    return;
  }
  const order = Int32Array.from({ length: src.blocks }, (_, i) => i);
  rng.shuffle(order);
  // One buffer holds every window in turn (blocks are copied in; the carried rows first), so
  // assembling a window allocates nothing beside the block being read.
  let buf = allocDataset(src.schema, 0);
  let held = 0; // rows at the front of buf: carried, then this window's blocks
  let next = 0;
  const put = (part: Dataset, at: number): void => {
    if (at + part.n > buf.n) {
      const bigger = allocDataset(src.schema, Math.max(at + part.n, windowRows + part.n + batchSize));
      copyInto(sliceRows(buf, 0, at), bigger, 0);
      buf = bigger;
    }
    copyInto(part, buf, at);
  };
  while (next < order.length || held > 0) {
    while (next < order.length && held < windowRows) {
      const b = await src.block(order[next++]!);
      put(b, held);
      held += b.n;
      note(held);
    }
    const window = sliceRows(buf, 0, held);
    const last = next >= order.length;
    const perm = Int32Array.from({ length: window.n }, (_, i) => i);
    rng.shuffle(perm);
    const full = window.n - (window.n % batchSize);
    for (let s = 0; s < full; s += batchSize) yield { data: window, rows: perm.slice(s, s + batchSize) };
    const tail = perm.subarray(full);
    if (last) {
      if (tail.length > 0 && !opts.dropLast) yield { data: window, rows: tail.slice() };
      break;
    }
    // The rows left over go to the front of the buffer, ahead of the next window's blocks.
    const carry = subset(window, tail);
    copyInto(carry, buf, 0);
    held = carry.n;
  }
}

/** Copies every row of `part` into `into` from row `at` on (same columns). */
function copyInto(part: Dataset, into: Dataset, at: number): void {
  part.labels.forEach((c, i) => into.labels[i]!.set(c.subarray(0, part.n), at));
  part.sparse.forEach((c, i) => into.sparse[i]!.set(c.subarray(0, part.n), at));
  part.dense.forEach((c, i) => into.dense[i]!.set(c.subarray(0, part.n), at));
}
