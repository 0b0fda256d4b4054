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

/** mean[j] and the biased variance var[j] of each column (float32 arrays of C at mean, vari). */
export function bnStats(x: usize, n: i32, c: i32, mean: usize, vari: usize): void {
  memory.fill(mean, 0, <usize>c << 2);
  memory.fill(vari, 0, <usize>c << 2);
  const c4 = c & ~3;
  const rowBytes = <usize>c << 2;
  let row = x;
  for (let i = 0; i < n; i++) {
    let j = 0;
    for (; j < c4; j += 4) {
      const at = <usize>j << 2;
      v128.store(mean + at, f32x4.add(v128.load(mean + at), v128.load(row + at)));
    }
    for (; j < c; j++) {
      const at = <usize>j << 2;
      store<f32>(mean + at, load<f32>(mean + at) + load<f32>(row + at));
    }
    row += rowBytes;
  }
  const invN: f32 = 1 / <f32>n;
  for (let j = 0; j < c; j++) store<f32>(mean + (<usize>j << 2), load<f32>(mean + (<usize>j << 2)) * invN);
  row = x;
  for (let i = 0; i < n; i++) {
    let j = 0;
    for (; j < c4; j += 4) {
      const at = <usize>j << 2;
      const e = f32x4.sub(v128.load(row + at), v128.load(mean + at));
      v128.store(vari + at, f32x4.add(v128.load(vari + at), f32x4.mul(e, e)));
    }
    for (; j < c; j++) {
      const at = <usize>j << 2;
      const e = load<f32>(row + at) - load<f32>(mean + at);
      store<f32>(vari + at, load<f32>(vari + at) + e * e);
    }
    row += rowBytes;
  }
  for (let j = 0; j < c; j++) store<f32>(vari + (<usize>j << 2), load<f32>(vari + (<usize>j << 2)) * invN);
}

/**
 * y = (x - mean) * scale + b with scale = w / sqrt(var + eps) (scale written to `scale`, C
 * floats), then relu if asked. mean and var come from bnStats (training) or the running
 * statistics (eval).
 */
export function bnApply(x: usize, mean: usize, vari: usize, w: usize, b: usize, y: usize, n: i32, c: i32, eps: f32, relu: i32, scale: usize): void {
  for (let j = 0; j < c; j++) {
    const at = <usize>j << 2;
    store<f32>(scale + at, load<f32>(w + at) / Mathf.sqrt(load<f32>(vari + at) + eps));
  }
  const c4 = c & ~3;
  const rowBytes = <usize>c << 2;
  let xr = x;
  let yr = y;
  for (let i = 0; i < n; i++) {
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
 */
export function bnBackward(x: usize, dy: usize, w: usize, yOut: usize, out: usize, n: i32, c: i32, eps: f32, dwAt: i32, dbAt: i32, scratch: usize): void {
  const cb = <usize>c << 2;
  const mean = scratch;
  const inv = scratch + cb;
  const sumG = out + (<usize>dbAt << 2);
  const sumGX = out + (<usize>dwAt << 2);
  bnStats(x, n, c, mean, inv);
  for (let j = 0; j < c; j++) {
    const at = <usize>j << 2;
    store<f32>(inv + at, 1 / Mathf.sqrt(load<f32>(inv + at) + eps));
  }
  memory.fill(sumG, 0, cb);
  memory.fill(sumGX, 0, cb);
  const c4 = c & ~3;
  const zero = f32x4.splat(0);
  // Pass 1: the column sums of g and g * xhat.
  for (let i = 0; i < n; i++) {
    const ro = <usize>i * cb;
    let j = 0;
    for (; j < c4; j += 4) {
      const at = <usize>j << 2;
      let g = v128.load(dy + ro + at);
      if (yOut != 0) g = v128.andnot(g, f32x4.le(v128.load(yOut + ro + at), zero));
      const xhat = f32x4.mul(f32x4.sub(v128.load(x + ro + at), v128.load(mean + at)), v128.load(inv + at));
      v128.store(sumG + at, f32x4.add(v128.load(sumG + at), g));
      v128.store(sumGX + at, f32x4.add(v128.load(sumGX + at), f32x4.mul(g, xhat)));
    }
    for (; j < c; j++) {
      const at = <usize>j << 2;
      let g = load<f32>(dy + ro + at);
      if (yOut != 0 && load<f32>(yOut + ro + at) <= 0) g = 0;
      const xhat = (load<f32>(x + ro + at) - load<f32>(mean + at)) * load<f32>(inv + at);
      store<f32>(sumG + at, load<f32>(sumG + at) + g);
      store<f32>(sumGX + at, load<f32>(sumGX + at) + g * xhat);
    }
  }
  // Pass 2: dx. k = w inv / N per column (in scratch's third row).
  const k = scratch + 2 * cb;
  const nf = <f32>n;
  for (let j = 0; j < c; j++) {
    const at = <usize>j << 2;
    store<f32>(k + at, (load<f32>(w + at) * load<f32>(inv + at)) / nf);
  }
  const nv = f32x4.splat(nf);
  for (let i = 0; i < n; i++) {
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
