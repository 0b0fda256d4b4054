// The safetensors format (what PyTorch / Hugging Face checkpoints use) as bytes, and module
// checkpoints on top of it: encoding and decoding work on Uint8Array on every host (a
// browser downloads or uploads the bytes); reading and writing files is in ./node.ts. Reads
// check every header entry and name the source and the tensor in any error.
//
// Layout: u64 little-endian header length N, N bytes of JSON {name: {dtype, shape,
// data_offsets: [begin, end]}, "__metadata__"?: {string: string}}, then the raw
// little-endian bytes, offsets counted from the end of the header.

import { fromTypedArray, fmtShape, type BackendName, type DType, type Tensor, type TypedArray } from '@aitm/tensor';
import { StateDictProblems, type LoadStateDictResult, type Module } from './module.js';
import { isLegacyTorch, isZip, parseTorchCheckpoint } from './torch-checkpoint.js';
import { checkStateDict } from './state-dict-checks.js';
import { checkedProduct, describeValue, errorText, truncate } from './untrusted.js';

/** The file dtypes handled: F32, F64, I32 and I64 (read into int32, range-checked). */
export type SafetensorsDType = 'F32' | 'F64' | 'I32' | 'I64';

const BYTES: Record<SafetensorsDType, number> = { F32: 4, F64: 8, I32: 4, I64: 8 };
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/** The dtype a file dtype is read into: F32 -> float32, F64 -> float64, I32 and I64 -> int32. */
export const TENSOR_DTYPE_OF: Readonly<Record<SafetensorsDType, DType>> = { F32: 'float32', F64: 'float64', I32: 'int32', I64: 'int32' };

/** One tensor of a safetensors file: dtype, shape and where its bytes are. */
export interface SafetensorsEntry {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  /** Host values in the tensor dtype (`TENSOR_DTYPE_OF[dtype]`). */
  readonly data: TypedArray;
}

/** A parsed safetensors file: its tensors and metadata. */
export interface SafetensorsFile {
  /** The `__metadata__` map, or null when the file has none. */
  readonly metadata: Record<string, string> | null;
  /** Entries in header order. */
  readonly entries: readonly SafetensorsEntry[];
}

class SafetensorsError extends Error {
  constructor(file: string, what: string, tensor?: string) {
    super(`safetensors: ${file}${tensor === undefined ? '' : `: tensor '${truncate(tensor)}'`}: ${what}`);
    this.name = 'SafetensorsError';
  }
}

/**
 * Parses safetensors bytes into host arrays, validating the header length, the JSON (a name
 * given twice is ambiguous and refused), each dtype, shape and data_offsets (in range, the
 * right size) and the layout as a whole (the tensors' bytes neither overlap nor leave a gap
 * or trailing bytes, as the reference reader requires), and converting I64 to int32 (values
 * outside the int32 range are an error). The file is untrusted: every error names `file` and
 * the tensor, and nothing is allocated beyond the bytes the file holds.
 */
export function parseSafetensors(bytes: Uint8Array, file = '<bytes>'): SafetensorsFile {
  try {
    return parseSafetensorsBytes(bytes, file);
  } catch (e) {
    if (e instanceof SafetensorsError) throw e;
    throw new SafetensorsError(file, `unexpected error while reading the file (${errorText(e)})`);
  }
}

