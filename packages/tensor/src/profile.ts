// Where time and memory go, per op, on every backend (as tf.profile). `runOp` is the one
// place every kernel runs, so `profile` watches it there (op.ts's kernel watcher):
//
// - time: the host's clock around the kernel. On the CPU and wasm backends that is the
//   kernel's whole run. A WebGPU kernel only records a dispatch (the GPU runs it later), so
//   on WebGPU the GPU's own timestamps are used where the adapter has 'timestamp-query'
//   (`gpuProfile`), else the host's recording time (the row's `timing` says which).
// - memory: each backend's own `memory()` count (what `memory('wasm')` reports: size classes
//   on wasm, pooled buffer sizes on WebGPU, the arrays' bytes on the CPU), read before and
//   after the kernel, and around every `free` while `fn` runs. A freed block is charged to
//   the op that made it.

import { registeredBackends, type AnyBackend, type BackendName, type MemoryInfo } from './backend.js';
import { memory } from './memory.js';
import { setKernelWatcher } from './op.js';
import { webGpuBackend } from './backends/webgpu/init.js';
import type { OpProfile } from './backends/webgpu/runtime.js';

/** One op on one backend during `profile`. */
export interface ProfiledOp {
  /** The op's name (`runOp`'s op; on WebGPU also kernels dispatched outside an op, such as 'adamStep'). */
  readonly op: string;
  readonly backend: BackendName;
  /** Times the op ran (0 for a GPU kernel dispatched outside an op). */
  calls: number;
  /** Milliseconds: the GPU's, or the host's around the kernel (see `timing`). */
  ms: number;
  /** 'gpu': GPU timestamps of its dispatches; 'host': the host's clock around the kernel. */
  timing: 'host' | 'gpu';
  /** GPU dispatches (WebGPU with timestamps only; an op may dispatch several kernels, or none). */
  dispatches?: number;
  /** Bytes its kernels left allocated (their outputs), as the backend's `memory()` counts them. */
  bytesAllocated: number;
  /** Bytes freed, while `fn` ran, of the outputs this op made during it. */
  bytesFreed: number;
}

/** What `profile` measured. */
export interface ProfileInfo<T> {
  /** What `fn` returned. */
  readonly result: T;
  /** One row per op and backend, slowest first. */
  readonly ops: ProfiledOp[];
  /** Memory in use (all backends) at the end minus at the start: what `fn` kept. */
  readonly newBytes: number;
  /** The most memory in use (all backends) seen after any op or free while `fn` ran. */
  readonly peakBytes: number;
  /** Tensors alive at the end minus at the start. */
  readonly newTensors: number;
}

let active = false;

/**
 * Runs `fn` and reports, per op, calls, time and bytes allocated and freed, on every backend
 * (as `tf.profile`). Profile after a warm-up step on WebGPU: a kernel's first run compiles it.
 * Ops run by other code while an async `fn` awaits are counted too.
 *
 * @example
 * const { ops, peakBytes } = await profile(() => tidy(() => step(x, y)));
 * for (const r of ops) console.log(r.op, r.backend, r.calls, r.ms.toFixed(3), r.bytesAllocated, r.bytesFreed);
 */
export async function profile<T>(fn: () => T | Promise<T>): Promise<ProfileInfo<T>> {
  if (active) throw new Error('profile: already profiling (profiles do not nest)');
  active = true;
  const backends = registeredBackends();
  const bytesOf = (b: AnyBackend): number => (b.memory as () => MemoryInfo)().bytes;
  const inUse = new Map<BackendName, number>(backends.map((b) => [b.name, bytesOf(b)]));
  const total = (): number => [...inUse.values()].reduce((a, v) => a + v, 0);
  const startBytes = total();
  const startTensors = memory().tensors;
  let peakBytes = startBytes;
  const rows = new Map<string, ProfiledOp>();
  const row = (op: string, backend: BackendName): ProfiledOp => {
    const key = `${backend}\u0000${op}`;
    let r = rows.get(key);
    if (r === undefined) rows.set(key, (r = { op, backend, calls: 0, ms: 0, timing: 'host', bytesAllocated: 0, bytesFreed: 0 }));
    return r;
  };
  const note = (b: AnyBackend, bytes: number): void => {
    inUse.set(b.name, bytes);
    peakBytes = Math.max(peakBytes, total());
  };
  const madeBy = new Map<unknown, ProfiledOp>(); // output storage handle -> the row of the op that made it
  const kernelBytes = new Map<AnyBackend, number>();

  setKernelWatcher({
    before(_op, backend) {
      kernelBytes.set(backend, bytesOf(backend));
      return performance.now();
    },
    after(op, backend, started, output, isNew) {
      const ms = performance.now() - started;
      const r = row(op, backend.name);
      r.calls++;
      r.ms += ms;
      const now = bytesOf(backend);
      r.bytesAllocated += now - (kernelBytes.get(backend) ?? now);
      note(backend, now);
      if (isNew) madeBy.set(output, r);
    },
  });
  const restoreFrees = backends.map((b) =>
    watchFrees(b, (handle, freed) => {
      const r = madeBy.get(handle);
      if (r !== undefined) {
        r.bytesFreed += freed;
        madeBy.delete(handle);
      }
      note(b, bytesOf(b));
    }),
  );

  let result: T;
  let gpuRows: OpProfile[] | null = null;
  try {
    const gpu = webGpuBackend();
    if (gpu !== null && gpu.runtime.adapter.features.includes('timestamp-query')) {
      let value: T | undefined;
      gpuRows = await gpu.runtime.profile(async () => {
        value = await fn();
      });
      result = value as T;
    } else result = await fn();
  } finally {
    setKernelWatcher(null);
    for (const restore of restoreFrees) restore();
    active = false;
  }
  // The GPU's times replace the host's recording times, matched by dispatch label (the op name).
  if (gpuRows !== null) {
    for (const r of rows.values()) if (r.backend === 'webgpu') [r.ms, r.timing, r.dispatches] = [0, 'gpu', 0];
    for (const g of gpuRows) {
      const r = row(g.op, 'webgpu');
      [r.ms, r.timing, r.dispatches] = [g.ms, 'gpu', g.dispatches];
    }
  }
  for (const b of backends) inUse.set(b.name, bytesOf(b));
  return {
    result,
    ops: [...rows.values()].sort((a, b) => b.ms - a.ms),
    newBytes: total() - startBytes,
    peakBytes,
    newTensors: memory().tensors - startTensors,
  };
}

/**
 * Observes `b.free` until the returned function is called: `onFree` gets each freed handle
 * and the bytes its `memory()` count fell by. The method is shadowed on the object (not its
 * class) and the shadow removed afterwards.
 */
function watchFrees(b: AnyBackend, onFree: (handle: unknown, bytes: number) => void): () => void {
  const target = b as unknown as { free: (h: unknown) => void; memory: () => MemoryInfo };
  const hadOwn = Object.prototype.hasOwnProperty.call(target, 'free');
  const original = target.free;
  target.free = (h: unknown): void => {
    const before = target.memory().bytes;
    original.call(target, h);
    onFree(h, before - target.memory().bytes);
  };
  return () => {
    if (hadOwn) target.free = original;
    else delete (target as { free?: unknown }).free;
  };
}
