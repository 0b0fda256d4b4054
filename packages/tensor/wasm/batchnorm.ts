// The wasm backend's batch normalisation over x [N, C] (statistics per column), in float32
// with SIMD across 4 columns at a time: the rows are walked in order and each column keeps
// its own accumulator, so every sum has one fixed order. Matches the CPU reference
// (backends/cpu/batchnorm.ts): two-pass variance, relu that keeps NaN (y < 0 ? 0 : y), and
// its gradient as PyTorch's threshold_backward (0 where the output is <= 0, else dy: a NaN
// output passes dy on).

// @ts-ignore: decorator
@inline function reluV(y: v128): v128 {
  const zero = f32x4.splat(0);
  return v128.bitselect(zero, y, f32x4.lt(y, zero));
}

/**
 * mean[j] and the biased variance var[j] of columns [j0, j1) (float32 arrays of C at mean,
 * vari). Each column is summed over all rows in row order, whatever the column range: threads
 * split the columns, and every statistic is the same number whatever the split. Four columns
 * at a time walk all the rows with their sums in a register (not in memory, where two threads'
 * neighbouring columns would share a cache line on every row).
 */
export function bnStats(x: usize, n: i32, c: i32, mean: usize, vari: usize, j0: i32, j1: i32): void {
  const c4 = j0 + ((j1 - j0) & ~3);
  const rowBytes = <usize>c << 2;
  const invN: f32 = 1 / <f32>n;
  const invV = f32x4.splat(invN);
  const c8 = j0 + ((j1 - j0) & ~7);
  for (let j = j0; j < c8; j += 8) {
    const at = <usize>j << 2;
    let s0 = f32x4.splat(0);
    let s1 = f32x4.splat(0);
    let row = x + at;
    for (let i = 0; i < n; i++) {
      s0 = f32x4.add(s0, v128.load(row));
      s1 = f32x4.add(s1, v128.load(row, 16));
      row += rowBytes;
    }
    const m0 = f32x4.mul(s0, invV);
    const m1 = f32x4.mul(s1, invV);
    v128.store(mean + at, m0);
    v128.store(mean + at, m1, 16);
    let v0 = f32x4.splat(0);
    let v1 = f32x4.splat(0);
    row = x + at;
    for (let i = 0; i < n; i++) {
      const e0 = f32x4.sub(v128.load(row), m0);
      const e1 = f32x4.sub(v128.load(row, 16), m1);
      v0 = f32x4.add(v0, f32x4.mul(e0, e0));
      v1 = f32x4.add(v1, f32x4.mul(e1, e1));
      row += rowBytes;
    }
    v128.store(vari + at, f32x4.mul(v0, invV));
    v128.store(vari + at, f32x4.mul(v1, invV), 16);
  }
  for (let j = c8; j < c4; j += 4) {
    const at = <usize>j << 2;
    let s = f32x4.splat(0);
    let row = x + at;
    for (let i = 0; i < n; i++) {
      s = f32x4.add(s, v128.load(row));
      row += rowBytes;
    }
    const m = f32x4.mul(s, invV);
    v128.store(mean + at, m);
    let v = f32x4.splat(0);
    row = x + at;
    for (let i = 0; i < n; i++) {
      const e = f32x4.sub(v128.load(row), m);
      v = f32x4.add(v, f32x4.mul(e, e));
      row += rowBytes;
    }
    v128.store(vari + at, f32x4.mul(v, invV));
  }
  for (let j = c4; j < j1; j++) {
    const at = <usize>j << 2;
    let s: f32 = 0;
    let row = x + at;
    for (let i = 0; i < n; i++) {
      s += load<f32>(row);
      row += rowBytes;
    }
    const m = s * invN;
    store<f32>(mean + at, m);
    let v: f32 = 0;
    row = x + at;
    for (let i = 0; i < n; i++) {
      const e = load<f32>(row) - m;
      v += e * e;
      row += rowBytes;
    }
    store<f32>(vari + at, v * invN);
  }
}

/** scale[j] = w[j] / sqrt(var[j] + eps) for the C columns (what bnApply multiplies by). */
export function bnScale(w: usize, vari: usize, eps: f32, scale: usize, c: i32): void {
  for (let j = 0; j < c; j++) {
    const at = <usize>j << 2;
    store<f32>(scale + at, load<f32>(w + at) / Mathf.sqrt(load<f32>(vari + at) + eps));
  }
}

