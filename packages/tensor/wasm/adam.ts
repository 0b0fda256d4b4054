// The fused Adam/AdamW step in float32 SIMD, in place, with the WGSL kernel's arithmetic
// (src/fused/adam.ts): every operation in float32, the scalars derived on the host.
//   g = G + l2 p;  m = beta1 M + (1 - beta1) g;  v = beta2 V + (1 - beta2) g g
//   P = p decay - stepSize m / (sqrt(v) / sqrtBc2 + eps)

/** Elements [i0, i1) of one Adam step: reads g, updates p, m and v in place (float32 arrays). */
export function adamStep(p: usize, g: usize, m: usize, v: usize, beta1: f32, beta2: f32, eps: f32, decay: f32, l2: f32, stepSize: f32, sqrtBc2: f32, i0: i32, i1: i32): void {
  const b1 = f32x4.splat(beta1);
  const b2 = f32x4.splat(beta2);
  const c1 = f32x4.splat(1 - beta1);
  const c2 = f32x4.splat(1 - beta2);
  const ev = f32x4.splat(eps);
  const dv = f32x4.splat(decay);
  const lv = f32x4.splat(l2);
  const sv = f32x4.splat(stepSize);
  const qv = f32x4.splat(sqrtBc2);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const at = <usize>i << 2;
    const p0 = v128.load(p + at);
    const gi = f32x4.add(v128.load(g + at), f32x4.mul(lv, p0));
    const mi = f32x4.add(f32x4.mul(b1, v128.load(m + at)), f32x4.mul(c1, gi));
    const vi = f32x4.add(f32x4.mul(b2, v128.load(v + at)), f32x4.mul(f32x4.mul(c2, gi), gi));
    v128.store(m + at, mi);
    v128.store(v + at, vi);
    const den = f32x4.add(f32x4.div(f32x4.sqrt(vi), qv), ev);
    v128.store(p + at, f32x4.sub(f32x4.mul(p0, dv), f32x4.div(f32x4.mul(sv, mi), den)));
  }
  const o1: f32 = 1 - beta1;
  const o2: f32 = 1 - beta2;
  for (; i < i1; i++) {
    const at = <usize>i << 2;
    const p0 = load<f32>(p + at);
    const gi = load<f32>(g + at) + l2 * p0;
    const mi = beta1 * load<f32>(m + at) + o1 * gi;
    const vi = beta2 * load<f32>(v + at) + o2 * gi * gi;
    store<f32>(m + at, mi);
    store<f32>(v + at, vi);
    store<f32>(p + at, p0 * decay - (stepSize * mi) / (Mathf.sqrt(vi) / sqrtBc2 + eps));
  }
}
