// The training loop: Adam over shuffled mini-batches, the AITM loss, validation every epoch,
// early stopping on the sum of validation AUCs with the best weights kept. A step records
// its work without waiting for the GPU; the loss is read back only every `logEvery` steps.

import { fromTypedArray, gpuCounters, keep, tidy, type BackendName, type Tensor, type TypedArray } from '@aitm/tensor';
import { Adam, BatchNorm1d, type Module } from '@aitm/nn';
import { checkHealth, healthOf } from './health.js';
import type { Dataset } from '../data/batch.js';
import { shuffledIndexBatches } from '../data/batch.js';
import type { EpochStats, RowSource } from '../data/row-source.js';
import { mixSeeds, Rng } from '../data/rng.js';
import { aitmLoss } from '../models/loss.js';
import { batchTensors } from './batch-tensors.js';
import { evaluate, eventLoopTurns, type Predictor } from './evaluate.js';
import { progressSink, type ProgressSink } from './progress.js';
import { warmUp, type WarmUpReport } from './warmup.js';

/** Options of `fit`: epochs, batch size, learning rate, early stopping, progress. */
export interface TrainOptions {
  epochs: number;
  batchSize: number;
  lr: number;
  /** Adam's L2 weight decay (default 0). */
  weightDecay?: number;
  /** Label-constraint weight (default 0.6). */
  alpha?: number;
  /** Seeds the shuffling. */
  seed: number;
  /** Epochs without a better validation AUC sum before stopping (default 2). */
  patience?: number;
  /** Read the loss back every this many steps (default 25). */
  logEvery?: number;
  backend: BackendName;
  progress?: ProgressSink;
  /** Called after each epoch with its record (live learning curves). */
  onEpoch?: (record: EpochRecord, epoch: number) => void;
}

/**
 * A training set too large to hold: its row count, a function giving one shuffled epoch
 * (`shuffledEpoch` of a RowSource, bound to a batch size and window), and its first rows.
 */
export interface StreamedTraining {
  readonly n: number;
  readonly source: RowSource;
  /** One shuffled epoch (drawn from `rng`) in mini-batches, every row once (see `shuffledEpoch`). */
  epoch(rng: Rng): AsyncIterable<{ data: Dataset; rows: Int32Array }>;
  /** The first rows (at least a batch's worth where there are that many), for the warm-up. */
  head(rows: number): Promise<Dataset>;
  /** The most rows an epoch held at once so far (see EpochStats). */
  readonly stats: EpochStats;
}

/** One epoch of training: loss, validation metrics, time. */
export interface EpochRecord {
  /** Mean of the losses read back during the epoch (null when none was read). */
  loss: number | null;
  valAuc: number[];
  valLogloss: number[];
  seconds: number;
  samplesPerSecond: number;
}

/** What `fit` returns: the epochs' records and the best epoch. */
export interface FitResult {
  epochs: EpochRecord[];
  /** 0-based index of the epoch whose weights were kept (the best validation AUC sum). */
  bestEpoch: number;
  stoppedEarly: boolean;
  /** Training throughput over all epochs (validation excluded). */
  samplesPerSecond: number;
  /** WebGPU work per training step (averaged over the first epoch), or null on the CPU. */
  perStep: { dispatches: number; submits: number; syncs: number } | null;
  /** The pipeline warm-up before the first epoch (WebGPU only; not counted in the epochs' time). */
  warmUp: WarmUpReport | null;
}

type TrainableModel = Module & Predictor;

type HostArray = TypedArray;

/**
 * Host copies of every parameter and buffer, to restore the best epoch's weights later.
 * Reads the module's own tensors (`stateEntries`), not `stateDict()` views, so nothing is
 * left to dispose and `restoreState` writes into the real parameters.
 */
export async function snapshotState(model: Module): Promise<Map<string, HostArray>> {
  const out = new Map<string, HostArray>();
  for (const [name, t] of model.stateEntries()) out.set(name, await t.data());
  return out;
}

