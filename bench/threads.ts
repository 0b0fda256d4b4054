// The thread settings of the CPU columns the wasm comparison adds: our wasm backend at 1 and
// 2 threads (`ours-wasm-1t`, `ours-wasm-2t`) beside PyTorch on the CPU at the same counts
// (`torch-cpu-1t`, `torch-cpu-2t`). Shared by the matmul and aitm suites.

import { spawnSync } from 'node:child_process';
import * as T from '@aitm/tensor';

/** The thread counts each CPU implementation is timed at. */
export const THREAD_COUNTS: readonly number[] = [1, 2];

export const oursWasmKey = (threads: number): string => `ours-wasm-${threads}t`;
export const torchCpuKey = (threads: number): string => `torch-cpu-${threads}t`;

type SetNumThreads = (n: number) => unknown;
/** What the threaded backend reports as running (`wasmThreads()`), where it exports that. */
type WasmThreadsOf = () => { threads: number; reason: string | null } | null;

/** An export of @aitm/tensor that this build may not have (feature-detected at run time). */
function optionalExport<F>(name: string): F | null {
  if (!(name in T)) return null;
  const f = (T as unknown as Record<string, unknown>)[name];
  return typeof f === 'function' ? (f as F) : null;
}

/**
 * `setNumThreads` from @aitm/tensor where this build exports it (the threaded wasm backend),
 * else null: feature-detected (`'setNumThreads' in T`) so the bench builds and runs against either.
 */
function setNumThreadsOf(): SetNumThreads | null {
  return optionalExport<SetNumThreads>('setNumThreads');
}

/**
 * Makes the wasm backend current with `threads` threads, set explicitly with `setNumThreads`
 * (before the backend starts, so it starts with that many, and again after, waiting until
 * the workers are ready), whatever AITM_THREADS says. Returns null when it runs so, or why
 * it cannot: without `setNumThreads` the backend is single-threaded and only 1 thread can be
 * measured; where the backend reports (`wasmThreads()`) fewer threads than asked for (no
 * shared memory on this host, a worker that failed), the column is not run either.
 */
export async function useWasmThreads(threads: number): Promise<string | null> {
  const set = setNumThreadsOf();
  if (set === null) {
    await T.setBackend('wasm');
    return threads === 1 ? null : `@aitm/tensor exports no setNumThreads (single-threaded wasm backend): ${oursWasmKey(threads)} not run`;
  }
  await set(threads);
  await T.setBackend('wasm');
  await set(threads);
  const info = optionalExport<WasmThreadsOf>('wasmThreads')?.() ?? null;
  if (info !== null && info.threads !== threads) {
    return `asked for ${threads} wasm threads, the backend runs ${info.threads}${info.reason ? ` (${info.reason})` : ''}: ${oursWasmKey(threads)} not run`;
  }
  console.log(`${oursWasmKey(threads)}: setNumThreads(${threads})${info !== null ? `, wasmThreads() reports ${info.threads}` : ''}`);
  return null;
}

/**
 * After the wasm columns: back to one thread (so no worker of ours competes with the peer
 * processes timed next) and the backend's memory released.
 */
export async function releaseWasm(): Promise<void> {
  const set = setNumThreadsOf();
  if (set !== null && T.wasmBackend() !== null) await set(1);
  T.disposeWasm();
}

/** True when Debian's OpenBLAS (which torch then uses instead of the reference BLAS) is installed. */
export function hasOpenBlas(): boolean {
  const r = spawnSync('dpkg', ['-s', 'libopenblas0-pthread'], { encoding: 'utf8' });
  return r.status === 0 && /Status: install ok installed/.test(r.stdout);
}

/**
 * The environment of a PyTorch peer at `threads` threads: OpenBLAS's threads as many as
 * torch's own (the script calls torch.set_num_threads with the same count), and the core
 * type this CPU needs named when Debian's OpenBLAS is installed.
 */
export function torchEnv(threads: number, openBlas: boolean): Record<string, string> {
  const n = String(threads);
  return { ...(openBlas ? { OPENBLAS_CORETYPE: 'SkylakeX' } : {}), OPENBLAS_NUM_THREADS: n, OMP_NUM_THREADS: n };
}
