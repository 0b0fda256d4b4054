// The AITM model (Xi et al., KDD 2021) with torch-rechub's structure and parameter names,
// so a torch-rechub state_dict loads unchanged. One shared embedding feeds a bottom MLP per
// task; from task 2 on, an info gate maps the previous task's vector to "info" and an
// attention layer over [own, info] replaces the task's vector, which in turn feeds the next
// task's gate. Towers and a sigmoid give each task's probability.

import type { Tensor } from '@aitm/tensor';
import { EmbeddingLayer, MLP, Module, ModuleList, type Feature } from '@aitm/nn';
import type { AttentionLayer } from './attention.js';
import { AITMHead, taskBottoms, type AITMOutput } from './aitm-head.js';
import { checkTasks, inputDimOf, lastDim, layerOptions, type BottomParams, type ModelOptions, type TowerParams } from './multitask.js';

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
  private readonly head: AITMHead;

  constructor(
    readonly features: readonly Feature[],
    readonly nTask: number,
    bottomParams: BottomParams,
    towerParamsList: readonly TowerParams[],
    opts: ModelOptions = {},
  ) {
    super();
    checkTasks('AITM', nTask, towerParamsList.length);
    const dim = lastDim('AITM', 'bottomParams', bottomParams.dims);
    const o = layerOptions(opts);
    this.inputDim = inputDimOf(features);
    // Construction order matches torch-rechub's, so the same seed draws the same weights in order.
    this.embedding = this.registerModule('embedding', new EmbeddingLayer(features, o));
    this.bottoms = this.registerModule('bottoms', taskBottoms(nTask, this.inputDim, bottomParams, o));
    this.head = new AITMHead(this, nTask, dim, bottomParams, towerParamsList, o);
    ({ towers: this.towers, infoGates: this.infoGates, aits: this.aits } = this.head);
  }

  /** Probabilities and, with `attention: true`, the attention weights of every transfer step. */
  run(inputs: Readonly<Record<string, Tensor>>, opts: { attention?: boolean } = {}): AITMOutput {
    const embedX = this.embedding.forward(inputs, { squeezeDim: true });
    // Each task reads its own bottom; slot i is then replaced by the transferred vector,
    // which the next task's info gate reads (torch-rechub's fixed forward).
    const towerInputs = Array.from({ length: this.nTask }, (_, i) => this.bottoms.at(i).forward(embedX));
    return this.head.run(towerInputs, opts.attention ?? false);
  }

  /** [B, nTask] probabilities. */
  forward(inputs: Readonly<Record<string, Tensor>>): Tensor {
    return this.run(inputs).probs;
  }
}
