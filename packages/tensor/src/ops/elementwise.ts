// Elementwise ops, defined by ONE table each for unary and binary ops: per op the CPU
// function, the WGSL expression the WebGPU backend compiles, and the gradient rule.
// Binary ops broadcast NumPy-style; their gradients are summed back to each input's shape.

import type { DType } from '../dtype.js';
import { isFloat } from '../dtype.js';
import { broadcastShapes } from '../shape.js';
import type { KernelTable, TensorMeta } from '../backend.js';
import { defineOp, runOp, type OpDef } from '../op.js';
import { referenceOnWasm } from '../backends/wasm/reference.js';
import { SIMD_UNARY, wasmUnary } from '../backends/wasm/unary.js';
import { SIMD_BINARY, wasmBinary } from '../backends/wasm/elementwise.js';
import type { UnaryAttrs } from '../attrs.js';
import type { Tensor, TensorLike } from '../tensor.js';
import { full } from '../creation.js';
import { cast } from './cast.js';
import { mapBroadcast, mapUnary } from '../backends/cpu/kernels.js';
import { gpuBinary, gpuUnary } from '../backends/webgpu/elementwise.js';
import { sumTo } from './reduce.js';
import { where } from './where.js';
import { erf as erfCpu, gelu as geluCpu, softplus as softplusCpu, stableSigmoid } from '../backends/cpu/math.js';

const SIGMOID_WGSL = 'select(exp(x) / (1.0 + exp(x)), 1.0 / (1.0 + exp(-x)), x >= 0.0)';

interface UnarySpec {
  /** The function on one element (JS doubles; stored back in the output dtype). */
  readonly cpu: (x: number, a: number, b: number) => number;
  /** The same as a WGSL expression of `x` (f32) and the parameters `p.a`, `p.b`. */
  readonly wgsl: string;
  /** dL/dx from x, y = f(x), dy; or 'none' for piecewise-constant functions. */
  readonly grad: ((x: Tensor, y: Tensor, dy: Tensor, attrs: UnaryAttrs) => Tensor) | 'none';
  /** Whether int32 inputs are accepted (the result keeps the input dtype). */
  readonly ints?: boolean;
  /**
   * For int32 inputs on the GPU: the WGSL expression in `x` (i32) and the parameters as i32
   * (`p.a`, `p.b`, truncated and saturated on the host), so the whole int32 range is exact
   * (f32 arithmetic would round above 2^24).
   */
  readonly wgslInt?: string;
}


