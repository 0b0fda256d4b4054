// @aitm/nn: layers, losses, optimizers and safetensors checkpoints on @aitm/tensor, with
// PyTorch's and torch-rechub's names, defaults and numerics.

export {
  Module,
  ModuleList,
  ModuleDict,
  Sequential,
  StateDictProblems,
  type Layer,
  type LoadStateDictOptions,
  type LoadStateDictResult,
} from './module.js';
export { Linear, type LinearOptions } from './linear.js';
export { BatchNorm1d, type BatchNormOptions } from './batchnorm.js';
export { Dropout, dropout } from './dropout.js';
export {
  ReLU,
  Sigmoid,
  Tanh,
  LeakyReLU,
  PReLU,
  Dice,
  DiceBN,
  Softmax,
  Identity,
  prelu,
  dice,
  activationLayer,
  type ActivationName,
  type ActivationOptions,
  type PReLUOptions,
  type DiceOptions,
  type DiceBNOptions,
} from './activations.js';
export { MLP, type MLPOptions } from './mlp.js';
export {
  Embedding,
  EmbeddingLayer,
  SparseFeature,
  DenseFeature,
  DEFAULT_FEATURE_INITIALIZER,
  type Feature,
  type SparseFeatureSpec,
  type EmbeddingOptions,
  type EmbeddingLayerOptions,
  type EmbeddingForwardOptions,
} from './embedding.js';
export * as init from './init.js';
export {
  randomNormal,
  randomUniform,
  xavierNormalInitializer,
  xavierUniformInitializer,
  pretrained,
  type Initializer,
  type InitOptions,
} from './init.js';
export { bce, bceWithLogits, mse, crossEntropy, checkFiniteLoss, assertFinite, BCE_GRAD_EPS, type Reduction, type LossOptions, type CrossEntropyOptions } from './losses.js';
export { LayerNorm, layerNorm, type LayerNormOptions } from './layernorm.js';
export * from './optim/index.js';
export { Dataset, TensorDataset, DataLoader, defaultCollate, type DataLoaderOptions, type Sample, type Collated } from './data.js';
// Checkpoints as bytes (every host); the file functions are in '@aitm/nn/node'.
export {
  parseSafetensors,
  encodeSafetensors,
  safetensorsBytes,
  checkpointBytes,
  checkpointEntries,
  loadCheckpointEntries,
  TENSOR_DTYPE_OF,
  type LoadCheckpointOptions,
  type SafetensorsDType,
  type SafetensorsEntry,
  type SafetensorsFile,
  type SaveSafetensorsOptions,
} from './safetensors.js';
export { parseTorchCheckpoint, MAX_INFLATED_BYTES, MAX_VIEW_REPEAT, MAX_VIEW_SLACK } from './torch-checkpoint.js';
export { checkStateDict, InvalidStateDictError, type CheckStateDictOptions, type StateDictProblem } from './state-dict-checks.js';
