// PLE (Tang et al., RecSys 2020) with torch-rechub's structure and names: stacked CGC
// ("customized gate control") levels, each with task-specific and shared experts; a task's
// gate mixes its own experts with the shared ones, and below the last level a shared gate
// mixes all of them into the next level's shared input.

import { concat, stack, type Tensor } from '@aitm/tensor';
import { EmbeddingLayer, MLP, Module, ModuleList, type Feature } from '@aitm/nn';
import { gateMlp } from './mmoe.js';
import { checkTasks, inputDimOf, lastDim, layerOptions, poolExperts, type BottomParams, type ModelOptions, type TowerParams } from './multitask.js';

/**
 * torch-rechub's `CGC(cur_level, n_level, n_task, n_expert_specific, n_expert_shared,
 * input_dims, expert_params)`. Names: `experts_specific.<k>` (task t owns
 * k = t * nSpecific .. (t + 1) * nSpecific - 1), `experts_shared.<k>`, `gates_specific.<t>`
 * and, below the last level only, `gate_shared`.
 */
export class CGC extends Module {
  readonly expertsSpecific: ModuleList<MLP>;
  readonly expertsShared: ModuleList<MLP>;
  readonly gatesSpecific: ModuleList<MLP>;
  readonly gateShared: MLP | null;

  constructor(
    readonly curLevel: number,
    readonly nLevel: number,
    readonly nTask: number,
    readonly nSpecific: number,
    readonly nShared: number,
    inputDim: number,
    expertParams: BottomParams,
    opts: ModelOptions = {},
  ) {
    super();
    const o = layerOptions(opts);
    const expert = () => new MLP(inputDim, { ...expertParams, outputLayer: false, ...o });
    this.expertsSpecific = this.registerModule('experts_specific', new ModuleList<MLP>());
    for (let k = 0; k < nTask * nSpecific; k++) this.expertsSpecific.append(expert());
    this.expertsShared = this.registerModule('experts_shared', new ModuleList<MLP>());
    for (let k = 0; k < nShared; k++) this.expertsShared.append(expert());
    this.gatesSpecific = this.registerModule('gates_specific', new ModuleList<MLP>());
    for (let t = 0; t < nTask; t++) this.gatesSpecific.append(gateMlp(inputDim, nSpecific + nShared, o));
    this.gateShared = curLevel < nLevel ? this.registerModule('gate_shared', gateMlp(inputDim, nTask * nSpecific + nShared, o)) : null;
  }

  /**
   * xs: nTask + 1 inputs [B, inputDim] (one per task, then the shared one). Returns nTask
   * outputs [B, dim], plus the shared one below the last level.
   */
  forward(xs: readonly Tensor[]): Tensor[] {
    const specific = [...this.expertsSpecific].map((e, k) => e.forward(xs[Math.floor(k / this.nSpecific)]!));
    const shared = [...this.expertsShared].map((e) => e.forward(xs[this.nTask]!));
    const outs = [...this.gatesSpecific].map((g, t) => {
      const own = specific.slice(t * this.nSpecific, (t + 1) * this.nSpecific);
      return poolExperts(g.forward(xs[t]!), stack([...own, ...shared], 1));
    });
    if (this.gateShared) outs.push(poolExperts(this.gateShared.forward(xs[this.nTask]!), stack([...specific, ...shared], 1)));
    return outs;
  }
}

/**
 * torch-rechub's `PLE(features, task_types, n_level, n_expert_specific, n_expert_shared,
 * expert_params, tower_params_list)` for binary-classification tasks.
 *
 * Parameters: `embedding.embed_dict.<feature>.weight`, `cgc_layers.<l>.*` (see CGC),
 * `towers.<t>.mlp.*`.
 *
 * One difference: torch-rechub builds PLE's towers with `output_layer=False`, so a tower's
 * output is [B, dims[-1]] and only a probability when its last dim is 1 (after a ReLU, which
 * pins the sigmoid at >= 0.5). Here each tower ends in Linear(last, 1) like every other
 * model's, adding `towers.<t>.mlp.<4n>.{weight,bias}` to torch-rechub's names.
 *
 * @example
 * const model = new PLE(features, 2, 2, 1, 1, { dims: [64, 32] }, [{ dims: [32] }, { dims: [32] }]);
 * model.forward(inputs); // [B, 2]
 */
export class PLE extends Module {
  readonly embedding: EmbeddingLayer;
  readonly cgcLayers: ModuleList<CGC>;
  readonly towers: ModuleList<MLP>;
  readonly inputDim: number;

  constructor(
    readonly features: readonly Feature[],
    readonly nTask: number,
    readonly nLevel: number,
    nSpecific: number,
    nShared: number,
    expertParams: BottomParams,
    towerParamsList: readonly TowerParams[],
    opts: ModelOptions = {},
  ) {
    super();
    checkTasks('PLE', nTask, towerParamsList.length);
    for (const [key, v, min] of [['nLevel', nLevel, 1], ['nSpecific', nSpecific, 0], ['nShared', nShared, 0]] as const) {
      if (!Number.isInteger(v) || v < min) throw new Error(`PLE: ${key} must be an integer >= ${min}, got ${v}`);
    }
    if (nSpecific + nShared === 0) throw new Error('PLE: every task needs at least one expert (nSpecific + nShared is 0)');
    const dim = lastDim('PLE', 'expertParams', expertParams.dims);
    const o = layerOptions(opts);
    // torch-rechub computes input_dims before building the embedding; the state-dict order is the same.
    this.inputDim = inputDimOf(features);
    this.embedding = this.registerModule('embedding', new EmbeddingLayer(features, o));
    this.cgcLayers = this.registerModule('cgc_layers', new ModuleList<CGC>());
    for (let l = 1; l <= nLevel; l++) {
      this.cgcLayers.append(new CGC(l, nLevel, nTask, nSpecific, nShared, l === 1 ? this.inputDim : dim, expertParams, o));
    }
    this.towers = this.registerModule('towers', new ModuleList<MLP>());
    for (let t = 0; t < nTask; t++) this.towers.append(new MLP(dim, { ...towerParamsList[t]!, outputLayer: true, ...o }));
  }

  /** [B, nTask] probabilities. */
  forward(inputs: Readonly<Record<string, Tensor>>): Tensor {
    const x = this.embedding.forward(inputs, { squeezeDim: true });
    let xs: Tensor[] = Array.from({ length: this.nTask + 1 }, () => x);
    for (const cgc of this.cgcLayers) xs = cgc.forward(xs);
    return concat(xs.map((h, t) => this.towers.at(t).forward(h, { sigmoid: true })), 1);
  }
}