/** Puts a snapshot back into the module's parameters and buffers, in place. */
export function restoreState(model: Module, snap: Map<string, HostArray>): void {
  for (const [name, t] of model.stateEntries()) {
    const data = snap.get(name);
    if (data === undefined) continue;
    tidy(() => t.assign(fromHost(data, t)));
  }
}

const fromHost = (data: HostArray, like: Tensor): Tensor =>
  fromTypedArray(data, like.shape, like.dtype, { backend: like.backendName });

/**
 * Trains `model` on `train`, validating on `val` after every epoch (when given).
 *
 * @example
 * const result = await fit(model, train, val, { epochs: 3, batchSize: 2048, lr: 1e-3, seed: 1, backend: 'webgpu' });
 */
export async function fit(model: TrainableModel, train: Dataset | StreamedTraining, val: Dataset | RowSource | null, opts: TrainOptions): Promise<FitResult> {
  const streamed = 'epoch' in train ? train : null;
  const epochBatches = streamed
    ? (rng: Rng) => streamed.epoch(rng)
    : async function* (rng: Rng): AsyncGenerator<{ data: Dataset; rows: Int32Array }> {
        for (const rows of shuffledIndexBatches(train.n, opts.batchSize, rng)) yield { data: train as Dataset, rows };
      };
  const alpha = opts.alpha ?? 0.6;
  const logEvery = Math.max(1, opts.logEvery ?? 25);
  const patience = opts.patience ?? 2;
  const progress = opts.progress ?? progressSink();
  const optimizer = new Adam(model.parameters(), { lr: opts.lr, weightDecay: opts.weightDecay ?? 0 });
  const epochs: EpochRecord[] = [];
  let best = -Infinity;
  let bestEpoch = 0;
  let bestState: Awaited<ReturnType<typeof snapshotState>> | null = null;
  let sinceBest = 0;
  let trainSeconds = 0;
  let trainSamples = 0;
  let step = 0;
  let perStep: FitResult['perStep'] = null;
  let warm: WarmUpReport | null = null;
  // A batch of one row cannot train a BatchNorm (its batch variance is undefined; torch's
  // BatchNorm1d raises): such a batch, which only an epoch's last can be, is left out of that
  // epoch, and the first time it happens says so.
  const hasBatchNorm = model.namedModules().some(([, m]) => m instanceof BatchNorm1d);
  let saidOneRow = false;
  try {
    // Compile the kernels of a full batch and of the last, smaller one before timing starts.
    const sample = streamed ? await streamed.head(Math.min(opts.batchSize, train.n)) : (train as Dataset);
    for (const size of new Set([Math.min(opts.batchSize, train.n), train.n % opts.batchSize].filter((s) => s > 1 && s <= sample.n))) {
      const b = batchTensors(sample, Int32Array.from({ length: size }, (_, i) => i), opts.backend);
      try {
        const r = await warmUp(model, b, alpha, opts.backend, {
          // Compiling takes seconds on a first run (tens of ms per pipeline on a software driver): say so as it goes.
          onProgress: (n, s) => {
            if (n > 0) progress.line(`warm-up: compiling GPU pipelines ${(warm?.pipelines ?? 0) + n}... (${s.toFixed(1)} s)`);
            else if (warm === null) progress.line('warm-up: compiling GPU pipelines (each kernel variant once per process, cached in memory)...');
          },
        });
        if (r) warm = warm ? { seconds: warm.seconds + r.seconds, pipelines: warm.pipelines + r.pipelines } : r;
      } finally {
        for (const t of [...Object.values(b.inputs), b.labels]) t.dispose();
      }
    }
    if (warm) progress.line(`warm-up: compiled ${warm.pipelines} GPU pipelines in ${warm.seconds.toFixed(1)} s`);
    gpuCounters(true);
    for (let epoch = 0; epoch < opts.epochs; epoch++) {
      model.train(true);
      const rng = new Rng(mixSeeds(opts.seed, epoch));
      const t0 = performance.now();
      let done = 0;
      const losses: number[] = [];
      const pause = eventLoopTurns();
      for await (const { data, rows } of epochBatches(rng)) {
        if (rows.length < 2 && hasBatchNorm) {
          if (!saidOneRow) progress.line(`epoch ${epoch + 1}: the last batch has 1 row, which BatchNorm cannot train on (no batch variance, as torch's BatchNorm1d); that row sits out this epoch (another row each epoch, as the shuffle moves)`);
          saidOneRow = true;
          continue;
        }
        const logThis = step % logEvery === 0;
        const health = tidy(() => {
          const b = batchTensors(data, rows, opts.backend);
          const l = aitmLoss(model.forward(b.inputs), b.labels, alpha).total;
          l.backward();
          optimizer.step();
          optimizer.zeroGrad();
          return logThis ? keep(healthOf(l, model, optimizer)) : null;
        });
        if (health !== null) {
          // The only host sync of the loop, once every `logEvery` steps: the loss, and whether
          // anything went non-finite (see health.ts).
          losses.push(checkHealth(await health.data(), { epoch: epoch + 1, step, lr: opts.lr }));
          health.dispose();
        }
        step++;
        done += rows.length;
        const secs = (performance.now() - t0) / 1000;
        progress.update({ epoch: epoch + 1, epochs: opts.epochs, done, total: train.n, loss: losses.at(-1) ?? null, samplesPerSecond: done / Math.max(secs, 1e-9) });
        await pause(); // lets SIGINT/SIGTERM clean up mid-epoch on the CPU backend
      }
      if (epoch === 0 && opts.backend === 'webgpu') {
        const c = gpuCounters(true);
        const steps = Math.max(1, step);
        // The loss readbacks are the only syncs inside the loop.
        if (c) perStep = { dispatches: c.dispatches / steps, submits: c.submits / steps, syncs: c.syncs / steps };
      }
      // Wait for the epoch's last steps before timing it, and check them: the last read may
      // be up to logEvery - 1 steps back.
      const loss0 = tidy(() => keep(healthOf(null, model, optimizer)));
      try {
        checkHealth(await loss0.data(), { epoch: epoch + 1, step: step - 1, lr: opts.lr });
      } finally {
        loss0.dispose();
      }
      const seconds = (performance.now() - t0) / 1000;
      trainSeconds += seconds;
      trainSamples += done;
      const metrics = val ? await evaluate(model, val, { backend: opts.backend }) : { auc: [], logloss: [] };
      const record: EpochRecord = {
        // null when no loss was read back this epoch (fewer steps than logEvery after the last read).
        loss: losses.length > 0 ? losses.reduce((a, b) => a + b, 0) / losses.length : null,
        valAuc: metrics.auc,
        valLogloss: metrics.logloss,
        seconds,
        samplesPerSecond: done / seconds,
      };
      epochs.push(record);
      opts.onEpoch?.(record, epoch);
      progress.line(
        `epoch ${epoch + 1}/${opts.epochs}: loss ${record.loss === null ? 'not sampled' : record.loss.toFixed(4)}, ${Math.round(record.samplesPerSecond)} samples/s` +
          (val ? `, val AUC ${metrics.auc.map((a) => a.toFixed(4)).join(' / ')}` : ''),
      );
      if (!val) continue;
      // NaN AUCs (a split with one class) count as 0 so they never win.
      const score = metrics.auc.reduce((a, b) => a + (Number.isNaN(b) ? 0 : b), 0);
      if (score > best) {
        best = score;
        bestEpoch = epoch;
        bestState = await snapshotState(model);
        sinceBest = 0;
      } else if (++sinceBest >= patience) {
        progress.line(`early stopping: no better validation AUC sum for ${patience} epoch(s); keeping epoch ${bestEpoch + 1}`);
        break;
      }
    }
  } finally {
    optimizer.dispose();
    progress.end();
  }
  if (bestState !== null && bestEpoch !== epochs.length - 1) restoreState(model, bestState);
  return {
    epochs,
    bestEpoch: val ? bestEpoch : epochs.length - 1,
    stoppedEarly: epochs.length < opts.epochs,
    samplesPerSecond: trainSamples / Math.max(trainSeconds, 1e-9),
    perStep,
    warmUp: warm,
  };
}
