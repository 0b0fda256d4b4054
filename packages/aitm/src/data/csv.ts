// Streaming CSV reader for label/sparse/dense tables (Ali-CCP layout): yields Dataset chunks of at
// most chunkRows rows so files larger than memory can be trained on, with strict, located errors
// (file:line:column): only decimal numbers, dense values within float32's range, labels 0 or 1.

import { allocDataset, concatDatasets, sliceRows, type Dataset } from './batch.js';
import { open } from 'node:fs/promises';
import { checkInputFile, fsFailure } from '../files.js';
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
  /** Read rows from here on (a chunk's `offset` and `firstLine`, from an earlier pass over the
   * same file) instead of from the top; the header is read first all the same. */
  start?: { offset: number; line: number };
  /** Stop after this many rows (default: every row). */
  maxRows?: number;
}

/** A chunk of CSV rows as columns. */
export interface CsvChunk {
  /** Rows of this chunk; data.schema has the vocab sizes that were applied. */
  data: Dataset;
  /** 1-based file line of the chunk's first row (the header is line 1). */
  firstLine: number;
  /** Per sparse feature: how many ids in this chunk were >= vocabSize and became 0. */
  oovRemaps: Record<string, number>;
  /** Byte offset in the file of the chunk's first row (pass it back as `start.offset`). */
  offset: number;
  /** Byte offset just past the chunk's last row (its line end included). */
  end: number;
  /** 1-based file line just after the chunk's last row. */
  nextLine: number;
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

/** Bytes read from the file per call (the buffer grows only for a longer line). */
const READ_BYTES = 1 << 20;
/** A line longer than this is refused (a file with no newline would otherwise be held whole). */
export const MAX_LINE_BYTES = 1 << 28;

/**
 * Reads `path` chunk by chunk. Always yields at least one chunk (an empty one for a header-only
 * file) so callers learn the resolved schema. Blank lines are skipped. Quoted fields are not
 * supported: a '"' anywhere is an error rather than a silent misparse.
 *
 * The bytes are parsed where they were read (no string per line or field): ids, 0/1 labels and
 * plain decimals of up to 15 digits are read straight from the buffer; any other field goes
 * through the string path (and its checks and messages). With `start` it reads the header,
 * then rows from a chunk's `offset` (see `CsvChunk.offset`); with `maxRows` it stops early.
 */
export async function* readCsvChunks(path: string, opts: CsvOptions = {}): AsyncGenerator<CsvChunk> {
  const file = path; // messages start with "<path>:<line>:" like compiler diagnostics
  const chunkRows = opts.chunkRows ?? DEFAULT_CHUNK_ROWS;
  if (!(Number.isInteger(chunkRows) && chunkRows > 0)) throw new Error(`chunkRows must be a positive integer, got ${chunkRows}`);
  const maxRows = opts.maxRows ?? Infinity;
  checkInputFile(path, 'CSV file');
  const fh = await open(path, 'r').catch((e: unknown) => {
    throw fsFailure(e, 'open', path);
  });
  const read = async (into: Buffer, at: number, length: number, position: number): Promise<number> => {
    try {
      return (await fh.read(into, at, length, position)).bytesRead;
    } catch (e) {
      throw fsFailure(e, 'read', path);
    }
  };
  try {
    let buf = Buffer.allocUnsafe(READ_BYTES);
    let have = 0; // valid bytes in buf
    let bufPos = 0; // file offset of buf[0]
    let filePos = 0; // next byte to read
    let lineNo = 0;
    let plan: ColumnPlan | undefined;
    let bounds = new Int32Array(0); // field k is bytes [bounds[k], bounds[k + 1] - 1)
    let out: Dataset | undefined;
    let rows = 0;
    let total = 0;
    let firstLine = 0;
    let chunkOffset = 0;
    let oov: Int32Array = new Int32Array(0);
    let atStart = true;
    let jumped = false;
    const flush = (end: number, nextLine: number): CsvChunk => {
      const p = plan as ColumnPlan;
      const data = rows === (out as Dataset).n ? (out as Dataset) : copyRows(sliceRows(out as Dataset, 0, rows));
      const chunk: CsvChunk = { data, firstLine, oovRemaps: countsByName(p.sparseNames, oov), offset: chunkOffset, end, nextLine };
      out = undefined;
      rows = 0;
      return chunk;
    };
    let done = false;
    while (!done) {
      if (have === buf.length) {
        if (buf.length >= MAX_LINE_BYTES) throw new Error(`${file}:${lineNo + 1}: line longer than ${MAX_LINE_BYTES} bytes`);
        const bigger = Buffer.allocUnsafe(Math.min(MAX_LINE_BYTES, buf.length * 2));
        buf.copy(bigger, 0, 0, have);
        buf = bigger;
      }
      const got = await read(buf, have, buf.length - have, filePos);
      filePos += got;
      have += got;
      const eof = got === 0;
      const view = buf.subarray(0, have);
      let s = 0;
      if (atStart && bufPos === 0) {
        if (have < 3 && !eof) continue; // too few bytes to tell whether a BOM starts the file
        if (view[0] === 0xef && view[1] === 0xbb && view[2] === 0xbf) s = 3;
      }
      atStart = false;
      for (;;) {
        let nl = view.indexOf(10, s);
        if (nl < 0) {
          if (!eof || s >= have) break;
          nl = have; // the last line has no newline
        }
        lineNo++;
        const lineStart = s;
        s = nl < have ? nl + 1 : have;
        let e = nl;
        if (e > lineStart && view[e - 1] === 13) e--;
        if (e === lineStart) continue; // blank line
        if (plan !== undefined) {
          if (out === undefined) {
            out = allocDataset(plan.schema, Math.min(chunkRows, maxRows - total));
            firstLine = lineNo;
            chunkOffset = bufPos + lineStart;
            oov = new Int32Array(plan.sparseCols.length);
          }
          if (fastRow(view, lineStart, e, plan, out, rows)) {
            rows++;
            total++;
            if (rows === out.n || total === maxRows) {
              yield flush(bufPos + Math.min(s, have), lineNo + 1);
              if (total === maxRows) {
                done = true;
                break;
              }
            }
            continue;
          }
          e = nl; // anything unusual: the exact path below (and its checks and messages)
        }
        // Pass 1: field boundaries; a CR before the end or a quote is refused.
        let nf = 0;
        const cap = bounds.length - 1;
        for (let i = lineStart; i < e; i++) {
          const c = view[i]!;
          if (c === 44) {
            nf++;
            if (nf < cap) bounds[nf] = i + 1;
          } else if (c === 13) {
            if (i === e - 1) {
              e--;
              break;
            }
            throw new Error(`${path}: lines end in CR only (old Mac style); convert them to LF or CRLF`);
          } else if (c === 34) {
            throw new Error(`${file}:${lineNo}: quoted fields are not supported (found '"')`);
          }
        }
        if (e === lineStart) continue; // blank line
        if (plan === undefined) {
          const fields = view.toString('utf8', lineStart, e).split(',');
          plan = makePlan(fields, opts, file);
          bounds = new Int32Array(plan.width + 1);
          if (opts.start !== undefined) {
            // Jump to the first row asked for: drop what was read and read from there.
            lineNo = opts.start.line - 1;
            bufPos = filePos = opts.start.offset;
            have = 0;
            s = 0;
            jumped = true;
            break;
          }
          continue;
        }
        if (nf + 1 !== plan.width) {
          throw new Error(`${file}:${lineNo}: expected ${plan.width} fields (as in the header), got ${nf + 1}`);
        }
        bounds[0] = lineStart;
        bounds[nf + 1] = e + 1;
        if (out === undefined) throw new Error('readCsvChunks: no chunk to fill'); // allocated above for every row
        parseRowBytes(view, bounds, plan, out, rows, oov, file, lineNo);
        rows++;
        total++;
        if (rows === out.n || total === maxRows) {
          yield flush(bufPos + Math.min(s, have), lineNo + 1);
          if (total === maxRows) {
            done = true;
            break;
          }
        }
      }
      if (done) break;
      if (jumped) {
        jumped = false;
        continue;
      }
      if (s > 0) {
        buf.copy(buf, 0, s, have);
        bufPos += s;
        have -= s;
      }
      if (eof) break;
    }
    if (plan === undefined) throw new Error(`${file}: empty file (no header line)`);
    if (out !== undefined) yield flush(bufPos + have, lineNo + 1);
    else if (total === 0) {
      // Header only (or no rows from `start`): one empty chunk carrying the schema.
      const at = opts.start?.offset ?? bufPos;
      yield { data: allocDataset(plan.schema, 0), firstLine: opts.start?.line ?? 2, oovRemaps: countsByName(plan.sparseNames, new Int32Array(plan.sparseNames.length)), offset: at, end: at, nextLine: opts.start?.line ?? 2 };
    }
  } finally {
    await fh.close();
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
  /** Per file column: ROLE_* (what the column is), and its index among the labels, sparse or dense columns. */
  roles: Uint8Array;
  slots: Int32Array;
}

const ROLE_SKIP = 0;
const ROLE_LABEL = 1;
const ROLE_SPARSE = 2;
const ROLE_DENSE = 3;

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
  const roles = new Uint8Array(header.length);
  const slots = new Int32Array(header.length);
  const mark = (names: readonly string[], role: number): void =>
    names.forEach((name, k) => {
      roles[col(name)] = role;
      slots[col(name)] = k;
    });
  mark(schema.labels, ROLE_LABEL);
  mark(sparse.map((f) => f.name), ROLE_SPARSE);
  mark(dense.map((f) => f.name), ROLE_DENSE);
  return {
    roles,
    slots,
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

/** Where the last `scanDecimal` stopped (module state, so the hot loop makes no object per field). */
let scanned = 0;

/**
 * The plain decimal (an optional '-', digits, at most one '.') starting at bytes[i], read up to
 * `end` or the first other byte (`scanned` is set there): mantissa / 10^decimals, exactly what
 * Number() gives for at most 15 digits (both operands exact, one rounding). NaN when it has no
 * digit or more than 15: the caller falls back to Number().
 */
function scanDecimal(bytes: Buffer, i: number, end: number): number {
  const neg = bytes[i] === 45;
  if (neg) i++;
  let m = 0;
  let digits = 0;
  let decimals = 0;
  let dot = false;
  for (; i < end; i++) {
    const c = bytes[i]!;
    if (c >= 48 && c <= 57) {
      m = m * 10 + (c - 48);
      digits++;
      if (dot) decimals++;
    } else if (c === 46 && !dot) dot = true;
    else break;
  }
  scanned = i;
  if (digits === 0 || digits > 15) return NaN;
  const v = m / POW10[decimals]!;
  return neg ? -v : v;
}

/**
 * One pass over a row's bytes that reads the common forms only (0/1 labels, decimal ids within
 * the vocabulary, plain decimals) into row `row` of `out`. Returns false,
 * leaving the row to the exact path, on anything else: another form, a quote, a CR, an id past
 * its vocabulary, a wrong field count. A plain decimal of at most 15 digits is mantissa /
 * 10^decimals, exactly what Number() gives (both operands exact, one rounding); a longer one
 * goes through Number().
 */
function fastRow(bytes: Buffer, start: number, end: number, plan: ColumnPlan, out: Dataset, row: number): boolean {
  const { roles, slots, width } = plan;
  let i = start;
  for (let col = 0; col < width; col++) {
    const role = roles[col]!;
    const a = i;
    if (role === ROLE_SPARSE) {
      let v = 0;
      for (; i < end; i++) {
        const d = bytes[i]! - 48;
        if (d < 0 || d > 9) break;
        v = v * 10 + d;
      }
      const j = slots[col]!;
      const size = plan.sparseVocab[j]!;
      if (i === a || i - a > 10 || v > MAX_ID || (size > 0 && v >= size)) return false;
      out.sparse[j]![row] = v;
    } else if (role === ROLE_DENSE) {
      const v = scanDecimal(bytes, i, end);
      i = scanned;
      if (!Number.isNaN(v)) {
        out.dense[slots[col]!]![row] = v;
      } else {
        if (i === a) return false;
        // Longer (pandas' "0.11914000000000001"): still only sign, digits and a dot.
        const long = Number(bytes.toString('latin1', a, i));
        if (!Number.isFinite(Math.fround(long))) return false;
        out.dense[slots[col]!]![row] = long;
      }
    } else if (role === ROLE_LABEL) {
      const c = bytes[i]!;
      if (i >= end || (c !== 48 && c !== 49)) return false;
      out.labels[slots[col]!]![row] = c - 48;
      i++;
    } else {
      for (; i < end; i++) {
        const c = bytes[i]!;
        if (c === 44) break;
        if (c === 34 || c === 13) return false;
      }
    }
    // The field must end here: at the line's end (last column) or at a comma.
    if (col === width - 1) return i === end;
    if (i >= end || bytes[i] !== 44) return false;
    i++;
  }
  return false;
}

/** Powers of ten a 15-digit mantissa is divided by (exact in float64). */
const POW10 = Float64Array.from({ length: 23 }, (_, i) => 10 ** i);

/**
 * parseRow on bytes: field k of the row is `bytes[bounds[k], bounds[k + 1] - 1)`. The common
 * forms are read in place; anything else is decoded and handed to the string checks, so errors
 * and accepted values are those of the string path. A plain decimal of at most 15 digits is
 * mantissa / 10^decimals, which is exactly what Number() gives (both exact, one rounding).
 */
function parseRowBytes(
  bytes: Buffer,
  bounds: Int32Array,
  plan: ColumnPlan,
  out: Dataset,
  row: number,
  oov: Int32Array,
  file: string,
  lineNo: number,
): void {
  const text = (k: number): string => bytes.toString('utf8', bounds[k]!, bounds[k + 1]! - 1);
  for (let t = 0; t < plan.labelCols.length; t++) {
    const k = plan.labelCols[t]!;
    const a = bounds[k]!;
    const c = bytes[a]!;
    if (bounds[k + 1]! - 1 - a === 1 && (c === 48 || c === 49)) out.labels[t]![row] = c - 48;
    else out.labels[t]![row] = parseLabel(text(k), plan, t, file, lineNo);
  }
  for (let j = 0; j < plan.sparseCols.length; j++) {
    const k = plan.sparseCols[j]!;
    const a = bounds[k]!;
    const len = bounds[k + 1]! - 1 - a;
    let id = -1;
    if (len > 0 && len <= 10) {
      let v = 0;
      for (let i = a; i < a + len; i++) {
        const d = bytes[i]! - 48;
        if (d < 0 || d > 9) {
          v = -1;
          break;
        }
        v = v * 10 + d;
      }
      if (v <= MAX_ID) id = v;
    }
    if (id < 0) id = parseIdSlow(text(k), plan.sparseNames[j]!, `${file}:${lineNo}:${k + 1}`);
    const size = plan.sparseVocab[j]!;
    if (size > 0 && id >= size) {
      if (plan.strictIds) {
        throw new Error(`${file}:${lineNo}:${k + 1}: sparse column "${plan.sparseNames[j]}": id ${id} is at or beyond its vocabulary of ${size} (--strict-ids)`);
      }
      id = 0;
      oov[j]++;
    }
    out.sparse[j]![row] = id;
  }
  for (let j = 0; j < plan.denseCols.length; j++) {
    const k = plan.denseCols[j]!;
    const end = bounds[k + 1]! - 1;
    const v = scanDecimal(bytes, bounds[k]!, end);
    out.dense[j]![row] = scanned === end && !Number.isNaN(v) ? v : parseDense(text(k), plan, j, file, lineNo);
  }
}

function parseLabel(text: string, plan: ColumnPlan, t: number, file: string, lineNo: number): number {
  if (text === '0') return 0;
  if (text === '1') return 1;
  const v = text.trim() !== '' && isDecimal(text) ? Number(text) : NaN; // accepts "1.0" as written by pandas, not "0x1"
  if (v !== 0 && v !== 1) {
    throw new Error(`${file}:${lineNo}:${plan.labelCols[t]! + 1}: label column "${plan.labelNames[t]}" must be 0 or 1, got ${shown(text)}`);
  }
  return v;
}

function parseDense(text: string, plan: ColumnPlan, k: number, file: string, lineNo: number): number {
  const v = text.trim() === '' ? NaN : Number(text);
  if (!Number.isFinite(v) || !isDecimal(text)) {
    const where = `${file}:${lineNo}:${plan.denseCols[k]! + 1}: dense column "${plan.denseNames[k]}"`;
    if (Number.isFinite(v)) throw new Error(`${where}: ${shown(text)} is not a decimal number (hex, octal and binary forms are refused)`);
    throw new Error(`${where}: not a finite number: ${shown(text)}`);
  }
  // Stored as float32: a value finite in float64 but beyond float32's range would become inf.
  if (!Number.isFinite(Math.fround(v))) {
    throw new Error(`${file}:${lineNo}:${plan.denseCols[k]! + 1}: dense column "${plan.denseNames[k]}": ${shown(text)} is beyond float32's range (about ±3.4e38)`);
  }
  return v;
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