/** @internal The unary elementwise ops: CPU function, WGSL expression and gradient per op. */
export const UNARY = {
  neg: { cpu: (x) => -x, wgsl: '-x', grad: (_x, _y, dy) => neg(dy), ints: true, wgslInt: '-x' },
  exp: { cpu: Math.exp, wgsl: 'exp(x)', grad: (_x, y, dy) => mul(dy, y) },
  log: { cpu: Math.log, wgsl: 'log(x)', grad: (x, _y, dy) => div(dy, x) },
  sqrt: { cpu: Math.sqrt, wgsl: 'sqrt(x)', grad: (_x, y, dy) => div(dy, mul(y, 2)) },
  abs: { cpu: Math.abs, wgsl: 'abs(x)', grad: (x, _y, dy) => mul(dy, sign(x)), ints: true, wgslInt: 'abs(x)' },
  // (x > 0) - (x < 0), as PyTorch computes it: sign(NaN) and sign(-0) are 0.
  sign: { cpu: (x) => (x > 0 ? 1 : x < 0 ? -1 : 0), wgsl: 'f32(i32(x > 0.0) - i32(x < 0.0))', grad: 'none', ints: true, wgslInt: 'sign(x)' },
  sigmoid: {
    cpu: stableSigmoid,
    // The select keeps exp's argument <= 0, so large |x| cannot overflow to inf/inf.
    wgsl: SIGMOID_WGSL,
    grad: (_x, y, dy) => mul(dy, mul(y, sub(1, y))),
  },
  log1p: { cpu: Math.log1p, wgsl: 'log1p_f32(x)', grad: (x, _y, dy) => div(dy, add(x, 1)) },
  erf: {
    cpu: erfCpu,
    wgsl: '1.0 - erfc_f32(x)',
    grad: (x, _y, dy) => mul(dy, mul(exp(neg(mul(x, x))), 2 / Math.sqrt(Math.PI))),
  },
  // Exact GELU, x Phi(x) (PyTorch's default); Phi from erfc keeps the left tail accurate.
  gelu: {
    cpu: geluCpu,
    wgsl: '0.5 * x * erfc_f32(-x * 0.70710678118654752)',
    // Phi(x) + x phi(x)
    grad: (x, _y, dy) => {
      const cdf = mul(add(erf(mul(x, Math.SQRT1_2)), 1), 0.5);
      const pdf = mul(exp(mul(mul(x, x), -0.5)), 1 / Math.sqrt(2 * Math.PI));
      return mul(dy, add(cdf, mul(x, pdf)));
    },
  },
  // x sigmoid(x) (SiLU, swish)
  silu: {
    cpu: (x) => x * stableSigmoid(x),
    wgsl: `x * ${SIGMOID_WGSL}`,
    grad: (x, _y, dy) => {
      const s = sigmoid(x);
      return mul(dy, mul(s, add(mul(x, sub(1, s)), 1)));
    },
  },
  // log(1 + e^x), and x itself above PyTorch's threshold of 20 (where its gradient is exactly 1).
  softplus: {
    cpu: softplusCpu,
    wgsl: 'select(max(x, 0.0) + log1p_f32(exp(-abs(x))), x, x > 20.0)',
    grad: (x, _y, dy) => mul(dy, where(gt(x, 20), 1, sigmoid(x))),
  },
  tanh: { cpu: Math.tanh, wgsl: 'tanh(clamp(x, -15.0, 15.0))', grad: (_x, y, dy) => mul(dy, sub(1, mul(y, y))) },
  // relu(NaN) is NaN and relu(-0) is -0, as in PyTorch (WGSL's max leaves NaN unspecified).
  // The fused kernels with a relu (linear, batchNorm, activationGrad) spell it the same way.
  relu: { cpu: (x) => (x < 0 ? 0 : x), wgsl: 'select(x, 0.0, x < 0.0)', grad: (_x, y, dy) => reluBackward(y, dy), ints: true, wgslInt: 'max(x, 0)' },
  leakyRelu: {
    cpu: (x, a) => (x > 0 ? x : a * x),
    wgsl: 'select(p.a * x, x, x > 0.0)',
    grad: (x, _y, dy, { a }) => {
      const pos = gt(x, 0);
      return mul(dy, add(pos, mul(sub(1, pos), a)));
    },
  },
  pow: {
    cpu: (x, a) => Math.pow(x, a),
    // WGSL pow is undefined for x < 0; integer exponents are the common case, so handle the sign.
    wgsl: 'select(pow(abs(x), p.a) * select(1.0, -1.0, (i32(p.a) % 2) != 0), pow(x, p.a), x >= 0.0 || p.a != round(p.a))',
    grad: (x, _y, dy, { a }) => mul(dy, mul(pow(x, a - 1), a)),
  },
  clamp: {
    cpu: (x, a, b) => Math.min(Math.max(x, a), b),
    // NaN stays NaN, as on the CPU and in PyTorch (WGSL's clamp may give a bound, so bce's clamped logs gave a number).
    wgsl: 'select(clamp(x, p.a, p.b), x, is_nan(x))',
    // PyTorch passes the gradient where min <= x <= max (bounds included).
    grad: (x, _y, dy, { a, b }) => mul(dy, mul(ge(x, a), le(x, b))),
    ints: true,
    wgslInt: 'clamp(x, p.a, p.b)',
  },
} satisfies Record<string, UnarySpec>;

/** @internal */
export type UnaryName = keyof typeof UNARY;

