// Gradient rules against float64 central differences, with broadcast shapes, keepdim
// reductions, size-1 and odd sizes. (That every registered op is gradchecked is asserted by
// test/op-coverage.test.ts, which records the ops each case actually ran.)

import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import { Generator, gradcheck, opRegistry, type Tensor } from '../src/index.js';

const gen = new Generator(1234);
const x64 = (shape: number[], opts: { positive?: boolean; awayFromZero?: boolean } = {}): Tensor => {
  const t = T.randn(shape, { dtype: 'float64', generator: gen });
  const d = t.dataSync();
  // Kinks (relu, abs, clamp) and domains (log, sqrt) need values away from 0.
  if (opts.positive) for (let i = 0; i < d.length; i++) d[i] = 0.5 + Math.abs(d[i]!);
  if (opts.awayFromZero) for (let i = 0; i < d.length; i++) d[i] = Math.sign(d[i]!) * (0.1 + Math.abs(d[i]!));
  return T.tensor(d, { shape, dtype: 'float64', requiresGrad: true });
};
const ids = (data: number[], shape: number[]): Tensor => T.tensor(data, { shape, dtype: 'int32' });

interface Case {
  /** Registry op names this case differentiates through. */
  ops: string[];
  name: string;
  inputs: () => Tensor[];
  fn: (...xs: Tensor[]) => Tensor;
}

