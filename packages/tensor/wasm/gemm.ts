// The wasm backend's matrix product, in AssemblyScript (compiled to WebAssembly SIMD128 by
// scripts/build-wasm.mjs): C[M,N] = A[M,K] @ B[K,N] in float32, either operand read through
// strides, so transposed operands are never materialised.
//
// B is first packed into panels of 8 columns (k-major, zero-padded past N), so the inner loop
// reads 8 consecutive floats per k whatever B's layout was. The microkernel keeps a 4x8 block
// of C in 8 v128 registers (V8 gives wasm 16 on x86: 8 accumulators, 2 of B, 1 of A, and room
// for the addresses; 6x8 spills), and per k does 2 loads of B, 4 broadcast loads of A and 8
// multiply-adds. Each output is one sum over k in increasing order, so splitting the rows or
// panels among threads never changes a result.
//
// RELAXED (a compile-time constant, one binary each) fuses the multiply-add with
// f32x4.relaxed_madd, a real FMA on x86 with FMA3 (one rounding instead of two).

// @ts-ignore: decorator
@inline function madd(a: v128, b: v128, c: v128): v128 {
  return RELAXED ? f32x4.relaxed_madd(a, b, c) : f32x4.add(f32x4.mul(a, b), c);
}

/**
 * Packs panels [p0, p1) of B (element (k, n) at b + 4 (k sk + n sn)) into panels of 8 columns:
 * panel p holds columns 8p..8p+7 as K rows of 8 floats, zero past N. bp needs 32 K ceil(N / 8)
 * bytes. Panels are independent, so threads may pack different ranges at once.
 */
export function packB(b: usize, bp: usize, K: i32, N: i32, sk: i32, sn: i32, p0: i32, p1: i32): void {
  for (let p = p0; p < p1; p++) {
    const n0 = p << 3;
    let dst = bp + ((<usize>p * <usize>K) << 5);
    if (sn == 1 && n0 + 8 <= N) {
      // Contiguous rows of B: two vector copies per k.
      let src = b + (<usize>n0 << 2);
      const step = <usize>sk << 2;
      for (let k = 0; k < K; k++) {
        v128.store(dst, v128.load(src));
        v128.store(dst, v128.load(src, 16), 16);
        src += step;
        dst += 32;
      }
    } else {
      for (let k = 0; k < K; k++) {
        for (let j = 0; j < 8; j++) {
          const n = n0 + j;
          const v: f32 = n < N ? load<f32>(b + ((<usize>k * <usize>sk + <usize>n * <usize>sn) << 2)) : 0;
          store<f32>(dst + (<usize>j << 2), v);
        }
        dst += 32;
      }
    }
  }
}

/** Stores one row's 8 accumulated columns of panel p at c (only the columns below N). */
// @ts-ignore: decorator
@inline function storeRow(c: usize, lo: v128, hi: v128, full: bool, cols: i32): void {
  if (full) {
    v128.store(c, lo);
    v128.store(c, hi, 16);
  } else {
    // A partial last panel: the lanes past N must not be written.
    if (cols > 0) store<f32>(c, f32x4.extract_lane(lo, 0));
    if (cols > 1) store<f32>(c, f32x4.extract_lane(lo, 1), 4);
    if (cols > 2) store<f32>(c, f32x4.extract_lane(lo, 2), 8);
    if (cols > 3) store<f32>(c, f32x4.extract_lane(lo, 3), 12);
    if (cols > 4) store<f32>(c, f32x4.extract_lane(hi, 0), 16);
    if (cols > 5) store<f32>(c, f32x4.extract_lane(hi, 1), 20);
    if (cols > 6) store<f32>(c, f32x4.extract_lane(hi, 2), 24);
  }
}

/**
 * C rows [m0, m1) of A @ Bp, where A's element (i, k) is at a + 4 (i sm + k sk), Bp is B
 * packed by packB and C is row-major [M, N]. Whole blocks of 4 rows, then single rows.
 */
export function gemmRows(a: usize, sm: i32, sk: i32, bp: usize, c: usize, m0: i32, m1: i32, K: i32, N: i32): void {
  gemmBlock(a, sm, sk, bp, c, m0, m1, K, N, 0, (N + 7) >> 3);
}

/**
 * Panels [p0, p1) of C (columns 8 p0 .. 8 p1) over all M rows: gemmRows split by columns, for
 * threads where C has few rows (a weight gradient's M is a layer's width, its K the batch):
 * split by rows, every thread would stream all of B; split by panels, each streams its share.
 */
