// Starting the wasm backend: one memory (shared where the host allows, for threads), the
// kernels instantiated on it, the worker threads, the backend registered. Idempotent;
// `disposeWasm` lets a later `initWasm` start afresh.

import { registerBackend, unregisterBackend } from '../../backend.js';
import { WasmBackend } from './backend.js';
import { instantiateKernels, instantiateLibrary, isShared, newMemory, validatesSharedKernels, type LinearMemory, type WasmFlavour, type WasmModule } from './module.js';
import { definedLibraries } from './library.js';
import { checkThreadCount, coreCount, envThreads, hostSpawner, MAX_THREADS, sharingSupport, ThreadPool } from './threads.js';

let instance: WasmBackend | null = null;
let starting: Promise<WasmBackend> | null = null;
/** The count setNumThreads asked for (null: AITM_THREADS, else the core count). */
let asked: number | null = null;
/** Why the backend runs one thread only, where it cannot run more (null: it can). */
let singleReason: string | null = null;
/** Whether the one-thread line has been printed. */
let said = false;
/** The thread count initWasm started with. */
let startedWith = 1;

/** The wasm backend's threads: how many kernels use, how many were asked for, and why not more. */
export interface WasmThreadsInfo {
  /** Threads a kernel splits its work among now (the calling thread and the ready workers). */
  readonly threads: number;
  /** Threads asked for: `setNumThreads`, else AITM_THREADS, else the host's core count. */
  readonly requested: number;
  /** Whether the memory is shared (threads are possible). */
  readonly shared: boolean;
  /** Why fewer threads run than were asked for (no SharedArrayBuffer, a worker that failed), or null. */
  readonly reason: string | null;
}

const PAGES = 2;
const MAX_PAGES = 65536;

/** A shared memory where the host allows threads (else null, with the reason recorded). */
function sharedMemory(): LinearMemory | null {
  const support = sharingSupport();
  if (support !== true) {
    singleReason = support;
    return null;
  }
  if (!validatesSharedKernels()) {
    singleReason = 'this host does not validate WebAssembly threads (shared memory)';
    return null;
  }
  try {
    return newMemory(PAGES, MAX_PAGES, true);
  } catch (e) {
    singleReason = `a shared WebAssembly.Memory could not be made: ${(e as Error).message}`;
    return null;
  }
}

async function threadCount(): Promise<number> {
  return asked ?? envThreads() ?? Math.min(MAX_THREADS, await coreCount());
}

/**
 * Says once, on the console, that the backend runs one thread although more were asked for
 * explicitly (setNumThreads, AITM_THREADS); the default (a thread per core) is not worth a
 * line where it cannot be had: `wasmThreads().reason` says why.
 */
function sayOnce(requested: number): void {
  const explicit = asked !== null || envThreads() !== undefined;
  if (said || !explicit || requested <= 1 || singleReason === null) return;
  said = true;
  console.warn(`wasm backend: 1 thread, not ${requested}: ${singleReason}`);
}

/**
 * Starts the wasm backend (once) and registers it as 'wasm'. Where the host shares memory
 * between threads (Node; a cross-origin-isolated page), it also starts the worker threads
 * (`setNumThreads`, AITM_THREADS, else one per core) and waits until they are ready.
 */
export async function initWasm(): Promise<WasmBackend> {
  if (instance !== null) return instance;
  starting ??= (async () => {
    singleReason = null;
    const requested = await threadCount();
    startedWith = requested;
    const shared = sharedMemory();
    const memory = shared ?? newMemory(PAGES, MAX_PAGES);
    const { kernels, flavour, module } = await instantiateKernels(memory);
    const b = new WasmBackend(memory, kernels, flavour);
    // The kernel libraries defined so far (packages imported before the backend starts), for
    // this thread and every worker.
    const modules: { prefix: string; module: WasmModule }[] = [{ prefix: '', module }];
    for (const lib of definedLibraries()) {
      const loaded = await instantiateLibrary(memory, lib.binaries, flavour, false);
      b.addLibrary(lib, loaded.exports);
      modules.push({ prefix: `${lib.name}/`, module: loaded.module });
    }
    if (isShared(memory)) {
      const spawner = await hostSpawner();
      if (typeof spawner === 'string') singleReason = spawner;
      else {
        const pool = new ThreadPool(modules, memory, spawner);
        b.threads = pool;
        await pool.resize(requested);
        if (pool.failure !== null) singleReason = `a worker thread failed to start: ${pool.failure}`;
      }
    }
    sayOnce(requested);
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

/**
 * Sets the number of threads the wasm backend's SIMD kernels split their work among (the
 * calling thread included), as `torch.set_num_threads`; it overrides AITM_THREADS. Workers
 * start (or end) at once; the promise settles when the new ones are ready (kernels use
 * those that are, so awaiting it is optional) and never rejects. Results are the same bits
 * whatever the count. Where the host cannot share memory the backend runs one thread
 * (`wasmThreads().reason` says why).
 *
 * @example
 * setNumThreads(1);           // deterministic timing, one core
 * await setNumThreads(4);     // four threads, all ready
 */
export function setNumThreads(n: number): Promise<void> {
  asked = checkThreadCount(n, 'setNumThreads');
  const pool = instance?.threads;
  if (!pool) {
    if (instance !== null) sayOnce(n);
    return Promise.resolve();
  }
  return pool.resize(n).then(() => {
    if (pool.failure !== null) singleReason = `a worker thread failed to start: ${pool.failure}`;
  });
}

/** The wasm backend's threads now (see WasmThreadsInfo), or null before `initWasm`. */
export function wasmThreads(): WasmThreadsInfo | null {
  if (instance === null) return null;
  const pool = instance.threads;
  return {
    threads: pool?.threads() ?? 1,
    requested: pool?.requested() ?? asked ?? startedWith,
    shared: isShared(instance.wasmMemory),
    reason: singleReason,
  };
}

/** The running wasm backend, or null before `initWasm`. */
export function wasmBackend(): WasmBackend | null {
  return instance;
}

/** Which kernels the wasm backend runs ('relaxed-simd' or 'simd128'), or null before `initWasm`. */
export function wasmFlavour(): WasmFlavour | null {
  return instance?.flavour ?? null;
}

/** Unregisters the wasm backend and ends its worker threads; its memory goes with the last reference to it. */
export function disposeWasm(): void {
  if (instance === null) return;
  unregisterBackend('wasm');
  instance.threads?.dispose();
  instance.threads = null;
  instance = null;
}