function parseSafetensorsBytes(bytes: Uint8Array, file: string): SafetensorsFile {
  if (bytes.length < 8) throw new SafetensorsError(file, `truncated: ${bytes.length} bytes, fewer than the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(bytes.length - 8)) {
    const what = `header length ${n} exceeds the ${bytes.length - 8} bytes after the length field`;
    throw new SafetensorsError(file, `${what} (truncated or not a safetensors file)`);
  }
  const headerEnd = 8 + Number(n);
  let header: unknown;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, headerEnd));
    header = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(file, `the header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    throw new SafetensorsError(file, 'the header is not a JSON object');
  }
  const twice = repeatedTopLevelKey(text);
  if (twice !== null) throw new SafetensorsError(file, `the header gives the name ${describeValue(twice)} twice: which entry is meant is ambiguous`);
  const dataLen = bytes.length - headerEnd;
  let metadata: Record<string, string> | null = null;
  const ranges: { name: string; begin: number; end: number }[] = [];
  const entries: SafetensorsEntry[] = [];
  const specs: EntrySpec[] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = parseMetadata(raw, file);
      continue;
    }
    const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | null;
    if (info === null || typeof info !== 'object') throw new SafetensorsError(file, 'the header entry is not an object', name);
    const dtype = info.dtype;
    if (typeof dtype !== 'string' || !Object.hasOwn(BYTES, dtype)) {
      throw new SafetensorsError(file, `unsupported dtype ${describeValue(dtype)} (supported: F32, F64, I32, I64)`, name);
    }
    const shape = info.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new SafetensorsError(file, `invalid shape ${describeValue(shape)}: expected an array of integers >= 0`, name);
    }
    const offs = info.data_offsets;
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      throw new SafetensorsError(file, `invalid data_offsets ${describeValue(offs)}: expected [begin, end], integers >= 0`, name);
    }
    const [begin, end] = offs as [number, number];
    if (begin > end || end > dataLen) {
      const what = `data_offsets [${begin}, ${end}] are out of range for ${dataLen} data bytes (truncated file?)`;
      throw new SafetensorsError(file, what, name);
    }
    const count = checkedProduct(shape as number[]);
    const expected = count === null ? null : count * BYTES[dtype as SafetensorsDType];
    if (expected === null || end - begin !== expected) {
      throw new SafetensorsError(
        file,
        `size mismatch: ${dtype} ${fmtShape(shape as number[])} needs ${expected ?? 'more than 2^53'} bytes, ` +
          `data_offsets [${begin}, ${end}] hold ${end - begin}`,
        name,
      );
    }
    ranges.push({ name, begin, end });
    specs.push({ name, dtype: dtype as SafetensorsDType, shape: shape as number[], begin, end });
  }
  checkLayout(ranges, dataLen, file);
  for (const s of specs) {
    entries.push({ name: s.name, dtype: s.dtype, shape: s.shape, data: decode(bytes, headerEnd + s.begin, s, file) });
  }
  return { metadata, entries };
}

/**
 * Refuses a layout that is not an exact tiling of the data bytes, as the reference reader
 * does: sorted by offsets, each non-empty tensor starts where the bytes before it end (each
 * range is compared with the furthest end so far, so an empty tensor between two overlapping
 * ones cannot hide the overlap), no bytes are left that no tensor owns (a gap or trailing
 * data), and an empty tensor may sit between tensors but not inside one.
 */
function checkLayout(ranges: readonly { name: string; begin: number; end: number }[], dataLen: number, file: string): void {
  const sorted = ranges.filter((r) => r.end > r.begin).sort((a, b) => a.begin - b.begin || a.end - b.end);
  let owner: { name: string; begin: number; end: number } | null = null; // the range that ends furthest so far
  const boundaries = new Set<number>([0]);
  for (const cur of sorted) {
    const end = owner === null ? 0 : owner.end;
    if (cur.begin < end) {
      const what = `data_offsets [${cur.begin}, ${cur.end}] overlap those of '${truncate(owner!.name)}' [${owner!.begin}, ${owner!.end}]`;
      throw new SafetensorsError(file, what, cur.name);
    }
    if (cur.begin > end) {
      const after = owner === null ? 'the start of the data' : `the end of '${truncate(owner.name)}'`;
      throw new SafetensorsError(file, `data_offsets [${cur.begin}, ${cur.end}] leave bytes [${end}, ${cur.begin}) after ${after} that no tensor owns`, cur.name);
    }
    owner = cur;
    boundaries.add(cur.end);
  }
  const end = owner === null ? 0 : owner.end;
  if (end !== dataLen) {
    throw new SafetensorsError(file, `data bytes [${end}, ${dataLen}) after the last tensor are owned by no tensor (${dataLen - end} trailing bytes)`);
  }
  for (const r of ranges) {
    if (r.end === r.begin && !boundaries.has(r.begin)) {
      const inside = sorted.find((o) => o.begin < r.begin && r.begin < o.end)!;
      throw new SafetensorsError(file, `the empty tensor's data_offsets [${r.begin}, ${r.end}] lie inside those of '${truncate(inside.name)}' [${inside.begin}, ${inside.end}]`, r.name);
    }
  }
}

