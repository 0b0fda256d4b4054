// ESMM (Ma et al., SIGIR 2018) with torch-rechub's structure and names: a CTR tower and a
// CVR tower over the shared embeddings; pCTCVR = pCTR * pCVR. Both losses are taken over
// all impressions (CTR on click, CTCVR on purchase), so the CVR tower is never trained on
// the clicked subset alone: the "entire space" of the title.

import { concat, mul, type Tensor } from '@aitm/tensor';
import { EmbeddingLayer, MLP, Module, type Feature } from '@aitm/nn';
import { inputDimOf, layerOptions, type ModelOptions, type TowerParams } from './multitask.js';

/** ESMM's outputs: pCTR and pCTCVR. */
export interface ESMMOutput {
  /** Shape [B, 2]: [pCTR, pCTCVR], the two trained (and evaluated) probabilities. */
  readonly probs: Tensor;
  /** [B, 1] each. */
  readonly ctr: Tensor;
  readonly cvr: Tensor;
  readonly ctcvr: Tensor;
}

/**
 * torch-rechub's `ESMM(user_features, item_features, cvr_params, ctr_params)`.
 *
 * Parameters: `embedding.embed_dict.<feature>.weight`, `tower_cvr.mlp.*`, `tower_ctr.mlp.*`
 * (built in that order, as torch-rechub does).
 *
 * Differences from torch-rechub: there is no user/item split here (the datasets have none);
 * both towers read every feature, flattened like the other models' bottoms (sparse
 * embeddings in feature order, then dense values). With sparse features only and user
 * features listed before item features this is torch-rechub's tower input. torch-rechub
 * returns [cvr, ctr, ctcvr]; `forward` returns [ctr, ctcvr] (the trained outputs, in the
 * click -> purchase label order) and `run` returns all three.
 *
 * @example
 * const model = new ESMM(features, { dims: [32] }, { dims: [32] });
 * model.forward(inputs); // [B, 2]: P(click), P(click and purchase)
 * model.run(inputs).cvr; // [B, 1]: P(purchase | click)
 */
export class ESMM extends Module {
  readonly nTask = 2;
  readonly embedding: EmbeddingLayer;
  readonly towerCvr: MLP;
  readonly towerCtr: MLP;
  readonly inputDim: number;

  constructor(
    readonly features: readonly Feature[],
    cvrParams: TowerParams,
    ctrParams: TowerParams,
    opts: ModelOptions = {},
  ) {
    super();
    const o = layerOptions(opts);
    this.inputDim = inputDimOf(features);
    this.embedding = this.registerModule('embedding', new EmbeddingLayer(features, o));
    this.towerCvr = this.registerModule('tower_cvr', new MLP(this.inputDim, { ...cvrParams, outputLayer: true, ...o }));
    this.towerCtr = this.registerModule('tower_ctr', new MLP(this.inputDim, { ...ctrParams, outputLayer: true, ...o }));
  }

  /** pCTR, pCVR and pCTCVR, and the [B, 2] [pCTR, pCTCVR] that forward returns. */
  run(inputs: Readonly<Record<string, Tensor>>): ESMMOutput {
    const x = this.embedding.forward(inputs, { squeezeDim: true });
    const cvr = this.towerCvr.forward(x, { sigmoid: true });
    const ctr = this.towerCtr.forward(x, { sigmoid: true });
    const ctcvr = mul(ctr, cvr);
    return { probs: concat([ctr, ctcvr], 1), ctr, cvr, ctcvr };
  }

  /** Shape [B, 2]: [pCTR, pCTCVR]. */
  forward(inputs: Readonly<Record<string, Tensor>>): Tensor {
    return this.run(inputs).probs;
  }
}
