// Test helpers: loading PyTorch fixtures and mapping their op names onto this library.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as T from '../src/index.js';
import type { BackendName, DType, Tensor } from '../src/index.js';

export interface FixtureTensor {
  shape: number[];
  dtype: 'float64' | 'float32' | 'int32' | 'int64';
  data: number[];
}

export interface OpCase {
  name: string;
  op: string;
  inputs: FixtureTensor[];
  attrs: Record<string, unknown>;
  output: FixtureTensor;
}

export function loadOpCases(): OpCase[] {
  const path = fileURLToPath(new URL('./fixtures/ops.json', import.meta.url));
  return (JSON.parse(readFileSync(path, 'utf8')) as { cases: OpCase[] }).cases;
}

/** A fixture tensor on `backend`; float64 data becomes `floatDtype` (float32 on WebGPU). */
export function fromFixture(f: FixtureTensor, backend: BackendName = 'cpu', floatDtype: DType = 'float64'): Tensor {
  const dtype: DType = f.dtype === 'int32' || f.dtype === 'int64' ? 'int32' : floatDtype;
  return T.tensor(f.data, { shape: f.shape, dtype, backend });
}

type Attrs = Record<string, unknown>;
const num = (a: Attrs, k: string): number => a[k] as number;

/** Runs one fixture op by its name in ops.json. */
export function runFixtureOp(op: string, xs: Tensor[], a: Attrs): Tensor {
  const [x, y, z] = xs as [Tensor, Tensor, Tensor];
  switch (op) {
    case 'exp': case 'log': case 'sqrt': case 'abs': case 'sigmoid': case 'relu': case 'tanh': case 'neg':
      return (T[op] as (t: Tensor) => Tensor)(x);
    case 'leakyRelu': return T.leakyRelu(x, num(a, 'slope'));
    case 'pow': return T.pow(x, num(a, 'exponent'));
    case 'clamp': return T.clamp(x, num(a, 'min'), num(a, 'max'));
    case 'add': case 'sub': case 'mul': case 'div': case 'maximum': case 'minimum':
    case 'gt': case 'lt': case 'ge': case 'le': case 'eq': case 'ne':
      return (T[op] as (p: Tensor, q: Tensor) => Tensor)(x, y);
    case 'where': return T.where(x, y, z);
    case 'matmul': return T.matmul(x, y);
    case 'permute': return T.permute(x, a.dims as number[]);
    case 'transpose': return T.transpose(x, num(a, 'dim0'), num(a, 'dim1'));
    case 'sum': return T.sum(x, a.dims as number[] | null, a.keepdim as boolean);
    case 'mean': return T.mean(x, a.dims as number[] | null, a.keepdim as boolean);
    case 'max': return T.max(x, a.dims as number[] | null, a.keepdim as boolean);
    case 'softmax': return T.softmax(x, num(a, 'dim'));
    case 'logSoftmax': return T.logSoftmax(x, num(a, 'dim'));
    case 'concat': return T.concat(xs, num(a, 'dim'));
    case 'stack': return T.stack(xs, num(a, 'dim'));
    case 'slice': return T.narrow(x, num(a, 'dim'), num(a, 'start'), num(a, 'length'));
    case 'gather': return T.gather(x, y);
    case 'logsumexp': return T.logsumexp(x, num(a, 'dim'), a.keepdim as boolean);
    default: throw new Error(`no mapping for fixture op '${op}'`);
  }
}

/** Largest |a - b| / (atol + rtol |b|); <= 1 means every element is within tolerance. */
export function closeness(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol: number): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} vs expected ${expected.length}`);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const e = expected[i]!;
    const d = Math.abs(actual[i]! - e);
    const r = d / (atol + rtol * Math.abs(e));
    if (!(r <= worst)) worst = Number.isNaN(r) ? Infinity : r;
  }
  return worst;
}

export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol = 1e-12, rtol = 1e-10): void {
  const c = closeness(actual, expected, atol, rtol);
  if (c > 1) {
    let at = 0;
    for (let i = 0; i < actual.length; i++) {
      if (Math.abs(actual[i]! - expected[i]!) / (atol + rtol * Math.abs(expected[i]!)) >= c) { at = i; break; }
    }
    throw new Error(`values differ at ${at}: got ${actual[at]}, expected ${expected[at]} (atol ${atol}, rtol ${rtol})`);
  }
}
