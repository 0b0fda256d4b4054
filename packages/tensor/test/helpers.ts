// Test helpers: comparing values within tolerances. (The PyTorch op fixtures are read by
// test/fixture-ops.ts at the workspace root, which covers every package's ops.)

/** Largest |a - b| / (atol + rtol |b|); <= 1 means every element is within tolerance. */
export function closeness(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol: number): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} vs expected ${expected.length}`);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const e = expected[i]!;
    const d = Math.abs(actual[i]! - e);
    const r = d / (atol + rtol * Math.abs(e));
    if (!(r <= worst)) worst = Number.isNaN(r) ? Infinity : r;
  }
  return worst;
}

export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol = 1e-12, rtol = 1e-10): void {
  const c = closeness(actual, expected, atol, rtol);
  if (c > 1) {
    let at = 0;
    for (let i = 0; i < actual.length; i++) {
      if (Math.abs(actual[i]! - expected[i]!) / (atol + rtol * Math.abs(expected[i]!)) >= c) { at = i; break; }
    }
    throw new Error(`values differ at ${at}: got ${actual[at]}, expected ${expected[at]} (atol ${atol}, rtol ${rtol})`);
  }
}
