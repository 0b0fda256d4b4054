// Scalar functions shared by CPU kernels.

/** 1 / (1 + e^-x) without overflow: exp's argument is kept <= 0. */
export const stableSigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

/**
 * erfc to float64 accuracy (relative, in both tails): the Maclaurin series of erf for
 * |x| <= 2 (terms stay below 4, so about one digit is lost), and for |x| > 2 the continued
 * fraction erfc(x) = e^{-x^2} / sqrt(pi) / (x + (1/2) / (x + 1 / (x + (3/2) / (x + ...)))),
 * evaluated with the modified Lentz method. Math has no erf; the GPU uses an f32 formula.
 */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < -2) return 2 - erfc(-x);
  if (x <= 2) return 1 - erfSeries(x);
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let k = 1; k < 500; k++) {
    const a = k / 2;
    d = x + a * d;
    d = Math.abs(d) < tiny ? tiny : d;
    c = x + a / c;
    c = Math.abs(c) < tiny ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}

export function erf(x: number): number {
  if (Math.abs(x) <= 2) return erfSeries(x);
  return x > 0 ? 1 - erfc(x) : erfc(-x) - 1;
}

function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= -x2 / n;
    const t = term / (2 * n + 1);
    sum += t;
    if (Math.abs(t) < 1e-17 * Math.abs(sum)) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

/** x * Phi(x) (exact GELU, PyTorch's default), with Phi from erfc so the left tail keeps its digits. */
export const gelu = (x: number): number => 0.5 * x * erfc(-x / Math.SQRT2);

/** log(1 + e^x) with PyTorch's threshold: x itself above 20. */
export const softplus = (x: number): number => (x > 20 ? x : x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));
