// Reading PyTorch `torch.save` checkpoints of a state dict, the zip format torch has written
// since 1.6: `<archive>/data.pkl` (a pickle of the dict) plus one record per storage,
// `<archive>/data/<key>`, holding its raw little-endian bytes.
//
// A checkpoint is untrusted input, and unpickling is running a program: a pickle can name
// any Python callable (`os.system`) and call it. So this is not an unpickler but a small,
// restricted interpreter of the pickle opcodes a state dict uses. It builds only plain
// values, an OrderedDict, storages (persistent ids) and tensors rebuilt by
// `torch._utils._rebuild_tensor_v2`; every other global, and every other call, is refused by
// name. Nothing is executed or imported.

import { unzipSync } from 'fflate';
import type { TypedArray } from '@aitm/tensor';
import type { SafetensorsDType, SafetensorsEntry } from './safetensors.js';
import { checkedProduct, describeValue, errorText, truncate } from './untrusted.js';

class TorchCheckpointError extends Error {
  constructor(file: string, what: string) {
    super(`torch checkpoint: ${file}: ${what}`);
    this.name = 'TorchCheckpointError';
  }
}

/** Storage classes a state dict's tensors use, and how their elements are read. */
const STORAGES = {
  FloatStorage: { bytes: 4, file: 'F32' },
  DoubleStorage: { bytes: 8, file: 'F64' },
  HalfStorage: { bytes: 2, file: 'F32' },
  BFloat16Storage: { bytes: 2, file: 'F32' },
  LongStorage: { bytes: 8, file: 'I64' },
  IntStorage: { bytes: 4, file: 'I32' },
  BoolStorage: { bytes: 1, file: 'I32' },
} as const satisfies Record<string, { bytes: number; file: SafetensorsDType }>;
type StorageKind = keyof typeof STORAGES;

// The values the interpreter builds: no Python object ever exists, only these.
class Global {
  constructor(readonly module: string, readonly name: string) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}
class Mark {}
class OrderedDictValue {
  readonly items = new Map<unknown, unknown>();
}
class StorageRef {
  constructor(
    readonly kind: StorageKind,
    readonly key: string,
    readonly numel: number,
  ) {}
}
class TensorValue {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: readonly number[],
    readonly stride: readonly number[],
  ) {}
}

const ALLOWED_GLOBALS = new Set([
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor_v2',
  ...Object.keys(STORAGES).map((k) => `torch.${k}`),
]);

