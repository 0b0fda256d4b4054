// How each op-fixture case (PyTorch float64 forward values and gradients, from
// packages/tensor/test/fixtures/gen_ops.py and test/fixtures/gen_model_ops.py) maps onto this
// library, and how a case is run and checked. No Node APIs: the browser suite runs the same
// cases on the page's GPU (test/browser/parity.ts); fixture-cases.ts reads the files in Node.

import * as T from '@aitm/tensor';
import type { BackendName, DType, Tensor } from '@aitm/tensor';
import { crossEntropy, layerNorm, type Reduction } from '@aitm/nn';
import { attentionCore, attentionWeightsOf } from '../packages/aitm/src/kernels/attention-kernels.js';
import { fusedAitmLoss } from '../packages/aitm/src/kernels/loss-kernels.js';

export interface FixtureTensor {
  shape: number[];
  dtype: 'float64' | 'float32' | 'int32' | 'int64' | 'bool';
  data: (number | null)[];
}

export interface OpCase {
  name: string;
  op: string;
  inputs: FixtureTensor[];
  attrs: Record<string, unknown>;
  output: FixtureTensor;
  grad_output: FixtureTensor | null;
  grads: (FixtureTensor | null)[] | null;
}

/** A fixture tensor on `backend`, float data in `floatDtype` (float32 on WebGPU). */
export function fromFixture(f: FixtureTensor, backend: BackendName, floatDtype: DType): Tensor {
  const dtype: DType = f.dtype === 'int32' || f.dtype === 'int64' ? 'int32' : f.dtype === 'bool' ? 'bool' : floatDtype;
  // JSON has no NaN: the generator writes it as null.
  return T.tensor(f.data.map((v) => v ?? NaN), { shape: f.shape, dtype, backend });
}

type Attrs = Record<string, unknown>;
const num = (a: Attrs, k: string): number => a[k] as number;
const dims = (a: Attrs): number[] | null => a.dims as number[] | null;

/** Runs one fixture case's op by its name. */
export function runFixtureOp(op: string, xs: Tensor[], a: Attrs): Tensor {
  const [x, y, z] = xs as [Tensor, Tensor, Tensor];
  switch (op) {
    case 'exp': case 'log': case 'sqrt': case 'abs': case 'sigmoid': case 'relu': case 'tanh': case 'neg':
    case 'log1p': case 'erf': case 'gelu': case 'silu': case 'softplus': case 'sign': case 'isnan': case 'logicalNot':
      return (T[op] as (t: Tensor) => Tensor)(x);
    case 'leakyRelu': return T.leakyRelu(x, num(a, 'slope'));
    case 'pow': return T.pow(x, num(a, 'exponent'));
    case 'clamp': return T.clamp(x, num(a, 'min'), num(a, 'max'));
    case 'add': case 'sub': case 'mul': case 'div': case 'maximum': case 'minimum':
    case 'gt': case 'lt': case 'ge': case 'le': case 'eq': case 'ne':
    case 'logicalAnd': case 'logicalOr': case 'logicalXor':
      return (T[op] as (p: Tensor, q: Tensor) => Tensor)(x, y);
    case 'where': return T.where(x, y, z);
    case 'matmul': return T.matmul(x, y);
    case 'permute': return T.permute(x, a.dims as number[]);
    case 'transpose': return T.transpose(x, num(a, 'dim0'), num(a, 'dim1'));
    case 'sum': return T.sum(x, dims(a), a.keepdim as boolean);
    case 'mean': return T.mean(x, dims(a), a.keepdim as boolean);
    case 'max': return T.max(x, dims(a), a.keepdim as boolean);
    case 'min': return T.min(x, dims(a), a.keepdim as boolean);
    case 'variance': case 'std':
      return T[op](x, dims(a), { correction: num(a, 'correction'), keepdim: a.keepdim as boolean });
    case 'argmax': case 'argmin': return T[op](x, a.dim as number | null, a.keepdim as boolean);
    case 'cumsum': return T.cumsum(x, num(a, 'dim'));
    case 'softmax': return T.softmax(x, num(a, 'dim'));
    case 'logSoftmax': return T.logSoftmax(x, num(a, 'dim'));
    case 'concat': return T.concat(xs, num(a, 'dim'));
    case 'stack': return T.stack(xs, num(a, 'dim'));
    case 'slice': return T.narrow(x, num(a, 'dim'), num(a, 'start'), num(a, 'length'));
    case 'sliceRange': return T.sliceRange(x, num(a, 'dim'), num(a, 'start'), a.end as number | null, num(a, 'step'));
    case 'select': return T.select(x, num(a, 'dim'), num(a, 'index'));
    case 'split': return T.split(x, a.size as number | number[], num(a, 'dim'))[num(a, 'piece')]!;
    case 'chunk': return T.chunk(x, num(a, 'chunks'), num(a, 'dim'))[num(a, 'piece')]!;
    case 'pad': return T.pad(x, a.shape as number[], a.starts as number[], a.steps as number[] | undefined);
    case 'gather': return T.gather(x, y);
    case 'scatterAdd': return T.scatterAdd(x, y, num(a, 'rows'));
    case 'gatherAlong': return T.gatherAlong(x, num(a, 'dim'), y);
    case 'scatterAddAlong': return T.scatterAddAlong(x, num(a, 'dim'), y, z);
    case 'indexSelect': return T.indexSelect(x, num(a, 'dim'), y);
    case 'logsumexp': return T.logsumexp(x, num(a, 'dim'), a.keepdim as boolean);
    case 'cast': {
      // float64 stands for "the float dtype of this backend" (float32 on WebGPU).
      const to = a.dtype as DType;
      return T.cast(x, to === 'float64' && x.backendName !== 'cpu' ? 'float32' : to, true);
    }
    case 'linear': return T.linear(x, y, xs.length > 2 ? z : null, a.act as T.LinearActivation);
    case 'batchNorm': return T.batchNorm(x, y, z, num(a, 'eps'), a.act as 'none' | 'relu');
    case 'batchNormEval': return T.batchNormEval(x, y, z, xs[3]!, xs[4]!, num(a, 'eps'), a.act as 'none' | 'relu');
    case 'batchStats': return T.batchStats(x);
    case 'gatherConcat': {
      const f = num(a, 'fields');
      return T.gatherConcat(xs.slice(0, f), xs.slice(f));
    }
    case 'aitmAttention': return attentionCore(x);
    case 'aitmAttentionWeights': return attentionWeightsOf(x);
    case 'aitmLoss': return fusedAitmLoss(x, y, num(a, 'alpha'));
    case 'layerNorm': return layerNorm(x, a.normalizedShape as number[], xs[1] ?? null, xs[2] ?? null, num(a, 'eps'));
    case 'crossEntropy':
      return crossEntropy(x, y, { reduction: a.reduction as Reduction, labelSmoothing: (a.labelSmoothing as number | undefined) ?? 0 });
    default: throw new Error(`no mapping for fixture op '${op}'`);
  }
}

