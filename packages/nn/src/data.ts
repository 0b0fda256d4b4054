// Datasets and batching with PyTorch's names and semantics (torch.utils.data): `Dataset`
// (getItem + length), `TensorDataset` (rows of tensors), and `DataLoader` (batch size, a
// seeded shuffle through a Generator drawn anew each epoch, drop-last, collating samples into
// tensors on the current backend). Batches are built on the host and uploaded once.

import { defaultGenerator, fromTypedArray, randperm, Tensor, type DType, type Generator, type TypedArray } from '@aitm/tensor';

/**
 * A map-style dataset, like `torch.utils.data.Dataset`: `length` samples, `getItem(i)` the i-th
 * (PyTorch's `__len__` and `__getitem__`).
 *
 * @example
 * class Squares extends Dataset<[number, number]> {
 *   get length() { return 100; }
 *   getItem(i: number): [number, number] { return [i, i * i]; }
 * }
 * for (const [x, y] of new DataLoader(new Squares(), { batchSize: 10 })) { ... } // x, y: float32 [10]
 */
export abstract class Dataset<T> {
  /** How many samples the dataset holds (`__len__`). */
  abstract get length(): number;
  /** The sample at `index`, 0 <= index < length (`__getitem__`). */
  abstract getItem(index: number): T;
}

/** What the default collate stacks: numbers, vectors, tensors, and tuples or records of them. */
export type Sample = number | TypedArray | readonly number[] | Tensor | readonly Sample[] | { readonly [key: string]: Sample };

/** The batch the default collate makes of samples of type T: each leaf becomes a tensor with a leading batch axis. */
export type Collated<T> = T extends number | TypedArray | readonly number[] | Tensor
  ? Tensor
  : T extends readonly unknown[]
    ? { -readonly [K in keyof T]: Collated<T[K]> }
    : T extends object
      ? { -readonly [K in keyof T]: Collated<T[K]> }
      : never;

/**
 * Rows of tensors, like `torch.utils.data.TensorDataset`: sample i is `[t0[i], t1[i], ...]`
 * (each a tensor of the row's shape). The tensors must hold the same number of rows and be
 * readable synchronously (cpu or wasm; `await t.to('cpu')` moves a GPU tensor); their values
 * are copied once, here. A `DataLoader` over it gathers whole batches of rows at once.
 *
 * @example
 * const ds = new TensorDataset(randn([100, 4]), tensor(labels, { shape: [100, 1] }));
 * const loader = new DataLoader(ds, { batchSize: 32, shuffle: true, generator: new Generator(0) });
 */
export class TensorDataset extends Dataset<Tensor[]> {
  private readonly columns: { data: TypedArray; rowShape: readonly number[]; rowSize: number; dtype: DType }[];
  readonly length: number;

  constructor(...tensors: Tensor[]) {
    super();
    if (tensors.length === 0) throw new Error('TensorDataset: give at least one tensor');
    const n = tensors[0]!.shape[0];
    if (n === undefined) throw new Error('TensorDataset: tensors need a first (row) dimension; got a 0-d tensor');
    this.length = n;
    this.columns = tensors.map((t, k) => {
      if (t.shape[0] !== n) throw new Error(`TensorDataset: size mismatch between tensors: tensor 0 has ${n} rows, tensor ${k} has ${t.shape[0] ?? 'none'}`);
      if (t.backendName === 'webgpu') throw new Error(`TensorDataset: tensor ${k} is on webgpu, which cannot be read synchronously; move it first: await t.to('cpu')`);
      const rowShape = t.shape.slice(1);
      return { data: t.dataSync(), rowShape, rowSize: rowShape.reduce((a, b) => a * b, 1), dtype: t.dtype };
    });
  }

  /** Row `index` of every tensor (each its shape without the first axis), on the current backend. */
  getItem(index: number): Tensor[] {
    return this.gather([this.check(index)]).map((t) => t.reshape(t.shape.slice(1)));
  }

  /** @internal The rows at `indices` of every tensor, as batch tensors on the current backend (DataLoader's fast path). */
  gather(indices: readonly number[]): Tensor[] {
    return this.columns.map(({ data, rowShape, rowSize, dtype }) => {
      const out = new (data.constructor as new (n: number) => TypedArray)(indices.length * rowSize);
      indices.forEach((r, b) => out.set(data.subarray(r * rowSize, (r + 1) * rowSize), b * rowSize));
      return fromTypedArray(out, [indices.length, ...rowShape], dtype);
    });
  }

  private check(i: number): number {
    if (!Number.isInteger(i) || i < -this.length || i >= this.length) throw new Error(`TensorDataset: index ${i} is out of range for ${this.length} rows`);
    return i < 0 ? i + this.length : i;
  }
}

/** A DataLoader's settings, with PyTorch's names and defaults. */
export interface DataLoaderOptions<T, B> {
  /** Samples per batch (default 1, as PyTorch). */
  batchSize?: number;
  /** A new random order every epoch (each iteration over the loader); default false. */
  shuffle?: boolean;
  /** The generator the shuffle draws from (default: the global one, see `manualSeed`). */
  generator?: Generator;
  /** Leave out the last batch when it is smaller than `batchSize` (default false). */
  dropLast?: boolean;
  /** Makes a batch of samples (PyTorch's `collate_fn`); the default stacks them into tensors (`defaultCollate`). */
  collate?: (samples: T[]) => B;
}

