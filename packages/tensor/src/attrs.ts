// Every op's attributes, in one leaf module (as tfjs's kernel_names.ts): op definitions,
// kernels of every backend and gradient rules import their attrs from here, so a kernel
// file never imports an op file. Types only; named `<Op>Attrs` after the op they belong to.

import type { DType } from './dtype.js';

/** Two scalar parameters every unary elementwise op may use (exponent, slope, clamp bounds). */
export interface UnaryAttrs {
  readonly a: number;
  readonly b: number;
}

/** sum, max: the axes reduced. */
export interface ReduceAttrs {
  /** Sorted, non-negative axes to reduce. */
  readonly axes: readonly number[];
  readonly keepdim: boolean;
}

/** argmax, argmin. */
export interface ArgReduceAttrs {
  readonly axis: number;
  readonly min: boolean;
  readonly keepdim: boolean;
}

/** cumsum (reverse: the sum from the end, which is cumsum's gradient). */
export interface CumsumAttrs {
  readonly axis: number;
  readonly reverse: boolean;
}

/** Ops working along one axis: concat, softmax, logSoftmax, gatherAlong, scatterAddAlong. */
export interface AxisAttrs {
  readonly axis: number;
}

/** softmaxBackward: dx from [y, dy] of softmax (log false) or logSoftmax (log true). */
export interface SoftmaxBackwardAttrs {
  readonly axis: number;
  readonly log: boolean;
}

/** reshape and expand: the output shape. */
export interface ShapeAttrs {
  readonly shape: readonly number[];
}

/** permute: output axis i is input axis dims[i]. */
export interface PermuteAttrs {
  readonly dims: readonly number[];
}

/** slice and pad: a strided box of the larger tensor. */
export interface BoxAttrs {
  /** Per-axis start offsets. */
  readonly starts: readonly number[];
  /** Output shape for slice; the padded shape for pad. */
  readonly shape: readonly number[];
  /** Per-axis steps (all 1 when absent): slice takes every step-th element, pad spreads them out. */
  readonly steps?: readonly number[];
}

/** split (concat's gradient): each piece of x laid out contiguously in one flat block. */
export interface SplitAttrs {
  /** Per piece: its axis length times the inner size (its block in each outer row of x). */
  readonly blocks: readonly number[];
  /** Where each piece starts in the flat output. */
  readonly offsets: readonly number[];
  /** Rows before the axis (the product of the leading dims). */
  readonly outer: number;
  readonly total: number;
}

/** cast: the target dtype. */
export interface CastAttrs {
  readonly dtype: DType;
}

/** bmm: batched A @ B with either operand read transposed in place. */
export interface BmmAttrs {
  /** A is stored [B,K,M] and used transposed. */
  readonly transA: boolean;
  /** B is stored [B,N,K] and used transposed. */
  readonly transB: boolean;
}

/** The activation fused after a linear layer's product (and after its bias). */
export type LinearActivation = 'none' | 'relu' | 'sigmoid';

/** linear and activationGrad. */
export interface LinearAttrs {
  readonly act: LinearActivation;
}

/** activationGradSum: activationGrad and, from element `sumAt` of its flat output, its column sums (the bias gradient). */
export interface ActivationGradSumAttrs extends LinearAttrs {
  readonly sumAt: number;
}

/** A relu fused after batch norm's affine output ('none' for plain batch norm). */
export type BatchNormActivation = 'none' | 'relu';

/** batchNormEval, and the common part of the training-mode ops. */
export interface BatchNormAttrs {
  readonly eps: number;
  readonly act: BatchNormActivation;
}

/** batchNorm (training mode). */
export interface BatchNormForwardAttrs extends BatchNormAttrs {
  /** Set when inputs 3..5 are running mean, running var and num_batches_tracked, updated in place. */
  readonly momentum: number | null;
}

/** bnBackward: dx, dw and db in one flat output; dw and db start at these offsets. */
export interface BatchNormBackwardAttrs extends BatchNormAttrs {
  readonly dw: number;
  readonly db: number;
}

/** scatterAdd (gather's gradient): rows of the table the rows are added into. */
export interface ScatterAddAttrs {
  readonly rows: number;
}

/** gatherConcat: inputs are [table_0..table_{n-1}, ids_0..ids_{n-1}]. */
export interface GatherConcatAttrs {
  /** Number of fields. */
  readonly fields: number;
}

/** gatherConcatGrad: every table's gradient in one flat block. */
export interface GatherConcatGradAttrs {
  /** Per field: its table's rows and dim, and where that table's slot starts in the flat output. */
  readonly fields: readonly { rows: number; dim: number; base: number }[];
  readonly total: number;
}

/** checkRange: every element must lie in [lo, hi] (NaN fails); `op` names the caller in the error. */
export interface CheckRangeAttrs {
  readonly op: string;
  readonly lo: number;
  readonly hi: number;
  /** What the check asks, for the error ("all elements of input should be between 0 and 1"). */
  readonly what: string;
}
