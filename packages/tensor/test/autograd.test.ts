// Autograd semantics users know from PyTorch: accumulation, explicit upstream gradients,
// noGrad, detach, leaf-only .grad, shared subexpressions.

import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';

const x64 = (v: number[] | number[][]) => T.tensor(v, { dtype: 'float64', requiresGrad: true });

describe('autograd', () => {
  it('d/dx sum(x^2 + 3x) = 2x + 3', () => {
    const x = x64([1, -2, 0.5]);
    T.sum(T.add(T.mul(x, x), T.mul(x, 3))).backward();
    expect(Array.from(x.grad!.dataSync())).toEqual([5, -1, 4]);
  });

  it('gradients accumulate across backward calls until reset', () => {
    const x = x64([1, 2]);
    T.sum(T.mul(x, 2)).backward();
    const g = x.grad!;
    T.sum(T.mul(x, 3)).backward();
    expect(Array.from(x.grad!.dataSync())).toEqual([5, 5]);
    // Accumulation is in place, like PyTorch: an earlier reference sees the sum.
    expect(Array.from(g.dataSync())).toEqual([5, 5]);
    x.grad!.dispose();
    x.grad = null;
    T.sum(x).backward();
    expect(Array.from(x.grad!.dataSync())).toEqual([1, 1]);
  });

  it('backward with an explicit upstream gradient (vector-Jacobian product)', () => {
    const x = x64([1, 2, 3]);
    const y = T.mul(x, x);
    y.backward(T.tensor([1, 0.5, -1], { dtype: 'float64' }));
    expect(Array.from(x.grad!.dataSync())).toEqual([2, 2, -6]);
  });

  it('a leaf used twice receives both contributions; two leaves get separate grad tensors', () => {
    const a = x64([2]);
    const b = x64([5]);
    T.add(a, b).backward(); // add passes dy straight through to both
    expect(a.grad).not.toBe(b.grad);
    a.grad!.assign(T.tensor([9], { dtype: 'float64' }));
    expect(Array.from(b.grad!.dataSync())).toEqual([1]);
  });

  it('noGrad records nothing', () => {
    const x = x64([1, 2]);
    const y = T.noGrad(() => T.mul(x, 2));
    expect(y.requiresGrad).toBe(false);
    expect(y.node).toBeNull();
  });

  it('detach cuts the graph but shares values', () => {
    const x = x64([1, 2]);
    const d = T.mul(x, 3).detach();
    expect(d.requiresGrad).toBe(false);
    const y = T.sum(T.mul(T.mul(x, 3), d)); // d is a constant: dy/dx = 3 * d = 9x
    y.backward();
    expect(Array.from(x.grad!.dataSync())).toEqual([9, 18]);
  });

  it('only leaves keep .grad; intermediates do not', () => {
    const x = x64([1, 2]);
    const h = T.exp(x);
    T.sum(h).backward();
    expect(h.grad).toBeNull();
    expect(x.grad).not.toBeNull();
  });

  it('inputs without requiresGrad get no gradient', () => {
    const x = x64([1, 2]);
    const c = T.tensor([3, 4], { dtype: 'float64' });
    T.sum(T.mul(x, c)).backward();
    expect(c.grad).toBeNull();
    expect(Array.from(x.grad!.dataSync())).toEqual([3, 4]);
  });

  it('a deep chain does not overflow the stack', () => {
    const x = x64([1]);
    let y = x;
    for (let i = 0; i < 20000; i++) y = T.add(y, 0);
    T.sum(y).backward();
    expect(Array.from(x.grad!.dataSync())).toEqual([1]);
  });
});