/** Interprets a state dict's pickle; throws, naming the byte offset, on anything a state dict does not hold. */
function unpickle(data: Uint8Array, file: string): unknown {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  let pos = 0;
  const fail = (what: string): never => {
    throw new TorchCheckpointError(file, `data.pkl at byte ${pos}: ${what}`);
  };
  const need = (n: number): void => {
    if (pos + n > data.length) fail(`truncated (needs ${n} more bytes)`);
  };
  const u8 = (): number => (need(1), data[pos++]!);
  const u16 = (): number => (need(2), (pos += 2), view.getUint16(pos - 2, true));
  const u32 = (): number => (need(4), (pos += 4), view.getUint32(pos - 4, true));
  const i32 = (): number => (need(4), (pos += 4), view.getInt32(pos - 4, true));
  const text = (n: number): string => {
    need(n);
    try {
      return utf8.decode(data.subarray(pos, pos + n));
    } catch {
      return fail(`a ${n}-byte string that is not valid UTF-8`);
    } finally {
      pos += n;
    }
  };
  const line = (): string => {
    const end = data.indexOf(0x0a, pos);
    if (end < 0) fail('unterminated GLOBAL name');
    const s = new TextDecoder('latin1').decode(data.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const pop = (): unknown => (stack.length === 0 ? fail('stack underflow') : stack.pop());
  const popMark = (): unknown[] => {
    const at = stack.findLastIndex((v) => v instanceof Mark);
    if (at < 0) fail('no MARK on the stack');
    const items = stack.splice(at + 1);
    stack.pop();
    return items;
  };
  const global = (module: string, name: string): Global => {
    const g = new Global(module, name);
    if (!ALLOWED_GLOBALS.has(g.qualified)) {
      fail(`refusing global '${truncate(g.qualified)}': a state dict holds only an OrderedDict of tensors (${[...ALLOWED_GLOBALS].join(', ')})`);
    }
    return g;
  };
  const setItem = (target: unknown, key: unknown, value: unknown): void => {
    const map = target instanceof OrderedDictValue ? target.items : target instanceof Map ? target : fail('SETITEM on something that is not a dict');
    // A dict that sets one key twice keeps the last value: which tensor was meant is ambiguous.
    if (map.has(key)) fail(`the key ${describeValue(key)} is set twice`);
    map.set(key, value);
  };

  for (;;) {
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) fail('pickle protocol above 5');
        break;
      case 0x95: // FRAME (protocol 4): an 8-byte length, framing only
        need(8);
        pos += 8;
        break;
      case 0x2e: // STOP
        if (stack.length !== 1) fail(`STOP with ${stack.length} values on the stack`);
        return stack[0];
      case 0x28: stack.push(new Mark()); break; // MARK
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push([]); break; // EMPTY_TUPLE (tuples are arrays here)
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x4a: stack.push(i32()); break; // BININT
      case 0x8a: { // LONG1: n little-endian two's-complement bytes
        const n = u8();
        need(n);
        let v = 0n;
        for (let k = n - 1; k >= 0; k--) v = (v << 8n) | BigInt(data[pos + k]!);
        if (n > 0 && data[pos + n - 1]! & 0x80) v -= 1n << BigInt(8 * n);
        pos += n;
        if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) fail(`integer ${v} is too large`);
        stack.push(Number(v));
        break;
      }
      case 0x47: // BINFLOAT: big-endian double
        need(8);
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x58: stack.push(text(u32())); break; // BINUNICODE
      case 0x8c: stack.push(text(u8())); break; // SHORT_BINUNICODE
      case 0x74: stack.push(popMark()); break; // TUPLE
      case 0x85: stack.push([pop()]); break; // TUPLE1
      case 0x86: { const b = pop(); stack.push([pop(), b]); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); stack.push([pop(), b, c]); break; } // TUPLE3
      case 0x71: memo.set(u8(), stack.at(-1)); break; // BINPUT
      case 0x72: memo.set(u32(), stack.at(-1)); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, stack.at(-1)); break; // MEMOIZE
      case 0x68: case 0x6a: { // BINGET, LONG_BINGET
        const k = op === 0x68 ? u8() : u32();
        if (!memo.has(k)) fail(`memo ${k} was never stored`);
        stack.push(memo.get(k));
        break;
      }
      case 0x63: stack.push(global(line(), line())); break; // GLOBAL "module\nname\n"
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL of non-strings');
        stack.push(global(module as string, name as string));
        break;
      }
      case 0x51: stack.push(persistentLoad(pop(), fail)); break; // BINPERSID
      case 0x52: { // REDUCE: only the two calls a state dict makes
        const args = pop();
        const fn = pop();
        stack.push(reduce(fn, args, fail));
        break;
      }
      case 0x73: { const v = pop(); const k = pop(); setItem(stack.at(-1), k, v); break; } // SETITEM
      case 0x75: { // SETITEMS
        const items = popMark();
        if (items.length % 2 !== 0) fail('SETITEMS with an odd number of values');
        for (let k = 0; k < items.length; k += 2) setItem(stack.at(-1), items[k], items[k + 1]);
        break;
      }
      case 0x61: { const v = pop(); const l = stack.at(-1); if (!Array.isArray(l)) fail('APPEND to a non-list'); (l as unknown[]).push(v); break; } // APPEND
      case 0x65: { const items = popMark(); const l = stack.at(-1); if (!Array.isArray(l)) fail('APPENDS to a non-list'); for (const v of items) (l as unknown[]).push(v); break; } // APPENDS (no spread: a huge list would overflow the call stack)
      case 0x62: { // BUILD: only an OrderedDict's attributes (its `_metadata`), kept aside
        const state = pop();
        if (!(stack.at(-1) instanceof OrderedDictValue) || !(state instanceof Map)) fail('BUILD on something other than an OrderedDict');
        break;
      }
      default:
        fail(`unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')} (a state dict does not use it)`);
    }
  }
}