/**
 * The first name given twice at the top level of a JSON object text (already parsed, so
 * well-formed), or null. JSON.parse keeps the last silently; which was meant is ambiguous.
 */
function repeatedTopLevelKey(text: string): string | null {
  const seen = new Set<string>();
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    else if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (depth === 1) {
        let k = j + 1;
        while (k < text.length && /\s/.test(text[k]!)) k++;
        if (text[k] === ':') {
          const key = JSON.parse(text.slice(i, j + 1)) as string;
          if (seen.has(key)) return key;
          seen.add(key);
        }
      }
      i = j;
    }
  }
  return null;
}

function parseMetadata(raw: unknown, file: string): Record<string, string> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw) || !Object.values(raw).every((v) => typeof v === 'string')) {
    throw new SafetensorsError(file, '__metadata__ must be an object of strings');
  }
  return { ...(raw as Record<string, string>) };
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A fresh, aligned buffer holding bytes[at, at + n) (Node's Buffer.slice would share memory). */
function copyBytes(bytes: Uint8Array, at: number, n: number): ArrayBuffer {
  const out = new Uint8Array(n);
  out.set(bytes.subarray(at, at + n));
  return out.buffer;
}

interface EntrySpec {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: number[];
  readonly begin: number;
  readonly end: number;
}

/** The values of one entry (data at bytes[at, at + end - begin)) in the tensor dtype. */
function decode(bytes: Uint8Array, at: number, s: EntrySpec, file: string): TypedArray {
  const count = (s.end - s.begin) / BYTES[s.dtype];
  const view = new DataView(bytes.buffer, bytes.byteOffset + at, s.end - s.begin);
  switch (s.dtype) {
    case 'F32': {
      if (LITTLE_ENDIAN) return new Float32Array(copyBytes(bytes, at, count * 4));
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
      return out;
    }
    case 'F64': {
      if (LITTLE_ENDIAN) return new Float64Array(copyBytes(bytes, at, count * 8));
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, true);
      return out;
    }
    case 'I32': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(i * 4, true);
      return out;
    }
    case 'I64': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const lo = view.getUint32(i * 8, true);
        const hi = view.getInt32(i * 8 + 4, true);
        // In int32 range iff the high word is the sign extension of the low word.
        if (hi !== (lo >= 0x80000000 ? -1 : 0)) {
          const v = (BigInt(hi) << 32n) | BigInt(lo);
          throw new SafetensorsError(file, `I64 value ${v} at element ${i} is outside the int32 range`, s.name);
        }
        out[i] = lo | 0;
      }
      return out;
    }
  }
}

/** Options of writing a safetensors file. */
export interface SaveSafetensorsOptions {
  /**
   * File dtype per tensor name. By default float32 -> F32, float64 -> F64, int32 -> I32,
   * except int32 tensors named `*num_batches_tracked`, written I64 as PyTorch stores them.
   * I64 may also be asked for float tensors holding integers (checked).
   */
  dtypes?: Readonly<Record<string, SafetensorsDType>>;
}

function defaultFileDtype(name: string, dtype: DType): SafetensorsDType {
  if (dtype === 'float32') return 'F32';
  if (dtype === 'float64') return 'F64';
  return name === 'num_batches_tracked' || name.endsWith('.num_batches_tracked') ? 'I64' : 'I32';
}

