// Starting and stopping the WebGPU backend. The runtime (and the Dawn instance inside it)
// is held here for the life of the process: if it were garbage collected, Dawn would crash.

import { envVar } from '../../env.js';
import { registerBackend, unregisterBackend } from '../../backend.js';
import { GpuRuntime, type AdapterReport, type OpProfile, type RuntimeStats } from './runtime.js';
import { WebGpuBackend } from './backend.js';

let instance: WebGpuBackend | null = null;
let starting: Promise<WebGpuBackend> | null = null;

/**
 * Opens the GPU (once) and registers the 'webgpu' backend. Throws, with install hints,
 * when no adapter exists.
 *
 * @example
 * await initWebGpu();
 * const x = tensor([1, 2, 3], { backend: 'webgpu' });
 */
export async function initWebGpu(): Promise<WebGpuBackend> {
  if (instance) return instance;
  starting ??= GpuRuntime.create().then((rt) => {
    instance = new WebGpuBackend(rt);
    registerBackend(instance);
    return instance;
  });
  try {
    return await starting;
  } catch (e) {
    starting = null;
    throw e;
  }
}

/**
 * Initialises WebGPU when an adapter exists and says whether it did. Without one it returns
 * false (after one line on stderr) unless WebGPU is required: `required`, or the environment
 * variable AITM_REQUIRE_WEBGPU=1 (what CI sets, so a missing driver fails instead of skipping).
 *
 * @example
 * const gpu = await tryInitWebGpu();
 * describe.skipIf(!gpu)('on the GPU', () => { ... });
 */
export async function tryInitWebGpu(opts: { required?: boolean } = {}): Promise<boolean> {
  try {
    await initWebGpu();
    return true;
  } catch (e) {
    if (opts.required || envVar('AITM_REQUIRE_WEBGPU') === '1') throw e;
    console.warn(`WebGPU unavailable: ${(e as Error).message.split('\n')[0]}`);
    return false;
  }
}

/** The backend if it was initialised. */
export function webGpuBackend(): WebGpuBackend | null {
  return instance;
}

/** The adapter in use (vendor, architecture, description), or null before init. */
export function webGpuAdapter(): AdapterReport | null {
  return instance?.runtime.adapter ?? null;
}

/**
 * The WebGPU runtime's counters since the last reset (dispatches, submits, host syncs,
 * pipelines, live and pooled buffers), or null before init. Pass `reset` to zero the event
 * counters after reading, e.g. once per training step.
 *
 * @example
 * gpuCounters(true); step(); console.log(gpuCounters()!.dispatches); // dispatches in one step
 */
export function gpuCounters(reset = false): RuntimeStats | null {
  if (!instance) return null;
  const s = instance.runtime.stats();
  if (reset) instance.runtime.resetCounters();
  return s;
}

/**
 * Calls `listener(compiled, op)` each time a WebGPU compute pipeline is compiled (the slow
 * part of a kernel variant's first run: tens of milliseconds each on a software driver), with
 * the number compiled on this device so far. Pipelines are cached in memory for the device's
 * life, never on disk, so every process compiles them again. Returns a function that removes
 * the listener (a no-op one before init).
 *
 * @example
 * const stop = watchPipelineCompiles((n, op) => console.error(`compiling GPU pipeline ${n} (${op})`));
 * step(); stop();
 */
export function watchPipelineCompiles(listener: (compiled: number, op: string) => void): () => void {
  if (!instance) return () => {};
  return instance.runtime.watchPipelines(listener);
}

/**
 * Submits the WebGPU work recorded so far (a no-op without WebGPU or with nothing recorded).
 * Work is otherwise submitted when a result is read or 256 commands are recorded; an
 * optimizer step calls this, so each training step is one submission and the buffer pool
 * hands out the same buffers in the same roles every step (which lets the runtime reuse
 * its bind groups).
 */
export function flushGpu(): void {
  instance?.runtime.flush();
}

/**
 * GPU time per op while `fn` runs (timestamp queries around every dispatch), slowest first;
 * null before init. The timestamps serialise nothing, but each dispatch's time includes
 * the driver's own start-up work for it.
 *
 * @example
 * const rows = await gpuProfile(() => { for (let i = 0; i < 10; i++) step(); });
 * for (const r of rows) console.log(r.op, r.dispatches, r.ms.toFixed(2));
 */
export async function gpuProfile(fn: () => void | Promise<void>): Promise<OpProfile[] | null> {
  if (!instance) return null;
  return instance.runtime.profile(fn);
}

/**
 * Destroys the device so Node can exit; tensors still on the GPU become unusable.
 * Call at the end of a program that used WebGPU.
 */
export function disposeWebGpu(): void {
  if (!instance) return;
  unregisterBackend('webgpu');
  instance.runtime.destroy();
  instance = null;
  starting = null;
}