const cases: Case[] = [
  { ops: ['neg'], name: 'neg', inputs: () => [x64([3, 4])], fn: (x) => T.neg(x) },
  { ops: ['exp'], name: 'exp', inputs: () => [x64([2, 5])], fn: (x) => T.exp(x) },
  { ops: ['log'], name: 'log', inputs: () => [x64([7], { positive: true })], fn: (x) => T.log(x) },
  { ops: ['sqrt'], name: 'sqrt', inputs: () => [x64([3, 1], { positive: true })], fn: (x) => T.sqrt(x) },
  { ops: ['abs'], name: 'abs', inputs: () => [x64([5], { awayFromZero: true })], fn: (x) => T.abs(x) },
  { ops: ['sigmoid'], name: 'sigmoid', inputs: () => [x64([4, 3])], fn: (x) => T.sigmoid(x) },
  { ops: ['tanh'], name: 'tanh', inputs: () => [x64([4, 3])], fn: (x) => T.tanh(x) },
  { ops: ['relu'], name: 'relu', inputs: () => [x64([3, 5], { awayFromZero: true })], fn: (x) => T.relu(x) },
  { ops: ['leakyRelu'], name: 'leakyRelu', inputs: () => [x64([3, 5], { awayFromZero: true })], fn: (x) => T.leakyRelu(x, 0.2) },
  { ops: ['pow'], name: 'pow 2.5', inputs: () => [x64([6], { positive: true })], fn: (x) => T.pow(x, 2.5) },
  { ops: ['pow'], name: 'pow -1.5', inputs: () => [x64([2, 3], { positive: true })], fn: (x) => T.pow(x, -1.5) },
  { ops: ['pow'], name: 'pow 3 (negative base)', inputs: () => [x64([5], { awayFromZero: true })], fn: (x) => T.pow(x, 3) },
  {
    ops: ['clamp'],
    name: 'clamp',
    inputs: () => [T.tensor([-2, -0.7, -0.3, 0.1, 0.45, 0.9, 1.5], { dtype: 'float64', requiresGrad: true })],
    fn: (x) => T.clamp(x, -0.5, 0.6),
  },
  { ops: ['add'], name: 'add [2,3,4]+[4]', inputs: () => [x64([2, 3, 4]), x64([4])], fn: (a, b) => T.add(a, b) },
  { ops: ['add'], name: 'add [2,1,4]+[3,1]', inputs: () => [x64([2, 1, 4]), x64([3, 1])], fn: (a, b) => T.add(a, b) },
  { ops: ['sub'], name: 'sub 0-d - [3,2]', inputs: () => [x64([]), x64([3, 2])], fn: (a, b) => T.sub(a, b) },
  { ops: ['mul'], name: 'mul [2,1,3]*[5,1]', inputs: () => [x64([2, 1, 3]), x64([5, 1])], fn: (a, b) => T.mul(a, b) },
  { ops: ['mul'], name: 'mul by self (x*x)', inputs: () => [x64([3])], fn: (a) => T.mul(a, a) },
  { ops: ['div'], name: 'div [3,4]/[1,4]', inputs: () => [x64([3, 4]), x64([1, 4], { positive: true })], fn: (a, b) => T.div(a, b) },
  { ops: ['maximum'], name: 'maximum broadcast', inputs: () => [x64([3, 4]), x64([4])], fn: (a, b) => T.maximum(a, b) },
  { ops: ['minimum'], name: 'minimum broadcast', inputs: () => [x64([3, 1]), x64([1, 5])], fn: (a, b) => T.minimum(a, b) },
  {
    ops: ['where'],
    name: 'where broadcast',
    inputs: () => [x64([3, 4]), x64([4])],
    fn: (a, b) => T.where(T.tensor([[1], [0], [1]], { dtype: 'float64' }), a, b),
  },
  { ops: ['bmm'], name: 'matmul [3,4]@[4,5]', inputs: () => [x64([3, 4]), x64([4, 5])], fn: (a, b) => T.matmul(a, b) },
  { ops: ['bmm'], name: 'matmul 1-D @ 1-D', inputs: () => [x64([4]), x64([4])], fn: (a, b) => T.matmul(a, b) },
  { ops: ['bmm'], name: 'matmul [4] @ [4,3]', inputs: () => [x64([4]), x64([4, 3])], fn: (a, b) => T.matmul(a, b) },
  { ops: ['bmm', 'expand'], name: 'matmul batch broadcast [2,1,3,4]@[5,4,2]', inputs: () => [x64([2, 1, 3, 4]), x64([5, 4, 2])], fn: (a, b) => T.matmul(a, b) },
  { ops: ['bmm'], name: 'bmm transA transB', inputs: () => [x64([2, 4, 3]), x64([2, 5, 4])], fn: (a, b) => T.bmm(a, b, true, true) },
  { ops: ['bmm'], name: 'bmm transB', inputs: () => [x64([2, 3, 4]), x64([2, 5, 4])], fn: (a, b) => T.bmm(a, b, false, true) },
  { ops: ['bmm'], name: 'bmm transA', inputs: () => [x64([1, 4, 3]), x64([1, 4, 2])], fn: (a, b) => T.bmm(a, b, true, false) },
  { ops: ['sum'], name: 'sum axis 1', inputs: () => [x64([2, 3, 4])], fn: (x) => T.sum(x, 1) },
  { ops: ['sum'], name: 'sum axes 0,2 keepdim', inputs: () => [x64([2, 3, 5])], fn: (x) => T.sum(x, [0, 2], true) },
  { ops: ['sum'], name: 'sum all', inputs: () => [x64([3, 1])], fn: (x) => T.sum(x) },
  { ops: ['sum'], name: 'mean axis -1', inputs: () => [x64([2, 7])], fn: (x) => T.mean(x, -1) },
  { ops: ['max'], name: 'max axis 1 keepdim', inputs: () => [x64([3, 5])], fn: (x) => T.max(x, 1, true) },
  { ops: ['max'], name: 'max all', inputs: () => [x64([2, 3])], fn: (x) => T.max(x) },
  { ops: ['softmax'], name: 'softmax last', inputs: () => [x64([2, 5])], fn: (x) => T.softmax(x, -1) },
  { ops: ['softmax'], name: 'softmax middle axis', inputs: () => [x64([2, 3, 2])], fn: (x) => T.softmax(x, 1) },
  { ops: ['logSoftmax'], name: 'logSoftmax', inputs: () => [x64([3, 4])], fn: (x) => T.logSoftmax(x, 0) },
  { ops: ['reshape'], name: 'reshape', inputs: () => [x64([2, 6])], fn: (x) => T.mul(T.reshape(x, [3, -1]), T.tensor([1, 2, 3, 4], { dtype: 'float64' })) },
  { ops: ['expand'], name: 'expand [3,1]->[2,3,4]', inputs: () => [x64([3, 1])], fn: (x) => T.expand(x, [2, 3, 4]) },
  { ops: ['permute'], name: 'permute', inputs: () => [x64([2, 3, 4])], fn: (x) => T.permute(x, [2, 0, 1]) },
  { ops: ['permute'], name: 'transpose', inputs: () => [x64([3, 2])], fn: (x) => T.transpose(x) },
  { ops: ['concat'], name: 'concat axis 1', inputs: () => [x64([2, 3]), x64([2, 1]), x64([2, 2])], fn: (a, b, c) => T.concat([a, b, c], 1) },
  { ops: ['concat'], name: 'stack axis -1', inputs: () => [x64([2, 3]), x64([2, 3])], fn: (a, b) => T.stack([a, b], -1) },
  { ops: ['slice'], name: 'narrow', inputs: () => [x64([3, 5, 2])], fn: (x) => T.narrow(x, 1, 1, 3) },
  { ops: ['slice'], name: 'slice box', inputs: () => [x64([4, 3])], fn: (x) => T.slice(x, [1, 1], [2, 2]) },
  { ops: ['pad'], name: 'pad', inputs: () => [x64([2, 2])], fn: (x) => T.pad(x, [3, 4], [1, 2]) },
  {
    ops: ['gather'],
    name: 'gather with duplicate ids',
    inputs: () => [x64([5, 3])],
    fn: (w) => T.gather(w, ids([0, 2, 2, 4, 0, 2], [2, 3])),
  },
  {
    ops: ['scatterAdd'],
    name: 'scatterAdd with duplicate ids',
    inputs: () => [x64([4, 2])],
    fn: (s) => T.scatterAdd(s, ids([1, 1, 0, 3], [4]), 5),
  },
  { ops: ['cast'], name: 'clone', inputs: () => [x64([3])], fn: (x) => T.mul(T.clone(x), x) },
  { ops: ['max', 'exp', 'log', 'sum'], name: 'logsumexp', inputs: () => [x64([3, 4])], fn: (x) => T.logsumexp(x, 1) },
  {
    ops: ['batchNormEval'],
    name: 'eval-mode batchNorm + relu (running statistics take no gradient)',
    inputs: () => [x64([6, 3], { awayFromZero: true }), x64([3]).requireGrad(false), x64([3], { positive: true }).requireGrad(false), x64([3]), x64([3])],
    fn: (x, rm, rv, w, b) => T.batchNormEval(x, rm!, rv!, w!, b!, 1e-5, 'relu'),
  },
  {
    ops: ['batchNorm'],
    name: 'fused batchNorm + relu',
    inputs: () => [x64([6, 3]), x64([3]), x64([3])],
    fn: (x, w, b) => T.batchNorm(x, w, b, 1e-5, 'relu'),
  },
  ...(['none', 'relu', 'sigmoid'] as const).map((act) => ({
    ops: ['linear'],
    name: `linear + bias + ${act}`,
    inputs: () => [x64([5, 3], { awayFromZero: true }), x64([4, 3]), x64([4])],
    fn: (x: Tensor, w: Tensor, b: Tensor) => T.linear(x, w, b, act),
  })),
  { ops: ['linear'], name: 'linear without bias', inputs: () => [x64([2, 3]), x64([1, 3])], fn: (x, w) => T.linear(x, w) },
  {
    ops: ['gatherConcat'],
    name: 'gatherConcat: three fields, a table shared by two, duplicate ids',
    inputs: () => [x64([5, 2]), x64([3, 3])],
    fn: (a, b) => T.gatherConcat([a, b, a], [ids([0, 4, 4, 1], [4]), ids([2, 2, 0, 1], [4]), ids([4, 3, 0, 0], [4])]),
  },
  {
    ops: ['batchNorm'],
    name: 'fused batchNorm: input, weight and bias',
    inputs: () => [x64([6, 3]), x64([3]), x64([3])],
    fn: (x, w, b) => T.mul(T.batchNorm(x, w, b, 1e-5), T.tensor([[1, -2, 0.5]], { dtype: 'float64' })),
  },
  {
    ops: ['bmm', 'sigmoid', 'softmax', 'add'],
    name: 'a small network',
    inputs: () => [x64([4, 3]), x64([3, 2]), x64([2])],
    fn: (x, w, b) => T.softmax(T.sigmoid(T.add(T.matmul(x, w), b)), -1),
  },
];

describe('gradcheck of every op (float64, central differences)', () => {
  for (const c of cases) {
    it(c.name, () => {
      expect(gradcheck(c.fn, c.inputs()).ok).toBe(true);
    });
  }

  it('detects a wrong gradient and names the worst element', () => {
    const bad = T.defineOp<null>({
      name: 'test.badSquare',
      infer: ([x]) => ({ shape: x!.shape, dtype: x!.dtype }),
      kernels: {
        cpu: (_b, [x]) => (x!.data as Float64Array).map((v) => v * v),
      } as never,
      grad: (dy) => [dy], // wrong: should be 2 x dy
    });
    const x = x64([3]);
    expect(() => gradcheck((t) => T.runOp(bad, [t], null), [x])).toThrow(/gradcheck: gradient mismatch for input 0 \[3\] at element/);
    opRegistry.delete('test.badSquare');
  });
});