export function gemmPanels(a: usize, sm: i32, sk: i32, bp: usize, c: usize, M: i32, K: i32, N: i32, p0: i32, p1: i32): void {
  gemmBlock(a, sm, sk, bp, c, 0, M, K, N, p0, p1);
}

/** Rows [m0, m1) and panels [p0, p1) of C = A @ Bp (see gemmRows). */
// @ts-ignore: decorator
@inline function gemmBlock(a: usize, sm: i32, sk: i32, bp: usize, c: usize, m0: i32, m1: i32, K: i32, N: i32, p0: i32, p1: i32): void {
  const aStepK = <usize>sk << 2;
  const aStepM = <usize>sm << 2;
  const rowBytes = <usize>N << 2;
  let i = m0;
  for (; i + 4 <= m1; i += 4) {
    const a0 = a + <usize>i * aStepM;
    const a1 = a0 + aStepM;
    const a2 = a1 + aStepM;
    const a3 = a2 + aStepM;
    for (let p = p0; p < p1; p++) {
      let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
      let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
      let bk = bp + ((<usize>p * <usize>K) << 5);
      let ak: usize = 0;
      for (let k = 0; k < K; k++) {
        const b0 = v128.load(bk);
        const b1 = v128.load(bk, 16);
        let x = v128.load32_splat(a0 + ak);
        c00 = madd(x, b0, c00);
        c01 = madd(x, b1, c01);
        x = v128.load32_splat(a1 + ak);
        c10 = madd(x, b0, c10);
        c11 = madd(x, b1, c11);
        x = v128.load32_splat(a2 + ak);
        c20 = madd(x, b0, c20);
        c21 = madd(x, b1, c21);
        x = v128.load32_splat(a3 + ak);
        c30 = madd(x, b0, c30);
        c31 = madd(x, b1, c31);
        bk += 32;
        ak += aStepK;
      }
      const n0 = p << 3;
      const full = n0 + 8 <= N;
      const cols = N - n0;
      const co = c + <usize>i * rowBytes + (<usize>n0 << 2);
      storeRow(co, c00, c01, full, cols);
      storeRow(co + rowBytes, c10, c11, full, cols);
      storeRow(co + 2 * rowBytes, c20, c21, full, cols);
      storeRow(co + 3 * rowBytes, c30, c31, full, cols);
    }
  }
  for (; i < m1; i++) {
    const a0 = a + <usize>i * aStepM;
    for (let p = p0; p < p1; p++) {
      let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
      let bk = bp + ((<usize>p * <usize>K) << 5);
      let ak: usize = 0;
      for (let k = 0; k < K; k++) {
        const x = v128.load32_splat(a0 + ak);
        c00 = madd(x, v128.load(bk), c00);
        c01 = madd(x, v128.load(bk, 16), c01);
        bk += 32;
        ak += aStepK;
      }
      const n0 = p << 3;
      storeRow(c + <usize>i * rowBytes + (<usize>n0 << 2), c00, c01, n0 + 8 <= N, N - n0);
    }
  }
}

/**
 * The linear layer's epilogue on rows [m0, m1) of C [M, N]: add bias[n] (bias 0: none), then
 * act 1 relu or 2 sigmoid. relu keeps NaN (as torch.relu): max would turn it into 0, so it
 * selects 0 only where x < 0 (false for NaN). Four columns at a time, the row's tail one by one.
 */
function biasAct(c: usize, bias: usize, m0: i32, m1: i32, N: i32, act: i32): void {
  const zero = f32x4.splat(0);
  const N4 = N & ~3;
  for (let i = m0; i < m1; i++) {
    const row = c + ((<usize>i * <usize>N) << 2);
    if (act != 2) {
      for (let n = 0; n < N4; n += 4) {
        const at = row + (<usize>n << 2);
        let v = v128.load(at);
        if (bias != 0) v = f32x4.add(v, v128.load(bias + (<usize>n << 2)));
        if (act == 1) v = v128.bitselect(zero, v, f32x4.lt(v, zero));
        v128.store(at, v);
      }
    }
    for (let n = act != 2 ? N4 : 0; n < N; n++) {
      const at = row + (<usize>n << 2);
      let v = load<f32>(at);
      if (bias != 0) v += load<f32>(bias + (<usize>n << 2));
      if (act == 1) v = v < 0 ? 0 : v;
      else if (act == 2) v = sigmoid(v);
      store<f32>(at, v);
    }
  }
}

