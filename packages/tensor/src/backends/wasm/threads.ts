// Threads for the wasm backend, as torch.set_num_threads: a pool of workers (worker_threads in
// Node, Web Workers in a cross-origin-isolated page), each with its own instance of the same
// compiled kernels on the one shared WebAssembly.Memory. A kernel's work is split into ranges
// of rows or columns (WasmBackend.parallel); the calling thread runs the first range itself,
// each worker one of the others.
//
// Signalling goes through a small control block (a SharedArrayBuffer of its own, so growing the
// memory never moves it): per worker a sequence word it waits on with Atomics.wait and its
// range, and one `pending` count the caller waits on. Between jobs a worker spins on its word
// for a bounded time (AITM_SPIN_US, default 200 us: waking a blocked thread costs about as
// much as a step's gap between kernels), then blocks in Atomics.wait; the caller does the same
// on `pending`, except on a browser's main thread, where blocking is not allowed: there it
// spins on `pending` after doing its own share (the others' shares are about as long).
//
// Workers never keep a process alive: in Node each is unref'd once it is ready, and blocked in
// Atomics.wait it ends with the process.

import { envVar, isNode } from '../../env.js';
import type { LinearMemory, WasmModule } from './module.js';

/** The most threads (the caller and its workers) a pool runs. */
export const MAX_THREADS = 64;
/** The most arguments a kernel takes. */
const MAX_ARGS = 32;

// The control block, in int32 words. Each worker's words sit on their own 64-byte line.
const PENDING = 0; // workers still running the current job; the caller waits on it
const FAILED = 1; // set by a worker whose kernel threw
const KERNEL = 2; // which kernel: its index among the module's function exports
const NARGS = 3;
const RANGE = 4; // index of the range's first bound among the arguments
const SPIN = 5; // microseconds a thread spins on its word before it blocks (see spinMicros)
const SLOT = 16; // worker w's words start at SLOT * (w + 1)
const SEQ = 0; // bumped to hand the worker a job (or, with STOP set, to end it)
const READY = 1; // set by the worker once its instance exists
const LO = 2;
const HI = 3;
const STOP = 4;
const ARGS_BYTE = 4 * SLOT * (MAX_THREADS + 1);
const CONTROL_BYTES = ARGS_BYTE + 8 * MAX_ARGS;

/**
 * The worker's code, as a string: it runs the same from the TypeScript sources, the built
 * dist and a bundle (Node: `new Worker(code, { eval: true })`; browsers: a Blob URL).
 */
