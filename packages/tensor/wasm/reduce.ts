// The wasm backend's sum and max over the trailing axes of a block (each row of [rows, cols]
// to one value: reduceRows, split by row ranges) and over its leading axes (each column of
// [rows, cols] to one value: reduceCols, walking the rows in order, split by column ranges).
// float32 sums accumulate in float64 (reduceCols in the CPU's order, so its sums are the
// CPU's bit for bit; reduceRows in two float64 lanes pairs). max keeps the CPU's rule, a later
// element replaces the running max when greater or NaN, so NaN propagates; int32 max too.

/** op codes: float32 sum, float32 max, int32 max. */
const SUM = 0;
const MAX = 1;
const IMAX = 2;

/** The CPU's step: v replaces acc when greater or NaN. */
// @ts-ignore: decorator
@inline function maxStep(acc: f32, v: f32): f32 {
  return v > acc || v != v ? v : acc;
}

// @ts-ignore: decorator
@inline function maxStepV(acc: v128, v: v128): v128 {
  return v128.bitselect(v, acc, v128.or(f32x4.gt(v, acc), f32x4.ne(v, v)));
}

/** out[r] = sum or max of row r of x [rows, cols], for rows [r0, r1). */
export function reduceRows(x: usize, out: usize, cols: i32, op: i32, r0: i32, r1: i32): void {
  const c4 = cols & ~3;
  const rowBytes = <usize>cols << 2;
  for (let r = r0; r < r1; r++) {
    const row = x + <usize>r * rowBytes;
    const o = out + (<usize>r << 2);
    let j = 0;
    if (op == SUM) {
      let lo = f64x2.splat(0);
      let hi = f64x2.splat(0);
      for (; j < c4; j += 4) {
        const v = v128.load(row + (<usize>j << 2));
        lo = f64x2.add(lo, f64x2.promote_low_f32x4(v));
        hi = f64x2.add(hi, f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1)));
      }
      let s = f64x2.extract_lane(lo, 0) + f64x2.extract_lane(hi, 0) + (f64x2.extract_lane(lo, 1) + f64x2.extract_lane(hi, 1));
      for (; j < cols; j++) s += <f64>load<f32>(row + (<usize>j << 2));
      store<f32>(o, <f32>s);
    } else if (op == MAX) {
      let acc = f32x4.splat(-Infinity);
      for (; j < c4; j += 4) acc = maxStepV(acc, v128.load(row + (<usize>j << 2)));
      let m = maxStep(maxStep(maxStep(f32x4.extract_lane(acc, 0), f32x4.extract_lane(acc, 1)), f32x4.extract_lane(acc, 2)), f32x4.extract_lane(acc, 3));
      for (; j < cols; j++) m = maxStep(m, load<f32>(row + (<usize>j << 2)));
      if (m == 0) {
        // -0 and +0 tie: which one the CPU keeps (the first) depends on the order; walk it.
        m = -Infinity;
        for (let k = 0; k < cols; k++) m = maxStep(m, load<f32>(row + (<usize>k << 2)));
      }
      store<f32>(o, m);
    } else {
      let acc = i32x4.splat(i32.MIN_VALUE);
      for (; j < c4; j += 4) acc = i32x4.max_s(acc, v128.load(row + (<usize>j << 2)));
      let m = max(max(i32x4.extract_lane(acc, 0), i32x4.extract_lane(acc, 1)), max(i32x4.extract_lane(acc, 2), i32x4.extract_lane(acc, 3)));
      for (; j < cols; j++) m = max(m, load<i32>(row + (<usize>j << 2)));
      store<i32>(o, m);
    }
  }
}

/**
 * out[c] = sum or max of column c of x [rows, cols], for columns [c0, c1), the rows in
 * order; a float32 sum accumulates in `acc` (8 bytes per column, float64).
 */
export function reduceCols(x: usize, out: usize, acc: usize, rows: i32, cols: i32, op: i32, c0: i32, c1: i32): void {
  const rowBytes = <usize>cols << 2;
  const w = c1 - c0;
  if (w <= 0) return;
  const first = <usize>c0 << 2;
  if (op == SUM) {
    const a = acc + (<usize>c0 << 3);
    memory.fill(a, 0, <usize>w << 3);
    const w2 = w & ~1;
    for (let r = 0; r < rows; r++) {
      const row = x + <usize>r * rowBytes + first;
      let j = 0;
      for (; j < w2; j += 2) {
        const at = a + (<usize>j << 3);
        v128.store(at, f64x2.add(v128.load(at), f64x2.promote_low_f32x4(v128.load64_zero(row + (<usize>j << 2)))));
      }
      if (j < w) {
        const at = a + (<usize>j << 3);
        store<f64>(at, load<f64>(at) + <f64>load<f32>(row + (<usize>j << 2)));
      }
    }
    for (let j = 0; j < w; j++) store<f32>(out + first + (<usize>j << 2), <f32>load<f64>(a + (<usize>j << 3)));
    return;
  }
  const o = out + first;
  const w4 = w & ~3;
  if (op == MAX) {
    const ninf = f32x4.splat(-Infinity);
    let j = 0;
    for (; j < w4; j += 4) v128.store(o + (<usize>j << 2), ninf);
    for (; j < w; j++) store<f32>(o + (<usize>j << 2), -Infinity);
    for (let r = 0; r < rows; r++) {
      const row = x + <usize>r * rowBytes + first;
      j = 0;
      for (; j < w4; j += 4) {
        const at = <usize>j << 2;
        v128.store(o + at, maxStepV(v128.load(o + at), v128.load(row + at)));
      }
      for (; j < w; j++) {
        const at = <usize>j << 2;
        store<f32>(o + at, maxStep(load<f32>(o + at), load<f32>(row + at)));
      }
    }
    return;
  }
  const imin = i32x4.splat(i32.MIN_VALUE);
  let j = 0;
  for (; j < w4; j += 4) v128.store(o + (<usize>j << 2), imin);
  for (; j < w; j++) store<i32>(o + (<usize>j << 2), i32.MIN_VALUE);
  for (let r = 0; r < rows; r++) {
    const row = x + <usize>r * rowBytes + first;
    j = 0;
    for (; j < w4; j += 4) {
      const at = <usize>j << 2;
      v128.store(o + at, i32x4.max_s(v128.load(o + at), v128.load(row + at)));
    }
    for (; j < w; j++) {
      const at = <usize>j << 2;
      store<i32>(o + at, max(load<i32>(o + at), load<i32>(row + at)));
    }
  }
}
