// Starting the wasm backend: one memory, the kernels instantiated on it, the backend
// registered. Idempotent; `disposeWasm` lets a later `initWasm` start afresh.

import { registerBackend, unregisterBackend } from '../../backend.js';
import { WasmBackend } from './backend.js';
import { instantiateKernels, newMemory, type WasmFlavour } from './module.js';

let instance: WasmBackend | null = null;
let starting: Promise<WasmBackend> | null = null;

/** Starts the wasm backend (once) and registers it as 'wasm'. */
export async function initWasm(): Promise<WasmBackend> {
  if (instance !== null) return instance;
  starting ??= (async () => {
    const memory = newMemory(2, 65536);
    const { kernels, flavour } = await instantiateKernels(memory);
    const b = new WasmBackend(memory, kernels, flavour);
    registerBackend(b);
    instance = b;
    return b;
  })();
  try {
    return await starting;
  } finally {
    starting = null;
  }
}

/** The running wasm backend, or null before `initWasm`. */
export function wasmBackend(): WasmBackend | null {
  return instance;
}

/** Which kernels the wasm backend runs ('relaxed-simd' or 'simd128'), or null before `initWasm`. */
export function wasmFlavour(): WasmFlavour | null {
  return instance?.flavour ?? null;
}

/** Unregisters the wasm backend; its memory goes with the last reference to it. */
export function disposeWasm(): void {
  if (instance === null) return;
  unregisterBackend('wasm');
  instance = null;
}
