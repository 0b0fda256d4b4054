// Checks analytical gradients (backward) against float64 central differences, like
// `torch.autograd.gradcheck`. Runs on the CPU backend in float64: the oracle.

import { fmtShape } from './shape.js';
import type { Tensor } from './tensor.js';
import { tidy } from './memory.js';
import { fromTypedArray } from './creation.js';

/** Options of `gradcheck`: the step and tolerances. */
export interface GradcheckOptions {
  /** Finite-difference step (default 1e-6). */
  eps?: number;
  /** Absolute tolerance (default 1e-5). */
  atol?: number;
  /** Relative tolerance (default 1e-3). */
  rtol?: number;
}

/** `gradcheck`'s verdict, with the worst element's analytic and numeric gradients. */
export interface GradcheckResult {
  ok: boolean;
  /** The worst element: which input, its flat index, output element, both values. */
  worst: { input: number; index: number; output: number; analytical: number; numerical: number; excess: number } | null;
}

/**
 * Compares d fn(inputs) / d inputs from `backward` with central differences for every
 * input that requires grad. Inputs must be float64 CPU tensors; `fn` may return any shape
 * (each output element is checked). Throws an error describing the worst element on
 * failure, so a test can simply call it.
 *
 * @example
 * const x = randn([3, 4], { dtype: 'float64', requiresGrad: true });
 * gradcheck((x) => x.tanh().sum(1), [x]);
 */
export function gradcheck(fn: (...inputs: Tensor[]) => Tensor, inputs: readonly Tensor[], opts: GradcheckOptions = {}): GradcheckResult {
  const eps = opts.eps ?? 1e-6;
  const atol = opts.atol ?? 1e-5;
  const rtol = opts.rtol ?? 1e-3;
  inputs.forEach((t, i) => {
    // Inputs that take no gradient (indices, labels) may have any dtype.
    if ((t.requiresGrad && t.dtype !== 'float64') || t.backendName !== 'cpu') {
      throw new Error(`gradcheck: input ${i} is ${t.dtype} on ${t.backendName}; gradcheck needs float64 tensors on the cpu backend`);
    }
  });
  const checked = inputs.map((t, i) => (t.requiresGrad ? i : -1)).filter((i) => i >= 0);
  if (checked.length === 0) throw new Error('gradcheck: no input has requiresGrad');

  const evalOutput = (): Float64Array => tidy(() => fn(...inputs).dataSync() as Float64Array);
  const y0 = evalOutput();
  const nOut = y0.length;

  // Analytical Jacobian, one backward pass per output element (rows: outputs).
  const analytical = checked.map((i) => new Float64Array(nOut * inputs[i]!.size));
  for (let o = 0; o < nOut; o++) {
    tidy(() => {
      for (const i of checked) inputs[i]!.grad = null;
      const y = fn(...inputs);
      if (!y.requiresGrad) throw new Error('gradcheck: the output does not depend on any input that requires grad');
      const seed = new Float64Array(nOut);
      seed[o] = 1;
      y.backward(fromTypedArray(seed, y.shape, 'float64'));
      checked.forEach((i, k) => {
        const g = inputs[i]!.grad;
        if (g !== null) analytical[k]!.set(g.dataSync(), o * inputs[i]!.size);
      });
    });
  }
  for (const i of checked) {
    inputs[i]!.grad?.dispose();
    inputs[i]!.grad = null;
  }

  // Numerical Jacobian by perturbing the input storage in place.
  let worst: GradcheckResult['worst'] = null;
  checked.forEach((i, k) => {
    const x = inputs[i]!;
    const data = x.storage.handle as Float64Array;
    for (let j = 0; j < x.size; j++) {
      const orig = data[j]!;
      data[j] = orig + eps;
      const yp = evalOutput();
      data[j] = orig - eps;
      const ym = evalOutput();
      data[j] = orig;
      for (let o = 0; o < nOut; o++) {
        const num = (yp[o]! - ym[o]!) / (2 * eps);
        const ana = analytical[k]![o * x.size + j]!;
        const excess = Math.abs(ana - num) - (atol + rtol * Math.abs(num));
        const bad = !(excess <= 0); // NaN counts as a failure
        if (worst === null || (bad && !(excess <= worst.excess)) || excess > worst.excess) {
          worst = { input: i, index: j, output: o, analytical: ana, numerical: num, excess: Number.isNaN(excess) ? Infinity : excess };
        }
      }
    }
  });
  const result: GradcheckResult = { ok: worst === null || (worst as { excess: number }).excess <= 0, worst };
  if (!result.ok) {
    const w = result.worst!;
    throw new Error(
      `gradcheck: gradient mismatch for input ${w.input} ${fmtShape(inputs[w.input]!.shape)} at element ${w.index}, ` +
        `output element ${w.output}: analytical ${w.analytical}, numerical ${w.numerical} ` +
        `(|diff| exceeds atol ${atol} + rtol ${rtol} * |numerical| by ${w.excess})`,
    );
  }
  return result;
}
