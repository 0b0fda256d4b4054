// Deterministic memory management: storage is freed when a tensor is disposed, either
// explicitly or by the `tidy` scope that created it. The garbage collector is never trusted
// to free GPU memory: it does not know how scarce it is and runs at unpredictable times.

import type { Tensor } from './tensor.js';
import { currentBackend, getBackend, type BackendName, type MemoryInfo } from './backend.js';

const scopes: Set<Tensor>[] = [];
let liveTensors = 0;

/** Called by the Tensor constructor: counts it and puts it in the innermost scope. */
export function trackTensor(t: Tensor): void {
  liveTensors++;
  scopes[scopes.length - 1]?.add(t);
}

/** Called by `Tensor.dispose`. */
export function untrackTensor(t: Tensor): void {
  liveTensors--;
  for (const s of scopes) s.delete(t);
}

/**
 * Runs `fn` and disposes every tensor it created, except the ones it returns (a tensor,
 * or tensors inside returned arrays / plain objects) and the ones passed to `keep`.
 * Returned tensors move to the enclosing scope. Like `tf.tidy`.
 *
 * @example
 * const loss = tidy(() => mse(model.forward(x), y)); // intermediates freed, loss kept
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
    if (result instanceof Promise) {
      throw new Error('tidy: the function must be synchronous (it returned a Promise); await outside the scope');
    }
  } finally {
    scopes.pop();
  }
  const kept = new Set<Tensor>();
  collectTensors(result, kept, 0);
  for (const t of scope) {
    if (kept.has(t)) scopes[scopes.length - 1]?.add(t);
    else t.dispose();
  }
  return result;
}

/** Removes `t` from every open scope, so only an explicit `dispose()` frees it. */
export function keep<T extends Tensor>(t: T): T {
  for (const s of scopes) s.delete(t);
  return t;
}

function collectTensors(v: unknown, into: Set<Tensor>, depth: number): void {
  if (v === null || typeof v !== 'object' || depth > 8) return;
  if (isTensor(v)) {
    into.add(v);
    return;
  }
  if (Array.isArray(v)) {
    for (const x of v) collectTensors(x, into, depth + 1);
    return;
  }
  if (v instanceof Map) {
    for (const x of v.values()) collectTensors(x, into, depth + 1);
    return;
  }
  if (Object.getPrototypeOf(v) === Object.prototype) {
    for (const x of Object.values(v)) collectTensors(x, into, depth + 1);
  }
}

function isTensor(v: object): v is Tensor {
  return (v as { __isTensor?: boolean }).__isTensor === true;
}

/**
 * Runs `fn` (synchronous or async) and says how many more tensors are alive after it than
 * before: what it leaked, plus what it returned. A scope for finding leaks, since nothing is
 * garbage collected (see `tidy`).
 *
 * @example
 * const { leaked } = await trackLeaks(() => { opt.zeroGrad(); bce(model.forward(x), y).backward(); opt.step(); });
 * // leaked > 0: the forward pass's tensors were never disposed; wrap the step in tidy(() => ...)
 */
export async function trackLeaks<T>(fn: () => T | Promise<T>): Promise<{ value: T; leaked: number }> {
  const before = liveTensors;
  const value = await fn();
  return { value, leaked: liveTensors - before };
}

/** What `memory()` reports: live tensors, and one backend's storage blocks and bytes. */
export interface MemoryReport extends MemoryInfo {
  /** Tensors created and not yet disposed, on all backends. */
  tensors: number;
}

/**
 * Live tensors (on all backends), plus the storage of one backend: by default the current one
 * (see `setBackend`), where new tensors go.
 *
 * @example
 * await initBackend();
 * memory();        // { tensors, ...bytes of the backend initBackend chose }
 * memory('cpu');   // the CPU backend's storage
 */
export function memory(backend?: BackendName): MemoryReport {
  return { tensors: liveTensors, ...(backend === undefined ? currentBackend() : getBackend(backend)).memory() };
}