/**
 * The linear layer's rows [m0, m1): gemmRows, then biasAct on the same rows (one call per
 * thread's share, while its rows of C are in cache).
 */
export function linearRows(a: usize, sm: i32, sk: i32, bp: usize, c: usize, m0: i32, m1: i32, K: i32, N: i32, bias: usize, act: i32): void {
  gemmRows(a, sm, sk, bp, c, m0, m1, K, N);
  if (bias != 0 || act != 0) biasAct(c, bias, m0, m1, N, act);
}

/** 1 / (1 + e^-x), without overflow for large |x| (as the CPU backend's stableSigmoid). */
function sigmoid(x: f32): f32 {
  if (x >= 0) return <f32>(1.0 / (1.0 + Math.exp(-<f64>x)));
  const e = Math.exp(<f64>x);
  return <f32>(e / (1.0 + e));
}

/** The sum of a vector's four lanes, (l0 + l1) + (l2 + l3). */
// @ts-ignore: decorator
@inline function lanes(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/**
 * C rows [m0, m1) of A @ b for a single output column (N = 1: a layer's one-unit head), A's
 * rows contiguous (row i: K floats at a + 4 i sm) and b K floats with stride sb: each output a dot
 * product, four k at a time in four lane sums (added as `lanes` does), then the tail in order;
 * then bias (address, 0: none) and act as biasAct. Four rows at a time, so that four
 * independent sums are in flight. (The panel kernel would spend 8 lanes on the one column.)
 */
export function gemvRows(a: usize, sm: i32, b: usize, sb: i32, c: usize, m0: i32, m1: i32, K: i32, bias: usize, act: i32): void {
  const K4 = K & ~3;
  const rowBytes = <usize>sm << 2;
  const bStep = <usize>sb << 2;
  let i = m0;
  for (; i + 4 <= m1; i += 4) {
    const a0 = a + <usize>i * rowBytes;
    const a1 = a0 + rowBytes;
    const a2 = a1 + rowBytes;
    const a3 = a2 + rowBytes;
    let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
    for (let k = 0; k < K4; k += 4) {
      const at = <usize>k << 2;
      const bv = bQuad(b, k, bStep);
      s0 = madd(v128.load(a0 + at), bv, s0);
      s1 = madd(v128.load(a1 + at), bv, s1);
      s2 = madd(v128.load(a2 + at), bv, s2);
      s3 = madd(v128.load(a3 + at), bv, s3);
    }
    gemvStore(a0, b, bStep, c, i, K4, K, lanes(s0), bias, act);
    gemvStore(a1, b, bStep, c, i + 1, K4, K, lanes(s1), bias, act);
    gemvStore(a2, b, bStep, c, i + 2, K4, K, lanes(s2), bias, act);
    gemvStore(a3, b, bStep, c, i + 3, K4, K, lanes(s3), bias, act);
  }
  for (; i < m1; i++) {
    const ar = a + <usize>i * rowBytes;
    let s = f32x4.splat(0);
    for (let k = 0; k < K4; k += 4) s = madd(v128.load(ar + (<usize>k << 2)), bQuad(b, k, bStep), s);
    gemvStore(ar, b, bStep, c, i, K4, K, lanes(s), bias, act);
  }
}

/** b's elements k..k+3 (stride bStep bytes) as one vector. */
// @ts-ignore: decorator
@inline function bQuad(b: usize, k: i32, bStep: usize): v128 {
  if (bStep == 4) return v128.load(b + (<usize>k << 2));
  return f32x4(load<f32>(b + <usize>k * bStep), load<f32>(b + <usize>(k + 1) * bStep), load<f32>(b + <usize>(k + 2) * bStep), load<f32>(b + <usize>(k + 3) * bStep));
}

/** Row i's output: its lane sum s, plus the k tail [K4, K) in order, bias and act. */
// @ts-ignore: decorator
@inline function gemvStore(ar: usize, b: usize, bStep: usize, c: usize, i: i32, K4: i32, K: i32, s: f32, bias: usize, act: i32): void {
  for (let k = K4; k < K; k++) s += load<f32>(ar + (<usize>k << 2)) * load<f32>(b + <usize>k * bStep);
  if (bias != 0) s += load<f32>(bias);
  if (act == 1) s = s < 0 ? 0 : s;
  else if (act == 2) s = sigmoid(s);
  store<f32>(c + (<usize>i << 2), s);
}
