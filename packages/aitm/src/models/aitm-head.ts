// AITM's per-task stages after the embeddings, shared by AITM and AITM-AutoInt: the bottom
// MLPs, and the head (info gates, AIT attention between consecutive tasks, towers).

import { concat, type Tensor } from '@aitm/tensor';
import { MLP, ModuleList, type MLPOptions, type Module } from '@aitm/nn';
import { AttentionLayer } from './attention.js';
import type { BottomParams, ModelOptions, TowerParams } from './multitask.js';

/**
 * An info gate: MLP(dim -> dim), BatchNorm or not as the bottoms (in torch-rechub every MLP
 * is one class, so a model without BatchNorm has none in its gates either).
 */
export function infoGate(dim: number, bottomParams: BottomParams, o: Pick<MLPOptions, 'dtype' | 'generator'>): MLP {
  const bn = bottomParams.batchNorm === undefined ? {} : { batchNorm: bottomParams.batchNorm };
  return new MLP(dim, { dims: [dim], outputLayer: false, ...bn, ...o });
}

/** What an AITM model's `run` returns. */
export interface AITMOutput {
  /** [B, nTask] probabilities. */
  readonly probs: Tensor;
  /**
   * Per transfer step t (task t+1 reading task t): [B, 2] attention on [own, transferred].
   * Empty unless asked for (`run(inputs, { attention: true })`).
   */
  readonly attention: readonly Tensor[];
}

/**
 * AITM's transfer and output stage, shared by every AITM variant: for i >= 1, info =
 * gate_{i-1}(vector i-1) and attention over [vector i, info] replaces vector i (so task i+1
 * reads the transferred vector); then each tower and a sigmoid. `towerInputs` is updated in place.
 */
export function transferAndPredict(
  towerInputs: Tensor[],
  infoGates: ModuleList<MLP>,
  aits: ModuleList<AttentionLayer>,
  towers: ModuleList<MLP>,
  withAttention = false,
): AITMOutput {
  const attention: Tensor[] = [];
  for (let i = 1; i < towerInputs.length; i++) {
    const info = infoGates.at(i - 1).forward(towerInputs[i - 1]!);
    const { output, weights } = aits.at(i - 1).attendPair(towerInputs[i]!, info, { weights: withAttention });
    towerInputs[i] = output;
    if (weights) attention.push(weights);
  }
  // The sigmoid is fused into each tower's output layer.
  const ys = towerInputs.map((x, i) => towers.at(i).forward(x, { sigmoid: true }));
  return { probs: concat(ys, 1), attention };
}

/** One bottom MLP (no output layer) per task, each `inputDim` -> `bottomParams.dims`. */
export function taskBottoms(nTask: number, inputDim: number, bottomParams: BottomParams, o: ModelOptions): ModuleList<MLP> {
  const bottoms = new ModuleList<MLP>();
  for (let t = 0; t < nTask; t++) bottoms.append(new MLP(inputDim, { ...bottomParams, outputLayer: false, ...o }));
  return bottoms;
}

/**
 * AITM's head over task vectors of width `dim`: a tower per task, and an info gate and an
 * attention layer per transfer step. They are registered on `owner` (not on a module of their
 * own) as `towers`, `info_gates` and `aits`, in that order, so the parameter names stay
 * torch-rechub's and the weights are drawn in torch-rechub's order.
 *
 * @example
 * this.bottoms = this.registerModule('bottoms', taskBottoms(nTask, inputDim, bottomParams, o));
 * this.head = new AITMHead(this, nTask, dim, bottomParams, towerParamsList, o);
 * const { probs } = this.head.run(bottomOutputs);
 */
export class AITMHead {
  /** `towers.<t>`: one MLP with output layer per task. */
  readonly towers: ModuleList<MLP>;
  /** `info_gates.<t>`: maps task t's vector to the info task t+1 reads. */
  readonly infoGates: ModuleList<MLP>;
  /** `aits.<t>`: task t+1's attention over [own vector, info]. */
  readonly aits: ModuleList<AttentionLayer>;

  constructor(owner: Module, nTask: number, dim: number, bottomParams: BottomParams, towerParamsList: readonly TowerParams[], o: ModelOptions) {
    this.towers = owner.registerModule('towers', new ModuleList<MLP>());
    for (let t = 0; t < nTask; t++) this.towers.append(new MLP(dim, { ...towerParamsList[t]!, outputLayer: true, ...o }));
    this.infoGates = owner.registerModule('info_gates', new ModuleList<MLP>());
    for (let t = 0; t < nTask - 1; t++) this.infoGates.append(infoGate(dim, bottomParams, o));
    this.aits = owner.registerModule('aits', new ModuleList<AttentionLayer>());
    for (let t = 0; t < nTask - 1; t++) this.aits.append(new AttentionLayer(dim, o));
  }

  /** Probabilities from the bottoms' outputs (one [B, dim] per task; the array is reused), and the attention weights when asked for. */
  run(bottomOutputs: Tensor[], withAttention = false): AITMOutput {
    return transferAndPredict(bottomOutputs, this.infoGates, this.aits, this.towers, withAttention);
  }
}
