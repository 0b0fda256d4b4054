// Streaming CSV reader for label/sparse/dense tables (Ali-CCP layout): yields Dataset chunks of at
// most chunkRows rows so files larger than memory can be trained on, with strict, located errors
// (file:line:column): only decimal numbers, dense values within float32's range, labels 0 or 1.

import { allocDataset, concatDatasets, sliceRows, type Dataset } from './batch.js';
import { readLineBatches } from './lines.js';
import {
  denseFeatures,
  inferSchema,
  sparseFeatures,
  withVocab,
  type DataSchema,
  type InferSchemaOptions,
} from './schema.js';

/** Options of reading a CSV file: columns, chunk size, checks. */
export interface CsvOptions {
  /** Column roles. When absent they are inferred from the header (see inferSchema) using
   * `labels` / `embedDim`. Header columns not named in the schema are ignored. */
  schema?: DataSchema;
  labels?: InferSchemaOptions['labels'];
  embedDim?: number;
  /** Vocab size per sparse feature; overrides the schema's vocabSize. Ids >= size are read as 0
   * (the OOV slot) and counted. A feature with no known size ('auto' and not listed here) keeps
   * its ids unchanged: run scanVocab first to size it. */
  vocab?: Readonly<Record<string, number>>;
  /** Rows per yielded chunk (default 65536). */
  chunkRows?: number;
  /** An id at or beyond its vocabulary is an error (file, line, column, value) instead of slot 0. */
  strictIds?: boolean;
  /**
   * Accept a file without the label columns (rows to predict), as `aitm predict` does: when the
   * header lacks any of the schema's labels, the file is read without labels (`data.labels` is
   * empty, `data.schema.labels` too). A header holding them all is read with them. Default false:
   * a missing label column is an error naming it.
   *
   * @example
   * const { data } = await readCsv('new-rows.csv', { schema: schemaOf(config), labelsOptional: true });
   * const probs = await predict(model, data, { backend });
   */
  labelsOptional?: boolean;
}

/** A chunk of CSV rows as columns. */
export interface CsvChunk {
  /** Rows of this chunk; data.schema has the vocab sizes that were applied. */
  data: Dataset;
  /** 1-based file line of the chunk's first row (the header is line 1). */
  firstLine: number;
  /** Per sparse feature: how many ids in this chunk were >= vocabSize and became 0. */
  oovRemaps: Record<string, number>;
}

/** A whole CSV file read: its header and columns. */
export interface CsvReadResult {
  data: Dataset;
  /** Per sparse feature, over the whole file. */
  oovRemaps: Record<string, number>;
}

/** Rows per chunk when reading a CSV file. */
export const DEFAULT_CHUNK_ROWS = 65536;
const MAX_ID = 2147483647; // ids are stored as Int32

/** A field as echoed in an error: whole when short, its start and length when not (a bad 5 MB field). */
export function shown(text: string, max = 40): string {
  return text.length <= max ? `"${text}"` : `"${text.slice(0, max)}..." (${text.length} characters)`;
}

/**
 * Reads `path` chunk by chunk. Always yields at least one chunk (an empty one for a header-only
 * file) so callers learn the resolved schema. Blank lines are skipped. Quoted fields are not
 * supported: a '"' anywhere is an error rather than a silent misparse.
 */
export async function* readCsvChunks(path: string, opts: CsvOptions = {}): AsyncGenerator<CsvChunk> {
  const file = path; // messages start with "<path>:<line>:" like compiler diagnostics
  const chunkRows = opts.chunkRows ?? DEFAULT_CHUNK_ROWS;
  if (!(Number.isInteger(chunkRows) && chunkRows > 0)) throw new Error(`chunkRows must be a positive integer, got ${chunkRows}`);

  let lineNo = 0;
  let plan: ColumnPlan | undefined;
  let buf: Dataset | undefined;
  let rows = 0;
  let firstLine = 0;
  let oov: Int32Array = new Int32Array(0);
  const flush = (): CsvChunk => {
    const p = plan as ColumnPlan;
    const data = rows === chunkRows ? (buf as Dataset) : copyRows(sliceRows(buf as Dataset, 0, rows));
    const chunk: CsvChunk = { data, firstLine, oovRemaps: countsByName(p.sparseNames, oov) };
    buf = undefined;
    rows = 0;
    return chunk;
  };

  for await (const lines of readLineBatches(path)) {
    for (const line of lines) {
      lineNo++;
      if (line.length === 0) continue;
      if (line.includes('"')) {
        throw new Error(`${file}:${lineNo}: quoted fields are not supported (found '"')`);
      }
      const fields = line.split(',');
      if (plan === undefined) {
        plan = makePlan(fields, opts, file);
        continue;
      }
      if (fields.length !== plan.width) {
        throw new Error(`${file}:${lineNo}: expected ${plan.width} fields (as in the header), got ${fields.length}`);
      }
      if (buf === undefined) {
        buf = allocDataset(plan.schema, chunkRows);
        firstLine = lineNo;
        oov = new Int32Array(plan.sparseCols.length);
      }
      parseRow(fields, plan, buf, rows, oov, file, lineNo);
      rows++;
      if (rows === chunkRows) yield flush();
    }
  }
  if (plan === undefined) throw new Error(`${file}: empty file (no header line)`);
  if (buf !== undefined) yield flush();
  else if (firstLine === 0) {
    // Header only: one empty chunk carrying the schema.
    yield { data: allocDataset(plan.schema, 0), firstLine: 2, oovRemaps: countsByName(plan.sparseNames, new Int32Array(plan.sparseNames.length)) };
  }
}

