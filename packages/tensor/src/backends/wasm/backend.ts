// The WebAssembly backend: tensors live in one WebAssembly.Memory (float32, int32, bool),
// and kernels are WebAssembly SIMD compiled from AssemblyScript (packages/tensor/wasm/) or,
// for the ops listed in the package README, the CPU reference loops run in place on the
// same memory (reference.ts). Reads are synchronous: the memory is the host's own. Where the
// memory is shared, the SIMD kernels split their work among threads (parallel, threads.ts).

import type { DType, TypedArray } from '../../dtype.js';
import type { Backend, MemoryInfo, TensorMeta } from '../../backend.js';
import { WasmAllocator, type WasmBlock } from './allocator.js';
import { instantiateLibrary, type LinearMemory, type WasmFlavour, type WasmKernels } from './module.js';
import { TENSORS_FROM, type WasmKernelLibrary } from './library.js';
import { splitRange, type ThreadPool } from './threads.js';

/** A tensor's storage: `bytes` bytes at byte address `ptr`; `block` is set when this handle owns them. */
export interface WasmBuffer {
  readonly ptr: number;
  readonly bytes: number;
  readonly block: WasmBlock | null;
}

/** Bytes per element in wasm memory (bool: one byte, as the CPU backend's Uint8Array). */
export function wasmElementBytes(dtype: DType): number {
  if (dtype === 'float64') throw new Error('wasm backend: float64 is not supported; use float32 or the cpu backend');
  return dtype === 'bool' ? 1 : 4;
}

/** 4 GiB: the whole 32-bit address space. */
const MAX_BYTES = 65536 * 65536;

/** The WebAssembly backend: storage in one `WebAssembly.Memory`, SIMD kernels. */
export class WasmBackend implements Backend<'wasm'> {
  readonly name = 'wasm' as const;
  readonly supportsFloat64 = false;
  private readonly allocator: WasmAllocator;
  /** The worker threads kernels may split their work among (null: this thread only). */
  threads: ThreadPool | null = null;
  /**
   * The least work (multiply-adds or elements touched) worth a thread's share: waking a worker
   * and waiting for it costs some microseconds, so smaller kernels run on the calling thread.
   * Tests set it to 1 to split even tiny kernels.
   */
  grain = 1 << 15;
  /** Kernel libraries instantiated on this memory (see library.ts). */
  private readonly libraries = new Map<WasmKernelLibrary<object>, object>();

  constructor(
    readonly wasmMemory: LinearMemory,
    readonly kernels: WasmKernels,
    readonly flavour: WasmFlavour,
    maxBytes = MAX_BYTES,
  ) {
    this.allocator = new WasmAllocator(wasmMemory, TENSORS_FROM, maxBytes);
  }

  /** The least range a thread's share of a kernel may have, where one unit of the range costs `unitCost` (see `grain`). */
  minChunk(unitCost: number): number {
    return Math.max(1, Math.ceil(this.grain / Math.max(1, unitCost)));
  }

  /**
   * Runs the kernel `kernel` over the range [0, total), written at arguments `rangeArg` and
   * `rangeArg + 1` (pass 0, 0 there), split among the threads: the calling thread takes the
   * first share, and each share has at least `chunk` units (work smaller than two shares runs
   * on this thread alone). A kernel is split only where no output's summation order depends on
   * the split (rows of a product, columns of a column sum), so results are the same bits
   * whatever the thread count.
   */
  parallel<K extends keyof WasmKernels>(kernel: K, args: Parameters<WasmKernels[K]>, rangeArg: number, total: number, chunk: number): void {
    this.split(kernel, this.kernels[kernel] as unknown as (...a: number[]) => void, args as unknown as number[], rangeArg, total, chunk);
  }

  /**
   * `parallel` for a kernel of a library (defineWasmKernels). A library defined after the
   * backend started runs on the calling thread only (its workers do not have it).
   */
  parallelIn<L extends object, K extends keyof L & string>(
    library: WasmKernelLibrary<L>, kernel: K, args: L[K] extends (...a: infer P) => unknown ? P : never, rangeArg: number, total: number, chunk: number,
  ): void {
    const fn = this.kernelsOf(library)[kernel] as unknown as (...a: number[]) => void;
    this.split(`${library.name}/${kernel}`, fn, args as unknown as number[], rangeArg, total, chunk);
  }