function unaryInfer(name: string, ints: boolean) {
  return ([x]: readonly TensorMeta[]): { shape: readonly number[]; dtype: DType } => {
    if (!isFloat(x!.dtype) && !(ints && x!.dtype === 'int32')) {
      throw new Error(`${name}: expected a floating-point${ints ? ' or int32' : ''} tensor, got ${x!.dtype}`);
    }
    return { shape: x!.shape, dtype: x!.dtype };
  };
}

/** A unary op's table with its SIMD wasm kernel (SIMD_UNARY) where it has one, the reference kept as its fallback. */
function withSimdUnaryOnWasm(name: UnaryName, table: KernelTable<UnaryAttrs>): KernelTable<UnaryAttrs> {
  const code = SIMD_UNARY[name];
  return code === undefined ? table : { ...table, wasm: wasmUnary(code)(table.wasm) };
}

function defineUnary(name: UnaryName): OpDef<UnaryAttrs> {
  const spec: UnarySpec = UNARY[name];
  const g = spec.grad;
  return defineOp<UnaryAttrs>({
    name,
    infer: unaryInfer(name, spec.ints ?? false),
    kernels: withSimdUnaryOnWasm(
      name,
      referenceOnWasm({
        cpu: (_b, [x], out, { a, b }) => mapUnary(x!, out, spec.cpu, a, b),
        webgpu: gpuUnary(name, spec.wgsl, spec.wgslInt),
      }),
    ),
    grad: g === 'none' ? 'none' : (dy, { inputs, output, attrs }) => [g(inputs[0]!, output, dy, attrs)],
  });
}

const unaryOps = Object.fromEntries(
  (Object.keys(UNARY) as UnaryName[]).map((n) => [n, defineUnary(n)]),
) as Record<UnaryName, OpDef<UnaryAttrs>>;

const NO_PARAMS: UnaryAttrs = { a: 0, b: 0 };
const unary = (name: UnaryName, x: Tensor, a = 0, b = 0): Tensor =>
  runOp(unaryOps[name], [x], a === 0 && b === 0 ? NO_PARAMS : { a, b });

/** Elementwise `-x`. */
export const neg = (x: Tensor): Tensor => unary('neg', x);
/**
 * Elementwise `e ** x`.
 *
 * @example
 * exp(tensor([0, 1])) // [1, 2.718...]
 */
export const exp = (x: Tensor): Tensor => unary('exp', x);
/** Elementwise natural logarithm (`-Infinity` at 0, NaN below). */
export const log = (x: Tensor): Tensor => unary('log', x);
/** Elementwise square root. */
export const sqrt = (x: Tensor): Tensor => unary('sqrt', x);
/** Elementwise absolute value (int32 too). */
export const abs = (x: Tensor): Tensor => unary('abs', x);
/** -1, 0 or 1 per element; no gradient. */
export const sign = (x: Tensor): Tensor => unary('sign', x);
/** 1 / (1 + e^-x), computed without overflow for large |x|. */
export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', x);
/** Elementwise hyperbolic tangent. */
export const tanh = (x: Tensor): Tensor => unary('tanh', x);
/**
 * Elementwise `max(x, 0)`; NaN stays NaN, and the gradient is PyTorch's (0 where the output is <= 0).
 *
 * @example
 * relu(tensor([-1, 0, 2])) // [0, 0, 2]
 */
export const relu = (x: Tensor): Tensor => unary('relu', x);
/**
 * relu's gradient from its output y, as PyTorch's `threshold_backward(dy, y, 0)`: 0 where
 * y <= 0, else dy. So a NaN output passes dy on, and an infinite or NaN dy where y <= 0
 * gives 0 (not dy * 0 = NaN). The fused kernels' relu gradients compute the same.
 */