/**
 * Rows [i0, i1) of y = (x - mean) * scale + b (x and y [N, C]; scale from bnScale), then relu
 * if asked. mean and the variance behind scale come from bnStats (training) or the running
 * statistics (eval).
 */
export function bnApply(x: usize, mean: usize, scale: usize, b: usize, y: usize, c: i32, relu: i32, i0: i32, i1: i32): void {
  const c4 = c & ~3;
  const rowBytes = <usize>c << 2;
  let xr = x + <usize>i0 * rowBytes;
  let yr = y + <usize>i0 * rowBytes;
  for (let i = i0; i < i1; i++) {
    let j = 0;
    for (; j < c4; j += 4) {
      const at = <usize>j << 2;
      let v = f32x4.add(f32x4.mul(f32x4.sub(v128.load(xr + at), v128.load(mean + at)), v128.load(scale + at)), v128.load(b + at));
      if (relu) v = reluV(v);
      v128.store(yr + at, v);
    }
    for (; j < c; j++) {
      const at = <usize>j << 2;
      let v = (load<f32>(xr + at) - load<f32>(mean + at)) * load<f32>(scale + at) + load<f32>(b + at);
      if (relu && v < 0) v = 0;
      store<f32>(yr + at, v);
    }
    xr += rowBytes;
    yr += rowBytes;
  }
}

/**
 * The backward pass into out: dx [N, C] at out, dw at out + 4 dwAt, db at out + 4 dbAt, where
 * g = dy (or, with the relu's output yOut, 0 where yOut <= 0; yOut 0: no relu), xhat = (x - mean) inv and
 * dx = (w inv / N) (N g - sum(g) - xhat sum(g xhat)). scratch: 4 C floats.
 *
 * This is pass 1, for columns [j0, j1): the statistics, dw and db (column sums in row order)
 * and the per-column factors pass 2 (bnBackwardDx, by rows) reads from scratch. Every column
 * is one thread's, so no sum depends on how the columns were split.
 */
