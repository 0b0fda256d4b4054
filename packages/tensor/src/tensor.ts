// The Tensor: shape + dtype + a reference-counted block of backend storage, plus the
// autograd fields (requiresGrad, grad, and the graph node that produced it).
// Op methods are thin forwards to the functions in ./ops so that `x.add(y)` and `add(x, y)`
// are the same code. The ops import this class, so it cannot import them: methods.ts
// installs the table of functions the methods call (as tfjs installs its chained ops).

import { isFloat, type DType, type TypedArray } from './dtype.js';
import { fmtShape, sizeOf, type Shape } from './shape.js';
import type { AnyBackend, BackendName } from './backend.js';
import { keep, trackTensor, untrackTensor } from './memory.js';
import type { GradHook, GraphNode } from './graph.js';
import type { backward, BackwardOptions } from './autograd.js';
import type * as Ops from './ops/index.js';
import type { fromTypedArray } from './creation.js';
import { formatTensor } from './format.js';

/** What the Tensor methods call: every op function, the backward pass and host-to-backend upload. */
export type TensorMethodTable = typeof Ops & { readonly backward: typeof backward; readonly fromTypedArray: typeof fromTypedArray };

let methods: TensorMethodTable | null = null;

/** @internal Installs the functions behind the Tensor methods (methods.ts does, once, on import of the package). */
export function installTensorMethods(table: TensorMethodTable): void {
  methods = table;
}

function ops(): TensorMethodTable {
  if (methods === null) {
    throw new Error("Tensor methods are not installed yet: import '@aitm/tensor' (its index) before calling them");
  }
  return methods;
}

/**
 * Storage shared by a tensor and its zero-copy views (reshape, detach). A sub-range view
 * (`Storage.slice`) holds its parent alive and, when released, releases the parent rather
 * than freeing memory it does not own.
 */
export class Storage {
  refs = 1;
  /**
   * Bumped by every in-place write to this memory (kept on the root, so views share it, as
   * PyTorch's version counter is shared by views). Backward compares it with the version an
   * op saved, so a gradient is never computed from values overwritten since the forward pass.
   */
  version = 0;
  constructor(
    readonly backend: AnyBackend,
    readonly handle: unknown,
    readonly parent: Storage | null = null,
  ) {}

  retain(): this {
    this.refs++;
    return this;
  }

  release(): void {
    if (--this.refs !== 0) return;
    if (this.parent !== null) this.parent.release();
    else (this.backend.free as (h: unknown) => void)(this.handle);
  }

  /** Storage aliasing elements [offset, offset + size) of this one (retains this). */
  slice(offset: number, size: number, dtype: DType): Storage {
    const view = (this.backend.view as (h: unknown, o: number, n: number, d: DType) => unknown)(this.handle, offset, size, dtype);
    return new Storage(this.backend, view, this.retain());
  }

  /** The storage that owns the memory (itself unless a slice). */
  get root(): Storage {
    return this.parent === null ? this : this.parent.root;
  }

  /** Records an in-place write into this memory (see `version`). */
  bumpVersion(): void {
    this.root.version++;
  }
}

let nextId = 0;

export type Scalar = number;
/** An op operand: a tensor, or a number (made a 0-d tensor of the other operand's dtype). */
export type TensorLike = Tensor | number;

/**
 * An n-dimensional array on one backend (cpu, wasm or webgpu), with autograd fields.
 *
 * **Reading values is async**, because a GPU readback is: `await t.item()`, `await t.data()`,
 * `await t.toArray()`, `await t.print()`. `console.log(t.item())` prints `Promise { ... }`:
 * write `console.log(await t.item())`. On cpu and wasm `t.dataSync()`, `t.arraySync()` and
 * `String(t)` (PyTorch's `print(t)` text) read synchronously too.
 *
 * **Memory is freed deterministically, never by the garbage collector**: a tensor lives until
 * `dispose()` or the end of the `tidy` scope that made it. A training loop written as in
 * PyTorch (no `tidy`) leaks every intermediate: run each step in `tidy(() => ...)` (optimizers
 * warn when live tensors grow step after step; `trackLeaks(fn)` counts them).
 *
 * @example
 * const x = tensor([[1, 2], [3, 4]]);
 * console.log(String(x));                    // tensor([[1., 2.],\n        [3., 4.]])
 * console.log(await x.sum().item());         // 10 (await: reads are async on the GPU)
 * const loss = tidy(() => mean(x.mul(x)));   // intermediates freed, loss kept
 */