/** Whole file as one Dataset (chunks concatenated) plus total OOV remap counts. */
export async function readCsv(path: string, opts: CsvOptions = {}): Promise<CsvReadResult> {
  const parts: Dataset[] = [];
  const oovRemaps: Record<string, number> = Object.create(null) as Record<string, number>; // column names are data, never keys of Object.prototype
  for await (const chunk of readCsvChunks(path, opts)) {
    parts.push(chunk.data);
    for (const [k, v] of Object.entries(chunk.oovRemaps)) oovRemaps[k] = (oovRemaps[k] ?? 0) + v;
  }
  const data = parts.length === 1 ? parts[0] : concatDatasets(parts);
  return { data, oovRemaps };
}

/**
 * torch-rechub's vocab sizing: max id + 1 per sparse feature over all `paths` (train + val + test),
 * so no id is out of vocabulary. Configured vocab sizes are ignored here (no OOV remapping while
 * scanning). A feature with no rows gets size 1. Without a schema, roles are inferred per file.
 */
export async function scanVocab(
  paths: readonly string[],
  opts: Pick<CsvOptions, 'schema' | 'labels' | 'chunkRows'> = {},
): Promise<Record<string, number>> {
  const sizes: Record<string, number> = Object.create(null) as Record<string, number>; // column names are data ("constructor", "__proto__")
  const schema = opts.schema && {
    labels: opts.schema.labels,
    features: opts.schema.features.map((f) => (f.type === 'sparse' ? { ...f, vocabSize: 'auto' as const } : f)),
  };
  for (const path of paths) {
    for await (const { data } of readCsvChunks(path, { schema, labels: opts.labels, chunkRows: opts.chunkRows })) {
      sparseFeatures(data.schema).forEach((f, k) => {
        const col = data.sparse[k];
        let max = (sizes[f.name] ?? 1) - 1;
        for (let i = 0; i < data.n; i++) if (col[i] > max) max = col[i];
        sizes[f.name] = max + 1;
      });
    }
  }
  return sizes;
}

// ---- internals ----

/** Where each schema column sits in the file, resolved once from the header. */
interface ColumnPlan {
  schema: DataSchema;
  strictIds: boolean;
  width: number;
  labelCols: Int32Array;
  labelNames: string[];
  sparseCols: Int32Array;
  sparseNames: string[];
  /** 0 = no known vocab size (no remapping). */
  sparseVocab: Int32Array;
  denseCols: Int32Array;
  denseNames: string[];
}

function makePlan(header: string[], opts: CsvOptions, file: string): ColumnPlan {
  const index = new Map<string, number>();
  header.forEach((name, i) => {
    if (index.has(name)) throw new Error(`${file}:1: duplicate column "${name}" in header`);
    index.set(name, i);
  });
  let schema: DataSchema;
  try {
    schema = opts.schema ?? inferSchema(header, { labels: opts.labels, embedDim: opts.embedDim });
  } catch (e) {
    throw new Error(`${file}:1: ${(e as Error).message}`);
  }
  if (opts.labelsOptional && !schema.labels.every((l) => index.has(l))) schema = { ...schema, labels: [] };
  if (opts.vocab) {
    for (const [name, size] of Object.entries(opts.vocab)) {
      if (!(Number.isInteger(size) && size > 0)) throw new Error(`vocab size for "${name}" must be a positive integer, got ${size}`);
    }
    schema = withVocab(schema, opts.vocab);
  }
  const col = (name: string): number => {
    const i = index.get(name);
    if (i === undefined) {
      throw new Error(`${file}:1: column "${name}" named in the schema is missing from the header`);
    }
    return i;
  };
  const sparse = sparseFeatures(schema);
  const dense = denseFeatures(schema);
  return {
    schema,
    strictIds: opts.strictIds ?? false,
    width: header.length,
    labelCols: Int32Array.from(schema.labels, col),
    labelNames: schema.labels,
    sparseCols: Int32Array.from(sparse, (f) => col(f.name)),
    sparseNames: sparse.map((f) => f.name),
    sparseVocab: Int32Array.from(sparse, (f) => (typeof f.vocabSize === 'number' ? f.vocabSize : 0)),
    denseCols: Int32Array.from(dense, (f) => col(f.name)),
    denseNames: dense.map((f) => f.name),
  };
}