/** A storage persistent id: ('storage', <torch.XStorage>, key, location, numel). */
function persistentLoad(pid: unknown, fail: (what: string) => never): StorageRef {
  if (!Array.isArray(pid) || pid.length !== 5 || pid[0] !== 'storage') fail(`unsupported persistent id ${describeValue(pid)}`);
  const [, type, key, , numel] = pid as [string, unknown, unknown, unknown, unknown];
  if (!(type instanceof Global) || type.module !== 'torch' || !Object.hasOwn(STORAGES, type.name)) fail(`a storage of an unsupported type ${describeValue(type)}`);
  if (typeof key !== 'string' || !Number.isSafeInteger(numel) || (numel as number) < 0) fail(`a malformed storage id ${describeValue(pid)}`);
  return new StorageRef((type as Global).name as StorageKind, key as string, numel as number);
}

/** The most dimensions a tensor may have (PyTorch's own limit). */
const MAX_DIMS = 64;

function reduce(fn: unknown, args: unknown, fail: (what: string) => never): unknown {
  if (!(fn instanceof Global) || !Array.isArray(args)) return fail('REDUCE of something that is not an allowed global');
  if (fn.qualified === 'collections.OrderedDict') {
    if (args.length !== 0) fail('OrderedDict called with arguments');
    return new OrderedDictValue();
  }
  if (fn.qualified === 'torch._utils._rebuild_tensor_v2') {
    // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
    const [storage, offset, size, stride] = args as unknown[];
    const ints = (v: unknown): v is number[] => Array.isArray(v) && v.every((d) => Number.isSafeInteger(d) && d >= 0);
    if (!(storage instanceof StorageRef)) fail(`_rebuild_tensor_v2 of ${describeValue(storage)}, not a storage`);
    if (!Number.isSafeInteger(offset) || (offset as number) < 0) fail(`_rebuild_tensor_v2 with storage offset ${describeValue(offset)}, not an integer >= 0`);
    if (!ints(size) || !ints(stride) || size.length !== stride.length) {
      fail(`_rebuild_tensor_v2 with size ${describeValue(size)} and stride ${describeValue(stride)}: expected two equally long tuples of integers >= 0`);
    }
    if ((size as number[]).length > MAX_DIMS) fail(`_rebuild_tensor_v2 with ${(size as number[]).length} dimensions (at most ${MAX_DIMS})`);
    return new TensorValue(storage as StorageRef, offset as number, size as number[], stride as number[]);
  }
  return fail(`refusing to call '${truncate(fn.qualified)}'`);
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac === 0 ? sign * Infinity : NaN;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

const BF16_SCRATCH = new Float32Array(1);
const BF16_BITS = new Uint32Array(BF16_SCRATCH.buffer);
function bfloat16ToFloat(h: number): number {
  BF16_BITS[0] = h << 16;
  return BF16_SCRATCH[0]!;
}

const tensorError = (file: string, name: string, what: string): TorchCheckpointError => new TorchCheckpointError(file, `tensor '${truncate(name)}': ${what}`);

/**
 * The number of elements of `t`, after checking that every element its offset, shape and
 * strides reach lies inside its storage of `numel` elements.
 */
function checkView(t: TensorValue, name: string, file: string): number {
  const { numel } = t.storage;
  const where = `offset ${t.offset}, shape [${t.shape}] and stride [${t.stride}]`;
  const size = checkedProduct(t.shape);
  if (size === null) throw tensorError(file, name, `shape [${t.shape}] has more elements than can be counted exactly`);
  if (size === 0) return 0;
  // The furthest element the strides reach must lie inside the storage (a view may share it).
  let last = t.offset;
  for (let d = 0; d < t.shape.length; d++) {
    last += (t.shape[d]! - 1) * t.stride[d]!;
    if (!Number.isSafeInteger(last)) break;
  }
  if (!Number.isSafeInteger(last) || last >= numel) throw tensorError(file, name, `${where} reach past its storage of ${numel} elements`);
  return size;
}

/** A tensor's elements in row-major order, read through its offset and strides (already checked by `checkView`). */
function readTensor(t: TensorValue, size: number, bytes: Uint8Array, name: string, file: string): { dtype: SafetensorsDType; data: TypedArray } {
  const { kind } = t.storage;
  const spec = STORAGES[kind];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const read = (i: number): number => {
    const at = i * spec.bytes;
    switch (kind) {
      case 'FloatStorage': return view.getFloat32(at, true);
      case 'DoubleStorage': return view.getFloat64(at, true);
      case 'HalfStorage': return halfToFloat(view.getUint16(at, true));
      case 'BFloat16Storage': return bfloat16ToFloat(view.getUint16(at, true));
      case 'LongStorage': {
        const v = view.getBigInt64(at, true);
        if (v > 2147483647n || v < -2147483648n) throw tensorError(file, name, `int64 value ${v} (storage element ${i}) is outside the int32 range`);
        return Number(v);
      }
      case 'IntStorage': return view.getInt32(at, true);
      case 'BoolStorage': return bytes[i]! ? 1 : 0;
    }
  };
  const out = spec.file === 'F32' ? new Float32Array(size) : spec.file === 'F64' ? new Float64Array(size) : new Int32Array(size);
  // The element offset moves by one stride per step and back when a dimension wraps: O(1) a step.
  const nd = t.shape.length;
  const idx = new Array<number>(nd).fill(0);
  let at = t.offset;
  for (let e = 0; e < size; e++) {
    out[e] = read(at);
    for (let d = nd - 1; d >= 0; d--) {
      if (++idx[d]! < t.shape[d]!) {
        at += t.stride[d]!;
        break;
      }
      at -= (t.shape[d]! - 1) * t.stride[d]!;
      idx[d] = 0;
    }
  }
  return { dtype: spec.file, data: out };
}

/** Whether `bytes` start like a zip archive (torch.save since 1.6). */
export const isZip = (bytes: Uint8Array): boolean => bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;

/** Whether `bytes` start like a bare pickle (torch.save before 1.6, or _use_new_zipfile_serialization=False). */
export const isLegacyTorch = (bytes: Uint8Array): boolean => bytes[0] === 0x80 && bytes[1]! >= 2 && bytes[1]! <= 5;

/**
 * The most bytes the deflated records a checkpoint uses may inflate to, together (2 GiB).
 * torch.save stores records uncompressed; only a re-zipped file has deflated ones.
 */
export const MAX_INFLATED_BYTES = 2 ** 31;

/** Deflate's largest expansion (a stream of maximal matches): a record declaring more is lying. */
const MAX_DEFLATE_RATIO = 1032;

/**
 * Views may repeat stored elements (stride 0, overlapping strides; `expand` saves such a
 * view), but the tensors of one file together may hold at most `MAX_VIEW_REPEAT` times the
 * elements of the storages they use, plus `MAX_VIEW_SLACK` elements. A few hundred bytes
 * declaring a [2^24, 4] view of one element are refused instead of allocating 512 MB.
 */
export const MAX_VIEW_REPEAT = 8;
/** See `MAX_VIEW_REPEAT`: the elements any file may hold beyond the repeat bound (small broadcasts). */
export const MAX_VIEW_SLACK = 65536;

/** Every central directory record takes at least this many bytes. */
const ZIP_CD_RECORD_BYTES = 46;

/**
 * Refuses an end-of-central-directory record that declares more records than the archive's
 * bytes can hold (fflate would otherwise walk up to 2^32 phantom records).
 */
function checkZipRecordCount(bytes: Uint8Array, file: string): void {
  const u16 = (at: number): number => (at >= 0 && at + 2 <= bytes.length ? bytes[at]! | (bytes[at + 1]! << 8) : -1);
  const u32 = (at: number): number => (at >= 0 && at + 4 <= bytes.length ? (u16(at) | (u16(at + 2) << 16)) >>> 0 : -1);
  let e = bytes.length - 22;
  const first = Math.max(1, bytes.length - 65558);
  while (e >= first && u32(e) !== 0x06054b50) e--;
  if (e < first) throw new TorchCheckpointError(file, 'the zip archive has no end-of-central-directory record (truncated?)');
  let count = u16(e + 8);
  if (u32(e - 20) === 0x07064b50) {
    const z = u32(e - 12);
    if (u32(z) === 0x06064b50) count = u32(z + 32);
  }
  if (count * ZIP_CD_RECORD_BYTES > bytes.length) {
    throw new TorchCheckpointError(file, `the zip archive declares ${count} records at byte ${e}, more than its ${bytes.length} bytes can hold`);
  }
}

/**
 * The records of the zip `bytes` whose names `want` accepts, and only those: others are
 * never inflated. Each is checked against its declared sizes (stored: as declared; deflated:
 * no more than deflate can produce, within `budget.inflate` bytes, which it decreases), the
 * records together may not occupy more bytes than the file holds (`budget.held`: records
 * sharing bytes would multiply a small file), and a name appearing twice is refused as
 * ambiguous.
 */
function unzipRecords(bytes: Uint8Array, file: string, want: (name: string) => boolean, budget: { inflate: number; held: number }): Map<string, Uint8Array> {
  const declared = new Map<string, number>();
  const admit = (r: { name: string; size: number; originalSize: number; compression: number }): boolean => {
    if (!want(r.name)) return false;
    const rec = `zip record ${describeValue(r.name)}`;
    if (declared.has(r.name)) throw new TorchCheckpointError(file, `${rec} appears twice: which one is meant is ambiguous`);
    budget.held -= r.size;
    if (budget.held < 0) {
      throw new TorchCheckpointError(file, `${rec} declares ${r.size} bytes, and with the other records read more than the file's ${bytes.length} bytes (records sharing bytes, or sizes that lie)`);
    }
    if (r.compression === 0) {
      if (r.size !== r.originalSize) throw new TorchCheckpointError(file, `${rec} is stored uncompressed but declares ${r.size} bytes stored and ${r.originalSize} bytes in all`);
    } else if (r.compression === 8) {
      if (r.originalSize > r.size * MAX_DEFLATE_RATIO) {
        throw new TorchCheckpointError(file, `${rec} declares ${r.originalSize} bytes inflated from ${r.size}: more than deflate can produce`);
      }
      if (r.originalSize > budget.inflate) {
        throw new TorchCheckpointError(file, `${rec} would inflate to ${r.originalSize} bytes: the checkpoint's compressed records may inflate to at most ${MAX_INFLATED_BYTES} bytes in all`);
      }
      budget.inflate -= r.originalSize;
    } else {
      throw new TorchCheckpointError(file, `${rec} uses zip compression method ${r.compression} (only stored and deflate are read)`);
    }
    declared.set(r.name, r.originalSize);
    return true;
  };
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes, { filter: admit });
  } catch (e) {
    if (e instanceof TorchCheckpointError) throw e;
    throw new TorchCheckpointError(file, `the zip archive cannot be read (${(e as Error).message})`);
  }
  const out = new Map<string, Uint8Array>();
  for (const [name, size] of declared) {
    const data = files[name];
    if (data === undefined || data.length !== size) {
      throw new TorchCheckpointError(file, `zip record ${describeValue(name)} holds ${data?.length ?? 0} bytes, not the ${size} its header declares (truncated or corrupt)`);
    }
    out.set(name, data);
  }
  return out;
}