export const reluBackward = (y: Tensor, dy: Tensor): Tensor => where(le(y, 0), 0, dy);
/** log(1 + x), accurate for tiny x, like `torch.log1p`. */
export const log1p = (x: Tensor): Tensor => unary('log1p', x);
/** The error function, like `torch.erf`. */
export const erf = (x: Tensor): Tensor => unary('erf', x);
/** Exact GELU, x * Phi(x) with the normal CDF Phi (PyTorch's default, approximate='none'). */
export const gelu = (x: Tensor): Tensor => unary('gelu', x);
/** SiLU (swish): x * sigmoid(x). */
export const silu = (x: Tensor): Tensor => unary('silu', x);
/** log(1 + e^x), and x above 20, like `torch.nn.functional.softplus` with beta 1. */
export const softplus = (x: Tensor): Tensor => unary('softplus', x);
/** x for x > 0, slope * x otherwise (PyTorch's default slope 0.01). */
export const leakyRelu = (x: Tensor, slope = 0.01): Tensor => unary('leakyRelu', x, slope);
/** x ** exponent for a scalar exponent. */
export const pow = (x: Tensor, exponent: number): Tensor => unary('pow', x, exponent);
/** Limits values to [min, max]; the gradient passes where min <= x <= max, as in PyTorch. */
export function clamp(x: Tensor, min = -Infinity, max = Infinity): Tensor {
  if (min > max) throw new Error(`clamp: min ${min} is greater than max ${max}`);
  return runOp(unaryOps.clamp, [x], { a: min, b: max });
}

// ---------------------------------------------------------------------------------------

interface BinarySpec {
  readonly cpu: (a: number, b: number) => number;
  /** The CPU function for int32 where doubles would lose the low bits (a product above 2^53). */
  readonly cpuInt?: (a: number, b: number) => number;
  /** WGSL expression of `a` and `b` (f32 or i32 alike). */
  readonly wgsl: string;
  /** The expression for int32 when it must differ from the float one (NaN handling). */
  readonly wgslInt?: string;
  /** Gradients for a and b at the broadcast shape (summed back by the caller), or 'none'. */
  readonly grad: ((a: Tensor, b: Tensor, y: Tensor, dy: Tensor) => [Tensor, Tensor]) | 'none';
  readonly ints?: boolean;
}

const bool = (v: boolean): number => (v ? 1 : 0);

/** @internal The binary elementwise ops: CPU function, WGSL expression and gradient per op. */
export const BINARY = {
  add: { cpu: (a, b) => a + b, wgsl: 'a + b', grad: (_a, _b, _y, dy) => [dy, dy], ints: true },
  sub: { cpu: (a, b) => a - b, wgsl: 'a - b', grad: (_a, _b, _y, dy) => [dy, neg(dy)], ints: true },
  // int32 products wrap modulo 2^32 on both backends, as i32 arithmetic (and PyTorch) does.
  mul: { cpu: (a, b) => a * b, cpuInt: Math.imul, wgsl: 'a * b', grad: (a, b, _y, dy) => [mul(dy, b), mul(dy, a)], ints: true },
  div: { cpu: (a, b) => a / b, wgsl: 'a / b', grad: (_a, b, y, dy) => [div(dy, b), neg(div(mul(dy, y), b))] },
  // On ties PyTorch splits the gradient evenly between the two inputs.
  // NaN propagates, as in PyTorch (WGSL's max and min leave it unspecified).
  maximum: { cpu: Math.max, wgsl: 'select(select(max(a, b), a, is_nan(a)), b, is_nan(b))', wgslInt: 'max(a, b)', grad: (a, b, _y, dy) => tieSplit(a, b, dy, gt), ints: true },
  minimum: { cpu: Math.min, wgsl: 'select(select(min(a, b), a, is_nan(a)), b, is_nan(b))', wgslInt: 'min(a, b)', grad: (a, b, _y, dy) => tieSplit(a, b, dy, lt), ints: true },
  // Comparisons give 0/1 in the inputs' dtype (not bool, unlike PyTorch: so a mask multiplies into a
  // gradient without a cast; `cast(m, 'bool')` or the logical ops give bool) and have no gradient.
  gt: { cpu: (a, b) => bool(a > b), wgsl: 'select(0, 1, a > b)', grad: 'none', ints: true },
  lt: { cpu: (a, b) => bool(a < b), wgsl: 'select(0, 1, a < b)', grad: 'none', ints: true },
  ge: { cpu: (a, b) => bool(a >= b), wgsl: 'select(0, 1, a >= b)', grad: 'none', ints: true },
  le: { cpu: (a, b) => bool(a <= b), wgsl: 'select(0, 1, a <= b)', grad: 'none', ints: true },
  eq: { cpu: (a, b) => bool(a === b), wgsl: 'select(0, 1, a == b)', grad: 'none', ints: true },
  // Spelled as not-equal-to so NaN != NaN holds on the GPU (a compiler may fold a != b for NaN).
  ne: { cpu: (a, b) => bool(a !== b), wgsl: 'select(1, 0, a == b)', grad: 'none', ints: true },
} satisfies Record<string, BinarySpec>;