export function bnBackward(x: usize, dy: usize, w: usize, yOut: usize, out: usize, n: i32, c: i32, eps: f32, dwAt: i32, dbAt: i32, scratch: usize, j0: i32, j1: i32): void {
  const cb = <usize>c << 2;
  const mean = scratch;
  const inv = scratch + cb;
  const sumG = out + (<usize>dbAt << 2);
  const sumGX = out + (<usize>dwAt << 2);
  bnStats(x, n, c, mean, inv, j0, j1);
  for (let j = j0; j < j1; j++) {
    const at = <usize>j << 2;
    store<f32>(inv + at, 1 / Mathf.sqrt(load<f32>(inv + at) + eps));
  }
  const c4 = j0 + ((j1 - j0) & ~3);
  const zero = f32x4.splat(0);
  // The column sums of g and g * xhat, eight (then four) columns at a time down all the rows
  // (sums in registers, in row order).
  const c8 = j0 + ((j1 - j0) & ~7);
  for (let j = j0; j < c8; j += 8) {
    const at = <usize>j << 2;
    const m0 = v128.load(mean + at);
    const m1 = v128.load(mean + at, 16);
    const iv0 = v128.load(inv + at);
    const iv1 = v128.load(inv + at, 16);
    let sg0 = f32x4.splat(0);
    let sg1 = f32x4.splat(0);
    let sgx0 = f32x4.splat(0);
    let sgx1 = f32x4.splat(0);
    let ro: usize = at;
    for (let i = 0; i < n; i++) {
      let g0 = v128.load(dy + ro);
      let g1 = v128.load(dy + ro, 16);
      if (yOut != 0) {
        g0 = v128.andnot(g0, f32x4.le(v128.load(yOut + ro), zero));
        g1 = v128.andnot(g1, f32x4.le(v128.load(yOut + ro, 16), zero));
      }
      sg0 = f32x4.add(sg0, g0);
      sg1 = f32x4.add(sg1, g1);
      sgx0 = f32x4.add(sgx0, f32x4.mul(g0, f32x4.mul(f32x4.sub(v128.load(x + ro), m0), iv0)));
      sgx1 = f32x4.add(sgx1, f32x4.mul(g1, f32x4.mul(f32x4.sub(v128.load(x + ro, 16), m1), iv1)));
      ro += cb;
    }
    v128.store(sumG + at, sg0);
    v128.store(sumG + at, sg1, 16);
    v128.store(sumGX + at, sgx0);
    v128.store(sumGX + at, sgx1, 16);
  }
  for (let j = c8; j < c4; j += 4) {
    const at = <usize>j << 2;
    const m = v128.load(mean + at);
    const iv = v128.load(inv + at);
    let sg = f32x4.splat(0);
    let sgx = f32x4.splat(0);
    let ro: usize = at;
    for (let i = 0; i < n; i++) {
      let g = v128.load(dy + ro);
      if (yOut != 0) g = v128.andnot(g, f32x4.le(v128.load(yOut + ro), zero));
      const xhat = f32x4.mul(f32x4.sub(v128.load(x + ro), m), iv);
      sg = f32x4.add(sg, g);
      sgx = f32x4.add(sgx, f32x4.mul(g, xhat));
      ro += cb;
    }
    v128.store(sumG + at, sg);
    v128.store(sumGX + at, sgx);
  }
  for (let j = c4; j < j1; j++) {
    const at = <usize>j << 2;
    const m = load<f32>(mean + at);
    const iv = load<f32>(inv + at);
    let sg: f32 = 0;
    let sgx: f32 = 0;
    let ro: usize = at;
    for (let i = 0; i < n; i++) {
      let g = load<f32>(dy + ro);
      if (yOut != 0 && load<f32>(yOut + ro) <= 0) g = 0;
      const xhat = (load<f32>(x + ro) - m) * iv;
      sg += g;
      sgx += g * xhat;
      ro += cb;
    }
    store<f32>(sumG + at, sg);
    store<f32>(sumGX + at, sgx);
  }
  // k = w inv / N per column (in scratch's third row).
  const k = scratch + 2 * cb;
  const nf = <f32>n;
  for (let j = j0; j < j1; j++) {
    const at = <usize>j << 2;
    store<f32>(k + at, (load<f32>(w + at) * load<f32>(inv + at)) / nf);
  }
}

/**
 * Pass 2 of the batch-norm backward, rows [i0, i1) of dx (at out), from what bnBackward left
 * in scratch and out (the same arguments).
 */
export function bnBackwardDx(x: usize, dy: usize, yOut: usize, out: usize, n: i32, c: i32, dwAt: i32, dbAt: i32, scratch: usize, i0: i32, i1: i32): void {
  const cb = <usize>c << 2;
  const mean = scratch;
  const inv = scratch + cb;
  const k = scratch + 2 * cb;
  const sumG = out + (<usize>dbAt << 2);
  const sumGX = out + (<usize>dwAt << 2);
  const c4 = c & ~3;
  const zero = f32x4.splat(0);
  const nf = <f32>n;
  const nv = f32x4.splat(nf);
  for (let i = i0; i < i1; i++) {
    const ro = <usize>i * cb;
    let j = 0;
    for (; j < c4; j += 4) {
      const at = <usize>j << 2;
      let g = v128.load(dy + ro + at);
      if (yOut != 0) g = v128.andnot(g, f32x4.le(v128.load(yOut + ro + at), zero));
      const xhat = f32x4.mul(f32x4.sub(v128.load(x + ro + at), v128.load(mean + at)), v128.load(inv + at));
      const t = f32x4.sub(f32x4.sub(f32x4.mul(nv, g), v128.load(sumG + at)), f32x4.mul(xhat, v128.load(sumGX + at)));
      v128.store(out + ro + at, f32x4.mul(v128.load(k + at), t));
    }
    for (; j < c; j++) {
      const at = <usize>j << 2;
      let g = load<f32>(dy + ro + at);
      if (yOut != 0 && load<f32>(yOut + ro + at) <= 0) g = 0;
      const xhat = (load<f32>(x + ro + at) - load<f32>(mean + at)) * load<f32>(inv + at);
      store<f32>(out + ro + at, load<f32>(k + at) * (nf * g - load<f32>(sumG + at) - xhat * load<f32>(sumGX + at)));
    }
  }
}