/**
 * The tensors of a `torch.save(state_dict)` file, in the dict's order, as safetensors-like
 * entries (float16/bfloat16 widened to F32, int64 range-checked into int32, bool as 0/1).
 * Views of one storage (shared or non-contiguous) are read through their strides. Refuses
 * anything but a state dict, legacy (pre-1.6) files and big-endian files, saying how to
 * re-save them.
 *
 * The file is untrusted: only the zip records the state dict uses are inflated (within
 * `MAX_INFLATED_BYTES`), every storage must hold exactly the elements its id declares, every
 * view must lie inside its storage, views may repeat stored elements only within
 * `MAX_VIEW_REPEAT`, and a key set twice or a storage declared two ways is refused as
 * ambiguous. Every error names the file and the tensor, zip record or pickle byte offset.
 *
 * @example
 * const entries = parseTorchCheckpoint(await readFile('model_ctr_2022.pth'), 'model_ctr_2022.pth');
 */
export function parseTorchCheckpoint(bytes: Uint8Array, file = '<bytes>'): SafetensorsEntry[] {
  try {
    return parseArchive(bytes, file);
  } catch (e) {
    if (e instanceof TorchCheckpointError) throw e;
    throw new TorchCheckpointError(file, `unexpected error while reading the archive (${errorText(e)})`);
  }
}

