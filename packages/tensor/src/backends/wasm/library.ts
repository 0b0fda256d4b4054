// Kernel libraries: wasm kernels that another package compiles from its own AssemblyScript
// (with this package's scripts/build-wasm.mjs) for ops it defines itself, as the aitm package
// does for its attention and loss. A library is defined once, when its package is imported;
// the backend instantiates it on its memory beside its own kernels and hands it to every
// worker thread, so its kernels split their work among the threads like the built-in ones
// (WasmBackend.parallelIn). A library defined after the backend started is instantiated when
// first used and runs on the calling thread only: the same results, since no kernel's output
// depends on the thread count.

/** What a library's generated module (scripts/build-wasm.mjs SRC OUT --memory-base N) exports. */
export interface WasmBinaries {
  /** The kernels with plain SIMD128, base64. */
  readonly PLAIN_WASM: string;
  /** The kernels with relaxed SIMD, base64. */
  readonly RELAXED_WASM: string;
  /** PLAIN_WASM importing a shared memory (threads), base64. */
  readonly PLAIN_SHARED_WASM: string;
  /** RELAXED_WASM importing a shared memory (threads), base64. */
  readonly RELAXED_SHARED_WASM: string;
  /** The bytes [start, end) of linear memory its constant tables occupy. */
  readonly STATIC_BYTES: readonly [number, number];
}

/** A library's kernels: each export a function of numbers (addresses, sizes, flags). */
export interface WasmKernelExports {
  /** The kernel `name`: takes byte addresses, sizes and flags; returns nothing or a number. */
  readonly [name: string]: (...args: number[]) => number | void;
}

/**
 * A kernel library (see defineWasmKernels); `K` types its exports. Get its kernels on the
 * running backend with `backend.kernelsOf(library)`, run one split among the threads with
 * `backend.parallelIn(library, ...)`.
 */
export class WasmKernelLibrary<K extends object = WasmKernelExports> {
  /** @internal (the type parameter's witness; never set) */
  declare readonly exportsType: K;

  /** @internal use defineWasmKernels */
  constructor(
    /** The library's name, as in error messages and its kernels' names among the threads' (`name/kernel`). */
    readonly name: string,
    /** Its binaries and the bytes its tables occupy. */
    readonly binaries: WasmBinaries,
  ) {}
}

/** The bytes below which the tensor package's own tables lie; libraries' lie from here up to TENSORS_FROM. */
export const LIBRARY_STATIC_FROM = 32768;
/** The first byte tensors may use. */
export const TENSORS_FROM = 65536;

const defined: WasmKernelLibrary<object>[] = [];

/**
 * Defines a kernel library from its generated module's exports (call it once, at the top of
 * the module that uses it). Throws where the name is taken, or where its constant tables lie
 * outside the libraries' bytes or overlap another library's (build it with another
 * `--memory-base`).
 *
 * @example
 * import * as binaries from './kernels.generated.js';
 * interface MyKernels { scaleRows(x: number, out: number, cols: number, r0: number, r1: number): void }
 * export const mine = defineWasmKernels<MyKernels>('mine', binaries);
 * // in an op's wasm kernel:
 * backend.parallelIn(mine, 'scaleRows', [x.data.ptr, o.ptr, cols, 0, 0], 3, rows, backend.minChunk(cols));
 */
export function defineWasmKernels<K extends object>(name: string, binaries: WasmBinaries): WasmKernelLibrary<K> {
  if (!/^[A-Za-z][\w.-]*$/.test(name)) throw new Error(`defineWasmKernels: the name must be a word (letters, digits, _ . -), got ${JSON.stringify(name)}`);
  if (defined.some((l) => l.name === name)) throw new Error(`defineWasmKernels: a library named ${name} is already defined`);
  const [from, to] = binaries.STATIC_BYTES;
  if (!(from >= LIBRARY_STATIC_FROM && to <= TENSORS_FROM && from <= to)) {
    throw new Error(`defineWasmKernels(${name}): its tables lie at bytes ${from}..${to}, expected within ${LIBRARY_STATIC_FROM}..${TENSORS_FROM} (build it with --memory-base)`);
  }
  const clash = defined.find((l) => from < l.binaries.STATIC_BYTES[1] && l.binaries.STATIC_BYTES[0] < to);
  if (clash !== undefined) {
    throw new Error(`defineWasmKernels(${name}): its tables (bytes ${from}..${to}) overlap those of ${clash.name} (${clash.binaries.STATIC_BYTES.join('..')}); build one with another --memory-base`);
  }
  const lib = new WasmKernelLibrary<K>(name, binaries);
  defined.push(lib as unknown as WasmKernelLibrary<object>);
  return lib;
}

/** The libraries defined so far, in order. */
export function definedLibraries(): readonly WasmKernelLibrary<object>[] {
  return defined;
}
