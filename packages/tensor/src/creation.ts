// Making tensors: from JS data, constants, ranges and seeded random numbers. Everything is
// built on the host and uploaded once, so creation works the same on every backend.

import { allocArray, dtypeOfArray, toTypedArray, type DType, type TypedArray } from './dtype.js';
import { assertShape, fmtShape, sizeOf, type Shape } from './shape.js';
import { currentBackend, getBackend, type AnyBackend, type BackendName } from './backend.js';
import { Storage, Tensor, type NestedArray } from './tensor.js';
import { defaultGenerator, type Generator } from './random.js';

/** Where and how a new tensor is made: dtype, backend, and whether it requires grad. */
export interface CreateOptions {
  /** Default float32 (int32 for an Int32Array, float64 for a Float64Array). */
  dtype?: DType;
  /** Default: the current backend (see `setBackend`). */
  backend?: BackendName;
  /** Make it a leaf whose gradient is wanted (floating-point dtypes only). */
  requiresGrad?: boolean;
}

/** `tensor`'s options: `CreateOptions` and the shape of flat data. */
export interface TensorOptions extends CreateOptions {
  /** Required when `data` is flat and the tensor is not 1-D. */
  shape?: readonly number[];
}

/**
 * `src` as a typed array of `dtype`; for int32, values that are NaN, infinite or outside the
 * int32 range are refused naming `op`, the value and its index (as PyTorch refuses them);
 * fractions truncate toward zero, as torch does.
 */
function hostArray(op: string, src: ArrayLike<number>, dtype: DType): TypedArray {
  if (dtype === 'int32' && !(src instanceof Int32Array)) {
    for (let i = 0; i < src.length; i++) assertInt32(op, src[i]!, i);
  }
  return toTypedArray(src, dtype);
}

function assertInt32(op: string, v: number, index: number): void {
  if (!(v >= -2147483648 && v <= 2147483647)) {
    throw new Error(`${op}: value ${v} at index ${index} cannot be converted to int32 (NaN, infinite or outside [-2147483648, 2147483647])`);
  }
}

function resolveBackend(name: BackendName | undefined): AnyBackend {
  return name === undefined ? currentBackend() : getBackend(name);
}

/** Wraps a host typed array (copied or adopted) as a tensor on `backend`. */
export function fromTypedArray(data: TypedArray, shape: Shape, dtype: DType, opts: CreateOptions = {}): Tensor {
  assertShape('tensor', shape);
  if (sizeOf(shape) !== data.length) {
    throw new Error(`tensor: ${data.length} values cannot fill shape ${fmtShape(shape)} (${sizeOf(shape)} elements)`);
  }
  const backend = resolveBackend(opts.backend);
  if (dtype === 'float64' && !backend.supportsFloat64) {
    throw new Error(`tensor: float64 is only supported on the cpu backend, not ${backend.name}`);
  }
  const typed = dtypeOfArray(data) === dtype ? data : hostArray('tensor', data, dtype);
  const handle = (backend.fromHost as (d: TypedArray, t: DType) => unknown)(typed, dtype);
  const t = new Tensor(new Storage(backend, handle), shape, dtype);
  if (opts.requiresGrad) t.requireGrad();
  return t;
}

/**
 * A tensor from a number, nested arrays, or a flat array / typed array plus `shape`. For
 * int32, fractions truncate toward zero (as torch); NaN, infinities and values outside the
 * int32 range are refused, naming the value and its index (torch raises on overflow).
 *
 * @example
 * const x = tensor([[1, 2], [3, 4]]);                  // float32 [2,2]
 * const ids = tensor([3, 1, 4], { dtype: 'int32' });
 * const w = tensor(new Float64Array(6), { shape: [2, 3] });
 */
export function tensor(data: number | NestedArray | ArrayLike<number>, opts: TensorOptions = {}): Tensor {
  let flat: ArrayLike<number>;
  let shape: number[];
  if (typeof data === 'number') {
    flat = [data];
    shape = [];
  } else if (ArrayBuffer.isView(data) || !Array.isArray(data) || !data.some(Array.isArray)) {
    flat = data as ArrayLike<number>;
    shape = [flat.length];
  } else {
    shape = inferShape(data);
    flat = (data as unknown[]).flat(Infinity as 1) as number[];
    if (flat.length !== sizeOf(shape)) throw new Error(`tensor: nested arrays are ragged (expected shape ${fmtShape(shape)})`);
  }
  if (opts.shape !== undefined) shape = [...opts.shape];
  assertShape('tensor', shape);
  const dtype = opts.dtype ?? (ArrayBuffer.isView(flat) ? dtypeOfArray(flat as TypedArray) : 'float32');
  const typed = ArrayBuffer.isView(flat) && dtypeOfArray(flat as TypedArray) === dtype ? (flat as TypedArray).slice() : hostArray('tensor', flat, dtype);
  return fromTypedArray(typed, shape, dtype, opts);
}

function inferShape(data: NestedArray): number[] {
  const shape: number[] = [];
  let cur: NestedArray = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = cur[0] ?? 0;
  }
  return shape;
}

