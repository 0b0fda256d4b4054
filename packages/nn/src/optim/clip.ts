// Gradient clipping by global norm, as `torch.nn.utils.clip_grad_norm_`, without reading
// anything back: the scale is a tensor, so the whole clip stays on the device.

import { abs, add, clamp, div, full, max, maximum, mul, noGrad, pow, sqrt, sum, tidy, type Tensor } from '@aitm/tensor';

/**
 * Scales every gradient by min(1, maxNorm / (total + 1e-6)) where total is the norm of all
 * gradients together (normType 2 by default, or Infinity, or any p > 0). Parameters without a
 * gradient are skipped. Returns the total norm as a 0-d tensor (read it with `await item()`
 * only when you need it).
 *
 * @example
 * loss.backward();
 * clipGradNorm(model.parameters(), 1.0);
 * opt.step();
 */
export function clipGradNorm(params: Iterable<Tensor>, maxNorm: number, normType = 2): Tensor {
  const grads = [...params].map((p) => p.grad).filter((g): g is Tensor => g !== null);
  if (grads.length === 0) {
    const first = [...params][0];
    return full([], 0, first ? { dtype: first.dtype, backend: first.backendName } : {});
  }
  return tidy(() =>
    noGrad(() => {
      let total: Tensor;
      if (normType === Infinity) {
        total = grads.map((g) => max(abs(g))).reduce((a, b) => maximum(a, b));
      } else if (normType === 2) {
        total = sqrt(grads.map((g) => sum(mul(g, g))).reduce((a, b) => add(a, b)));
      } else {
        total = pow(grads.map((g) => sum(pow(abs(g), normType))).reduce((a, b) => add(a, b)), 1 / normType);
      }
      const coef = clamp(div(maxNorm, add(total, 1e-6)), -Infinity, 1);
      for (const g of grads) g.assign(mul(g, coef));
      return total;
    }),
  );
}