/**
 * Batches of a dataset, like `torch.utils.data.DataLoader` (single process): iterate it once
 * per epoch; with `shuffle` each epoch draws a new permutation (`randperm`) from `generator`,
 * so a seeded generator gives the same batches on every run. Batches are tensors on the
 * current backend, made when drawn and owned by the caller: dispose them (or make them in a
 * `tidy` scope) when the step is done.
 *
 * @example
 * const loader = new DataLoader(new TensorDataset(x, y), { batchSize: 64, shuffle: true, generator: new Generator(42) });
 * for (let epoch = 0; epoch < 3; epoch++) {
 *   for (const [xb, yb] of loader) {
 *     tidy(() => { opt.zeroGrad(); bce(sigmoid(model.forward(xb!)), yb!).backward(); opt.step(); });
 *     xb!.dispose(); yb!.dispose();
 *   }
 * }
 */
export class DataLoader<T, B = Collated<T>> implements Iterable<B> {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  private readonly generator: Generator | undefined;
  private readonly collate: ((samples: T[]) => B) | undefined;

  constructor(
    readonly dataset: Dataset<T>,
    opts: DataLoaderOptions<T, B> = {},
  ) {
    this.batchSize = opts.batchSize ?? 1;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) throw new Error(`DataLoader: batchSize must be a positive integer, got ${this.batchSize}`);
    this.shuffle = opts.shuffle ?? false;
    this.dropLast = opts.dropLast ?? false;
    this.generator = opts.generator;
    this.collate = opts.collate;
  }

  /** The number of batches per epoch (PyTorch's `len(loader)`). */
  get length(): number {
    const n = this.dataset.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The sample order of one epoch (a permutation when shuffling, drawn now). */
  private order(): Int32Array {
    const n = this.dataset.length;
    if (!this.shuffle) return Int32Array.from({ length: n }, (_, i) => i);
    const perm = randperm(n, { generator: this.generator ?? defaultGenerator(), backend: 'cpu' });
    const out = perm.dataSync() as Int32Array;
    perm.dispose();
    return out;
  }

  /** One epoch's batches, in order or (with `shuffle`) in a fresh seeded permutation. */
  *[Symbol.iterator](): Iterator<B> {
    const order = this.order();
    for (let b = 0; b < this.length; b++) {
      const indices = Array.from(order.subarray(b * this.batchSize, Math.min(order.length, (b + 1) * this.batchSize)));
      if (this.collate === undefined && this.dataset instanceof TensorDataset) {
        yield this.dataset.gather(indices) as B;
        continue;
      }
      const samples = indices.map((i) => this.dataset.getItem(i));
      yield this.collate !== undefined ? this.collate(samples) : (defaultCollate(samples) as unknown as B);
    }
  }
}

/**
 * PyTorch's `default_collate`: stacks samples into tensors with a leading batch axis, on the
 * current backend. A number becomes a float32 element; a number[] or Float32Array a float32
 * row (an Int32Array an int32 row, a Float64Array a float64 one); a tensor keeps its dtype
 * (it must be readable synchronously: cpu or wasm); a tuple (an array holding anything but
 * numbers) or a record is collated field by field. (PyTorch makes Python ints int64: give
 * class ids as an Int32Array or an int32 tensor.)
 *
 * @example
 * defaultCollate([{ x: [1, 2], y: 0 }, { x: [3, 4], y: 1 }]); // { x: float32 [2, 2], y: float32 [2] }
 */
export function defaultCollate<T>(samples: readonly T[]): Collated<T> {
  if (samples.length === 0) throw new Error('defaultCollate: no samples');
  const batch: unknown = collate(samples as unknown as readonly Sample[], 'batch');
  return batch as Collated<T>;
}

function isNumberArray(s: Sample): s is readonly number[] {
  return Array.isArray(s) && s.every((v) => typeof v === 'number');
}

function collate(samples: readonly Sample[], where: string): unknown {
  const first = samples[0]!;
  if (typeof first === 'number') return fromTypedArray(Float32Array.from(samples as number[]), [samples.length], 'float32');
  if (first instanceof Tensor) {
    const ts = samples as Tensor[];
    const size = first.size;
    const out = new (first.dataSync().constructor as new (n: number) => TypedArray)(size * ts.length);
    ts.forEach((t, i) => {
      if (!(t instanceof Tensor) || t.shape.join() !== first.shape.join() || t.dtype !== first.dtype) {
        throw new Error(`defaultCollate: ${where}: sample ${i} is not a ${first.dtype} tensor of shape [${first.shape.join(',')}] as sample 0 is`);
      }
      out.set(t.dataSync(), i * size);
    });
    return fromTypedArray(out, [ts.length, ...first.shape], first.dtype);
  }
  if (ArrayBuffer.isView(first) || isNumberArray(first)) {
    const rows = samples as readonly (TypedArray | readonly number[])[];
    const len = rows[0]!.length;
    const dtype: DType = first instanceof Int32Array ? 'int32' : first instanceof Float64Array ? 'float64' : 'float32';
    const out = dtype === 'int32' ? new Int32Array(len * rows.length) : dtype === 'float64' ? new Float64Array(len * rows.length) : new Float32Array(len * rows.length);
    rows.forEach((r, i) => {
      if (r.length !== len) throw new Error(`defaultCollate: ${where}: sample ${i} has ${r.length} values, sample 0 has ${len}`);
      out.set(r, i * len);
    });
    return fromTypedArray(out, [rows.length, len], dtype);
  }
  if (Array.isArray(first)) {
    return (first as readonly Sample[]).map((_, k) => collate(samples.map((s) => (s as readonly Sample[])[k]!), `${where}[${k}]`));
  }
  const rec = first as { readonly [key: string]: Sample };
  return Object.fromEntries(Object.keys(rec).map((k) => [k, collate(samples.map((s) => (s as { readonly [key: string]: Sample })[k]!), `${where}.${k}`)]));
}