function parseArchive(bytes: Uint8Array, file: string): SafetensorsEntry[] {
  if (isLegacyTorch(bytes)) {
    throw new TorchCheckpointError(file, 'this is the legacy (pre-1.6) torch.save format; re-save it with a current PyTorch: torch.save(torch.load(f), f2)');
  }
  if (!isZip(bytes)) throw new TorchCheckpointError(file, 'not a zip archive (torch.save writes one since PyTorch 1.6)');
  checkZipRecordCount(bytes, file);
  const budget = { inflate: MAX_INFLATED_BYTES, held: bytes.length };
  const head = unzipRecords(bytes, file, (n) => /^[^/]+\/(data\.pkl|byteorder)$/.test(n), budget);
  const pkls = [...head.keys()].filter((n) => n.endsWith('/data.pkl'));
  if (pkls.length === 0) throw new TorchCheckpointError(file, 'no <archive>/data.pkl record: not a torch.save file');
  if (pkls.length > 1) throw new TorchCheckpointError(file, `${pkls.length} data.pkl records (${pkls.slice(0, 4).map(describeValue).join(', ')}): which one is the checkpoint is ambiguous`);
  const pkl = pkls[0]!;
  const prefix = pkl.slice(0, -'data.pkl'.length);
  const order = head.get(`${prefix}byteorder`);
  if (order !== undefined && new TextDecoder().decode(order).trim() !== 'little') {
    throw new TorchCheckpointError(file, 'saved on a big-endian machine; re-save it on a little-endian one (x86, ARM)');
  }
  const root = unpickle(head.get(pkl)!, file);
  const items = root instanceof OrderedDictValue ? root.items : root instanceof Map ? root : null;
  if (items === null) throw new TorchCheckpointError(file, 'the pickle is not a dict of tensors (save model.state_dict(), not the model)');

  // Every name, storage and view is checked before any tensor is allocated.
  const tensors: { name: string; value: TensorValue; size: number }[] = [];
  const storages = new Map<string, StorageRef>();
  for (const [name, value] of items) {
    if (typeof name !== 'string') throw new TorchCheckpointError(file, `a key ${describeValue(name)} is not a string`);
    if (!(value instanceof TensorValue)) throw new TorchCheckpointError(file, `'${truncate(name)}' is not a tensor`);
    const s = value.storage;
    const prev = storages.get(s.key);
    if (prev !== undefined && (prev.kind !== s.kind || prev.numel !== s.numel)) {
      const what = `storage ${describeValue(s.key)} is declared as ${s.numel} ${s.kind} elements here and as ${prev.numel} ${prev.kind} elements by another tensor`;
      throw tensorError(file, name, what);
    }
    storages.set(s.key, s);
    tensors.push({ name, value, size: 0 });
  }
  const records = unzipRecords(bytes, file, (n) => n.startsWith(`${prefix}data/`) && storages.has(n.slice(prefix.length + 5)), budget);
  let stored = 0;
  for (const s of storages.values()) stored += s.numel;
  const allowed = MAX_VIEW_REPEAT * stored + MAX_VIEW_SLACK;
  let total = 0;
  for (const t of tensors) {
    const { key, kind, numel } = t.value.storage;
    const record = records.get(`${prefix}data/${key}`);
    if (record === undefined) throw tensorError(file, t.name, `storage record data/${truncate(key)} is missing`);
    const need = numel * STORAGES[kind].bytes;
    if (record.length !== need) {
      throw tensorError(file, t.name, `storage record data/${truncate(key)} holds ${record.length} bytes, but its id declares ${numel} ${kind} elements (${need} bytes)`);
    }
    t.size = checkView(t.value, t.name, file);
    total += t.size;
    if (total > allowed) {
      const what =
        `shape [${t.value.shape}] and stride [${t.value.stride}] make ${t.size} elements, and the tensors so far ${total}, ` +
        `from ${stored} stored elements: views repeating stored elements (stride 0 or overlapping) may hold at most ` +
        `${MAX_VIEW_REPEAT}x the stored elements + ${MAX_VIEW_SLACK}, ${allowed} here`;
      throw tensorError(file, t.name, what);
    }
  }
  return tensors.map((t) => {
    const { dtype, data } = readTensor(t.value, t.size, records.get(`${prefix}data/${t.value.storage.key}`)!, t.name, file);
    return { name: t.name, dtype, shape: t.value.shape, data };
  });
}
