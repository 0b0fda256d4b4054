// Pipeline warm-up: WebGPU compiles a compute pipeline the first time a kernel variant runs
// (18-90 ms each on llvmpipe), so without a warm-up the first steps of training, and the
// first epoch's throughput, pay for compiling every kernel the model needs. `warmUp` runs
// one training-mode forward and backward pass and one eval-mode forward pass on a real
// batch, compiles the optimizer's kernel on scratch tensors, waits for the GPU, and undoes
// every side effect (gradients dropped, BatchNorm running statistics and counters restored).
// Pipelines are cached in memory for the life of the device (never on disk), so each new
// process compiles them again; `onProgress` reports the count as they compile.

import { adamStep_, gpuCounters, noGrad, tidy, watchPipelineCompiles, zeros, type BackendName, type Tensor } from '@aitm/tensor';
import type { Module } from '@aitm/nn';
import { aitmLoss } from '../models/loss.js';
import type { Predictor } from './evaluate.js';

/** How `warmUp` reports progress while GPU pipelines compile. */
export interface WarmUpProgressOptions {
  /**
   * Called as pipelines compile, with how many this warm-up has compiled so far and the
   * seconds since it began: once when it starts (0), then at most every `everyMs`.
   */
  onProgress?: (compiled: number, seconds: number) => void;
  /** Least time between two `onProgress` calls after the first (default 1000 ms; 0: every pipeline). */
  everyMs?: number;
}

/** What the warm-up compiled: pipelines and time. */
export interface WarmUpReport {
  /** Wall time of the warm-up, GPU work included. */
  seconds: number;
  /** Pipelines compiled by it. */
  pipelines: number;
}

/**
 * Compiles the GPU pipelines a training step and an evaluation pass of `model` need, using
 * `batch`; leaves the model as it found it. Null on backends without pipelines (CPU).
 *
 * @example
 * const report = await warmUp(model, batchTensors(train, firstRows, 'webgpu'), 0.6, 'webgpu', {
 *   onProgress: (n) => console.error(`warm-up: compiling GPU pipelines ${n}...`),
 * });
 * console.log(`compiled ${report?.pipelines} pipelines in ${report?.seconds.toFixed(1)} s`);
 */
export async function warmUp(
  model: Module & Predictor,
  batch: { inputs: Readonly<Record<string, Tensor>>; labels: Tensor },
  alpha: number,
  backend: BackendName,
  progress: WarmUpProgressOptions = {},
): Promise<WarmUpReport | null> {
  const before = gpuCounters();
  if (backend !== 'webgpu' || before === null) return null;
  const t0 = performance.now();
  const { onProgress, everyMs = 1000 } = progress;
  let lastReport = t0;
  let compiledHere = 0;
  onProgress?.(0, 0);
  const stopWatching = watchPipelineCompiles(() => {
    compiledHere++;
    const now = performance.now();
    if (onProgress === undefined || now - lastReport < everyMs) return;
    lastReport = now;
    onProgress(compiledHere, (now - t0) / 1000);
  });
  const wasTraining = model.training;
  // BatchNorm's running statistics and counters change in a training forward: keep copies.
  const saved = tidy(() => model.namedBuffers().map(([, t]) => [t, t.clone()] as const));
  try {
    model.train(true);
    tidy(() => aitmLoss(model.forward(batch.inputs), batch.labels, alpha).total.backward());
    model.train(false);
    tidy(() => noGrad(() => model.forward(batch.inputs)));
    tidy(() => {
      const s = () => zeros([1], { backend });
      adamStep_(s(), s(), s(), s(), { lr: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false, step: 1 });
    });
  } finally {
    stopWatching();
    for (const p of model.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
    for (const [t, copy] of saved) {
      t.assign(copy);
      copy.dispose();
    }
    model.train(wasTraining);
  }
  const p0 = model.parameters()[0];
  if (p0) await p0.data(); // wait until the GPU has run (and compiled) everything
  const after = gpuCounters()!;
  return { seconds: (performance.now() - t0) / 1000, pipelines: after.pipelines - before.pipelines };
}