function fullNamed(op: string, shape: readonly number[], value: number, opts: CreateOptions): Tensor {
  assertShape(op, shape);
  const dtype = opts.dtype ?? 'float32';
  if (dtype === 'int32') assertInt32(op, value, 0);
  const data = allocArray(dtype, sizeOf(shape));
  if (value !== 0) data.fill(dtype === 'bool' ? 1 : value);
  return fromTypedArray(data, shape, dtype, opts);
}

/** A tensor of `shape` filled with `value` (refused for int32 if it does not fit), like `torch.full`. */
export function full(shape: readonly number[], value: number, opts: CreateOptions = {}): Tensor {
  return fullNamed('full', shape, value, opts);
}

/** A tensor of `shape` filled with zeros, like `torch.zeros`. */
export function zeros(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  return fullNamed('zeros', shape, 0, opts);
}

/** A tensor of `shape` filled with ones, like `torch.ones`. */
export function ones(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  return fullNamed('ones', shape, 1, opts);
}

/** A constant with `like`'s shape, dtype and backend. */
export function fullLike(like: Tensor, value: number): Tensor {
  return full(like.shape, value, { dtype: like.dtype, backend: like.backendName });
}
/** Zeros with `like`'s shape, dtype and backend, like `torch.zeros_like`. */
export const zerosLike = (like: Tensor): Tensor => fullLike(like, 0);
/** Ones with `like`'s shape, dtype and backend, like `torch.ones_like`. */
export const onesLike = (like: Tensor): Tensor => fullLike(like, 1);

/** A 0-d tensor holding `value`, matching `like`'s dtype and backend (used for scalar operands). */
export function scalarLike(like: Tensor, value: number): Tensor {
  return full([], value, { dtype: like.dtype, backend: like.backendName });
}

/** Values start, start+step, ... below end, like `torch.arange`. */
export function arange(start: number, end?: number, step = 1, opts: CreateOptions = {}): Tensor {
  if (end === undefined) [start, end] = [0, start];
  if (step === 0) throw new Error('arange: step must not be 0');
  const n = Math.max(0, Math.ceil((end - start) / step));
  const dtype = opts.dtype ?? (Number.isInteger(start) && Number.isInteger(step) ? 'int32' : 'float32');
  if (dtype === 'int32' && n > 0) {
    assertInt32('arange', start, 0);
    assertInt32('arange', start + (n - 1) * step, n - 1);
  }
  const data = allocArray(dtype, n);
  for (let i = 0; i < n; i++) data[i] = start + i * step;
  return fromTypedArray(data, [n], dtype, opts);
}

/** Random creation's options: `CreateOptions` and the generator to draw from. */
export interface RandomOptions extends CreateOptions {
  /** Defaults to the global generator (see `manualSeed`). */
  generator?: Generator;
}

/** Uniform in [low, high), from the seeded generator. */
export function rand(shape: readonly number[], opts: RandomOptions & { low?: number; high?: number } = {}): Tensor {
  assertShape('rand', shape);
  const g = opts.generator ?? defaultGenerator();
  const dtype = opts.dtype ?? 'float32';
  const low = opts.low ?? 0;
  const span = (opts.high ?? 1) - low;
  const data = allocArray(dtype, sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = low + span * g.uniform();
  return fromTypedArray(data, shape, dtype, opts);
}

/** Normal(mean, std), from the seeded generator. */
export function randn(shape: readonly number[], opts: RandomOptions & { mean?: number; std?: number } = {}): Tensor {
  assertShape('randn', shape);
  const g = opts.generator ?? defaultGenerator();
  const dtype = opts.dtype ?? 'float32';
  const mean = opts.mean ?? 0;
  const std = opts.std ?? 1;
  const data = allocArray(dtype, sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = mean + std * g.normal();
  return fromTypedArray(data, shape, dtype, opts);
}

/** Uniform integers in [low, high), int32. */
export function randint(low: number, high: number, shape: readonly number[], opts: RandomOptions = {}): Tensor {
  assertShape('randint', shape);
  const g = opts.generator ?? defaultGenerator();
  const data = new Int32Array(sizeOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = low + g.int(high - low);
  return fromTypedArray(data, shape, 'int32', opts);
}

/**
 * A random permutation of 0 .. n-1 (int32), like `torch.randperm`: a Fisher-Yates shuffle
 * drawn from the seeded generator, so the same generator state gives the same permutation on
 * every machine. A creation function (built on the host and uploaded), not an op.
 *
 * @example
 * randperm(5, { generator: new Generator(0) }); // the same 5-element permutation every run
 */
export function randperm(n: number, opts: RandomOptions = {}): Tensor {
  if (!Number.isInteger(n) || n < 0 || n > 2147483647) throw new Error(`randperm: n must be an integer in [0, 2^31 - 1], got ${n}`);
  const g = opts.generator ?? defaultGenerator();
  const data = new Int32Array(n);
  for (let i = 0; i < n; i++) data[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = g.int(i + 1);
    const t = data[i]!;
    data[i] = data[j]!;
    data[j] = t;
  }
  if (opts.dtype !== undefined && opts.dtype !== 'int32') throw new Error(`randperm: dtype must be int32, got ${opts.dtype}`);
  return fromTypedArray(data, [n], 'int32', opts);
}
