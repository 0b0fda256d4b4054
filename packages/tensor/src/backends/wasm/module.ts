// The compiled kernels (AssemblyScript in packages/tensor/wasm/, built by scripts/build-wasm.mjs)
// and the host's choice between its two binaries: relaxed SIMD where the host validates it
// (Node 22, Chrome 114 and later; Node 20 with --experimental-wasm-relaxed-simd), plain
// SIMD128 otherwise. Chosen once.

import { PLAIN_WASM, RELAXED_WASM } from './kernels.generated.js';

/** What the backend uses of a WebAssembly.Memory (typed here: Node's types and a consumer's may lack the DOM's). */
export interface LinearMemory {
  readonly buffer: ArrayBuffer;
  /** Grows the memory by `pages` pages of 64 KiB; returns the old size in pages. */
  grow(pages: number): number;
}

/** The host's WebAssembly API, as much of it as the backend uses. */
interface WasmHost {
  Memory: new (descriptor: { initial: number; maximum?: number }) => LinearMemory;
  validate(bytes: Uint8Array): boolean;
  instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: { exports: object } }>;
}

function host(): WasmHost {
  const wa = (globalThis as { WebAssembly?: WasmHost }).WebAssembly;
  if (wa === undefined) throw new Error('wasm backend: this host has no WebAssembly');
  return wa;
}

/** A fresh linear memory of `pages` 64 KiB pages that may grow to `maxPages`. */
export function newMemory(pages: number, maxPages: number): LinearMemory {
  return new (host().Memory)({ initial: pages, maximum: maxPages });
}

/** The kernels' exports (addresses and sizes in bytes or elements, as each says). */
export interface WasmKernels {
  readonly packB: (b: number, bp: number, K: number, N: number, sk: number, sn: number) => void;
  readonly gemmRows: (a: number, sm: number, sk: number, bp: number, c: number, m0: number, m1: number, K: number, N: number) => void;
  readonly biasAct: (c: number, bias: number, m0: number, m1: number, N: number, act: number) => void;
  readonly binary: (op: number, a: number, am: number, b: number, bm: number, out: number, rows: number, cols: number) => void;
  readonly actGradSum: (y: number, dy: number, out: number, writeG: number, sums: number, rows: number, cols: number, act: number, wantSums: number) => void;
  readonly bnStats: (x: number, n: number, c: number, mean: number, vari: number) => void;
  readonly bnApply: (x: number, mean: number, vari: number, w: number, b: number, y: number, n: number, c: number, eps: number, relu: number, scale: number) => void;
  readonly bnBackward: (x: number, dy: number, w: number, yOut: number, out: number, n: number, c: number, eps: number, dwAt: number, dbAt: number, scratch: number) => void;
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

/** The kernels instantiated on `memory`, with the flavour the host supports. */
export async function instantiateKernels(memory: LinearMemory): Promise<{ kernels: WasmKernels; flavour: WasmFlavour }> {
  const relaxed = bytesOf(RELAXED_WASM);
  const wa = host();
  const useRelaxed = wa.validate(relaxed);
  const bytes = useRelaxed ? relaxed : bytesOf(PLAIN_WASM);
  if (!useRelaxed && !wa.validate(bytes)) {
    throw new Error('wasm backend: this host does not support WebAssembly SIMD128 (Node 16.4+, Chrome 91+, Firefox 89+, Safari 16.4+ do)');
  }
  const { instance } = await wa.instantiate(bytes, { env: { memory } });
  return { kernels: instance.exports as unknown as WasmKernels, flavour: useRelaxed ? 'relaxed-simd' : 'simd128' };
}