/** @internal */
export type BinaryName = keyof typeof BINARY;

function tieSplit(a: Tensor, b: Tensor, dy: Tensor, wins: (a: Tensor, b: Tensor) => Tensor): [Tensor, Tensor] {
  const half = mul(eq(a, b), 0.5);
  return [mul(dy, add(wins(a, b), half)), mul(dy, add(wins(b, a), half))];
}

/** The wasm kernel of a binary op: SIMD for the arithmetic ones (in SIMD_BINARY), else the CPU reference. */
function withSimdOnWasm(name: BinaryName, k: Pick<KernelTable<null>, 'cpu' | 'webgpu'>): KernelTable<null> {
  const table = referenceOnWasm(k);
  const code = (SIMD_BINARY as Record<string, number | undefined>)[name];
  return code === undefined ? table : { ...table, wasm: wasmBinary(code, table.wasm) };
}

function defineBinary(name: BinaryName): OpDef<null> {
  const spec: BinarySpec = BINARY[name];
  const g = spec.grad;
  return defineOp<null>({
    name,
    infer: ([a, b]) => {
      if (a!.dtype !== b!.dtype) throw new Error(`${name}: dtype mismatch, ${a!.dtype} and ${b!.dtype}`);
      if (!isFloat(a!.dtype) && !(spec.ints && a!.dtype === 'int32')) {
        throw new Error(`${name}: expected floating-point${spec.ints ? ' or int32' : ''} tensors, got ${a!.dtype}`);
      }
      return { shape: broadcastShapes(name, a!.shape, b!.shape), dtype: a!.dtype };
    },
    kernels: withSimdOnWasm(name, {
      cpu: (_b, inputs, out) => mapBroadcast(inputs, out, out.dtype === 'int32' && spec.cpuInt ? spec.cpuInt : spec.cpu),
      webgpu: gpuBinary(name, spec.wgsl, spec.wgslInt),
    }),
    grad:
      g === 'none'
        ? 'none'
        : (dy, { inputs: [a, b], output }) => {
            const [ga, gb] = g(a!, b!, output, dy);
            return [a!.requiresGrad ? sumTo(ga, a!.shape) : null, b!.requiresGrad ? sumTo(gb, b!.shape) : null];
          },
  });
}

const binaryOps = Object.fromEntries(
  (Object.keys(BINARY) as BinaryName[]).map((n) => [n, defineBinary(n)]),
) as Record<BinaryName, OpDef<null>>;

/**
 * PyTorch's type promotion for two tensor operands: bool < int32 < float, and the wider
 * float (float64 beside float32, on the CPU). `torch.result_type` for these dtypes.
 *
 * @example
 * promoteTypes('int32', 'float32'); // 'float32'
 * promoteTypes('bool', 'int32');    // 'int32'
 */
export function promoteTypes(a: DType, b: DType): DType {
  if (a === b) return a;
  if (a === 'float64' || b === 'float64') return 'float64';
  if (a === 'float32' || b === 'float32') return 'float32';
  return 'int32'; // int32 with bool
}

/**
 * The dtype of a tensor combined with a number, as PyTorch treats a Python scalar: it does not
 * widen within its category, but a fractional (or non-finite) number with an int32 or bool
 * tensor gives float32, and an integer with a bool tensor gives int32.
 */
function promoteWithNumber(t: DType, v: number): DType {
  if (isFloat(t)) return t;
  if (!Number.isInteger(v)) return 'float32';
  return 'int32';
}

