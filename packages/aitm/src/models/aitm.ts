// The AITM model (Xi et al., KDD 2021) with torch-rechub's structure and parameter names,
// so a torch-rechub state_dict loads unchanged. One shared embedding feeds a bottom MLP per
// task; from task 2 on, an info gate maps the previous task's vector to "info" and an
// attention layer over [own, info] replaces the task's vector, which in turn feeds the next
// task's gate. Towers and a sigmoid give each task's probability.

import { concat, type DType, type Generator, type Tensor } from '@aitm/tensor';
import { EmbeddingLayer, MLP, Module, ModuleList, SparseFeature, type Feature, type MLPOptions } from '@aitm/nn';
import { AttentionLayer } from './attention.js';

/** MLP settings of the bottoms (their last dim is the width of every task vector). */
export type BottomParams = Omit<MLPOptions, 'outputLayer' | 'dtype' | 'generator'> & { dims: readonly number[] };
/** MLP settings of one tower (it ends with Linear(last, 1)). */
export type TowerParams = Omit<MLPOptions, 'outputLayer' | 'dtype' | 'generator'>;

/**
 * An info gate: MLP(dim -> dim), BatchNorm or not as the bottoms (in torch-rechub every MLP
 * is one class, so a model without BatchNorm has none in its gates either).
 */
export function infoGate(dim: number, bottomParams: BottomParams, o: Pick<MLPOptions, 'dtype' | 'generator'>): MLP {
  const bn = bottomParams.batchNorm === undefined ? {} : { batchNorm: bottomParams.batchNorm };
  return new MLP(dim, { dims: [dim], outputLayer: false, ...bn, ...o });
}

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

/** The input dimension of the bottoms: sparse embedding dims plus one per dense feature. */
export function inputDimOf(features: readonly Feature[]): number {
  return features.reduce((n, f) => n + (f instanceof SparseFeature ? f.embedDim : 1), 0);
}

/**
 * torch-rechub's `AITM(features, n_task, bottom_params, tower_params_list)`.
 *
 * Parameters: `embedding.embed_dict.<feature>.weight`, `bottoms.<i>.mlp.*`,
 * `towers.<i>.mlp.*`, `info_gates.<i>.mlp.*`, `aits.<i>.{q,k,v}_layer.weight`.
 *
 * @example
 * const model = new AITM(features, 2, { dims: [64, 32] }, [{ dims: [32] }, { dims: [32] }]);
 * const p = model.forward(batchInputs); // [B, 2]: P(click), P(purchase)
 */
export class AITM extends Module {
  readonly embedding: EmbeddingLayer;
  readonly bottoms: ModuleList<MLP>;
  readonly towers: ModuleList<MLP>;
  readonly infoGates: ModuleList<MLP>;
  readonly aits: ModuleList<AttentionLayer>;
  readonly inputDim: number;

  constructor(
    readonly features: readonly Feature[],
    readonly nTask: number,
    bottomParams: BottomParams,
    towerParamsList: readonly TowerParams[],
    opts: { dtype?: DType; generator?: Generator } = {},
  ) {
    super();
    if (!Number.isInteger(nTask) || nTask < 2) throw new Error(`AITM: nTask must be an integer >= 2, got ${nTask}`);
    if (towerParamsList.length !== nTask) {
      throw new Error(`AITM: towerParamsList has ${towerParamsList.length} entries for ${nTask} tasks`);
    }
    const dim = bottomParams.dims[bottomParams.dims.length - 1];
    if (dim === undefined) throw new Error('AITM: bottomParams.dims must name at least one layer');
    const o = { ...(opts.dtype ? { dtype: opts.dtype } : {}), ...(opts.generator ? { generator: opts.generator } : {}) };
    this.inputDim = inputDimOf(features);
    // Construction order matches torch-rechub's, so the same seed draws the same weights in order.
    this.embedding = this.registerModule('embedding', new EmbeddingLayer(features, o));
    this.bottoms = this.registerModule('bottoms', new ModuleList<MLP>());
    for (let i = 0; i < nTask; i++) this.bottoms.append(new MLP(this.inputDim, { ...bottomParams, outputLayer: false, ...o }));
    this.towers = this.registerModule('towers', new ModuleList<MLP>());
    for (let i = 0; i < nTask; i++) this.towers.append(new MLP(dim, { ...towerParamsList[i]!, outputLayer: true, ...o }));
    this.infoGates = this.registerModule('info_gates', new ModuleList<MLP>());
    for (let i = 0; i < nTask - 1; i++) this.infoGates.append(infoGate(dim, bottomParams, o));
    this.aits = this.registerModule('aits', new ModuleList<AttentionLayer>());
    for (let i = 0; i < nTask - 1; i++) this.aits.append(new AttentionLayer(dim, o));
  }

  /** Probabilities and, with `attention: true`, the attention weights of every transfer step. */
  run(inputs: Readonly<Record<string, Tensor>>, opts: { attention?: boolean } = {}): AITMOutput {
    const embedX = this.embedding.forward(inputs, { squeezeDim: true });
    // Each task reads its own bottom; slot i is then replaced by the transferred vector,
    // which the next task's info gate reads (torch-rechub's fixed forward).
    const towerInputs = Array.from({ length: this.nTask }, (_, i) => this.bottoms.at(i).forward(embedX));
    return transferAndPredict(towerInputs, this.infoGates, this.aits, this.towers, opts.attention ?? false);
  }

  /** [B, nTask] probabilities. */
  forward(inputs: Readonly<Record<string, Tensor>>): Tensor {
    return this.run(inputs).probs;
  }
}
