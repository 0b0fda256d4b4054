// The wasm backend's elementwise kernels in float32 SIMD: binary arithmetic where each operand
// is a whole [rows, cols] block, a row vector repeated down the rows, or a scalar (the
// broadcasts a model makes: x + bias, x * 0.5), and the linear layer's activation gradient
// with its column sums (the bias gradient). Each output element is one IEEE float32 operation,
// as the CPU reference's (its float64 result rounded to float32 is the same number for + - * /),
// and max/min propagate NaN as Math.max/Math.min do.

/** Operand layouts: the whole block, one row repeated, or one value. */
const FULL = 0;
const ROW = 1;
const SCALAR = 2;

// @ts-ignore: decorator
@inline function opV(op: i32, a: v128, b: v128): v128 {
  if (op == 0) return f32x4.add(a, b);
  if (op == 1) return f32x4.sub(a, b);
  if (op == 2) return f32x4.mul(a, b);
  if (op == 3) return f32x4.div(a, b);
  if (op == 4) return f32x4.max(a, b);
  return f32x4.min(a, b);
}

// @ts-ignore: decorator
@inline function opS(op: i32, a: f32, b: f32): f32 {
  if (op == 0) return a + b;
  if (op == 1) return a - b;
  if (op == 2) return a * b;
  if (op == 3) return a / b;
  // Lane 0 of the vector op: NaN-propagating max/min with -0 < +0, as Math.max/Math.min.
  if (op == 4) return f32x4.extract_lane(f32x4.max(f32x4.splat(a), f32x4.splat(b)), 0);
  return f32x4.extract_lane(f32x4.min(f32x4.splat(a), f32x4.splat(b)), 0);
}

/** Byte address of element (i, j) of an operand of the given layout. */
// @ts-ignore: decorator
@inline function at(base: usize, mode: i32, i: i32, j: i32, cols: i32): usize {
  if (mode == SCALAR) return base;
  if (mode == ROW) return base + (<usize>j << 2);
  return base + ((<usize>i * <usize>cols + <usize>j) << 2);
}

// @ts-ignore: decorator
@inline function loadV(base: usize, mode: i32, i: i32, j: i32, cols: i32): v128 {
  return mode == SCALAR ? v128.load32_splat(base) : v128.load(at(base, mode, i, j, cols));
}

// @ts-ignore: decorator
@inline function binaryLoop(op: i32, a: usize, am: i32, b: usize, bm: i32, out: usize, r0: i32, r1: i32, cols: i32): void {
  const c4 = cols & ~3;
  for (let i = r0; i < r1; i++) {
    const o = out + ((<usize>i * <usize>cols) << 2);
    let j = 0;
    for (; j < c4; j += 4) v128.store(o + (<usize>j << 2), opV(op, loadV(a, am, i, j, cols), loadV(b, bm, i, j, cols)));
    for (; j < cols; j++) store<f32>(o + (<usize>j << 2), opS(op, load<f32>(at(a, am, i, j, cols)), load<f32>(at(b, bm, i, j, cols))));
  }
}

/**
 * Rows [r0, r1) of out [rows, cols] = a op b, op 0 add, 1 sub, 2 mul, 3 div, 4 maximum,
 * 5 minimum; am and bm are the operands' layouts (0 the whole block, 1 a row repeated, 2 a
 * scalar). Threads split the rows.
 */
export function binary(op: i32, a: usize, am: i32, b: usize, bm: i32, out: usize, r0: i32, r1: i32, cols: i32): void {
  // One loop per op, so the op is a constant inside it.
  if (op == 0) binaryLoop(0, a, am, b, bm, out, r0, r1, cols);
  else if (op == 1) binaryLoop(1, a, am, b, bm, out, r0, r1, cols);
  else if (op == 2) binaryLoop(2, a, am, b, bm, out, r0, r1, cols);
  else if (op == 3) binaryLoop(3, a, am, b, bm, out, r0, r1, cols);
  else if (op == 4) binaryLoop(4, a, am, b, bm, out, r0, r1, cols);
  else binaryLoop(5, a, am, b, bm, out, r0, r1, cols);
}

/**
 * The gradient through a linear layer's activation, g = dy * act'(y) from the output y
 * (relu: 0 where y <= 0, else dy, as PyTorch's threshold_backward; sigmoid: dy y (1 - y);
 * act 0: none), written at out when writeG, and its column sums written at sums (C floats),
 * added row by row in order; all for columns [j0, j1) of the [rows, cols] block (threads split
 * the columns, so each sum is one thread's, in row order).
 */
export function actGradSum(y: usize, dy: usize, out: usize, writeG: bool, sums: usize, rows: i32, cols: i32, act: i32, wantSums: bool, j0: i32, j1: i32): void {
  const c4 = j0 + ((j1 - j0) & ~3);
  const zero = f32x4.splat(0);
  const one = f32x4.splat(1);
  const rowBytes = <usize>cols << 2;
  // Eight (then four) columns at a time down all the rows: the sums stay in registers, and
  // two threads' columns never write one cache line at the same time (row by row they would,
  // every row).
  const c8 = j0 + ((j1 - j0) & ~7);
  for (let j = j0; j < c8; j += 8) {
    let s0 = f32x4.splat(0);
    let s1 = f32x4.splat(0);
    let o: usize = <usize>j << 2;
    for (let i = 0; i < rows; i++) {
      let g0 = v128.load(dy + o);
      let g1 = v128.load(dy + o, 16);
      if (act == 1) {
        g0 = v128.andnot(g0, f32x4.le(v128.load(y + o), zero));
        g1 = v128.andnot(g1, f32x4.le(v128.load(y + o, 16), zero));
      } else if (act == 2) {
        const v0 = v128.load(y + o);
        const v1 = v128.load(y + o, 16);
        g0 = f32x4.mul(g0, f32x4.mul(v0, f32x4.sub(one, v0)));
        g1 = f32x4.mul(g1, f32x4.mul(v1, f32x4.sub(one, v1)));
      }
      if (writeG) {
        v128.store(out + o, g0);
        v128.store(out + o, g1, 16);
      }
      s0 = f32x4.add(s0, g0);
      s1 = f32x4.add(s1, g1);
      o += rowBytes;
    }
    if (wantSums) {
      v128.store(sums + (<usize>j << 2), s0);
      v128.store(sums + (<usize>j << 2), s1, 16);
    }
  }
  for (let j = c8; j < c4; j += 4) {
    let s = f32x4.splat(0);
    let o: usize = <usize>j << 2;
    for (let i = 0; i < rows; i++) {
      let g = v128.load(dy + o);
      if (act == 1) g = v128.andnot(g, f32x4.le(v128.load(y + o), zero));
      else if (act == 2) {
        const v = v128.load(y + o);
        g = f32x4.mul(g, f32x4.mul(v, f32x4.sub(one, v)));
      }
      if (writeG) v128.store(out + o, g);
      s = f32x4.add(s, g);
      o += rowBytes;
    }
    if (wantSums) v128.store(sums + (<usize>j << 2), s);
  }
  for (let j = c4; j < j1; j++) {
    let s: f32 = 0;
    let o: usize = <usize>j << 2;
    for (let i = 0; i < rows; i++) {
      let g = load<f32>(dy + o);
      const v = load<f32>(y + o);
      if (act == 1 && v <= 0) g = 0;
      else if (act == 2) g = g * (v * (1 - v));
      if (writeG) store<f32>(out + o, g);
      s += g;
      o += rowBytes;
    }
    if (wantSums) store<f32>(sums + (<usize>j << 2), s);
  }
}
