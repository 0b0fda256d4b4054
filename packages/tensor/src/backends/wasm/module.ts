// The compiled kernels (AssemblyScript in packages/tensor/wasm/, built by scripts/build-wasm.mjs)
// and the host's choice between its two binaries: relaxed SIMD where the host validates it
// (Node 22, Chrome 114 and later; Node 20 with --experimental-wasm-relaxed-simd), plain
// SIMD128 otherwise. Chosen once. Each comes in two builds: for a private memory, and for a
// shared one (threads: every worker instantiates the same module on the same memory).

import * as own from './kernels.generated.js';
import type { WasmBinaries } from './library.js';

/**
 * What the backend uses of a WebAssembly.Memory (typed here: Node's types and a consumer's
 * may lack the DOM's). A shared memory's buffer is a SharedArrayBuffer.
 */
export interface LinearMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  /** Grows the memory by `pages` pages of 64 KiB; returns the old size in pages. */
  grow(pages: number): number;
}

/** A compiled WebAssembly.Module (opaque here; posted to worker threads as it is). */
export type WasmModule = object;

/** The host's WebAssembly API, as much of it as the backend uses. */
interface WasmHost {
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => LinearMemory;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: object };
  validate(bytes: Uint8Array): boolean;
  compile(bytes: Uint8Array): Promise<WasmModule>;
  instantiate(module: WasmModule, imports: object): Promise<{ exports: object }>;
}

function host(): WasmHost {
  const wa = (globalThis as { WebAssembly?: WasmHost }).WebAssembly;
  if (wa === undefined) throw new Error('wasm backend: this host has no WebAssembly');
  return wa;
}

/**
 * A fresh linear memory of `pages` 64 KiB pages that may grow to `maxPages`; `shared`: one
 * worker threads can use too (throws where the host cannot make one).
 */
export function newMemory(pages: number, maxPages: number, shared = false): LinearMemory {
  return new (host().Memory)({ initial: pages, maximum: maxPages, ...(shared ? { shared: true } : {}) });
}

/** Whether `memory` is shared (its buffer a SharedArrayBuffer). */
export function isShared(memory: LinearMemory): boolean {
  return typeof SharedArrayBuffer === 'function' && memory.buffer instanceof SharedArrayBuffer;
}

/** The kernels' exports (addresses and sizes in bytes or elements, as each says). */
export interface WasmKernels {
  readonly packB: (b: number, bp: number, K: number, N: number, sk: number, sn: number, p0: number, p1: number) => void;
  readonly gemmRows: (a: number, sm: number, sk: number, bp: number, c: number, m0: number, m1: number, K: number, N: number) => void;
  readonly gemmPanels: (a: number, sm: number, sk: number, bp: number, c: number, M: number, K: number, N: number, p0: number, p1: number) => void;
  readonly linearRows: (a: number, sm: number, sk: number, bp: number, c: number, m0: number, m1: number, K: number, N: number, bias: number, act: number) => void;
  readonly gemvRows: (a: number, sm: number, b: number, sb: number, c: number, m0: number, m1: number, K: number, bias: number, act: number) => void;
  readonly binary: (op: number, a: number, am: number, b: number, bm: number, out: number, r0: number, r1: number, cols: number) => void;
  readonly actGradSum: (y: number, dy: number, out: number, writeG: number, sums: number, rows: number, cols: number, act: number, wantSums: number, j0: number, j1: number) => void;
  readonly bnStats: (x: number, n: number, c: number, mean: number, vari: number, j0: number, j1: number) => void;
  readonly bnScale: (w: number, vari: number, eps: number, scale: number, c: number) => void;
  readonly bnApply: (x: number, mean: number, scale: number, b: number, y: number, c: number, relu: number, i0: number, i1: number) => void;
  readonly bnBackward: (x: number, dy: number, w: number, yOut: number, out: number, n: number, c: number, eps: number, dwAt: number, dbAt: number, scratch: number, j0: number, j1: number) => void;
  readonly bnBackwardDx: (x: number, dy: number, yOut: number, out: number, n: number, c: number, dwAt: number, dbAt: number, scratch: number, i0: number, i1: number) => void;
  // wasm/gather.ts: the id kernels return the first position of an id out of range, else -1.
  readonly firstBadId: (idx: number, rows: number, i0: number, i1: number) => number;
  readonly gatherRows: (table: number, rows: number, rowBytes: number, idx: number, out: number, outStride: number, i0: number, i1: number) => number;
  readonly scatterAddRows: (src: number, srcStride: number, col: number, idx: number, n: number, out: number, rows: number, cols: number, isInt: number, zero: number, c0: number, c1: number) => number;
  readonly copyBlocks: (src: number, srcStride: number, dst: number, dstStride: number, bytes: number, p0: number, p1: number) => void;
  // wasm/softmax.ts, reduce.ts, unary.ts, adam.ts (flags are 0 or 1).
  readonly softmaxRows: (x: number, out: number, cols: number, log: number, r0: number, r1: number) => void;
  readonly softmaxBackwardRows: (y: number, dy: number, out: number, cols: number, log: number, r0: number, r1: number) => void;
  readonly reduceRows: (x: number, out: number, cols: number, op: number, r0: number, r1: number) => void;
  readonly reduceCols: (x: number, out: number, acc: number, rows: number, cols: number, op: number, c0: number, c1: number) => void;
  readonly unary: (op: number, x: number, out: number, isInt: number, i0: number, i1: number) => void;
  readonly where: (c: number, kind: number, cScalar: number, a: number, aScalar: number, b: number, bScalar: number, out: number, i0: number, i1: number) => void;
  readonly castF32I32: (x: number, out: number, toInt: number, i0: number, i1: number) => void;
  readonly adamStep: (p: number, g: number, m: number, v: number, beta1: number, beta2: number, eps: number, decay: number, l2: number, stepSize: number, sqrtBc2: number, i0: number, i1: number) => void;
}

