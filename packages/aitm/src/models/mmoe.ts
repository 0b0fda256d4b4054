// MMoE (Ma et al., KDD 2018) with torch-rechub's structure and names: n experts over the
// shared embeddings, and per task a softmax gate that mixes them into that task's tower input.

import { concat, stack, type Tensor } from '@aitm/tensor';
import { EmbeddingLayer, MLP, Module, ModuleList, type Feature } from '@aitm/nn';
import { checkTasks, inputDimOf, lastDim, layerOptions, poolExperts, type BottomParams, type ModelOptions, type TowerParams } from './multitask.js';

/**
 * A torch-rechub gate: `MLP(inputDim, output_layer=False, dims=[n], activation='softmax')`,
 * i.e. Linear(inputDim, n), BatchNorm1d(n), Softmax(dim 1), Dropout(0): [B, inputDim] -> [B, n].
 */
export function gateMlp(inputDim: number, n: number, opts: ModelOptions): MLP {
  return new MLP(inputDim, { dims: [n], activation: 'softmax', outputLayer: false, ...layerOptions(opts) });
}

/**
 * torch-rechub's `MMOE(features, task_types, n_expert, expert_params, tower_params_list)`
 * for binary-classification tasks.
 *
 * Parameters: `embedding.embed_dict.<feature>.weight`, `experts.<e>.mlp.*` (no output
 * layer), `gates.<t>.mlp.{0,1}.*` (Linear and BatchNorm of the softmax gate),
 * `towers.<t>.mlp.*` (torch-rechub's `predict_layers` are parameter-free sigmoids).
 *
 * @example
 * const model = new MMOE(features, 2, 4, { dims: [64, 32] }, [{ dims: [32] }, { dims: [32] }]);
 * model.forward(inputs); // [B, 2]
 */
export class MMOE extends Module {
  readonly embedding: EmbeddingLayer;
  readonly experts: ModuleList<MLP>;
  readonly gates: ModuleList<MLP>;
  readonly towers: ModuleList<MLP>;
  readonly inputDim: number;

  constructor(
    readonly features: readonly Feature[],
    readonly nTask: number,
    readonly nExpert: number,
    expertParams: BottomParams,
    towerParamsList: readonly TowerParams[],
    opts: ModelOptions = {},
  ) {
    super();
    checkTasks('MMOE', nTask, towerParamsList.length);
    if (!Number.isInteger(nExpert) || nExpert < 1) throw new Error(`MMOE: nExpert must be a positive integer, got ${nExpert}`);
    const dim = lastDim('MMOE', 'expertParams', expertParams.dims);
    const o = layerOptions(opts);
    this.inputDim = inputDimOf(features);
    this.embedding = this.registerModule('embedding', new EmbeddingLayer(features, o));
    this.experts = this.registerModule('experts', new ModuleList<MLP>());
    for (let e = 0; e < nExpert; e++) this.experts.append(new MLP(this.inputDim, { ...expertParams, outputLayer: false, ...o }));
    this.gates = this.registerModule('gates', new ModuleList<MLP>());
    for (let t = 0; t < nTask; t++) this.gates.append(gateMlp(this.inputDim, nExpert, o));
    this.towers = this.registerModule('towers', new ModuleList<MLP>());
    for (let t = 0; t < nTask; t++) this.towers.append(new MLP(dim, { ...towerParamsList[t]!, outputLayer: true, ...o }));
  }

  /** Each task's gate weights over the experts ([B, nExpert] per task) and the probabilities. */
  run(inputs: Readonly<Record<string, Tensor>>): { probs: Tensor; gates: Tensor[] } {
    const x = this.embedding.forward(inputs, { squeezeDim: true });
    const experts = stack([...this.experts].map((e) => e.forward(x)), 1); // [B, nExpert, dim]
    const gates = [...this.gates].map((g) => g.forward(x));
    const ys = gates.map((g, t) => this.towers.at(t).forward(poolExperts(g, experts), { sigmoid: true }));
    return { probs: concat(ys, 1), gates };
  }

  /** [B, nTask] probabilities. */
  forward(inputs: Readonly<Record<string, Tensor>>): Tensor {
    return this.run(inputs).probs;
  }
}