/** Largest |a - b| / (atol + rtol |b|); <= 1 means every element is within tolerance (NaN matches NaN). */
export function closeness(actual: ArrayLike<number>, expected: ArrayLike<number | null>, atol: number, rtol: number): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} vs expected ${expected.length}`);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const e = expected[i] ?? NaN;
    if (Number.isNaN(e) && Number.isNaN(actual[i]!)) continue;
    const r = Math.abs(actual[i]! - e) / (atol + rtol * Math.abs(e));
    if (!(r <= worst)) worst = Number.isNaN(r) ? Infinity : r;
  }
  return worst;
}

/**
 * Runs a case on `backend`: forward (and backward when the fixture has gradients), and
 * returns the values with the ops run in each phase. Throws when our output requires grad
 * and PyTorch's does not, or the other way round.
 */
export function runCase(c: OpCase, backend: BackendName) {
  const float = backend === 'cpu' ? 'float64' : 'float32';
  const forwardOps = new Set<string>();
  const backwardOps = new Set<string>();
  return T.tidy(() => {
    const inputs = c.inputs.map((f, k) => {
      const t = fromFixture(f, backend, float);
      return c.grads?.[k] ? t.requireGrad() : t;
    });
    const y = T.traceOps(() => runFixtureOp(c.op, inputs, c.attrs), (op) => forwardOps.add(op));
    let grads: (Tensor | null)[] = [];
    if (c.grads !== null) {
      if (!y.requiresGrad) throw new Error(`${c.name}: PyTorch has a gradient, ours does not require grad`);
      T.traceOps(() => y.backward(fromFixture(c.grad_output!, backend, float)), (op) => backwardOps.add(op));
      grads = inputs.map((t, k) => (c.grads![k] ? t.grad : null));
    } else if (y.requiresGrad) {
      throw new Error(`${c.name}: ours requires grad but PyTorch's output has no gradient`);
    }
    return { y, grads, forwardOps, backwardOps };
  });
}

/** Throws, naming the first element out of tolerance, unless `got` matches the fixture tensor. */
export function compare(name: string, got: ArrayLike<number>, shape: readonly number[], want: FixtureTensor, tol: { atol: number; rtol: number }): void {
  if (shape.length !== want.shape.length || shape.some((d, i) => d !== want.shape[i])) throw new Error(`${name}: shape [${shape}], PyTorch gives [${want.shape}]`);
  const c = closeness(got, want.data, tol.atol, tol.rtol);
  if (!(c <= 1)) {
    const at = Array.from(got).findIndex((g, i) => closeness([g], [want.data[i]!], tol.atol, tol.rtol) > 1);
    throw new Error(`${name}: element ${at} is ${got[at]}, PyTorch gives ${want.data[at]} (atol ${tol.atol}, rtol ${tol.rtol})`);
  }
}

export const scaleOf = (f: FixtureTensor): number => f.data.reduce<number>((m, v) => (v === null ? m : Math.max(m, Math.abs(v))), 0);

/**
 * A case run in float32 (WebGPU) against PyTorch's float64 values, forward and gradient:
 * relative 2e-4, and an absolute floor at the case's scale (softmax of large inputs, sums
 * that cancel); a gradient's floor is also set by the upstream gradient it came from (a
 * saturated softmax gives gradients far below |dy| that carry f32 rounding of dy's size).
 */
export async function checkFloat32(c: OpCase, r: ReturnType<typeof runCase>): Promise<void> {
  const tol = (f: FixtureTensor, floor = 0) => ({ atol: Math.max(2e-5 * Math.max(1e-20, scaleOf(f)) * Math.sqrt(f.data.length), floor), rtol: 2e-4 });
  compare(`${c.name} forward on ${r.y.backendName}`, await r.y.data(), r.y.shape, c.output, tol(c.output));
  const dyFloor = c.grad_output ? 1e-6 * scaleOf(c.grad_output) : 0;
  for (let k = 0; k < r.grads.length; k++) {
    const g = r.grads[k];
    if (c.grads![k]) compare(`${c.name} gradient of input ${k} on ${r.y.backendName}`, await g!.data(), g!.shape, c.grads![k]!, tol(c.grads![k]!, dyFloor));
  }
}
