// What every multi-task model here shares: the interface the trainer, evaluation and the
// CLI rely on, the options passed down to layers, bottom and tower settings, and the
// gate-weighted pooling of experts that MMoE and PLE both use.

import { mul, sum, unsqueeze, fmtShape, type DType, type Generator, type Tensor } from '@aitm/tensor';
import { SparseFeature, type Feature, type MLPOptions, type Module } from '@aitm/nn';

/** A model with one probability per task: forward(inputs) is [B, nTask]. */
export type MultiTaskModel = Module & {
  readonly nTask: number;
  /** One probability per task, [B, nTask]. */
  forward(inputs: Readonly<Record<string, Tensor>>): Tensor;
};

/** dtype and generator for every layer a model builds. */
export interface ModelOptions {
  dtype?: DType;
  generator?: Generator;
}

/** MLP settings of the bottoms (their last dim is the width of every task vector). */
export type BottomParams = Omit<MLPOptions, 'outputLayer' | 'dtype' | 'generator'> & { dims: readonly number[] };
/** MLP settings of one tower (it ends with Linear(last, 1)). */
export type TowerParams = Omit<MLPOptions, 'outputLayer' | 'dtype' | 'generator'>;

/** The input dimension of the bottoms: sparse embedding dims plus one per dense feature. */
export function inputDimOf(features: readonly Feature[]): number {
  return features.reduce((n, f) => n + (f instanceof SparseFeature ? f.embedDim : 1), 0);
}

/** Only the defined entries of `opts`, so spreading them never overrides a layer's default with undefined. */
export function layerOptions(opts: ModelOptions): ModelOptions {
  return { ...(opts.dtype ? { dtype: opts.dtype } : {}), ...(opts.generator ? { generator: opts.generator } : {}) };
}

/**
 * torch-rechub's expert pooling: sum over experts of gate weight times expert output.
 * gate [B, n] (a softmax), experts [B, n, d] -> [B, d].
 */
export function poolExperts(gate: Tensor, experts: Tensor): Tensor {
  if (gate.rank !== 2 || experts.rank !== 3 || gate.shape[0] !== experts.shape[0] || gate.shape[1] !== experts.shape[1]) {
    throw new Error(`poolExperts: gate ${fmtShape(gate.shape)} and experts ${fmtShape(experts.shape)} must be [B, n] and [B, n, d]`);
  }
  return sum(mul(unsqueeze(gate, -1), experts), 1);
}

/** Checks a task count (every model here has at least two tasks). */
export function checkTasks(model: string, nTask: number, towers: number): void {
  if (!Number.isInteger(nTask) || nTask < 2) throw new Error(`${model}: nTask must be an integer >= 2, got ${nTask}`);
  if (towers !== nTask) throw new Error(`${model}: towerParamsList has ${towers} entries for ${nTask} tasks`);
}

/** The last hidden width of an MLP spec, which the next stage reads. */
export function lastDim(model: string, what: string, dims: readonly number[]): number {
  const d = dims[dims.length - 1];
  if (d === undefined) throw new Error(`${model}: ${what}.dims must name at least one layer`);
  return d;
}
