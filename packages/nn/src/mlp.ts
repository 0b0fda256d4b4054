// torch-rechub's MLP: per hidden dim Linear, BatchNorm1d, activation, Dropout, then an
// optional Linear(last, 1), all inside one Sequential named `mlp` so the parameter names
// (`mlp.0.weight`, `mlp.1.running_mean`, ...) match a torch-rechub checkpoint.
// forward() runs the layers with fused kernels where a pattern allows (Linear + ReLU or
// Sigmoid, BatchNorm1d + ReLU); `forwardComposed` runs each module on its own (the reference).

import { sigmoid, tidy, type DType, type Generator, type Tensor } from '@aitm/tensor';
import { Module, Sequential } from './module.js';
import { Linear } from './linear.js';
import { BatchNorm1d } from './batchnorm.js';
import { Dropout } from './dropout.js';
import { activationLayer, ReLU, Sigmoid, type ActivationName } from './activations.js';

/** Options of `MLP`: layer sizes, activation, batch norm, dropout (torch-rechub's). */
export interface MLPOptions {
  /** Hidden layer sizes (default none). */
  dims?: readonly number[];
  /** Dropout probability after each hidden layer (default 0; the Dropout modules exist anyway). */
  dropout?: number;
  /** Hidden activation, a name for `activationLayer` (default 'relu'). */
  activation?: ActivationName | (string & {});
  /** Append Linear(last, 1) (default true). */
  outputLayer?: boolean;
  /** A BatchNorm1d after each hidden Linear (default true, as torch-rechub, which has no switch). */
  batchNorm?: boolean;
  dtype?: DType;
  /** For the Linear initialisation, Dice's alpha and the dropout masks (default: global). */
  generator?: Generator;
}

/**
 * torch-rechub's `MLP(input_dim, output_layer, dims, dropout, activation)`.
 *
 * Layer indices inside `mlp` (k = hidden layer, n = dims.length): with batchNorm,
 * Linear 4k, BatchNorm1d 4k+1, activation 4k+2, Dropout 4k+3 and the output Linear at 4n;
 * without batchNorm, Linear 3k, activation 3k+1, Dropout 3k+2 and the output Linear at 3n.
 *
 * @example
 * const mlp = new MLP(6, { dims: [5, 4] });
 * mlp.forward(randn([8, 6])); // [8, 1]; names mlp.0.weight, mlp.1.running_mean, ..., mlp.8.bias
 */
export class MLP extends Module {
  readonly mlp: Sequential;

  constructor(
    readonly inputDim: number,
    opts: MLPOptions = {},
  ) {
    super();
    const dtype = opts.dtype ?? 'float32';
    const gen = opts.generator ? { generator: opts.generator } : {};
    const layers = new Sequential();
    let last = inputDim;
    for (const d of opts.dims ?? []) {
      layers.append(new Linear(last, d, { dtype, ...gen }));
      if (opts.batchNorm ?? true) layers.append(new BatchNorm1d(d, { dtype }));
      layers.append(activationLayer(opts.activation ?? 'relu', { dtype, ...gen }));
      layers.append(new Dropout(opts.dropout ?? 0, opts.generator));
      last = d;
    }
    if (opts.outputLayer ?? true) layers.append(new Linear(last, 1, { dtype, ...gen }));
    this.mlp = this.registerModule('mlp', layers);
  }

  /**
   * [B, inputDim] to [B, 1] (or [B, dims[-1]] without the output layer). With
   * `sigmoid: true` the result goes through a sigmoid, fused into the last Linear.
   */
  forward(x: Tensor, opts: { sigmoid?: boolean } = {}): Tensor {
    // The layers' intermediate outputs are freed here; the graph keeps what backward needs.
    return tidy(() => this.fused(x, opts));
  }

  private fused(x: Tensor, opts: { sigmoid?: boolean }): Tensor {
    const layers = [...this.mlp];
    for (let i = 0; i < layers.length; i++) {
      const layer = layers[i]!;
      const next = layers[i + 1];
      const fusedAct = next instanceof ReLU ? 'relu' : next instanceof Sigmoid ? 'sigmoid' : null;
      if (layer instanceof Linear && fusedAct) {
        x = layer.forwardAct(x, fusedAct);
        i++;
      } else if (layer instanceof Linear && opts.sigmoid && next === undefined) {
        return layer.forwardAct(x, 'sigmoid');
      } else if (layer instanceof BatchNorm1d && next instanceof ReLU) {
        x = layer.forwardRelu(x);
        i++;
      } else {
        x = layer.forward(x);
      }
    }
    return opts.sigmoid ? sigmoid(x) : x;
  }

  /** The same computation with every module run on its own (the fused forward's reference). */
  forwardComposed(x: Tensor, opts: { sigmoid?: boolean } = {}): Tensor {
    return tidy(() => {
      let y = x;
      for (const layer of this.mlp) y = layer instanceof Linear ? layer.forwardComposed(y) : layer.forward(y);
      return opts.sigmoid ? sigmoid(y) : y;
    });
  }
}
