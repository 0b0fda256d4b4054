// Divergence detection without a host sync per step. A run with too high a learning rate can
// go bad while its loss stays finite (the clamped BCE): weights at 1e29, an infinite running
// variance, every prediction 0. So when the trainer reads the loss back (every `logEvery`
// steps, its only sync), it reads, in the same readback, how many values are non-finite in
// the parameters, their last gradients and the running statistics: a few kernels over the
// optimizer's flat blocks, computed on the GPU.

import { cast, concat, isnan, noGrad, reshape, stack, sub, sum, tidy, zerosLike, type Tensor } from '@aitm/tensor';
import type { Adam, Module } from '@aitm/nn';

/** What each entry of the health vector counts (after the loss itself at index 0). */
const PARTS = ['a parameter', 'a gradient', 'a running statistic'] as const;

/** Non-finite values of `x` (inf - inf and NaN - NaN are NaN), as a 0-d float tensor. */
const nonFinite = (x: Tensor): Tensor => sum(cast(isnan(sub(x, x)), x.dtype));

/**
 * [loss, non-finite parameters, gradients, running statistics] as one tensor, to read back in
 * place of the loss (0 in the loss's place when there is none: a check between steps).
 */
export function healthOf(loss: Tensor | null, model: Module, optimizer: Adam): Tensor {
  return noGrad(() =>
    tidy(() => {
      const flat = optimizer.flatState();
      const params = flat?.params ?? concat(model.parameters().map((p) => reshape(p, [p.size])));
      const floatBuffers = model.namedBuffers().map(([, b]) => b).filter((b) => b.dtype === params.dtype && b.size > 0);
      const badParams = nonFinite(params);
      const zero = zerosLike(badParams);
      return stack([
        loss === null ? zero : reshape(loss.detach(), []),
        badParams,
        flat ? nonFinite(flat.grads) : zero,
        floatBuffers.length > 0 ? nonFinite(concat(floatBuffers.map((b) => reshape(b, [b.size])))) : zero,
      ]);
    }),
  );
}

/**
 * Throws when the health vector shows the run went non-finite, naming where (the epoch and
 * step) and what, and suggesting a lower learning rate. Returns the loss.
 */
export function checkHealth(values: ArrayLike<number>, where: { epoch: number; step: number; lr: number }): number {
  const loss = values[0]!;
  const bad = PARTS.map((what, i) => ({ what, n: values[i + 1]! })).filter((p) => p.n !== 0);
  const problems = [...(Number.isFinite(loss) ? [] : [`the loss is ${loss}`]), ...bad.map((p) => `${p.n} value(s) of ${p.what} are inf or NaN`)];
  if (problems.length === 0) return loss;
  throw new Error(
    `training diverged at epoch ${where.epoch}, step ${where.step}: ${problems.join('; ')}. ` +
      `Try a lower learning rate (--lr, now ${where.lr}); also check the inputs and labels for inf/NaN. No model was written.`,
  );
}
