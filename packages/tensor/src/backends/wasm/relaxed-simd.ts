// Relaxed SIMD on Node 20: V8 validates it there only behind a flag
// (--experimental-wasm-relaxed-simd; Node 22 and Chrome 114 have it by default). A program
// (the `aitm` command, the benchmarks) may turn the flag on for its own process before the
// wasm backend starts, so the kernels' multiply-adds are fused (one FMA instead of a multiply
// and an add). A library never sets V8 flags behind its user's back: this runs only when called.

import { isNode } from '../../env.js';

// (module (func (result v128) v128.const 0 v128.const 0 v128.const 0 f32x4.relaxed_madd))
const V128_ZERO = [0xfd, 0x0c, ...new Array<number>(16).fill(0)];
const BODY = [0x00, ...V128_ZERO, ...V128_ZERO, ...V128_ZERO, 0xfd, 0x85, 0x02, 0x0b];
const TINY_RELAXED = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type: () -> v128
  0x03, 0x02, 0x01, 0x00, // one function of that type
  0x0a, BODY.length + 2, 0x01, BODY.length, ...BODY, // its code
]);

/** Whether this host validates relaxed SIMD (f32x4.relaxed_madd) now. */
export function hasRelaxedSimd(): boolean {
  const wa = (globalThis as { WebAssembly?: { validate(bytes: Uint8Array): boolean } }).WebAssembly;
  return wa !== undefined && wa.validate(TINY_RELAXED);
}

/**
 * Turns on V8's relaxed-SIMD flag for this Node process where the host lacks relaxed SIMD
 * only for want of it (Node 20), so that a wasm backend started afterwards runs the fused
 * multiply-add kernels (`wasmFlavour()` says 'relaxed-simd'). Call it before `initWasm` or
 * `initBackend`; a backend already started keeps its kernels. Returns whether relaxed SIMD is
 * available now. Does nothing outside Node, or where the host has it already.
 *
 * @example
 * await enableRelaxedSimd(); // in a program's entry point, before initBackend()
 * await initBackend();
 */
export async function enableRelaxedSimd(): Promise<boolean> {
  if (hasRelaxedSimd()) return true;
  if (!isNode()) return false;
  // A variable module name keeps bundlers from following it.
  const v8 = 'node:v8';
  const { setFlagsFromString } = (await import(/* @vite-ignore */ v8)) as { setFlagsFromString: (flags: string) => void };
  setFlagsFromString('--experimental-wasm-relaxed-simd');
  return hasRelaxedSimd();
}