function parseRow(
  fields: string[],
  plan: ColumnPlan,
  out: Dataset,
  row: number,
  oov: Int32Array,
  file: string,
  lineNo: number,
): void {
  // Messages start "<file>:<line>:<column>:" (the column 1-based, as in the header).
  for (let t = 0; t < plan.labelCols.length; t++) {
    const text = fields[plan.labelCols[t]];
    let v: number;
    if (text === '0') v = 0;
    else if (text === '1') v = 1;
    else {
      v = text.trim() !== '' && isDecimal(text) ? Number(text) : NaN; // accepts "1.0" as written by pandas, not "0x1"
      if (v !== 0 && v !== 1) {
        throw new Error(`${file}:${lineNo}:${plan.labelCols[t] + 1}: label column "${plan.labelNames[t]}" must be 0 or 1, got ${shown(text)}`);
      }
    }
    out.labels[t][row] = v;
  }
  for (let k = 0; k < plan.sparseCols.length; k++) {
    const text = fields[plan.sparseCols[k]];
    let id = parseDigits(text);
    if (id < 0) id = parseIdSlow(text, plan.sparseNames[k], `${file}:${lineNo}:${plan.sparseCols[k] + 1}`);
    const size = plan.sparseVocab[k];
    if (size > 0 && id >= size) {
      if (plan.strictIds) {
        throw new Error(`${file}:${lineNo}:${plan.sparseCols[k] + 1}: sparse column "${plan.sparseNames[k]}": id ${id} is at or beyond its vocabulary of ${size} (--strict-ids)`);
      }
      id = 0;
      oov[k]++;
    }
    out.sparse[k][row] = id;
  }
  for (let k = 0; k < plan.denseCols.length; k++) {
    const text = fields[plan.denseCols[k]];
    const v = text.trim() === '' ? NaN : Number(text);
    if (!Number.isFinite(v) || !isDecimal(text)) {
      const where = `${file}:${lineNo}:${plan.denseCols[k] + 1}: dense column "${plan.denseNames[k]}"`;
      if (Number.isFinite(v)) throw new Error(`${where}: ${shown(text)} is not a decimal number (hex, octal and binary forms are refused)`);
      throw new Error(`${where}: not a finite number: ${shown(text)}`);
    }
    // Stored as float32: a value finite in float64 but beyond float32's range would become inf.
    if (!Number.isFinite(Math.fround(v))) {
      throw new Error(`${file}:${lineNo}:${plan.denseCols[k] + 1}: dense column "${plan.denseNames[k]}": ${shown(text)} is beyond float32's range (about ±3.4e38)`);
    }
    out.dense[k][row] = v;
  }
}

/** Plain decimal notation ("3", "-0.5", "1e-3", " 2 "): what Number() reads except its hex, octal and binary forms. */
function isDecimal(text: string): boolean {
  // The common case first: no letter but e/E can make Number() read a non-decimal form.
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i) | 0x20; // lower case for letters
    if (c === 0x78 || c === 0x6f || c === 0x62) return false; // x, o, b: 0x10, 0o7, 0b1
  }
  return true;
}

/** Fast path for plain decimal digits (nearly every field); -1 means "not that simple". */
function parseDigits(text: string): number {
  const len = text.length;
  if (len === 0 || len > 10) return -1;
  let v = 0;
  for (let i = 0; i < len; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v <= MAX_ID ? v : -1;
}

function parseIdSlow(text: string, column: string, at: string): number {
  const where = `${at}: sparse column "${column}"`;
  // Decimal digits, optionally "3.0" as pandas writes integers in float columns; never hex
  // ("0x10") or exponents ("1e3"), which Number() would quietly accept.
  const m = /^\s*([-+]?)(\d+)(?:\.0*)?\s*$/.exec(text);
  if (m === null) {
    const v = text.trim() === '' ? NaN : Number(text);
    if (!Number.isFinite(v)) throw new Error(`${where}: non-numeric id ${shown(text)}`);
    if (/^\s*[-+]?\d*\.?\d*\s*$/.test(text)) throw new Error(`${where}: id is not an integer: ${shown(text)}`);
    throw new Error(`${where}: id written in hex or exponent form: ${shown(text)} (expected a decimal integer)`);
  }
  if (m[1] === '-' && Number(m[2]) !== 0) throw new Error(`${where}: negative id ${shown(text)}`);
  const v = Number(m[2]);
  if (v > MAX_ID) throw new Error(`${where}: id too large for int32: ${shown(text)}`);
  return v;
}

function copyRows(view: Dataset): Dataset {
  return {
    n: view.n,
    labels: view.labels.map((c) => c.slice()),
    sparse: view.sparse.map((c) => c.slice()),
    dense: view.dense.map((c) => c.slice()),
    schema: view.schema,
  };
}

function countsByName(names: readonly string[], counts: Int32Array): Record<string, number> {
  const out: Record<string, number> = Object.create(null) as Record<string, number>;
  names.forEach((name, k) => (out[name] = counts[k]));
  return out;
}