export class Tensor {
  /** The id the next tensor will get (ids only grow: backward uses this to tell its own tensors apart). */
  static peekNextId(): number {
    return nextId;
  }

  /** Marks tensors for `tidy` without an import cycle on the class. */
  readonly __isTensor = true;
  readonly id = nextId++;
  readonly shape: readonly number[];
  readonly size: number;
  /** True for tensors whose gradient is wanted: leaves set by the user, and their descendants. */
  requiresGrad = false;
  /** The node that produced this tensor, or null for leaves and untracked results. */
  node: GraphNode | null = null;
  /**
   * @internal Set on backward's own handles of a saved leaf value (double backward): ops on
   * the handle send their gradient to this leaf.
   */
  leafTarget: Tensor | null = null;
  /** @internal Set on backward's handles of saved values overwritten in place: reading them raises this. */
  staleError: string | null = null;
  /** @internal Gradient hooks of a leaf (a non-leaf's live on its node). */
  leafHooks: GradHook[] = [];
  private _grad: Tensor | null = null;
  private _storage: Storage | null;

  constructor(
    storage: Storage,
    shape: Shape,
    readonly dtype: DType,
  ) {
    this._storage = storage;
    this.shape = Object.freeze([...shape]);
    this.size = sizeOf(shape);
    trackTensor(this);
  }

  /** The number of dimensions (0 for a scalar). */
  get rank(): number {
    return this.shape.length;
  }

  /** The backend object holding the storage. */
  get backend(): AnyBackend {
    return this.storage.backend;
  }

  /** Where the storage lives: 'cpu', 'wasm' or 'webgpu'. */
  get backendName(): BackendName {
    return this.storage.backend.name;
  }

  /** The storage; throws if the tensor was disposed. */
  get storage(): Storage {
    if (this._storage === null) {
      throw new Error(`tensor ${fmtShape(this.shape)} ${this.dtype} was used after dispose()`);
    }
    return this._storage;
  }

  /** Whether `dispose()` (or the `tidy` that made it) has freed this tensor. */
  get isDisposed(): boolean {
    return this._storage === null;
  }

  /** Whether this tensor was made by the user rather than by an op on tracked inputs. */
  get isLeaf(): boolean {
    return this.node === null;
  }

  /**
   * The accumulated gradient of a leaf after `backward()`. Kept out of `tidy` scopes.
   * Assigning checks the shape and dtype (`x.grad = null` resets it between steps).
   */
  get grad(): Tensor | null {
    return this._grad;
  }

  /** Sets the gradient (same shape and dtype), or resets it with null. */
  set grad(g: Tensor | null) {
    if (g !== null) {
      if (g.dtype !== this.dtype || g.shape.length !== this.shape.length || g.shape.some((d, i) => d !== this.shape[i])) {
        throw new Error(
          `grad: assigned gradient ${fmtShape(g.shape)} ${g.dtype} does not match tensor ${fmtShape(this.shape)} ${this.dtype}`,
        );
      }
      keep(g);
    }
    this._grad = g;
  }

  /** Sets `requiresGrad` and returns this tensor, like `requires_grad_()` in PyTorch. */
  requireGrad(flag = true): this {
    if (flag && !isFloat(this.dtype)) throw new Error(`requireGrad: only floating-point tensors can require gradients, got ${this.dtype}`);
    this.requiresGrad = flag;
    return this;
  }

  /**
   * Frees this tensor's storage (shared storage is freed when its last view goes). Idempotent.
   * The autograd graph keeps what backward needs on its own: disposing an intermediate
   * (as `tidy` does) never breaks a later `backward()` through it.
   */
  dispose(): void {
    if (this._storage === null) return;
    this._storage.release();
    this._storage = null;
    this.node?.release();
    this.node = null;
    this.leafHooks = [];
    untrackTensor(this);
  }

  /**
   * Keeps this non-leaf tensor's gradient in `.grad` after backward (leaves always keep
   * theirs), like `retain_grad()` in PyTorch. Returns this tensor.
   *
   * @example
   * const h = x.mul(2); h.retainGrad(); h.sum().backward(); // h.grad: ones
   */
  retainGrad(): this {
    if (!this.requiresGrad) throw new Error(`retainGrad: tensor ${fmtShape(this.shape)} does not require grad`);
    if (this.node !== null) this.node.retainTarget = this;
    return this;
  }