/**
 * A number operand becomes a 0-d tensor; mixed dtypes are promoted as in PyTorch
 * (`promoteTypes`) by casting before the op, and `div` of integers is true division (float32),
 * as `torch.div`. The casts and the number's tensor are this call's own: freed after the op.
 */
function binary(name: BinaryName, a: TensorLike, b: TensorLike): Tensor {
  if (typeof a === 'number' && typeof b === 'number') throw new Error(`${name}: at least one operand must be a tensor`);
  let dtype =
    typeof a === 'number'
      ? promoteWithNumber((b as Tensor).dtype, a)
      : typeof b === 'number'
        ? promoteWithNumber(a.dtype, b)
        : promoteTypes(a.dtype, b.dtype);
  if (name === 'div' && !isFloat(dtype)) dtype = 'float32';
  // bool op bool stays bool (and is refused by the arithmetic ops, naming the op).
  const as = (x: TensorLike, other: Tensor): Tensor =>
    typeof x === 'number' ? full([], x, { dtype, backend: other.backendName }) : x.dtype === dtype ? x : cast(x, dtype);
  const ta = as(a, b as Tensor);
  const tb = as(b, ta);
  const y = runOp(binaryOps[name], [ta, tb], null);
  // Freed now (the graph keeps their values if backward needs them).
  if (ta !== a) ta.dispose();
  if (tb !== b) tb.dispose();
  return y;
}

/**
 * Elementwise `a + b`, broadcasting as NumPy; a number operand takes the other's dtype.
 *
 * @example
 * add(tensor([[1], [2]]), tensor([10, 20])) // [[11, 21], [12, 22]]
 */
export const add = (a: TensorLike, b: TensorLike): Tensor => binary('add', a, b);
/** Elementwise `a - b`, broadcasting. */
export const sub = (a: TensorLike, b: TensorLike): Tensor => binary('sub', a, b);
/**
 * Elementwise `a * b`, broadcasting (int32 products wrap modulo 2^32).
 *
 * @example
 * mul(x, 2)
 */
export const mul = (a: TensorLike, b: TensorLike): Tensor => binary('mul', a, b);
/** Elementwise `a / b`, broadcasting. */
export const div = (a: TensorLike, b: TensorLike): Tensor => binary('div', a, b);
/** Elementwise larger of `a` and `b`, broadcasting; NaN propagates, ties split the gradient. */
export const maximum = (a: TensorLike, b: TensorLike): Tensor => binary('maximum', a, b);
/** Elementwise smaller of `a` and `b`, broadcasting; NaN propagates, ties split the gradient. */
export const minimum = (a: TensorLike, b: TensorLike): Tensor => binary('minimum', a, b);
/**
 * `a > b` elementwise: 1 or 0 in the inputs' dtype (so a mask multiplies into a gradient), no gradient.
 *
 * @example
 * gt(tensor([1, 5]), 2) // [0, 1]
 */
export const gt = (a: TensorLike, b: TensorLike): Tensor => binary('gt', a, b);
/** `a < b` elementwise: 1 or 0 in the inputs' dtype, no gradient. */
export const lt = (a: TensorLike, b: TensorLike): Tensor => binary('lt', a, b);
/** `a >= b` elementwise: 1 or 0 in the inputs' dtype, no gradient. */
export const ge = (a: TensorLike, b: TensorLike): Tensor => binary('ge', a, b);
/** `a <= b` elementwise: 1 or 0 in the inputs' dtype, no gradient. */
export const le = (a: TensorLike, b: TensorLike): Tensor => binary('le', a, b);
/**
 * `a == b` elementwise: 1 or 0 in the inputs' dtype, no gradient (NaN equals nothing).
 *
 * @example
 * eq(tensor([1, 2]), tensor([1, 3])) // [1, 0]
 */
export const eq = (a: TensorLike, b: TensorLike): Tensor => binary('eq', a, b);
/** `a != b` elementwise: 1 or 0 in the inputs' dtype, no gradient (NaN != NaN). */
export const ne = (a: TensorLike, b: TensorLike): Tensor => binary('ne', a, b);