const WORKER_SOURCE = `'use strict';
(() => {
  const SLOT = ${SLOT}, SEQ = ${SEQ}, READY = ${READY}, LO = ${LO}, HI = ${HI}, STOP = ${STOP};
  const PENDING = ${PENDING}, FAILED = ${FAILED}, KERNEL = ${KERNEL}, NARGS = ${NARGS}, RANGE = ${RANGE}, SPIN = ${SPIN};
  let node = null;
  const post = (m) => (node ? node.postMessage(m) : self.postMessage(m));
  const start = ({ modules, memory, control, index }) => {
    const i32 = new Int32Array(control);
    const f64 = new Float64Array(control, ${ARGS_BYTE}, ${MAX_ARGS});
    const base = SLOT * (index + 1);
    // Every module's function exports, in order: the backend's kernels, then each library's.
    const fns = [];
    try {
      for (const module of modules) {
        const instance = new WebAssembly.Instance(module, { env: { memory } });
        for (const e of WebAssembly.Module.exports(module)) if (e.kind === 'function') fns.push(instance.exports[e.name]);
      }
    } catch (e) {
      post({ error: String((e && e.message) || e) });
      return;
    }
    Atomics.store(i32, base + READY, 1);
    post({ ready: true });
    const args = [];
    let seen = 0;
    for (;;) {
      // A short spin first: a step's kernels come tens of microseconds apart, and waking a
      // thread blocked in Atomics.wait costs about as much again. Bounded (AITM_SPIN_US), so a
      // loaded machine loses at most that much of a core per gap.
      if (Atomics.load(i32, base + SEQ) === seen) {
        const until = performance.now() + i32[SPIN] / 1000;
        for (let k = 1; Atomics.load(i32, base + SEQ) === seen; k++) if ((k & 255) === 0 && performance.now() > until) break;
      }
      Atomics.wait(i32, base + SEQ, seen);
      const s = Atomics.load(i32, base + SEQ);
      if (s === seen) continue;
      seen = s;
      if (Atomics.load(i32, base + STOP) !== 0) break;
      const n = i32[NARGS];
      const r = i32[RANGE];
      args.length = n;
      for (let k = 0; k < n; k++) args[k] = f64[k];
      args[r] = i32[base + LO];
      args[r + 1] = i32[base + HI];
      try {
        fns[i32[KERNEL]].apply(null, args);
      } catch (e) {
        Atomics.store(i32, FAILED, 1);
        post({ error: String((e && e.message) || e) });
      }
      if (Atomics.sub(i32, PENDING, 1) === 1) Atomics.notify(i32, PENDING);
    }
    if (node) node.close(); else self.close();
  };
  // Node runs this as a script or, under --input-type=module (inherited), as a module: reach
  // worker_threads either way.
  if (typeof process === 'object' && process !== null && process.versions && process.versions.node) {
    // (A variable name: a bundle of the package names no Node built-in.)
    const name = 'node:' + 'worker_threads';
    const wt = typeof process.getBuiltinModule === 'function'
      ? Promise.resolve(process.getBuiltinModule(name))
      : typeof require === 'function' ? Promise.resolve(require(name)) : import(name);
    wt.then((m) => {
      node = m.parentPort;
      node.once('message', start);
    });
  } else {
    self.onmessage = (e) => { self.onmessage = null; start(e.data); };
  }
})();
`;

/** A worker as the pool sees it, in Node or a browser. */
interface ThreadHandle {
  post(message: unknown): void;
  /** Calls back once with null when the worker is ready, or with why it failed. */
  onStarted(fn: (error: string | null) => void): void;
  /** Calls back when the worker has ended (Node; a browser does not say). */
  onExit(fn: () => void): void;
  /** Lets the process exit while the worker lives (Node; nothing in a browser). */
  unref(): void;
  terminate(): void;
}

/** Starts one worker running WORKER_SOURCE. */
export type Spawner = () => ThreadHandle;

interface NodeWorker {
  postMessage(m: unknown): void;
  on(event: 'message' | 'error' | 'exit', fn: (v: unknown) => void): void;
  unref(): void;
  terminate(): Promise<number>;
}

interface WebWorker {
  postMessage(m: unknown): void;
  addEventListener(event: 'message' | 'error', fn: (e: { data?: unknown; message?: string }) => void): void;
  terminate(): void;
}

/** Watches a worker's first messages: ready, or an error. */
function started(fn: (error: string | null) => void): { message: (m: unknown) => void; error: (why: string) => void } {
  let done = false;
  const once = (e: string | null) => {
    if (!done) {
      done = true;
      fn(e);
    }
  };
  return {
    message: (m) => {
      const msg = m as { ready?: boolean; error?: string };
      if (msg.ready) once(null);
      else if (msg.error !== undefined) once(msg.error);
    },
    error: (why) => once(why),
  };
}