  /**
   * Calls `hook(grad)` each time a gradient for this tensor is computed, before it is used
   * (a leaf: before it accumulates into `.grad`); a returned tensor of the same shape
   * replaces the gradient. Like `register_hook` in PyTorch. Returns a handle to remove it.
   *
   * @example
   * const h = w.registerHook((g) => g.mul(0.5)); // halve w's gradient
   * h.remove();
   */
  registerHook(hook: GradHook): {
    /** Removes the hook. */
    remove(): void;
  } {
    if (!this.requiresGrad) throw new Error(`registerHook: tensor ${fmtShape(this.shape)} does not require grad`);
    const list = this.node !== null ? this.node.hooks : this.leafHooks;
    list.push(hook);
    return {
      /** Removes the hook. */
      remove: () => {
        const i = list.indexOf(hook);
        if (i >= 0) list.splice(i, 1);
      },
    };
  }

  /**
   * Makes this tensor hold `value`'s values (for optimizers, checkpoint loads), keeping its
   * identity: it now shares `value`'s storage. Its old storage is not written, so a graph
   * that saved the old values still computes its gradient from them.
   */
  assign(value: Tensor): void {
    if (value.dtype !== this.dtype || value.size !== this.size || value.backendName !== this.backendName) {
      throw new Error(
        `assign: value ${fmtShape(value.shape)} ${value.dtype} on ${value.backendName} does not match ` +
          `${fmtShape(this.shape)} ${this.dtype} on ${this.backendName}`,
      );
    }
    const s = value.storage.retain();
    this.storage.release();
    this._storage = s;
  }

  /** A copy of the values, as a typed array. Async because GPU readback is. */
  async data(): Promise<TypedArray> {
    const s = this.storage;
    return (s.backend.toHost as (h: unknown, m: Tensor) => Promise<TypedArray>)(s.handle, this);
  }

  /** Synchronous copy of the values; only backends that can (CPU) support it. */
  dataSync(): TypedArray {
    const s = this.storage;
    return (s.backend.toHostSync as (h: unknown, m: Tensor) => TypedArray)(s.handle, this);
  }

  /** The value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`item: tensor has ${this.size} elements (shape ${fmtShape(this.shape)}), expected 1`);
    return (await this.data())[0]!;
  }

  /** The values as nested arrays (a number for a 0-d tensor). */
  async toArray(): Promise<NestedArray> {
    return nest(await this.data(), this.shape);
  }

  /** The values as nested arrays, synchronously (CPU and wasm only). */
  arraySync(): NestedArray {
    return nest(this.dataSync(), this.shape);
  }

  /**
   * Back-propagates from this tensor into the `.grad` of every leaf it depends on. Without a
   * gradient it must hold one element (a loss); otherwise pass the upstream gradient of the
   * same shape. The graph's saved values are freed as it goes unless `retainGraph`;
   * `createGraph` records the gradients' own graph (double backward).
   *
   * @example
   * loss.backward();
   * y.backward(dy, { retainGraph: true });
   */
  backward(gradient?: Tensor | BackwardOptions, options?: BackwardOptions): void {
    if (gradient !== undefined && !(gradient instanceof Tensor)) ops().backward(this, undefined, gradient);
    else ops().backward(this, gradient, options);
  }

  /**
   * This tensor on another backend (a copy; the same tensor when already there), cut from
   * the graph. Async because leaving the GPU needs a readback.
   */
  async to(backend: BackendName): Promise<Tensor> {
    if (backend === this.backendName) return this;
    return ops().fromTypedArray(await this.data(), this.shape, this.dtype, { backend });
  }

  /** A tensor sharing this one's storage, cut from the graph. */
  detach(): Tensor {
    return new Tensor(this.storage.retain(), this.shape, this.dtype);
  }

  /**
   * The values as PyTorch prints them, `tensor([[1., 2.],\n        [3., 4.]])` (summarised with
   * `...` past 1000 elements), where they can be read synchronously (cpu, wasm). A WebGPU
   * tensor's values need an async readback: this says so, and `await t.toStringAsync()` or
   * `await t.print()` gives them. `console.log(t)` in Node prints the same (util.inspect).
   *
   * @example
   * String(tensor([[1, 2], [3, 4]])); // 'tensor([[1., 2.],\n        [3., 4.]])'
   */
  toString(): string {
    if (this.isDisposed) return `Tensor(${fmtShape(this.shape)}, ${this.dtype}, disposed)`;
    if (this.backendName === 'webgpu') {
      return `Tensor(${fmtShape(this.shape)}, ${this.dtype}, webgpu: values on the GPU; await t.toStringAsync() or await t.print() reads them)`;
    }
    return this.formatWith(this.dataSync());
  }