/** Python's sort order for str (code points), which is how the reference writer orders names. */
function byCodePoint(a: string, b: string): number {
  const ca = [...a];
  const cb = [...b];
  for (let i = 0; i < Math.min(ca.length, cb.length); i++) {
    const d = ca[i]!.codePointAt(0)! - cb[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return ca.length - cb.length;
}

/**
 * Serialises host values into safetensors bytes: tensors sorted by name in both the header
 * and the data, compact JSON with `__metadata__` first, the header padded with spaces so the
 * data starts at a multiple of 8 (the layout of the fixtures' reference writer).
 */
export function encodeSafetensors(entries: readonly SafetensorsEntry[], metadata?: Readonly<Record<string, string>> | null): Uint8Array {
  const sorted = [...entries].sort((a, b) => byCodePoint(a.name, b.name));
  const blobs: Uint8Array[] = [];
  const parts: string[] = [];
  if (metadata) {
    const kv = Object.entries(metadata).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(String(v))}`);
    parts.push(`"__metadata__":{${kv.join(',')}}`);
  }
  let offset = 0;
  const seen = new Set<string>();
  for (const e of sorted) {
    if (e.name === '__metadata__') throw new Error("safetensors: '__metadata__' is reserved and cannot name a tensor");
    if (seen.has(e.name)) throw new Error(`safetensors: tensor '${e.name}' appears twice`);
    seen.add(e.name);
    const blob = encodeValues(e);
    // Keys are written by hand: JSON.stringify of an object would move integer-like names first.
    const info = `{"dtype":"${e.dtype}","shape":[${e.shape.join(',')}],"data_offsets":[${offset},${offset + blob.length}]}`;
    parts.push(`${JSON.stringify(e.name)}:${info}`);
    blobs.push(blob);
    offset += blob.length;
  }
  let header = new TextEncoder().encode(`{${parts.join(',')}}`);
  const pad = (8 - ((8 + header.length) % 8)) % 8;
  if (pad > 0) {
    const padded = new Uint8Array(header.length + pad).fill(0x20);
    padded.set(header);
    header = padded;
  }
  const out = new Uint8Array(8 + header.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(header.length), true);
  out.set(header, 8);
  let at = 8 + header.length;
  for (const b of blobs) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

function encodeValues(e: SafetensorsEntry): Uint8Array {
  const count = e.shape.reduce((a, d) => a * d, 1);
  if (e.data.length !== count) {
    throw new Error(`safetensors: tensor '${e.name}' has ${e.data.length} values for shape ${fmtShape(e.shape)}`);
  }
  const out = new Uint8Array(count * BYTES[e.dtype]);
  const view = new DataView(out.buffer);
  const src = e.data;
  for (let i = 0; i < count; i++) {
    const v = src[i]!;
    switch (e.dtype) {
      case 'F32':
        view.setFloat32(i * 4, v, true);
        break;
      case 'F64':
        view.setFloat64(i * 8, v, true);
        break;
      case 'I32':
        if (!Number.isInteger(v) || v < INT32_MIN || v > INT32_MAX) {
          throw new Error(`safetensors: tensor '${e.name}': value ${v} at element ${i} is not an int32`);
        }
        view.setInt32(i * 4, v, true);
        break;
      case 'I64':
        if (!Number.isSafeInteger(v)) {
          throw new Error(`safetensors: tensor '${e.name}': value ${v} at element ${i} is not an integer that I64 can hold exactly`);
        }
        view.setBigInt64(i * 8, BigInt(v), true);
        break;
    }
  }
  return out;
}

/**
 * Safetensors bytes of `tensors` (values read with `await t.data()`, so tensors may live on
 * any backend): what a file holds, for a download in a browser or `saveSafetensors` in Node.
 *
 * @example
 * const bytes = await safetensorsBytes({ w: weight }, { format: 'pt' });
 */
export async function safetensorsBytes(
  tensors: Readonly<Record<string, Tensor>>,
  metadata?: Readonly<Record<string, string>> | null,
  opts: SaveSafetensorsOptions = {},
): Promise<Uint8Array> {
  const entries: SafetensorsEntry[] = [];
  for (const [name, t] of Object.entries(tensors)) {
    const dtype = opts.dtypes?.[name] ?? defaultFileDtype(name, t.dtype);
    if ((dtype === 'F32' || dtype === 'F64') && t.dtype === 'int32') {
      throw new Error(`safetensors: tensor '${name}' is int32 and cannot be written as ${dtype}`);
    }
    if (dtype === 'I32' && t.dtype !== 'int32') throw new Error(`safetensors: tensor '${name}' is ${t.dtype} and cannot be written as I32`);
    entries.push({ name, dtype, shape: t.shape, data: await t.data() });
  }
  return encodeSafetensors(entries, metadata);
}

/**
 * A module's state dict (PyTorch names and order; num_batches_tracked as I64) as safetensors
 * bytes. Metadata defaults to { format: 'pt' }, which Hugging Face loaders expect.
 *
 * @example
 * const bytes = await checkpointBytes(model); // a Blob for a download, or saveCheckpoint in Node
 */
export async function checkpointBytes(module: Module, metadata: Readonly<Record<string, string>> = { format: 'pt' }): Promise<Uint8Array> {
  const sd = module.stateDict();
  try {
    return await safetensorsBytes(sd, metadata);
  } finally {
    for (const t of Object.values(sd)) t.dispose();
  }
}

/**
 * The tensors of checkpoint bytes, in file order: safetensors, or a PyTorch `torch.save` of a
 * state dict (told apart by their first bytes; see torch-checkpoint.ts). `file` names them in errors.
 */
export function checkpointEntries(bytes: Uint8Array, file = '<bytes>'): SafetensorsEntry[] {
  if (isZip(bytes) || isLegacyTorch(bytes)) return parseTorchCheckpoint(bytes, file);
  return [...parseSafetensors(bytes, file).entries];
}

/** Options of `loadCheckpoint`. */
export interface LoadCheckpointOptions {
  /** Missing and unexpected names are errors (default true). */
  strict?: boolean;
  /**
   * What invalid values (non-finite floats, a negative running_var, a negative or fractional
   * num_batches_tracked; see `checkStateDict`) do: 'error' (the default) refuses the
   * checkpoint naming each tensor, 'warn' reports them through `warn` and loads it anyway.
   */
  onProblem?: 'error' | 'warn';
  /** Where 'warn' reports (default console.warn). */
  warn?: (message: string) => void;
}

/**
 * Loads checkpoint entries (see `checkpointEntries`) into a module, like `loadStateDict`:
 * every name, shape and kind (float vs integer) is validated first and one error names every
 * problem, then the values of the entries to be assigned are checked (`checkStateDict`:
 * finite, BatchNorm statistics in range); nothing is assigned when it throws. F64 values are
 * cast to float32 when the module is float32 (and F32 widened for a float64 module); I32/I64
 * go to int32 buffers. Tensors are created directly on each parameter's backend. `file`
 * names the source in errors.
 *
 * @example
 * loadCheckpointEntries(model, checkpointEntries(bytes, 'model.safetensors'), 'model.safetensors');
 */
export function loadCheckpointEntries(module: Module, entries: readonly SafetensorsEntry[], file: string, opts: LoadCheckpointOptions = {}): LoadStateDictResult {
  const strict = opts.strict ?? true;
  const byName = new Map(entries.map((e) => [e.name, e]));
  const targets = new Map(module.stateEntries());
  const problems = new StateDictProblems();
  const missingKeys = [...targets.keys()].filter((k) => !byName.has(k));
  const unexpectedKeys = [...byName.keys()].filter((k) => !targets.has(k));
  if (strict) {
    problems.missing.push(...missingKeys);
    problems.unexpected.push(...unexpectedKeys);
  }
  for (const [name, target] of targets) {
    const e = byName.get(name);
    if (e === undefined) continue;
    problems.check(name, e.shape, e.dtype === 'I32' || e.dtype === 'I64' ? 'int' : 'float', target, `dtype (${e.dtype})`);
  }
  problems.throwIfAny(`loadCheckpoint: ${file}: error(s) in loading the checkpoint into ${module.constructor.name}`);
  checkStateDict(
    entries.filter((e) => targets.has(e.name)),
    { file: `loadCheckpoint: ${file}`, onProblem: opts.onProblem ?? 'error', ...(opts.warn && { warn: opts.warn }) },
  );
  for (const [name, target] of targets) {
    const e = byName.get(name);
    if (e === undefined) continue;
    const value = fromTypedArray(e.data, target.shape, target.dtype, { backend: target.backendName });
    target.assign(value);
    value.dispose();
  }
  return { missingKeys, unexpectedKeys };
}
