// AITM's attention core on the wasm backend, in AssemblyScript (built into the aitm kernel
// library by the tensor package's scripts/build-wasm.mjs; see src/kernels/wasm-library.ts).
// The math is src/kernels/attention-kernels.ts's: per sample b, rows b (own) and B + b (info)
// of QKV [2B, 3d] hold q | k | v;
//   s_i = q_i.k_i / sqrt(d),  a = softmax(s_0, s_1),  out_b = a_0 v_0 + a_1 v_1
// The row dot products and the vector updates are float32 SIMD, four columns at a time with
// the tail one by one; the two scores' softmax takes one float32 exp per sample. Each
// sample is independent, so threads take ranges of samples and results never depend on the
// thread count.

/** The dot product of `d` floats at x and y: four lane sums, added in a fixed order, then the tail. */
// @ts-ignore: decorator
@inline function dot(x: usize, y: usize, d: i32): f32 {
  const d4 = d & ~3;
  let acc = f32x4.splat(0);
  let c = 0;
  for (; c < d4; c += 4) {
    const at = <usize>c << 2;
    acc = f32x4.add(acc, f32x4.mul(v128.load(x + at), v128.load(y + at)));
  }
  let s = (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1)) + (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
  for (; c < d; c++) s += load<f32>(x + (<usize>c << 2)) * load<f32>(y + (<usize>c << 2));
  return s;
}


/** (a_0, a_1) of sample b, as float32, in `A0` and `A1`. */
let A0: f32 = 0;
let A1: f32 = 0;

// @ts-ignore: decorator
@inline function weightsOf(own: usize, info: usize, d: i32, scale: f32): void {
  const rowBytes = <usize>d << 2;
  const s0 = dot(own, own + rowBytes, d) * scale;
  const s1 = dot(info, info + rowBytes, d) * scale;
  // softmax(s0, s1) with one exp: the larger score's weight is 1 / (1 + e), the other's
  // e / (1 + e), e = exp(-|s0 - s1|). As the two-exp form (exp(s_i - max) / sum): NaN if a
  // score is NaN, or +inf (exp(inf - inf)), or both are -inf; a lone -inf score weighs 0.
  const e = Mathf.exp(-Mathf.abs(s0 - s1));
  const big: f32 = 1 / (1 + e);
  const small: f32 = e / (1 + e);
  if (s0 >= s1) {
    A0 = big;
    A1 = small;
  } else {
    A0 = small;
    A1 = big;
  }
  if (Mathf.max(s0, s1) == Infinity || s0 != s0 || s1 != s1) {
    A0 = NaN;
    A1 = NaN;
  }
}

/**
 * Samples [b0, b1) of the attention core from qkv [2 batch, 3d]: with `weights` 0, the output
 * [batch, d] (a_0 v_0 + a_1 v_1); with 1, the weights [batch, 2].
 */
export function attentionRows(qkv: usize, out: usize, batch: i32, d: i32, weights: i32, b0: i32, b1: i32): void {
  const rowBytes = <usize>d << 2;
  const qkvRow: usize = rowBytes * 3;
  const scale = <f32>(1 / Math.sqrt(<f64>d));
  const d4 = d & ~3;
  for (let b = b0; b < b1; b++) {
    const own = qkv + <usize>b * qkvRow;
    const info = qkv + (<usize>batch + <usize>b) * qkvRow;
    weightsOf(own, info, d, scale);
    if (weights != 0) {
      store<f32>(out + (<usize>b << 3), A0);
      store<f32>(out + (<usize>b << 3), A1, 4);
      continue;
    }
    const v0 = own + 2 * rowBytes;
    const v1 = info + 2 * rowBytes;
    const o = out + <usize>b * rowBytes;
    const w0 = f32x4.splat(A0);
    const w1 = f32x4.splat(A1);
    let c = 0;
    for (; c < d4; c += 4) {
      const at = <usize>c << 2;
      v128.store(o + at, f32x4.add(f32x4.mul(w0, v128.load(v0 + at)), f32x4.mul(w1, v128.load(v1 + at))));
    }
    for (; c < d; c++) {
      const at = <usize>c << 2;
      store<f32>(o + at, A0 * load<f32>(v0 + at) + A1 * load<f32>(v1 + at));
    }
  }
}

/**
 * Samples [b0, b1) of the core's gradient: dQKV [2 batch, 3d] (out) from qkv and the output's
 * gradient g [batch, d]. Per sample, with da_i = g.v_i and ds_i = a_i (da_i - a_0 da_0 - a_1 da_1) / sqrt(d):
 * dq_i = ds_i k_i, dk_i = ds_i q_i, dv_i = a_i g.
 */
export function attentionGradRows(qkv: usize, g: usize, out: usize, batch: i32, d: i32, b0: i32, b1: i32): void {
  const rowBytes = <usize>d << 2;
  const qkvRow: usize = rowBytes * 3;
  const scale = <f32>(1 / Math.sqrt(<f64>d));
  for (let b = b0; b < b1; b++) {
    const own = qkv + <usize>b * qkvRow;
    const info = qkv + (<usize>batch + <usize>b) * qkvRow;
    const gb = g + <usize>b * rowBytes;
    weightsOf(own, info, d, scale);
    const a0 = <f64>A0;
    const a1 = <f64>A1;
    const da0 = <f64>dot(gb, own + 2 * rowBytes, d);
    const da1 = <f64>dot(gb, info + 2 * rowBytes, d);
    const mix = a0 * da0 + a1 * da1;
    rowGrads(own, gb, out + <usize>b * qkvRow, d, <f32>(a0 * (da0 - mix) * <f64>scale), A0);
    rowGrads(info, gb, out + (<usize>batch + <usize>b) * qkvRow, d, <f32>(a1 * (da1 - mix) * <f64>scale), A1);
  }
}

/** One row's dq = ds k, dk = ds q, dv = a g into r (the row's q | k | v gradient). */
// @ts-ignore: decorator
@inline function rowGrads(row: usize, gb: usize, r: usize, d: i32, ds: f32, a: f32): void {
  const rowBytes = <usize>d << 2;
  const dsv = f32x4.splat(ds);
  const av = f32x4.splat(a);
  const d4 = d & ~3;
  let c = 0;
  for (; c < d4; c += 4) {
    const at = <usize>c << 2;
    v128.store(r + at, f32x4.mul(dsv, v128.load(row + rowBytes + at)));
    v128.store(r + rowBytes + at, f32x4.mul(dsv, v128.load(row + at)));
    v128.store(r + 2 * rowBytes + at, f32x4.mul(av, v128.load(gb + at)));
  }
  for (; c < d; c++) {
    const at = <usize>c << 2;
    store<f32>(r + at, ds * load<f32>(row + rowBytes + at));
    store<f32>(r + rowBytes + at, ds * load<f32>(row + at));
    store<f32>(r + 2 * rowBytes + at, a * load<f32>(gb + at));
  }
}