  /**
   * The values as PyTorch prints them (see `toString`), on every backend (a GPU readback).
   *
   * @example
   * console.log(await t.toStringAsync());
   */
  async toStringAsync(): Promise<string> {
    return this.formatWith(await this.data());
  }

  /**
   * Prints the values as PyTorch's `print(t)` does, on every backend (a GPU readback: await it).
   *
   * @example
   * await loss.print(); // tensor(0.6931, grad_fn=<meanBackward>)
   */
  async print(): Promise<void> {
    console.log(await this.toStringAsync());
  }

  private formatWith(data: TypedArray): string {
    const extra: { device?: string; requiresGrad?: boolean; gradFn?: string } = { requiresGrad: this.requiresGrad };
    if (this.backendName !== 'cpu') extra.device = this.backendName;
    if (this.node !== null) extra.gradFn = `${this.node.def.name}Backward`;
    return formatTensor(data, this.shape, this.dtype, extra);
  }

  /** Node's `console.log(t)` / `util.inspect(t)`: the same as `toString()`. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return this.toString();
  }

  // --- op methods (see ./ops for documentation) ---
  /**
   * Elementwise `this + b`, broadcasting as NumPy (`add(this, b)`).
   *
   * @example
   * tensor([1, 2]).add(1) // [2, 3]
   */
  add(b: TensorLike): Tensor { return ops().add(this, b); }
  /** Elementwise `this - b`, broadcasting (`sub(this, b)`). */
  sub(b: TensorLike): Tensor { return ops().sub(this, b); }
  /**
   * Elementwise `this * b`, broadcasting (`mul(this, b)`).
   *
   * @example
   * x.mul(2)
   */
  mul(b: TensorLike): Tensor { return ops().mul(this, b); }
  /** Elementwise `this / b`, broadcasting (`div(this, b)`). */
  div(b: TensorLike): Tensor { return ops().div(this, b); }
  /** Elementwise `-this`. */
  neg(): Tensor { return ops().neg(this); }
  /**
   * Elementwise `this ** exponent` for a number exponent.
   *
   * @example
   * x.pow(2)
   */
  pow(exponent: number): Tensor { return ops().pow(this, exponent); }
  /** Elementwise `e ** this`. */
  exp(): Tensor { return ops().exp(this); }
  /** Elementwise natural logarithm. */
  log(): Tensor { return ops().log(this); }
  /** Elementwise square root. */
  sqrt(): Tensor { return ops().sqrt(this); }
  /** Elementwise absolute value. */
  abs(): Tensor { return ops().abs(this); }
  /** Elementwise `1 / (1 + exp(-this))`, computed without overflow. */
  sigmoid(): Tensor { return ops().sigmoid(this); }
  /** Elementwise `max(this, 0)` (NaN stays NaN). */
  relu(): Tensor { return ops().relu(this); }
  /** Elementwise hyperbolic tangent. */
  tanh(): Tensor { return ops().tanh(this); }
  /** Elementwise larger of `this` and `b`, broadcasting (NaN propagates). */
  maximum(b: TensorLike): Tensor { return ops().maximum(this, b); }
  /** Elementwise smaller of `this` and `b`, broadcasting (NaN propagates). */
  minimum(b: TensorLike): Tensor { return ops().minimum(this, b); }
  /** `this == b` elementwise: 1 or 0 in the inputs' dtype (no gradient). */
  eq(b: TensorLike): Tensor { return ops().eq(this, b); }
  /** `this != b` elementwise: 1 or 0 in the inputs' dtype. */
  ne(b: TensorLike): Tensor { return ops().ne(this, b); }
  /**
   * `this > b` elementwise: 1 or 0 in the inputs' dtype.
   *
   * @example
   * x.gt(0).mul(x) // relu by mask
   */
  gt(b: TensorLike): Tensor { return ops().gt(this, b); }
  /** `this < b` elementwise: 1 or 0 in the inputs' dtype. */
  lt(b: TensorLike): Tensor { return ops().lt(this, b); }
  /** `this >= b` elementwise: 1 or 0 in the inputs' dtype. */
  ge(b: TensorLike): Tensor { return ops().ge(this, b); }
  /** `this <= b` elementwise: 1 or 0 in the inputs' dtype. */
  le(b: TensorLike): Tensor { return ops().le(this, b); }
  /** Matrix product with PyTorch's `matmul` rules (1-D operands, broadcast batch dimensions). */
  matmul(b: Tensor): Tensor { return ops().matmul(this, b); }
  /** The same values in a new shape (one dimension may be -1); a zero-copy view. */
  reshape(shape: readonly number[]): Tensor { return ops().reshape(this, shape); }
  /** Broadcasts to `shape` (size-1 dimensions repeated, new ones in front). */
  expand(shape: readonly number[]): Tensor { return ops().expand(this, shape); }
  /** Swaps two dimensions (the last two by default). */
  transpose(dim0 = -2, dim1 = -1): Tensor { return ops().transpose(this, dim0, dim1); }
  /** Reorders the dimensions: output dimension i is input dimension `dims[i]`. */
  permute(dims: readonly number[]): Tensor { return ops().permute(this, dims); }
  /** Inserts a dimension of size 1 at `dim`. */
  unsqueeze(dim: number): Tensor { return ops().unsqueeze(this, dim); }
  /** Removes size-1 dimensions (all of them, or those named). */
  squeeze(dim?: number | readonly number[]): Tensor { return ops().squeeze(this, dim); }
  /**
   * Sum over `dims` (all by default), keeping them as size 1 with `keepdim`.
   *
   * @example
   * x.sum(-1, true)
   */
  sum(dims?: number | readonly number[] | null, keepdim = false): Tensor { return ops().sum(this, dims, keepdim); }
  /** Mean over `dims` (all by default). */
  mean(dims?: number | readonly number[] | null, keepdim = false): Tensor { return ops().mean(this, dims, keepdim); }
  /** Maximum over `dims` (all by default). */
  max(dims?: number | readonly number[] | null, keepdim = false): Tensor { return ops().max(this, dims, keepdim); }
  /** Minimum over `dims` (all by default). */
  min(dims?: number | readonly number[] | null, keepdim = false): Tensor { return ops().min(this, dims, keepdim); }
  /** Variance over `dims` with Bessel's `correction` (default 1), as `torch.var`. */
  variance(dims?: number | readonly number[] | null, opts?: { correction?: number; keepdim?: boolean }): Tensor { return ops().variance(this, dims, opts); }
  /** Standard deviation over `dims`, as `torch.std`. */
  std(dims?: number | readonly number[] | null, opts?: { correction?: number; keepdim?: boolean }): Tensor { return ops().std(this, dims, opts); }
  /** Index of the largest value along `dim` (of the flattened tensor by default), as int32. */
  argmax(dim: number | null = null, keepdim = false): Tensor { return ops().argmax(this, dim, keepdim); }
  /** Index of the smallest value along `dim` (of the flattened tensor by default), as int32. */
  argmin(dim: number | null = null, keepdim = false): Tensor { return ops().argmin(this, dim, keepdim); }
  /** Cumulative sum along `dim`. */
  cumsum(dim: number): Tensor { return ops().cumsum(this, dim); }
  /** Elementwise `log(1 + this)`, accurate near 0. */
  log1p(): Tensor { return ops().log1p(this); }
  /** Elementwise GELU (the exact, erf-based form). */
  gelu(): Tensor { return ops().gelu(this); }
  /** Elementwise `this * sigmoid(this)`. */
  silu(): Tensor { return ops().silu(this); }
  /** Elementwise `log(1 + exp(this))`, computed without overflow. */
  softplus(): Tensor { return ops().softplus(this); }
  /** Where the values are NaN, as a bool tensor. */
  isnan(): Tensor { return ops().isnan(this); }
  /** Softmax along `dim` (the last by default). */
  softmax(dim = -1): Tensor { return ops().softmax(this, dim); }
  /** Log of the softmax along `dim`, computed stably. */
  logSoftmax(dim = -1): Tensor { return ops().logSoftmax(this, dim); }
  /** The values converted to `dtype` (float to int32 truncates toward zero and saturates). */
  cast(dtype: DType): Tensor { return ops().cast(this, dtype); }
  /** A copy with its own storage (differentiable). */
  clone(): Tensor { return ops().clone(this); }
}

/** Values as nested arrays, one level per dimension (a number for a 0-d tensor). */
export type NestedArray = number | NestedArray[];

function nest(data: TypedArray, shape: Shape): NestedArray {
  if (shape.length === 0) return data[0]!;
  const build = (offset: number, dim: number): NestedArray[] => {
    const n = shape[dim]!;
    const out: NestedArray[] = [];
    if (dim === shape.length - 1) {
      for (let i = 0; i < n; i++) out.push(data[offset + i]!);
      return out;
    }
    const inner = sizeOf(shape.slice(dim + 1));
    for (let i = 0; i < n; i++) out.push(build(offset + i * inner, dim + 1));
    return out;
  };
  return build(0, 0);
}
