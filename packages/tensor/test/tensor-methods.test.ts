// The Tensor methods are the op functions (x.add(y) is add(x, y)), installed on the class by
// the package index: each method gives the function's values, and is recorded in the graph
// as the same op (traceOps names it).

import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';

const x = T.tensor([[1, -2, 3], [0.5, NaN, -4]], { dtype: 'float64' });
const y = T.tensor([[3, -2, 1], [0.5, 1, 2]], { dtype: 'float64' });

/** [method call, the same op as a function, the op name traceOps must see]. */
const CASES: [string, () => T.Tensor, () => T.Tensor, string][] = [
  ['add', () => x.add(y), () => T.add(x, y), 'add'],
  ['maximum', () => x.maximum(y), () => T.maximum(x, y), 'maximum'],
  ['minimum', () => x.minimum(2), () => T.minimum(x, 2), 'minimum'],
  ['eq', () => x.eq(y), () => T.eq(x, y), 'eq'],
  ['ne', () => x.ne(y), () => T.ne(x, y), 'ne'],
  ['gt', () => x.gt(0), () => T.gt(x, 0), 'gt'],
  ['lt', () => x.lt(y), () => T.lt(x, y), 'lt'],
  ['ge', () => x.ge(y), () => T.ge(x, y), 'ge'],
  ['le', () => x.le(0.5), () => T.le(x, 0.5), 'le'],
  ['expand', () => T.tensor([[1], [2]]).expand([2, 3]), () => T.expand(T.tensor([[1], [2]]), [2, 3]), 'expand'],
  ['sum', () => x.sum(1), () => T.sum(x, 1), 'sum'],
  ['reshape', () => x.reshape([3, -1]), () => T.reshape(x, [3, 2]), 'reshape'],
];

describe('Tensor methods', () => {
  for (const [name, method, fn, op] of CASES) {
    it(`${name} gives the function's values and runs op '${op}'`, () => {
      const ran: string[] = [];
      const a = T.traceOps(method, (o) => ran.push(o));
      const b = fn();
      expect(a.shape).toEqual(b.shape);
      expect(a.dtype).toBe(b.dtype);
      expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
      expect(ran).toContain(op);
    });
  }

  it('hand-checked values of the new comparison and expand methods (NaN compares false, except ne)', () => {
    expect(x.eq(y).arraySync()).toEqual([[0, 1, 0], [1, 0, 0]]);
    expect(x.ne(y).arraySync()).toEqual([[1, 0, 1], [0, 1, 1]]);
    expect(x.gt(0).arraySync()).toEqual([[1, 0, 1], [1, 0, 0]]);
    expect(T.tensor([[1], [2]]).expand([2, 3]).arraySync()).toEqual([[1, 1, 1], [2, 2, 2]]);
  });

  it('backward through a method reaches the leaves as through the function', () => {
    const w = T.tensor([1, 2, 3], { requiresGrad: true, dtype: 'float64' });
    w.expand([2, 3]).mul(T.tensor([[1, 1, 1], [2, 2, 2]], { dtype: 'float64' })).sum().backward();
    expect(w.grad!.arraySync()).toEqual([3, 3, 3]);
  });
});