/** How this host starts workers, or why it cannot (a sentence). */
export async function hostSpawner(): Promise<Spawner | string> {
  if (isNode()) {
    // A variable module name keeps bundlers from following it into Node's built-ins.
    const name = 'node:worker_threads';
    const { Worker } = (await import(/* @vite-ignore */ name)) as { Worker: new (code: string, opts: { eval: true }) => NodeWorker };
    return () => {
      const w = new Worker(WORKER_SOURCE, { eval: true });
      let watch: ReturnType<typeof started> | null = null;
      let exited = (): void => {};
      const pending: unknown[] = [];
      w.on('message', (m) => (watch ? watch.message(m) : pending.push(m)));
      w.on('error', (e) => watch?.error(String((e as Error).message ?? e)));
      w.on('exit', (code) => {
        watch?.error(`the worker exited (code ${String(code)})`);
        exited();
      });
      return {
        post: (m) => w.postMessage(m),
        onStarted: (fn) => {
          watch = started(fn);
          for (const m of pending.splice(0)) watch.message(m);
        },
        onExit: (fn) => {
          exited = fn;
        },
        unref: () => w.unref(),
        terminate: () => void w.terminate(),
      };
    };
  }
  const g = globalThis as { Worker?: new (url: string) => WebWorker; crossOriginIsolated?: boolean; Blob?: typeof Blob; URL?: typeof URL };
  if (g.crossOriginIsolated !== true) return 'the page is not cross-origin isolated (SharedArrayBuffer needs COOP/COEP headers)';
  if (g.Worker === undefined || g.Blob === undefined || g.URL === undefined) return 'this host has no Web Workers';
  const url = g.URL.createObjectURL(new g.Blob([WORKER_SOURCE], { type: 'text/javascript' }));
  const WorkerCtor = g.Worker;
  return () => {
    const w = new WorkerCtor(url);
    let watch: ReturnType<typeof started> | null = null;
    w.addEventListener('message', (e) => watch?.message(e.data));
    w.addEventListener('error', (e) => watch?.error(e.message ?? 'the worker failed to start'));
    return {
      post: (m) => w.postMessage(m),
      onStarted: (fn) => {
        watch = started(fn);
      },
      onExit: () => {},
      unref: () => {},
      terminate: () => w.terminate(),
    };
  };
}

/** Whether this host can share a WebAssembly.Memory between threads, or why not. */
export function sharingSupport(): true | string {
  const g = globalThis as { SharedArrayBuffer?: unknown; Atomics?: unknown; crossOriginIsolated?: boolean };
  if (typeof g.SharedArrayBuffer !== 'function' || typeof g.Atomics !== 'object') {
    return g.crossOriginIsolated === false
      ? 'the page is not cross-origin isolated (SharedArrayBuffer needs COOP/COEP headers)'
      : 'this host has no SharedArrayBuffer';
  }
  if (!isNode() && g.crossOriginIsolated !== true) return 'the page is not cross-origin isolated (SharedArrayBuffer needs COOP/COEP headers)';
  return true;
}

/** The cores this host has (Node: os.availableParallelism(); browsers: navigator.hardwareConcurrency). */
export async function coreCount(): Promise<number> {
  if (isNode()) {
    const name = 'node:os';
    const os = (await import(/* @vite-ignore */ name)) as { availableParallelism?: () => number; cpus: () => unknown[] };
    return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
  }
  const n = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  return typeof n === 'number' && n >= 1 ? Math.floor(n) : 1;
}

/** A thread count given by a user: a whole number from 1 to MAX_THREADS, or a RangeError naming it. */
export function checkThreadCount(n: number, where: string): number {
  if (!Number.isInteger(n) || n < 1 || n > MAX_THREADS) {
    throw new RangeError(`${where}: the thread count must be a whole number from 1 to ${MAX_THREADS}, got ${String(n)}`);
  }
  return n;
}

/** AITM_THREADS, checked, or undefined when unset. */
export function envThreads(): number | undefined {
  const v = envVar('AITM_THREADS');
  if (v === undefined || v.trim() === '') return undefined;
  return checkThreadCount(Number(v), `AITM_THREADS=${v}`);
}

/** The default of AITM_SPIN_US: how long a thread spins for its next job before it blocks. */
export const DEFAULT_SPIN_US = 200;

/**
 * How long, in microseconds, a waiting thread spins before it blocks in Atomics.wait:
 * AITM_SPIN_US, else DEFAULT_SPIN_US. A training step's kernels come tens of microseconds
 * apart, and a thread blocked in Atomics.wait takes about as long again to wake on this
 * machine's virtual cores (measured: at 2 threads with no spin the step was slower than at 1;
 * with 100-500 us it is 1.3-1.6x faster). The spin is bounded, so on a loaded machine a waiting
 * thread takes at most that much of a core per gap (as OpenMP's GOMP_SPINCOUNT); 0 never spins.
 */
export function spinMicros(): number {
  const v = envVar('AITM_SPIN_US');
  if (v === undefined || v.trim() === '') return DEFAULT_SPIN_US;
  const n = Number(v);
  if (!(Number.isInteger(n) && n >= 0 && n <= 1_000_000)) throw new Error(`AITM_SPIN_US=${v}: expected a whole number of microseconds from 0 to 1000000`);
  return n;
}