/** Which binary runs: 'relaxed-simd' (fused multiply-add) or 'simd128'. */
export type WasmFlavour = 'relaxed-simd' | 'simd128';

function bytesOf(base64: string): Uint8Array {
  const g = globalThis as { Buffer?: { from(s: string, enc: string): Uint8Array } };
  if (g.Buffer) return g.Buffer.from(base64, 'base64');
  const bin = atob(base64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The binary of `binaries` for a shared or private memory, relaxed or plain. */
function binaryOf(binaries: WasmBinaries, shared: boolean, relaxed: boolean): Uint8Array {
  if (shared) return bytesOf(relaxed ? binaries.RELAXED_SHARED_WASM : binaries.PLAIN_SHARED_WASM);
  return bytesOf(relaxed ? binaries.RELAXED_WASM : binaries.PLAIN_WASM);
}

/**
 * The kernels instantiated on `memory`, with the flavour the host supports, and the compiled
 * module (the shared-memory build when `memory` is shared, for worker threads to instantiate).
 */
export async function instantiateKernels(memory: LinearMemory): Promise<{ kernels: WasmKernels; flavour: WasmFlavour; module: WasmModule }> {
  const shared = isShared(memory);
  const relaxed = binaryOf(own, shared, true);
  const wa = host();
  const useRelaxed = wa.validate(relaxed);
  const bytes = useRelaxed ? relaxed : binaryOf(own, shared, false);
  if (!useRelaxed && !wa.validate(bytes)) {
    throw new Error(
      `wasm backend: this host does not support WebAssembly SIMD128${shared ? ' with threads' : ''} (Node 16.4+, Chrome 91+, Firefox 89+, Safari 16.4+ do)`,
    );
  }
  const flavour: WasmFlavour = useRelaxed ? 'relaxed-simd' : 'simd128';
  const { exports, module } = await instantiateLibrary(memory, own, flavour, false);
  return { kernels: exports as unknown as WasmKernels, flavour, module };
}

/**
 * A kernel library's binary (or the backend's own) for `memory` in `flavour` (the backend's:
 * a library is built with the same features), instantiated on it: asynchronously where `sync` is false, else at
 * once (a browser's main thread allows that for small modules only).
 */
export function instantiateLibrary(memory: LinearMemory, binaries: WasmBinaries, flavour: WasmFlavour, sync: true): { exports: object; module: WasmModule };
export function instantiateLibrary(memory: LinearMemory, binaries: WasmBinaries, flavour: WasmFlavour, sync: false): Promise<{ exports: object; module: WasmModule }>;
export function instantiateLibrary(
  memory: LinearMemory, binaries: WasmBinaries, flavour: WasmFlavour, sync: boolean,
): { exports: object; module: WasmModule } | Promise<{ exports: object; module: WasmModule }> {
  const bytes = binaryOf(binaries, isShared(memory), flavour === 'relaxed-simd');
  const wa = host();
  if (sync) {
    const module = new wa.Module(bytes);
    return { exports: new wa.Instance(module, { env: { memory } }).exports, module };
  }
  return wa.compile(bytes).then(async (module) => ({ exports: (await wa.instantiate(module, { env: { memory } })).exports, module }));
}

/** Whether the host validates the shared-memory (threads) build of the kernels. */
export function validatesSharedKernels(): boolean {
  const wa = host();
  return wa.validate(binaryOf(own, true, true)) || wa.validate(binaryOf(own, true, false));
}
