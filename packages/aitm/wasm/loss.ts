// The AITM loss on the wasm backend, in AssemblyScript (the math: src/kernels/loss-kernels.ts).
// p and y are [batch, tasks] float32.
//   loss = sum_t mean_b BCE(p_bt, y_bt) + alpha * mean_b sum_{t>=1} relu(p_bt - p_b,t-1)
//   dL/dp_bt = dy [ (p - y) / max(p (1 - p), eps) + alpha (1[p_bt > p_b,t-1] - 1[p_b,t+1 > p_bt]) ] / batch
// The forward is one sum over every element, in float64 and in element order on one thread
// (its two logs per element are scalar: WebAssembly has no vector log). The gradient is
// elementwise, float32 SIMD four elements at a time, split among the threads by ranges.

/** PyTorch's BCE term, logs clamped at -100 (NaN stays NaN: f64.max propagates it). */
// @ts-ignore: decorator
@inline function bce(p: f64, y: f64): f64 {
  return (y - 1) * Math.max(Math.log(1 - p), -100) - y * Math.max(Math.log(p), -100);
}

/** The loss of p and y [batch, tasks], as one float64. */
export function lossForward(p: usize, y: usize, batch: i32, tasks: i32, alpha: f64): f64 {
  let sum: f64 = 0;
  let con: f64 = 0;
  let e: usize = 0;
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < tasks; t++) {
      const pv = <f64>load<f32>(p + (e << 2));
      sum += bce(pv, <f64>load<f32>(y + (e << 2)));
      if (t > 0) con += Math.max(pv - <f64>load<f32>(p + ((e - 1) << 2)), 0);
      e++;
    }
  }
  return sum / <f64>batch + (alpha * con) / <f64>batch;
}

/**
 * Elements [e0, e1) of the gradient into out, from p, y, the loss's gradient dy (a float32 at
 * `dy`) and 1 / batch; eps is ATen's floor on p (1 - p).
 */
export function lossGradRange(p: usize, y: usize, dy: usize, out: usize, n: i32, tasks: i32, alpha: f32, invBatch: f32, eps: f32, e0: i32, e1: i32): void {
  const g = load<f32>(dy) * invBatch;
  let e = e0;
  // The first element reads none before it; the vector blocks read one either side.
  for (; e < e1 && e < 1; e++) gradAt(p, y, out, e, tasks, alpha, g, eps);
  const gv = f32x4.splat(g);
  const av = f32x4.splat(alpha);
  const ev = f32x4.splat(eps);
  const one = f32x4.splat(1);
  const zero = i32x4.splat(0);
  const tasksV = i32x4.splat(tasks);
  const last = i32x4.splat(tasks - 1);
  // Each lane's task index t = e mod tasks, advanced by 4 a block.
  let t = i32x4((e) % tasks, (e + 1) % tasks, (e + 2) % tasks, (e + 3) % tasks);
  const step = i32x4.splat(4 % tasks);
  for (; e + 4 <= e1 && e + 4 < n; e += 4) {
    const at = <usize>e << 2;
    const pv = v128.load(p + at);
    const prev = v128.load(p + at - 4);
    const next = v128.load(p + at + 4);
    // c = 1[t > 0 and p > prev] - 1[t < tasks - 1 and next > p], as float32.
    const up = v128.and(i32x4.gt_s(t, zero), f32x4.gt(pv, prev));
    const down = v128.and(i32x4.lt_s(t, last), f32x4.gt(next, pv));
    const c = f32x4.sub(v128.and(up, one), v128.and(down, one));
    const denom = nanMax(f32x4.mul(f32x4.sub(one, pv), pv), ev);
    const r = f32x4.add(f32x4.div(f32x4.sub(pv, v128.load(y + at)), denom), f32x4.mul(av, c));
    v128.store(out + at, f32x4.mul(gv, r));
    t = i32x4.add(t, step);
    t = i32x4.sub(t, v128.and(tasksV, i32x4.ge_s(t, tasksV)));
  }
  for (; e < e1; e++) gradAt(p, y, out, e, tasks, alpha, g, eps);
}

/** Element e of the gradient, as one lane of lossGradRange's blocks computes it. */
// @ts-ignore: decorator
@inline function gradAt(p: usize, y: usize, out: usize, e: i32, tasks: i32, alpha: f32, g: f32, eps: f32): void {
  const at = <usize>e << 2;
  const t = e % tasks;
  const pv = load<f32>(p + at);
  let c: f32 = 0;
  if (t > 0 && pv > load<f32>(p + at - 4)) c += 1;
  if (t + 1 < tasks && load<f32>(p + at + 4) > pv) c -= 1;
  const denom: f32 = (<f32>1 - pv) * pv;
  store<f32>(out + at, g * ((pv - load<f32>(y + at)) / (denom != denom || denom > eps ? denom : eps) + alpha * c));
}

/** max(a, b) lane by lane keeping a NaN in `a` (f32x4.max would too, but also for b). */
// @ts-ignore: decorator
@inline function nanMax(a: v128, b: v128): v128 {
  // a where a > b or a is NaN (a != a), else b.
  return v128.bitselect(a, b, v128.or(f32x4.gt(a, b), f32x4.ne(a, a)));
}
