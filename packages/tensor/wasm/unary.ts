// The wasm backend's elementwise unary functions, where and float32 <-> int32 casts over an
// element range [i0, i1) (elementwise work splits anywhere). relu, neg, abs and sqrt are one
// SIMD instruction each (sqrt is correctly rounded in float32, as the CPU's float64 sqrt
// rounded to float32 is); exp, log, tanh and sigmoid compute per lane in float64 with the
// CPU reference's formulas (stableSigmoid), rounded to float32 on store. relu keeps NaN
// (y < 0 ? 0 : y) and -0, as the CPU and PyTorch do.

/** op codes (the host's table in src/backends/wasm/unary.ts). */
const RELU = 0;
const NEG = 1;
const ABS = 2;
const SQRT = 3;
const EXP = 4;
const LOG = 5;
const TANH = 6;
const SIGMOID = 7;

// @ts-ignore: decorator
@inline function simdF(op: i32, x: v128): v128 {
  if (op == RELU) return v128.bitselect(f32x4.splat(0), x, f32x4.lt(x, f32x4.splat(0)));
  if (op == NEG) return f32x4.neg(x);
  if (op == ABS) return f32x4.abs(x);
  return f32x4.sqrt(x);
}

// @ts-ignore: decorator
@inline function simdI(op: i32, x: v128): v128 {
  if (op == RELU) return i32x4.max_s(x, i32x4.splat(0));
  if (op == NEG) return i32x4.neg(x);
  return i32x4.abs(x);
}

/** 1 / (1 + e^-x) with exp's argument kept <= 0 (the CPU's stableSigmoid). */
// @ts-ignore: decorator
@inline function sigmoid(x: f64): f64 {
  if (x >= 0) return 1.0 / (1.0 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1.0 + e);
}

// @ts-ignore: decorator
@inline function scalarF(op: i32, x: f64): f64 {
  if (op == EXP) return Math.exp(x);
  if (op == LOG) return Math.log(x);
  if (op == TANH) return Math.tanh(x);
  return sigmoid(x);
}

// @ts-ignore: decorator
@inline function unaryLoop(op: i32, x: usize, out: usize, isInt: bool, i0: i32, i1: i32): void {
  let i = i0;
  if (op <= SQRT) {
    for (; i + 4 <= i1; i += 4) {
      const at = <usize>i << 2;
      v128.store(out + at, isInt ? simdI(op, v128.load(x + at)) : simdF(op, v128.load(x + at)));
    }
    for (; i < i1; i++) {
      const at = <usize>i << 2;
      if (isInt) v128.store32_lane(out + at, simdI(op, v128.load32_splat(x + at)), 0);
      else v128.store32_lane(out + at, simdF(op, v128.load32_splat(x + at)), 0);
    }
    return;
  }
  for (; i < i1; i++) {
    const at = <usize>i << 2;
    store<f32>(out + at, <f32>scalarF(op, <f64>load<f32>(x + at)));
  }
}

/**
 * out[i] = f(x[i]) for i in [i0, i1): op 0 relu, 1 neg, 2 abs, 3 sqrt, 4 exp, 5 log, 6 tanh,
 * 7 sigmoid; int32 (isInt) for relu, neg and abs (wrapping: -(-2^31) is -2^31, as the CPU's
 * Int32Array store), else float32.
 */
export function unary(op: i32, x: usize, out: usize, isInt: bool, i0: i32, i1: i32): void {
  // One loop per op, so the op is a constant inside it.
  if (op == RELU) unaryLoop(RELU, x, out, isInt, i0, i1);
  else if (op == NEG) unaryLoop(NEG, x, out, isInt, i0, i1);
  else if (op == ABS) unaryLoop(ABS, x, out, isInt, i0, i1);
  else if (op == SQRT) unaryLoop(SQRT, x, out, isInt, i0, i1);
  else if (op == EXP) unaryLoop(EXP, x, out, isInt, i0, i1);
  else if (op == LOG) unaryLoop(LOG, x, out, isInt, i0, i1);
  else if (op == TANH) unaryLoop(TANH, x, out, isInt, i0, i1);
  else unaryLoop(SIGMOID, x, out, isInt, i0, i1);
}

/** The condition's lanes that are nonzero (NaN included) as a mask; cond 0 float32, 1 int32, 2 bool (bytes). */
// @ts-ignore: decorator
@inline function condMask(c: usize, kind: i32, i: i32, splat: bool): v128 {
  if (kind == 2) {
    const at = c + <usize>(splat ? 0 : i);
    const b = splat ? i8x16.splat(load<u8>(at)) : v128.load32_zero(at);
    return i32x4.ne(i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(b)), i32x4.splat(0));
  }
  const v = splat ? v128.load32_splat(c) : v128.load(c + (<usize>i << 2));
  return kind == 0 ? f32x4.ne(v, f32x4.splat(0)) : i32x4.ne(v, i32x4.splat(0));
}

/**
 * out[i] = cond[i] != 0 ? a[i] : b[i] for i in [i0, i1), 4-byte a and b (float32 or int32);
 * each of cond, a, b is the whole block or, when its *Scalar flag is set, one value.
 */
export function where(c: usize, kind: i32, cScalar: bool, a: usize, aScalar: bool, b: usize, bScalar: bool, out: usize, i0: i32, i1: i32): void {
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const at = <usize>i << 2;
    const m = condMask(c, kind, i, cScalar);
    const av = aScalar ? v128.load32_splat(a) : v128.load(a + at);
    const bv = bScalar ? v128.load32_splat(b) : v128.load(b + at);
    v128.store(out + at, v128.bitselect(av, bv, m));
  }
  for (; i < i1; i++) {
    const at = <usize>i << 2;
    let nz: bool;
    const ci = cScalar ? 0 : i;
    if (kind == 2) nz = load<u8>(c + <usize>ci) != 0;
    else if (kind == 0) nz = load<f32>(c + (<usize>ci << 2)) != 0;
    else nz = load<i32>(c + (<usize>ci << 2)) != 0;
    store<u32>(out + at, nz ? load<u32>(aScalar ? a : a + at) : load<u32>(bScalar ? b : b + at));
  }
}

/**
 * Casts elements [i0, i1): toInt, float32 -> int32 toward zero, saturating, NaN to 0 (the
 * CPU's floatToInt32); else int32 -> float32, rounded to nearest even.
 */
export function castF32I32(x: usize, out: usize, toInt: bool, i0: i32, i1: i32): void {
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const at = <usize>i << 2;
    const v = v128.load(x + at);
    v128.store(out + at, toInt ? i32x4.trunc_sat_f32x4_s(v) : f32x4.convert_i32x4_s(v));
  }
  for (; i < i1; i++) {
    const at = <usize>i << 2;
    const v = v128.load32_splat(x + at);
    v128.store32_lane(out + at, toInt ? i32x4.trunc_sat_f32x4_s(v) : f32x4.convert_i32x4_s(v), 0);
  }
}