  /**
   * A library's kernels on this backend's memory: instantiated when the backend started, or
   * now, at first use, where the library was defined later.
   */
  kernelsOf<L extends object>(library: WasmKernelLibrary<L>): L {
    let exports = this.libraries.get(library);
    if (exports === undefined) {
      try {
        exports = instantiateLibrary(this.wasmMemory, library.binaries, this.flavour, true).exports;
      } catch (e) {
        throw new Error(`wasm backend: the kernel library ${library.name} could not be instantiated (${(e as Error).message}); import its package before the backend starts`);
      }
      this.addLibrary(library, exports);
    }
    return exports as L;
  }

  /** Records a library instantiated on this memory (by initWasm, or kernelsOf). */
  addLibrary(library: WasmKernelLibrary<object>, exports: object): void {
    this.libraries.set(library, exports);
  }

  private split(kernel: string, fn: (...a: number[]) => void, a: number[], rangeArg: number, total: number, chunk: number): void {
    const pool = this.threads !== null && this.threads.has(kernel) ? this.threads : null;
    const parts = pool === null ? 1 : Math.min(pool.threads(), Math.floor(total / Math.max(1, chunk)));
    if (parts <= 1) {
      a[rangeArg] = 0;
      a[rangeArg + 1] = total;
      fn(...a);
      return;
    }
    // Inner bounds on multiples of 4 (whole SIMD blocks) unless the shares are smaller.
    pool!.run(kernel, fn, a, rangeArg, splitRange(total, parts, total >= 4 * parts ? 4 : 1));
  }

  /** Fresh storage for `size` elements of `dtype` (contents undefined). */
  alloc(size: number, dtype: DType): WasmBuffer {
    const bytes = size * wasmElementBytes(dtype);
    const block = this.allocator.alloc(bytes);
    return { ptr: block.ptr, bytes, block };
  }

  /** A typed-array view of `h` (made afresh: growing the memory replaces its buffer). */
  typed(h: WasmBuffer, dtype: DType): TypedArray {
    const n = h.bytes / wasmElementBytes(dtype);
    const buf = this.wasmMemory.buffer;
    if (dtype === 'int32') return new Int32Array(buf, h.ptr, n);
    if (dtype === 'bool') return new Uint8Array(buf, h.ptr, n);
    return new Float32Array(buf, h.ptr, n);
  }

  /** The handle of a typed array viewing this memory, if it is exactly one of `handles`. */
  handleOf(a: TypedArray, handles: readonly WasmBuffer[]): WasmBuffer | undefined {
    if (a.buffer !== this.wasmMemory.buffer) return undefined;
    return handles.find((h) => h.ptr === a.byteOffset && h.bytes === a.byteLength);
  }

  adopt(h: WasmBuffer): WasmBuffer {
    return h;
  }

  /** Copies `data` into a fresh block of wasm memory. */
  fromHost(data: TypedArray, dtype: DType): WasmBuffer {
    const h = this.alloc(data.length, dtype);
    this.typed(h, dtype).set(data);
    return h;
  }

  /** A copy of the values. */
  async toHost(h: WasmBuffer, meta: TensorMeta): Promise<TypedArray> {
    return this.toHostSync(h, meta);
  }

  toHostSync(h: WasmBuffer, meta: TensorMeta): TypedArray {
    return this.typed(h, meta.dtype).slice(0, meta.size);
  }

  view(h: WasmBuffer, offset: number, size: number, dtype: DType): WasmBuffer {
    const e = wasmElementBytes(dtype);
    if (offset < 0 || (offset + size) * e > h.bytes) {
      throw new RangeError(`wasm view: elements ${offset}..${offset + size} outside a block of ${h.bytes / e}`);
    }
    return { ptr: h.ptr + offset * e, bytes: size * e, block: null };
  }

  copy(src: WasmBuffer, dst: WasmBuffer, size: number, dtype: DType): void {
    const e = wasmElementBytes(dtype);
    new Uint8Array(this.wasmMemory.buffer).copyWithin(dst.ptr, src.ptr, src.ptr + size * e);
  }

  /** Returns the block to the allocator. */
  free(h: WasmBuffer): void {
    if (h.block !== null) this.allocator.release(h.block);
  }

  /** Live blocks and the bytes of their size classes. */
  memory(): MemoryInfo {
    const s = this.allocator.stats();
    return { buffers: s.blocks, bytes: s.bytes };
  }

  /** Bytes in the free lists and the linear memory's size, beside `memory()`'s live figures. */
  pool(): { pooledBytes: number; memoryBytes: number } {
    const s = this.allocator.stats();
    return { pooledBytes: s.pooledBytes, memoryBytes: s.memoryBytes };
  }
}
