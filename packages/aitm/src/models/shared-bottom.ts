// The Shared-Bottom baseline (Caruana, 1997) with torch-rechub's structure and names: one
// bottom MLP over the embeddings, shared by every task, and a tower plus sigmoid per task.

import { concat, type Tensor } from '@aitm/tensor';
import { EmbeddingLayer, MLP, Module, ModuleList, type Feature } from '@aitm/nn';
import { checkTasks, inputDimOf, lastDim, layerOptions, type BottomParams, type ModelOptions, type TowerParams } from './multitask.js';

/**
 * torch-rechub's `SharedBottom(features, task_types, bottom_params, tower_params_list)`
 * for binary-classification tasks.
 *
 * Parameters: `embedding.embed_dict.<feature>.weight`, `bottom_mlp.mlp.*`, `towers.<i>.mlp.*`
 * (torch-rechub's `predict_layers` are parameter-free sigmoids).
 *
 * @example
 * const model = new SharedBottom(features, 2, { dims: [64, 32] }, [{ dims: [32] }, { dims: [32] }]);
 * model.forward(inputs); // [B, 2]
 */
export class SharedBottom extends Module {
  readonly embedding: EmbeddingLayer;
  readonly bottomMlp: MLP;
  readonly towers: ModuleList<MLP>;
  readonly inputDim: number;

  constructor(
    readonly features: readonly Feature[],
    readonly nTask: number,
    bottomParams: BottomParams,
    towerParamsList: readonly TowerParams[],
    opts: ModelOptions = {},
  ) {
    super();
    checkTasks('SharedBottom', nTask, towerParamsList.length);
    const dim = lastDim('SharedBottom', 'bottomParams', bottomParams.dims);
    const o = layerOptions(opts);
    this.inputDim = inputDimOf(features);
    this.embedding = this.registerModule('embedding', new EmbeddingLayer(features, o));
    this.bottomMlp = this.registerModule('bottom_mlp', new MLP(this.inputDim, { ...bottomParams, outputLayer: false, ...o }));
    this.towers = this.registerModule('towers', new ModuleList<MLP>());
    for (let i = 0; i < nTask; i++) this.towers.append(new MLP(dim, { ...towerParamsList[i]!, outputLayer: true, ...o }));
  }

  /** [B, nTask] probabilities. */
  forward(inputs: Readonly<Record<string, Tensor>>): Tensor {
    const shared = this.bottomMlp.forward(this.embedding.forward(inputs, { squeezeDim: true }));
    return concat([...this.towers].map((t) => t.forward(shared, { sigmoid: true })), 1);
  }
}
