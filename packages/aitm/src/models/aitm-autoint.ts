// AITM with AutoInt bottoms: each task's bottom first lets the field embeddings attend to
// each other (AutoInt's interacting layers), then flattens them and runs the usual bottom
// MLP. Transfer (info gates, AIT attention) and towers are AITM's, unchanged.

import { concat, reshape, type Tensor } from '@aitm/tensor';
import { DenseFeature, EmbeddingLayer, MLP, Module, ModuleList, SparseFeature, type Feature } from '@aitm/nn';
import type { AttentionLayer } from './attention.js';
import { AITMHead, taskBottoms, type AITMOutput } from './aitm-head.js';
import { InteractingLayer, type AutoIntParams } from './autoint.js';
import { checkTasks, lastDim, layerOptions, type BottomParams, type ModelOptions, type TowerParams } from './multitask.js';

/** The one embedding dim all sparse features share; throws naming every feature's dim if they differ. */
export function commonEmbedDim(model: string, features: readonly Feature[]): number {
  const sparse = features.filter((f): f is SparseFeature => f instanceof SparseFeature);
  if (sparse.length === 0) throw new Error(`${model}: AutoInt attends over sparse fields, and there are none`);
  const dims = new Set(sparse.map((f) => f.embedDim));
  if (dims.size > 1) {
    throw new Error(
      `${model}: AutoInt needs one embedding dim for every sparse feature, got ${sparse.map((f) => `${f.name}: ${f.embedDim}`).join(', ')}`,
    );
  }
  return sparse[0]!.embedDim;
}

/**
 * AITM (torch-rechub's structure) whose bottoms begin with AutoInt.
 *
 * Per task t: the sparse embeddings [B, nSparse, dim] pass `autoint.layers` interacting
 * layers (`int_layers.<t>.<l>`), are flattened to [B, nSparse * heads * attDim], the dense
 * values are appended (they are scalars, not fields, so they skip the attention), and
 * `bottoms.<t>` (an MLP without output layer) maps that to the task vector. From there on it
 * is AITM: `info_gates`, `aits`, `towers`.
 *
 * Parameters: `embedding.embed_dict.<feature>.weight`,
 * `int_layers.<t>.<l>.{W_Query,W_Key,W_Value,W_Res}`, `bottoms.<t>.mlp.*`,
 * `towers.<t>.mlp.*`, `info_gates.<t>.mlp.*`, `aits.<t>.{q,k,v}_layer.weight`.
 *
 * @example
 * const model = new AITMAutoInt(features, 2, { layers: 2, heads: 2, attDim: 4 }, { dims: [64, 32] }, [{ dims: [32] }, { dims: [32] }]);
 * model.forward(inputs); // [B, 2]
 */
export class AITMAutoInt extends Module {
  readonly embedding: EmbeddingLayer;
  readonly intLayers: ModuleList<ModuleList<InteractingLayer>>;
  readonly bottoms: ModuleList<MLP>;
  readonly towers: ModuleList<MLP>;
  readonly infoGates: ModuleList<MLP>;
  readonly aits: ModuleList<AttentionLayer>;
  /** The bottom MLPs' input width: nSparse * heads * attDim + nDense. */
  readonly inputDim: number;
  private readonly sparse: readonly SparseFeature[];
  private readonly dense: readonly DenseFeature[];
  private readonly head: AITMHead;

  constructor(
    readonly features: readonly Feature[],
    readonly nTask: number,
    autoint: AutoIntParams,
    bottomParams: BottomParams,
    towerParamsList: readonly TowerParams[],
    opts: ModelOptions = {},
  ) {
    super();
    checkTasks('AITMAutoInt', nTask, towerParamsList.length);
    if (!Number.isInteger(autoint.layers) || autoint.layers < 1) {
      throw new Error(`AITMAutoInt: autoint.layers must be a positive integer, got ${autoint.layers}`);
    }
    const embedDim = commonEmbedDim('AITMAutoInt', features);
    const dim = lastDim('AITMAutoInt', 'bottomParams', bottomParams.dims);
    const o = layerOptions(opts);
    this.sparse = features.filter((f): f is SparseFeature => f instanceof SparseFeature);
    this.dense = features.filter((f): f is DenseFeature => f instanceof DenseFeature);
    const width = autoint.heads * autoint.attDim;
    this.inputDim = this.sparse.length * width + this.dense.length;
    this.embedding = this.registerModule('embedding', new EmbeddingLayer(features, o));
    this.intLayers = this.registerModule('int_layers', new ModuleList<ModuleList<InteractingLayer>>());
    for (let t = 0; t < nTask; t++) {
      const layers = new ModuleList<InteractingLayer>();
      for (let l = 0; l < autoint.layers; l++) {
        const lo = { ...o, ...(autoint.residual === undefined ? {} : { residual: autoint.residual }) };
        layers.append(new InteractingLayer(l === 0 ? embedDim : width, autoint.heads, autoint.attDim, lo));
      }
      this.intLayers.append(layers);
    }
    this.bottoms = this.registerModule('bottoms', taskBottoms(nTask, this.inputDim, bottomParams, o));
    this.head = new AITMHead(this, nTask, dim, bottomParams, towerParamsList, o);
    ({ towers: this.towers, infoGates: this.infoGates, aits: this.aits } = this.head);
  }

  /** Task t's bottom input: interacted fields, flattened, then the dense values. */
  private bottomInput(t: number, fields: Tensor, dense: Tensor | null): Tensor {
    let h = fields;
    for (const layer of this.intLayers.at(t)) h = layer.forward(h);
    const flat = reshape(h, [h.shape[0]!, -1]);
    return dense ? concat([flat, dense], 1) : flat;
  }

  /** Probabilities and the AIT attention weights of every transfer step (as AITM.run). */
  run(inputs: Readonly<Record<string, Tensor>>, opts: { attention?: boolean } = {}): AITMOutput {
    const fields = this.embedding.forward(inputs, { features: this.sparse }); // [B, nSparse, dim]
    const dense = this.dense.length > 0 ? this.embedding.forward(inputs, { features: this.dense, squeezeDim: true }) : null;
    const towerInputs = Array.from({ length: this.nTask }, (_, t) => this.bottoms.at(t).forward(this.bottomInput(t, fields, dense)));
    return this.head.run(towerInputs, opts.attention ?? false);
  }

  /** [B, nTask] probabilities. */
  forward(inputs: Readonly<Record<string, Tensor>>): Tensor {
    return this.run(inputs).probs;
  }
}
