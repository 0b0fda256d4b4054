// The narrow interface a backend implements (storage in, storage out), the per-backend
// kernel signatures, and the registry that picks the default backend.
//
// A backend only moves bytes and runs kernels; autograd, shapes and errors live above it.
// Adding a backend means adding one row to `BackendKinds`: from then on every `defineOp`
// that lacks a kernel for it is a TypeScript compile error.

import type { DType, TypedArray } from './dtype.js';
import type { Shape } from './shape.js';
import type { CpuBackend } from './backends/cpu/backend.js';
import type { WebGpuBackend } from './backends/webgpu/backend.js';
import type { GpuBuffer } from './backends/webgpu/runtime.js';
import type { WasmBackend, WasmBuffer } from './backends/wasm/backend.js';

/** A tensor's shape, dtype and element count, without its storage. */
export interface TensorMeta {
  /** The size of each dimension. */
  readonly shape: Shape;
  /** The element type. */
  readonly dtype: DType;
  /** The number of elements. */
  readonly size: number;
}

/** What a kernel sees of an input tensor: its metadata and its backend-specific storage. */
export interface KernelInput<H> extends TensorMeta {
  readonly data: H;
}

/** Each backend's object (passed to its kernels) and storage handle type. */
export interface BackendKinds {
  cpu: { backend: CpuBackend; handle: TypedArray };
  webgpu: { backend: WebGpuBackend; handle: GpuBuffer };
  wasm: { backend: WasmBackend; handle: WasmBuffer };
}
/** A backend's name: 'cpu', 'webgpu' or 'wasm'. */
export type BackendName = keyof BackendKinds;
export type Handle<B extends BackendName> = BackendKinds[B]['handle'];

/**
 * A kernel computes one op's output storage from its inputs' storage. It may return an
 * input's handle unchanged (a zero-copy view such as reshape); the engine then shares it.
 */
export type Kernel<B extends BackendName, A> = (
  backend: BackendKinds[B]['backend'],
  inputs: readonly KernelInput<Handle<B>>[],
  out: TensorMeta,
  attrs: A,
) => Handle<B>;

/** One kernel per backend; the mapped type is what makes a missing kernel a compile error. */
export type KernelTable<A> = { readonly [B in BackendName]: Kernel<B, A> };

export interface MemoryInfo {
  /** Storage blocks currently allocated by this backend (GPU buffers, typed arrays). */
  buffers: number;
  bytes: number;
}

export interface Backend<B extends BackendName = BackendName> {
  readonly name: B;
  /** Whether float64 storage is supported (only the CPU reference backend). */
  readonly supportsFloat64: boolean;
  fromHost(data: TypedArray, dtype: DType): Handle<B>;
  toHost(handle: Handle<B>, meta: TensorMeta): Promise<TypedArray>;
  /** Synchronous readback; backends that cannot (WebGPU) throw a helpful error. */
  toHostSync(handle: Handle<B>, meta: TensorMeta): TypedArray;
  /** Takes ownership of a kernel's freshly made output (for memory accounting). */
  adopt(handle: Handle<B>): Handle<B>;
  /**
   * A handle aliasing elements [offset, offset + size) of `handle` (no copy, not owned: the
   * engine keeps the viewed storage alive and never frees the view itself).
   */
  view(handle: Handle<B>, offset: number, size: number, dtype: DType): Handle<B>;
  /** Copies the first `size` elements of `src` into `dst` (ordered with kernels already run or recorded). */
  copy(src: Handle<B>, dst: Handle<B>, size: number, dtype: DType): void;
  free(handle: Handle<B>): void;
  memory(): MemoryInfo;
}

export type AnyBackend = { [B in BackendName]: Backend<B> }[BackendName];

const registry = new Map<BackendName, AnyBackend>();
let current: BackendName | null = null;

export function registerBackend(backend: AnyBackend): void {
  registry.set(backend.name, backend);
}

export function unregisterBackend(name: BackendName): void {
  registry.delete(name);
  if (current === name) current = null;
}

/** Every backend registered now (the CPU always; WebGPU and wasm once initialised). */
export function registeredBackends(): AnyBackend[] {
  return [...registry.values()];
}

export function hasBackend(name: BackendName): boolean {
  return registry.has(name);
}

export function getBackend(name: BackendName): AnyBackend {
  const b = registry.get(name);
  if (!b) {
    throw new Error(
      name === 'webgpu'
        ? "backend 'webgpu' is not initialised: call `await initWebGpu()` (or `await setBackend('webgpu')`) first"
        : `backend '${name}' is not registered`,
    );
  }
  return b;
}

/** The backend new tensors are created on. */
export function currentBackend(): AnyBackend {
  return getBackend(current ?? 'cpu');
}

export function setCurrentBackendName(name: BackendName): void {
  getBackend(name);
  current = name;
}
