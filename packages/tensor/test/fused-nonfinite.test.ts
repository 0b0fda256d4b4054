// The fused kernels agree with their composed references on NaN, +-inf and -0, forward and
// backward, on every backend: linear (each activation, bias on and off, a split K),
// batchNorm and batchNormEval (act relu and none), activationGrad and activationGradSum,
// softmax and logSoftmax. NaN positions and infinities must match exactly, signed zeros
// where the reference has one; finite values to a tolerance. The relu gradient is PyTorch's
// threshold_backward: 0 where y <= 0, else dy (so a NaN output passes dy on).

import { afterAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import type { BatchNormActivation, DType, LinearActivation, Tensor } from '../src/index.js';
import { activationGradOp, activationGradSumOp } from '../src/ops/linear.js';
import { gpuAvailable } from './gpu.js';

const gpu = await gpuAvailable();
await T.initWasm();
afterAll(() => T.disposeWebGpu());

type B = 'cpu' | 'webgpu' | 'wasm';
const BACKENDS: B[] = ['cpu', 'webgpu', 'wasm'];
const dtypeOn = (b: B): DType => (b === 'cpu' ? 'float64' : 'float32');
const TOL: Record<B, number> = { cpu: 1e-9, webgpu: 2e-4, wasm: 2e-4 };

function on(b: B, v: number[] | number[][], shape?: readonly number[], requiresGrad = false): Tensor {
  return T.tensor(v, { dtype: dtypeOn(b), backend: b, requiresGrad, ...(shape ? { shape } : {}) });
}

/**
 * got equals want: NaN where want is NaN, the same infinities, -0 where want is -0, finite
 * values within tol. With `nonFiniteOnly`, a non-finite want only needs a non-finite got.
 */
async function expectSame(got: Tensor | null, want: Tensor | null, what: string, tol: number, nonFiniteOnly = false): Promise<void> {
  if (want === null || got === null) {
    expect(got === null, `${what}: one gradient is missing`).toBe(want === null);
    return;
  }
  expect(got.shape, what).toEqual(want.shape);
  const a = Array.from(await got.data());
  const e = Array.from(await want.data());
  for (let i = 0; i < e.length; i++) {
    const x = a[i]!;
    const y = e[i]!;
    const msg = `${what}, element ${i}: got ${x}, expected ${y}\n got ${a.join(', ')}\nwant ${e.join(', ')}`;
    if (nonFiniteOnly && !Number.isFinite(y)) {
      if (Number.isFinite(x)) expect.fail(msg);
    } else if (Number.isNaN(y) || !Number.isFinite(y) || Object.is(y, -0)) {
      if (!Object.is(x, y)) expect.fail(msg);
    } else if (!(Math.abs(x - y) <= tol * (1 + Math.abs(y)))) {
      expect.fail(msg);
    }
  }
}

// Pre-activations that are NaN, +inf, -inf (inf times a weight of either sign, and inf * 0 = NaN) and finite.
const X = [
  [NaN, 1, 2],
  [Infinity, 0.5, -1],
  [-Infinity, 2, 0.25],
  [1, -2, 0.5],
];
const W = [
  [1, 0.5, -1],
  [-1, 1, 2],
  [0, 1, 1],
  [2, -0.5, 0.25],
  [-0.5, -1, 1],
];
const BIASES: Record<string, number[] | null> = {
  'no bias': null,
  'finite bias': [0.1, -0.2, 0.3, -0.4, 0.5],
  'bias with NaN and infinities': [0.1, -Infinity, Infinity, NaN, -0.5],
};
// Upstream gradients, finite and not: an infinite or NaN dy where relu's output is <= 0 gives 0.
const DYS: Record<string, number[][]> = {
  'finite dy': [
    [0.5, -1, 2, 0.25, -0.75],
    [1, 0.5, -0.5, 2, 1.5],
    [-1, 0.25, 1, -2, 0.5],
    [0.75, 1, -1.5, 0.5, -0.25],
  ],
  'dy with NaN and infinities': [
    [Infinity, -1, NaN, 0.25, -Infinity],
    [1, NaN, -0.5, Infinity, 1.5],
    [-1, 0.25, -Infinity, -2, NaN],
    [NaN, Infinity, -1.5, -Infinity, 0.5],
  ],
};

function composedLinear(x: Tensor, w: Tensor, b: Tensor | null, act: LinearActivation): Tensor {
  const z = T.matmul(x, T.transpose(w));
  const s = b ? T.add(z, b) : z;
  return act === 'relu' ? T.relu(s) : act === 'sigmoid' ? T.sigmoid(s) : s;
}

/** Forward and every leaf's gradient (for the upstream gradient dy) of f on fresh leaves made from `values`. */
function run(b: B, values: readonly (number[] | number[][] | null)[], f: (...ts: (Tensor | null)[]) => Tensor, dy: number[][] | null): { y: Tensor; grads: (Tensor | null)[] } {
  const leaves = values.map((v) => (v === null ? null : on(b, v, undefined, dy !== null)));
  const y = f(...leaves);
  if (dy !== null) y.backward(on(b, dy));
  return { y, grads: leaves.map((l) => l?.grad ?? null) };
}

/** `gradsNonFiniteOnly`: gradients need only be non-finite where the reference's are (see batchNorm). */
async function expectParity(b: B, label: string, values: readonly (number[] | number[][] | null)[], fused: (...ts: (Tensor | null)[]) => Tensor, composed: (...ts: (Tensor | null)[]) => Tensor, dy: number[][] | null, gradsNonFiniteOnly = false): Promise<void> {
  const got = run(b, values, fused, dy);
  const want = run(b, values, composed, dy);
  await expectSame(got.y, want.y, `${label}: forward`, TOL[b]);
  for (let i = 0; i < values.length; i++) await expectSame(got.grads[i]!, want.grads[i]!, `${label}: gradient of input ${i}`, TOL[b], gradsNonFiniteOnly);
}

for (const b of BACKENDS) {
  describe.skipIf(b === 'webgpu' && !gpu)(`fused ops on NaN and infinities equal their composed references, ${b}`, () => {
    it('linear([[NaN]], [[1]], [0], relu) is NaN, as relu(matmul + b) and PyTorch', async () => {
      for (const act of ['relu', 'sigmoid', 'none'] as const) {
        const y = T.linear(on(b, [[NaN]]), on(b, [[1]]), on(b, [0]), act);
        expect(Number.isNaN((await y.data())[0]), act).toBe(true);
      }
      // relu(-inf) is 0, relu(inf) inf; sigmoid(-inf) 0, sigmoid(inf) 1.
      expect(Array.from(await T.linear(on(b, [[-Infinity], [Infinity]]), on(b, [[1]]), null, 'relu').data())).toEqual([0, Infinity]);
      expect(Array.from(await T.linear(on(b, [[-Infinity], [Infinity]]), on(b, [[1]]), null, 'sigmoid').data())).toEqual([0, 1]);
    });

    for (const act of ['none', 'relu', 'sigmoid'] as const) {
      for (const [bname, bias] of Object.entries(BIASES)) {
        for (const [dname, dy] of Object.entries(DYS)) {
          it(`linear ${act}, ${bname}, ${dname}: forward and gradients`, async () => {
            const values = bias ? [X, W, bias] : [X, W];
            await expectParity(
              b,
              `linear ${act} ${bname} ${dname}`,
              values,
              (x, w, bb) => T.linear(x!, w!, bb ?? null, act),
              (x, w, bb) => composedLinear(x!, w!, bb ?? null, act),
              dy,
            );
          });
        }
      }
    }

    it('linear with a K long enough to be split (the summing pass applies the epilogue)', async () => {
      const k = 1500;
      const x = Array.from({ length: 3 }, (_, i) => Array.from({ length: k }, (_, p) => Math.sin(i * 7 + p) / 8));
      x[0]![11] = NaN;
      x[1]![700] = Infinity;
      x[2]![1400] = -Infinity;
      const w = Array.from({ length: 4 }, (_, j) => Array.from({ length: k }, (_, p) => (p === 700 && j === 2 ? 0 : Math.cos(j * 5 + p) / 8)));
      for (const act of ['relu', 'sigmoid'] as const) {
        await expectParity(b, `split-K linear ${act}`, [x, w, [0.5, -0.5, 0, 1]], (xx, ww, bb) => T.linear(xx!, ww!, bb!, act), (xx, ww, bb) => composedLinear(xx!, ww!, bb!, act), null);
      }
    });

    it('activationGrad and activationGradSum: relu as threshold_backward (hand values), sigmoid as dy y (1 - y)', async () => {
      const y = [NaN, Infinity, -Infinity, -0, 0, 1, -1, 0.5];
      const dy = [1, NaN, Infinity, -Infinity, 2, Infinity, NaN, -1];
      // PyTorch: y <= 0 ? 0 : dy.
      const reluWant = [1, NaN, 0, 0, 0, Infinity, 0, -1];
      const g = T.runOp(activationGradOp, [on(b, y), on(b, dy)], { act: 'relu' });
      await expectSame(g, on(b, reluWant), 'activationGrad relu', 0);
      await expectSame(T.reluBackward(on(b, y), on(b, dy)), on(b, reluWant), 'reluBackward', 0);
      // The relu op's own gradient is the same rule.
      const x = on(b, y, undefined, true);
      T.relu(x).backward(on(b, dy));
      await expectSame(x.grad, on(b, reluWant), 'relu gradient', 0);
      const sig = T.runOp(activationGradOp, [on(b, y), on(b, dy)], { act: 'sigmoid' });
      await expectSame(sig, T.mul(on(b, dy), T.mul(on(b, y), T.sub(1, on(b, y)))), 'activationGrad sigmoid', TOL[b]);

      // [N, C] = [4, 2]; the sums per column after the gradient (sumAt 8).
      for (const act of ['relu', 'sigmoid', 'none'] as const) {
        const yy = on(b, y, [4, 2]);
        const dd = on(b, dy, [4, 2]);
        const sumAt = act === 'none' ? 0 : 8;
        const flat = T.runOp(activationGradSumOp, [yy, dd], { act, sumAt });
        const gWant = act === 'relu' ? T.reluBackward(yy, dd) : act === 'sigmoid' ? T.mul(dd, T.mul(yy, T.sub(1, yy))) : dd;
        const data = await flat.data();
        if (act !== 'none') await expectSame(on(b, Array.from(data.slice(0, 8)), [4, 2]), gWant, `activationGradSum ${act}: g`, TOL[b]);
        await expectSame(on(b, Array.from(data.slice(sumAt, sumAt + 2))), T.sum(gWant, 0), `activationGradSum ${act}: column sums`, TOL[b]);
      }
    });

    // Columns: a NaN, a +inf, a -inf, finite values (the relu bites), a constant column (variance 0).
    const BX = [
      [NaN, 1, 0.5, 1, 2],
      [0.5, Infinity, 1, -2, 2],
      [-1, 0.25, -Infinity, 0.5, 2],
      [2, -1, 0.25, 3, 2],
    ];
    const BW = [1, -1, 0.5, 2, -1];
    const BB = [0, 0.1, -0.2, 0.3, -0];
    for (const act of ['none', 'relu'] as const satisfies readonly BatchNormActivation[]) {
      for (const [dname, dy] of Object.entries(DYS)) {
        it(`batchNorm ${act}, ${dname}: forward and gradients`, async () => {
          const dy5 = dy;
          // An infinite upstream gradient meets sums of opposite infinities in either form of the
          // backward, and which of inf or NaN comes out depends on the formula (the fused one is
          // PyTorch's native batch_norm backward, the composed one its autograd through mean and
          // var; the GPU's pivoted sums differ again): there the gradients need only be non-finite
          // where the reference's are. With a finite dy they must match exactly.
          await expectParity(b, `batchNorm ${act} ${dname}`, [BX, BW, BB], (x, w, bb) => T.batchNorm(x!, w!, bb!, 1e-5, act), (x, w, bb) => T.batchNormComposed(x!, w!, bb!, 1e-5, act), dy5, dname !== 'finite dy');
        });

        it(`batchNormEval ${act}, ${dname}: forward and gradients (per element, and -0 kept as relu keeps it)`, async () => {
          const dy5 = dy;
          const rm = [0.5, 0.25, 1, -2, 2]; // x[3][4] - rm = 0, times w = -1: -0, plus b = -0: -0
          const rv = [1, 4, 0.25, 2, 1];
          const eval_ = (x: Tensor, w: Tensor, bb: Tensor): Tensor => T.batchNormEval(x, on(b, rm), on(b, rv), w, bb, 1e-5, act);
          const composed = (x: Tensor, w: Tensor, bb: Tensor): Tensor => {
            const y = T.add(T.mul(T.div(T.sub(x, on(b, rm)), T.sqrt(T.add(on(b, rv), 1e-5))), w), bb);
            return act === 'relu' ? T.relu(y) : y;
          };
          await expectParity(b, `batchNormEval ${act} ${dname}`, [BX, BW, BB], (x, w, bb) => eval_(x!, w!, bb!), (x, w, bb) => composed(x!, w!, bb!), dy5);
        });
      }
    }

    for (const log of [false, true]) {
      it(`${log ? 'logSoftmax' : 'softmax'}: forward and gradient against exp(x - max) / sum`, async () => {
        const SX = [
          [NaN, 1, 2, 3],
          [Infinity, 1, -Infinity, 0],
          [-Infinity, 0, 1, -Infinity],
          [Infinity, Infinity, 0, 1],
          [-Infinity, -Infinity, -Infinity, -Infinity],
        ];
        const sdy = [
          [0.5, -1, 2, 0.25],
          [1, 0.5, -0.5, 2],
          [-1, 0.25, 1, -2],
          [0.75, 1, -1.5, 0.5],
          [1, 2, 3, 4],
        ];
        const composed = (x: Tensor): Tensor => {
          const z = T.sub(x, T.max(x, -1, true).detach());
          return log ? T.sub(z, T.log(T.sum(T.exp(z), -1, true))) : T.div(T.exp(z), T.sum(T.exp(z), -1, true));
        };
        await expectParity(b, log ? 'logSoftmax' : 'softmax', [SX], (x) => (log ? T.logSoftmax(x!) : T.softmax(x!)), (x) => composed(x!), sdy);
      });
    }
  });
}
