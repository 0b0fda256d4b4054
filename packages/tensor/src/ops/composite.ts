// Ops built only from other ops: they need no kernels or gradient rules of their own. Each
// runs in a tidy scope, so its intermediates are freed (the graph keeps what it needs).

import type { Tensor } from '../tensor.js';
import { normAxis } from '../shape.js';
import { add, exp, log, sub } from './elementwise.js';
import { max, sum } from './reduce.js';
import { squeeze } from './layout.js';
import { noGrad } from '../grad-mode.js';
import { tidy } from '../memory.js';

/** log(sum(exp(x))) along `dim`, shifted by the (constant) maximum for stability. */
export function logsumexp(x: Tensor, dim: number, keepdim = false): Tensor {
  const axis = normAxis('logsumexp', dim, x.rank);
  return tidy(() => {
    // The shift cancels mathematically, so it is treated as a constant (no gradient needed).
    const m = noGrad(() => max(x, axis, true));
    const out = add(log(sum(exp(sub(x, m)), axis, true)), m);
    return keepdim ? out : squeeze(out, axis);
  });
}