/**
 * Whether this thread may block in Atomics.wait: not on a browser's main thread (it throws
 * there), yes in Node and in workers.
 */
function canBlock(probe: Int32Array): boolean {
  try {
    Atomics.wait(probe, PENDING, 1, 0); // 0 != 1: returns 'not-equal' at once where allowed
    return true;
  } catch {
    return false;
  }
}

/** The split of [0, total) into `parts` ranges, the inner bounds multiples of `align`. */
export function splitRange(total: number, parts: number, align: number): number[] {
  const bounds = [0];
  for (let i = 1; i < parts; i++) bounds.push(Math.max(bounds[i - 1]!, Math.floor((total * i) / parts / align) * align));
  bounds.push(total);
  return bounds;
}

interface Slot {
  readonly handle: ThreadHandle;
  readonly index: number;
  ready: boolean;
}

/** The workers, the control block, and running a kernel's ranges on them. */
export class ThreadPool {
  private readonly control: SharedArrayBuffer;
  private readonly i32: Int32Array;
  private readonly f64: Float64Array;
  private readonly kernelIndex = new Map<string, number>();
  private readonly slots: (Slot | null)[] = [];
  private readonly blocking: boolean;
  private wanted = 1;
  /** Why the last worker that failed to start did (null: none failed). */
  failure: string | null = null;
  /** Kernels run split among more than one thread so far (tests check that threads ran). */
  splitRuns = 0;

  /**
   * @param modules the compiled modules every worker instantiates, with the prefix of their
   *   kernels' names: the backend's own ('') and each kernel library's (`name/`)
   */
  constructor(
    private readonly modules: readonly { readonly prefix: string; readonly module: WasmModule }[],
    private readonly memory: LinearMemory,
    private readonly spawn: Spawner,
  ) {
    this.control = new SharedArrayBuffer(CONTROL_BYTES);
    this.i32 = new Int32Array(this.control);
    this.f64 = new Float64Array(this.control, ARGS_BYTE, MAX_ARGS);
    const wa = (globalThis as unknown as { WebAssembly: { Module: { exports(m: WasmModule): { name: string; kind: string }[] } } }).WebAssembly;
    for (const { prefix, module } of modules) {
      for (const e of wa.Module.exports(module)) if (e.kind === 'function') this.kernelIndex.set(prefix + e.name, this.kernelIndex.size);
    }
    this.blocking = canBlock(this.i32);
    this.i32[SPIN] = spinMicros();
  }

  /** Whether the workers have the kernel `kernel` (a library's: `name/kernel`). */
  has(kernel: string): boolean {
    return this.kernelIndex.has(kernel);
  }

  /** The threads asked for (the caller and its workers). */
  requested(): number {
    return this.wanted;
  }

  /** Threads a kernel may use now: the caller and the workers that are ready, up to the count asked for. */
  threads(): number {
    let n = 1;
    for (let w = 0; w < this.wanted - 1; w++) if (this.slots[w]?.ready) n++;
    return n;
  }

  /**
   * Asks for `n` threads: starts the workers missing (settles once each is ready or has
   * failed, never rejects) and ends those past n - 1.
   */
  resize(n: number): Promise<void> {
    this.wanted = n;
    for (let w = n - 1; w < this.slots.length; w++) this.stop(w);
    this.slots.length = Math.min(this.slots.length, n - 1);
    const starting: Promise<void>[] = [];
    for (let w = 0; w < n - 1; w++) {
      if (this.slots[w]) continue;
      starting.push(this.start(w));
    }
    return Promise.all(starting).then(() => undefined);
  }

