// Weight initialisers drawn from the seeded generator, with PyTorch's fan computation and
// gains (torch.nn.init), plus torch-rechub's embedding initialisers as `Initializer` values.
// Values are drawn on the host in float64 and uploaded once, so every backend gets the same.

import { rand, randn, defaultGenerator, fromTypedArray, full, type DType, type Generator, type Tensor } from '@aitm/tensor';
import type { BackendName } from '@aitm/tensor';

/** Options shared by the initialisers: dtype, backend and generator. */
export interface InitOptions {
  /** Default float32. */
  dtype?: DType;
  /** Default: the current backend. */
  backend?: BackendName;
  /** Default: the global generator (see `manualSeed`), read at call time. */
  generator?: Generator;
}

/** The nonlinearities `calculateGain` knows, as PyTorch's. */
export type Nonlinearity = 'linear' | 'conv1d' | 'conv2d' | 'conv3d' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';

/**
 * The recommended gain for a nonlinearity, as `torch.nn.init.calculate_gain`
 * (`param` is leaky_relu's negative slope, default 0.01).
 */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear':
    case 'conv1d':
    case 'conv2d':
    case 'conv3d':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.sqrt(2);
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      return Math.sqrt(2 / (1 + slope * slope));
    }
    case 'selu':
      return 3 / 4;
  }
}

/**
 * fan_in and fan_out of a weight shape as PyTorch computes them: [out, in, ...kernel] gives
 * fan_in = in * prod(kernel), fan_out = out * prod(kernel). An Embedding weight [num, dim]
 * therefore has fan_in = dim, fan_out = num.
 */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length < 2) {
    throw new Error(`init: fan in and fan out can not be computed for a shape with fewer than 2 dimensions, got [${shape.join(',')}]`);
  }
  const receptive = shape.slice(2).reduce((a, d) => a * d, 1);
  return { fanIn: shape[1]! * receptive, fanOut: shape[0]! * receptive };
}

function draw(opts: InitOptions): { generator: Generator; dtype: DType; backend?: BackendName } {
  const out: { generator: Generator; dtype: DType; backend?: BackendName } = {
    generator: opts.generator ?? defaultGenerator(),
    dtype: opts.dtype ?? 'float32',
  };
  if (opts.backend !== undefined) out.backend = opts.backend;
  return out;
}

/** Normal(mean, std), like `nn.init.normal_`. */
export function normal(shape: readonly number[], mean = 0, std = 1, opts: InitOptions = {}): Tensor {
  return randn(shape, { ...draw(opts), mean, std });
}

/** Uniform on [low, high), like `nn.init.uniform_`. */
export function uniform(shape: readonly number[], low = 0, high = 1, opts: InitOptions = {}): Tensor {
  return rand(shape, { ...draw(opts), low, high });
}

/** A constant, like `nn.init.constant_` (zeros and ones are constants 0 and 1). */
export function constant(shape: readonly number[], value: number, opts: InitOptions = {}): Tensor {
  const { dtype, backend } = draw(opts);
  return full(shape, value, backend === undefined ? { dtype } : { dtype, backend });
}

/** Glorot uniform: U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out)). */
export function xavierUniform(shape: readonly number[], gain = 1, opts: InitOptions = {}): Tensor {
  const { fanIn, fanOut } = fans(shape);
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform(shape, -bound, bound, opts);
}

/** Glorot normal: N(0, std) with std = gain * sqrt(2 / (fan_in + fan_out)). */
export function xavierNormal(shape: readonly number[], gain = 1, opts: InitOptions = {}): Tensor {
  const { fanIn, fanOut } = fans(shape);
  return normal(shape, 0, gain * Math.sqrt(2 / (fanIn + fanOut)), opts);
}

/** `xavierUniform` under its other name. */
export const glorotUniform = xavierUniform;
/** `xavierNormal` under its other name. */
export const glorotNormal = xavierNormal;

/** Options of the Kaiming initialisers: `a`, `mode` and `nonlinearity`, as PyTorch's. */
export interface KaimingOptions extends InitOptions {
  /** leaky_relu's negative slope (default 0). */
  a?: number;
  /** Which fan preserves the variance (default 'fan_in'). */
  mode?: 'fan_in' | 'fan_out';
  /** Default 'leaky_relu', as in PyTorch. */
  nonlinearity?: Nonlinearity;
}

function kaimingStd(shape: readonly number[], opts: KaimingOptions): number {
  const f = fans(shape);
  const fan = (opts.mode ?? 'fan_in') === 'fan_in' ? f.fanIn : f.fanOut;
  return calculateGain(opts.nonlinearity ?? 'leaky_relu', opts.a ?? 0) / Math.sqrt(fan);
}

/**
 * He uniform: U(-b, b) with b = sqrt(3) * gain / sqrt(fan). With a = sqrt(5) (what
 * `nn.Linear` uses) b = 1 / sqrt(fan_in).
 *
 * @example
 * kaimingUniform([out, inp], { a: Math.sqrt(5) }); // nn.Linear's default weight
 */
export function kaimingUniform(shape: readonly number[], opts: KaimingOptions = {}): Tensor {
  const bound = Math.sqrt(3) * kaimingStd(shape, opts);
  return uniform(shape, -bound, bound, opts);
}

/** He normal: N(0, gain / sqrt(fan)). */
export function kaimingNormal(shape: readonly number[], opts: KaimingOptions = {}): Tensor {
  return normal(shape, 0, kaimingStd(shape, opts), opts);
}

/** `kaimingUniform` under its other name. */
export const heUniform = kaimingUniform;
/** `kaimingNormal` under its other name. */
export const heNormal = kaimingNormal;

/**
 * How an embedding table is made: given its shape [vocabSize, embedDim], a new tensor.
 * torch-rechub's initialiser classes map to the factories below.
 */
export type Initializer = (shape: readonly number[], opts: InitOptions) => Tensor;

/** torch-rechub's RandomNormal(mean, std); its features default to randomNormal(0, 1e-4). */
export const randomNormal =
  (mean = 0, std = 1): Initializer =>
  (shape, opts) =>
    normal(shape, mean, std, opts);

/** torch-rechub's RandomUniform(minval, maxval). */
export const randomUniform =
  (minval = 0, maxval = 1): Initializer =>
  (shape, opts) =>
    uniform(shape, minval, maxval, opts);

/** torch-rechub's XavierNormal(gain). */
export const xavierNormalInitializer =
  (gain = 1): Initializer =>
  (shape, opts) =>
    xavierNormal(shape, gain, opts);

/** torch-rechub's XavierUniform(gain). */
export const xavierUniformInitializer =
  (gain = 1): Initializer =>
  (shape, opts) =>
    xavierUniform(shape, gain, opts);

/**
 * torch-rechub's Pretrained: the table is a copy of `values` (row-major, shape checked).
 * Freezing is not modelled here: exclude the parameter from the optimizer instead.
 */
export const pretrained =
  (values: ArrayLike<number>): Initializer =>
  (shape, opts) => {
    const n = shape.reduce((a, d) => a * d, 1);
    if (values.length !== n) {
      throw new Error(`pretrained: ${values.length} values cannot fill an embedding table of shape [${shape.join(',')}]`);
    }
    const { dtype, backend } = draw(opts);
    const data = dtype === 'float64' ? Float64Array.from(values) : Float32Array.from(values);
    return fromTypedArray(data, shape, dtype, backend === undefined ? {} : { backend });
  };
