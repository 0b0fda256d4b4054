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
interface StorageRef {
  readonly kind: StorageKind;
  readonly key: string;
  readonly numel: number;
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
    pos += n;
    return utf8.decode(data.subarray(pos - n, pos));
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
      fail(`refusing global '${g.qualified}': a state dict holds only an OrderedDict of tensors (${[...ALLOWED_GLOBALS].join(', ')})`);
    }
    return g;
  };
  const setItem = (target: unknown, key: unknown, value: unknown): void => {
    if (target instanceof OrderedDictValue) target.items.set(key, value);
    else if (target instanceof Map) target.set(key, value);
    else fail('SETITEM on something that is not a dict');
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
      case 0x65: { const items = popMark(); const l = stack.at(-1); if (!Array.isArray(l)) fail('APPENDS to a non-list'); (l as unknown[]).push(...items); break; } // APPENDS
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
  if (!Array.isArray(pid) || pid.length !== 5 || pid[0] !== 'storage') fail(`unsupported persistent id ${JSON.stringify(pid)}`);
  const [, type, key, , numel] = pid as [string, unknown, unknown, unknown, unknown];
  if (!(type instanceof Global) || type.module !== 'torch' || !(type.name in STORAGES)) fail('a storage of an unsupported type');
  if (typeof key !== 'string' || !Number.isInteger(numel) || (numel as number) < 0) fail('a malformed storage id');
  return { kind: (type as Global).name as StorageKind, key: key as string, numel: numel as number };
}

function reduce(fn: unknown, args: unknown, fail: (what: string) => never): unknown {
  if (!(fn instanceof Global) || !Array.isArray(args)) return fail('REDUCE of something that is not an allowed global');
  if (fn.qualified === 'collections.OrderedDict') {
    if (args.length !== 0) fail('OrderedDict called with arguments');
    return new OrderedDictValue();
  }
  if (fn.qualified === 'torch._utils._rebuild_tensor_v2') {
    // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
    const [storage, offset, size, stride] = args as unknown[];
    const ints = (v: unknown): v is number[] => Array.isArray(v) && v.every((d) => Number.isInteger(d) && d >= 0);
    if (!(storage && typeof storage === 'object' && 'kind' in storage) || !Number.isInteger(offset) || !ints(size) || !ints(stride) || size.length !== stride.length) {
      fail('_rebuild_tensor_v2 with malformed arguments');
    }
    return new TensorValue(storage as StorageRef, offset as number, size as number[], stride as number[]);
  }
  return fail(`refusing to call '${fn.qualified}'`);
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac === 0 ? sign * Infinity : NaN;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** A tensor's elements in row-major order, read through its offset and strides. */
function readTensor(t: TensorValue, bytes: Uint8Array, name: string, file: string): { dtype: SafetensorsDType; data: TypedArray } {
  const { kind, numel } = t.storage;
  const spec = STORAGES[kind];
  if (bytes.length < numel * spec.bytes) throw new TorchCheckpointError(file, `tensor '${name}': its storage holds ${bytes.length} bytes, fewer than ${numel} ${kind} elements`);
  const size = t.shape.reduce((a, b) => a * b, 1);
  // The furthest element the strides reach must lie inside the storage (a view may share it).
  const last = t.offset + t.shape.reduce((acc, d, i) => acc + (d > 0 ? (d - 1) * t.stride[i]! : 0), 0);
  if (size > 0 && last >= numel) throw new TorchCheckpointError(file, `tensor '${name}': offset ${t.offset}, shape [${t.shape}] and stride [${t.stride}] reach past its storage of ${numel} elements`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const read = (i: number): number => {
    const at = i * spec.bytes;
    switch (kind) {
      case 'FloatStorage': return view.getFloat32(at, true);
      case 'DoubleStorage': return view.getFloat64(at, true);
      case 'HalfStorage': return halfToFloat(view.getUint16(at, true));
      case 'BFloat16Storage': return new Float32Array(new Uint32Array([view.getUint16(at, true) << 16]).buffer)[0]!;
      case 'LongStorage': {
        const v = view.getBigInt64(at, true);
        if (v > 2147483647n || v < -2147483648n) throw new TorchCheckpointError(file, `tensor '${name}': int64 value ${v} is outside the int32 range`);
        return Number(v);
      }
      case 'IntStorage': return view.getInt32(at, true);
      case 'BoolStorage': return bytes[i]! ? 1 : 0;
    }
  };
  const out = spec.file === 'F32' ? new Float32Array(size) : spec.file === 'F64' ? new Float64Array(size) : new Int32Array(size);
  const idx = new Array<number>(t.shape.length).fill(0);
  for (let e = 0; e < size; e++) {
    let at = t.offset;
    for (let d = 0; d < idx.length; d++) at += idx[d]! * t.stride[d]!;
    out[e] = read(at);
    for (let d = idx.length - 1; d >= 0; d--) {
      if (++idx[d]! < t.shape[d]!) break;
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
 * The tensors of a `torch.save(state_dict)` file, in the dict's order, as safetensors-like
 * entries (float16/bfloat16 widened to F32, int64 range-checked into int32, bool as 0/1).
 * Views of one storage (shared or non-contiguous) are read through their strides. Refuses
 * anything but a state dict, legacy (pre-1.6) files and big-endian files, saying how to
 * re-save them.
 *
 * @example
 * const entries = parseTorchCheckpoint(await readFile('model_ctr_2022.pth'), 'model_ctr_2022.pth');
 */
export function parseTorchCheckpoint(bytes: Uint8Array, file = '<bytes>'): SafetensorsEntry[] {
  if (isLegacyTorch(bytes)) {
    throw new TorchCheckpointError(file, 'this is the legacy (pre-1.6) torch.save format; re-save it with a current PyTorch: torch.save(torch.load(f), f2)');
  }
  if (!isZip(bytes)) throw new TorchCheckpointError(file, 'not a zip archive (torch.save writes one since PyTorch 1.6)');
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(bytes);
  } catch (e) {
    throw new TorchCheckpointError(file, `the zip archive cannot be read (${(e as Error).message})`);
  }
  const pkl = Object.keys(files).find((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pkl === undefined) throw new TorchCheckpointError(file, 'no <archive>/data.pkl record: not a torch.save file');
  const prefix = pkl.slice(0, -'data.pkl'.length);
  const order = files[`${prefix}byteorder`];
  if (order !== undefined && new TextDecoder().decode(order).trim() !== 'little') {
    throw new TorchCheckpointError(file, 'saved on a big-endian machine; re-save it on a little-endian one (x86, ARM)');
  }
  const root = unpickle(files[pkl]!, file);
  const items = root instanceof OrderedDictValue ? root.items : root instanceof Map ? root : null;
  if (items === null) throw new TorchCheckpointError(file, 'the pickle is not a dict of tensors (save model.state_dict(), not the model)');
  const entries: SafetensorsEntry[] = [];
  for (const [name, value] of items) {
    if (typeof name !== 'string') throw new TorchCheckpointError(file, `a key ${JSON.stringify(name)} is not a string`);
    if (!(value instanceof TensorValue)) throw new TorchCheckpointError(file, `'${name}' is not a tensor`);
    const storage = files[`${prefix}data/${value.storage.key}`];
    if (storage === undefined) throw new TorchCheckpointError(file, `tensor '${name}': storage record data/${value.storage.key} is missing`);
    const { dtype, data } = readTensor(value, storage, name, file);
    entries.push({ name, dtype, shape: value.shape, data });
  }
  return entries;
}