  private start(w: number): Promise<void> {
    const base = SLOT * (w + 1);
    Atomics.store(this.i32, base + SEQ, 0);
    Atomics.store(this.i32, base + READY, 0);
    Atomics.store(this.i32, base + STOP, 0);
    let handle: ThreadHandle;
    try {
      handle = this.spawn();
    } catch (e) {
      this.failure = (e as Error).message;
      return Promise.resolve();
    }
    const slot: Slot = { handle, index: w, ready: false };
    this.slots[w] = slot;
    // A worker that ends unasked (it cannot while a kernel waits on it: the caller is blocked
    // then) is no longer handed work.
    handle.onExit(() => {
      slot.ready = false;
      if (this.slots[w] === slot) this.slots[w] = null;
    });
    return new Promise<void>((resolve) => {
      handle.onStarted((error) => {
        if (error === null && this.slots[w] === slot) {
          slot.ready = true;
        } else if (error !== null) {
          this.failure = error;
          if (this.slots[w] === slot) this.slots[w] = null;
          handle.terminate();
        }
        // Held until now so that `await initWasm()` in a script cannot see the process end
        // under it; from here on a worker never keeps the process alive.
        handle.unref();
        resolve();
      });
      handle.post({ modules: this.modules.map((m) => m.module), memory: this.memory, control: this.control, index: w });
    });
  }

  private stop(w: number): void {
    const slot = this.slots[w];
    if (!slot) return;
    const base = SLOT * (w + 1);
    Atomics.store(this.i32, base + STOP, 1);
    Atomics.add(this.i32, base + SEQ, 1);
    Atomics.notify(this.i32, base + SEQ, 1);
    slot.handle.terminate();
    this.slots[w] = null;
  }

  /** Ends every worker. */
  dispose(): void {
    for (let w = 0; w < this.slots.length; w++) this.stop(w);
    this.slots.length = 0;
    this.wanted = 1;
  }

  /**
   * Runs `fn` (the kernel `kernel`) on ranges [bounds[i], bounds[i + 1]) written at arguments
   * `rangeArg` and `rangeArg + 1`: the first range on this thread, the others on ready workers
   * (bounds.length - 2 of them, which `threads()` allows). Returns when every range is done.
   */
  run(kernel: string, fn: (...args: number[]) => void, args: readonly number[], rangeArg: number, bounds: readonly number[]): void {
    const k = this.kernelIndex.get(kernel);
    if (k === undefined) throw new Error(`wasm threads: the kernels have no export ${kernel}`);
    if (args.length > MAX_ARGS) throw new Error(`wasm threads: ${kernel} takes ${args.length} arguments, over ${MAX_ARGS}`);
    const i32 = this.i32;
    const helpers = bounds.length - 2;
    if (helpers > this.threads() - 1) throw new Error(`wasm threads: ${helpers + 1} ranges for ${this.threads()} threads`);
    i32[KERNEL] = k;
    i32[NARGS] = args.length;
    i32[RANGE] = rangeArg;
    this.f64.set(args);
    Atomics.store(i32, FAILED, 0);
    Atomics.store(i32, PENDING, helpers);
    let given = 0;
    for (let w = 0; given < helpers; w++) {
      const slot = this.slots[w];
      if (!slot?.ready) continue;
      const base = SLOT * (w + 1);
      i32[base + LO] = bounds[given + 1]!;
      i32[base + HI] = bounds[given + 2]!;
      Atomics.add(i32, base + SEQ, 1);
      Atomics.notify(i32, base + SEQ, 1);
      given++;
    }
    this.splitRuns++;
    const own = args.slice();
    own[rangeArg] = bounds[0]!;
    own[rangeArg + 1] = bounds[1]!;
    try {
      fn(...own);
    } finally {
      this.wait();
    }
    if (Atomics.load(i32, FAILED) !== 0) throw new Error(`wasm backend: the kernel ${kernel} failed on a worker thread`);
  }

  private wait(): void {
    const i32 = this.i32;
    if (this.blocking) {
      // As the workers: a bounded spin (their shares end about when ours does), then block.
      const until = performance.now() + i32[SPIN] / 1000;
      for (let k = 1; Atomics.load(i32, PENDING) !== 0; k++) if ((k & 255) === 0 && performance.now() > until) break;
      for (let p = Atomics.load(i32, PENDING); p !== 0; p = Atomics.load(i32, PENDING)) Atomics.wait(i32, PENDING, p);
    } else {
      // A browser's main thread may not block: spin, having done its own share first.
      while (Atomics.load(i32, PENDING) !== 0) {
        // spin
      }
    }
  }
}
