// The wasm backend's softmax, log-softmax and their gradient along the last axis of a
// [rows, cols] block, in float32 with SIMD where the arithmetic is elementwise: the row max
// (NaN-propagating, so a NaN row gives NaN as on the CPU), exp per lane (Mathf, float32),
// the row sums accumulated in float64. The CPU reference's formulas (backends/cpu/kernels.ts):
// an all -inf row shifts by 0 (its result is NaN, as in PyTorch).

const NEG_INF = f32x4.splat(-Infinity);

/** The maximum of `cols` floats at row (NaN if any is NaN). */
// @ts-ignore: decorator
@inline function rowMax(row: usize, cols: i32): f32 {
  const c4 = cols & ~3;
  let acc = NEG_INF;
  let j = 0;
  for (; j < c4; j += 4) acc = f32x4.max(acc, v128.load(row + (<usize>j << 2)));
  let m = Mathf.max(Mathf.max(f32x4.extract_lane(acc, 0), f32x4.extract_lane(acc, 1)), Mathf.max(f32x4.extract_lane(acc, 2), f32x4.extract_lane(acc, 3)));
  for (; j < cols; j++) m = Mathf.max(m, load<f32>(row + (<usize>j << 2)));
  return m;
}

/**
 * Rows [r0, r1) of softmax (log false: exp(x - max) / sum) or log-softmax (log true:
 * x - max - log(sum)) of x [rows, cols] into out.
 */
export function softmaxRows(x: usize, out: usize, cols: i32, log: bool, r0: i32, r1: i32): void {
  const c4 = cols & ~3;
  const rowBytes = <usize>cols << 2;
  for (let r = r0; r < r1; r++) {
    const xr = x + <usize>r * rowBytes;
    const or = out + <usize>r * rowBytes;
    let max = rowMax(xr, cols);
    if (max == -Infinity) max = 0;
    let sum: f64 = 0;
    for (let j = 0; j < cols; j++) {
      const e = Mathf.exp(load<f32>(xr + (<usize>j << 2)) - max);
      if (!log) store<f32>(or + (<usize>j << 2), e);
      sum += <f64>e;
    }
    const mv = f32x4.splat(max);
    let j = 0;
    if (log) {
      const ls = <f32>Math.log(sum);
      const lv = f32x4.splat(ls);
      for (; j < c4; j += 4) {
        const at = <usize>j << 2;
        v128.store(or + at, f32x4.sub(f32x4.sub(v128.load(xr + at), mv), lv));
      }
      for (; j < cols; j++) store<f32>(or + (<usize>j << 2), load<f32>(xr + (<usize>j << 2)) - max - ls);
    } else {
      const s = <f32>sum;
      const sv = f32x4.splat(s);
      for (; j < c4; j += 4) {
        const at = <usize>j << 2;
        v128.store(or + at, f32x4.div(v128.load(or + at), sv));
      }
      for (; j < cols; j++) store<f32>(or + (<usize>j << 2), load<f32>(or + (<usize>j << 2)) / s);
    }
  }
}

/**
 * Rows [r0, r1) of softmax's gradient from its output y and dy, y (dy - sum(dy y)), or
 * (log true) log-softmax's, dy - exp(y) sum(dy); sums in float64.
 */
export function softmaxBackwardRows(y: usize, dy: usize, out: usize, cols: i32, log: bool, r0: i32, r1: i32): void {
  const c4 = cols & ~3;
  const rowBytes = <usize>cols << 2;
  for (let r = r0; r < r1; r++) {
    const base = <usize>r * rowBytes;
    let s: f64 = 0;
    for (let j = 0; j < cols; j++) {
      const at = base + (<usize>j << 2);
      s += log ? <f64>load<f32>(dy + at) : <f64>load<f32>(dy + at) * <f64>load<f32>(y + at);
    }
    const sf = <f32>s;
    if (log) {
      for (let j = 0; j < cols; j++) {
        const at = base + (<usize>j << 2);
        store<f32>(out + at, <f32>(<f64>load<f32>(dy + at) - Math.exp(<f64>load<f32>(y + at)) * s));
      }
      continue;
    }
    const sv = f32x4.splat(sf);
    let j = 0;
    for (; j < c4; j += 4) {
      const at = base + (<usize>j << 2);
      v128.store(out + at, f32x4.mul(v128.load(y + at), f32x4.sub(v128.load(dy + at), sv)));
    }
    for (; j < cols; j++) {
      const at = base + (<usize>j << 2);
      store<f32>(out + at, load<f32>(y + at) * (load<f32>(dy + at) - sf));
    }
  }
}
