// The fused linear op (matmul with the bias and activation in its epilogue; backward through
// activationGrad, two matmuls and a column sum) against its composition from matmul, add and
// the activation ops: CPU float64 to rounding, WebGPU float32 against the CPU. The shapes
// cover ragged edges (sizes not multiples of 4), a one-column output (a tower's last layer)
// and a long K that the GPU splits across workgroups (the epilogue then runs in the summing pass).

import { afterAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import type { Tensor } from '../src/index.js';
import { gpuAvailable } from './gpu.js';
import { expectClose } from './helpers.js';
import { withMatmulKernel } from '../src/backends/webgpu/matmul.js';
import type { MatmulKernelChoice } from '../src/backends/webgpu/matmul-plan.js';

const gpu = await gpuAvailable();
afterAll(() => T.disposeWebGpu());

const ACTS = ['none', 'relu', 'sigmoid'] as const;
const SHAPES = [
  [37, 13, 6], // N, in, out
  [64, 32, 1],
  [6, 1500, 9], // split K
  [5, 7, 64],
] as const;

function composed(x: Tensor, w: Tensor, b: Tensor | null, act: (typeof ACTS)[number]): Tensor {
  const y = T.matmul(x, T.transpose(w, 0, 1));
  const z = b ? T.add(y, b) : y;
  return act === 'relu' ? T.relu(z) : act === 'sigmoid' ? T.sigmoid(z) : z;
}

async function run(backend: T.BackendName, dtype: T.DType, fused: boolean, shape: readonly number[], act: (typeof ACTS)[number], bias: boolean, kernel: MatmulKernelChoice = 'auto') {
  const [n, k, m] = shape as [number, number, number];
  const g = new T.Generator(n * 1000 + k + m);
  const on = { dtype, backend, generator: g };
  const x = T.randn([n, k], on).requireGrad();
  const w = T.mul(T.randn([m, k], on), 1 / Math.sqrt(k)).requireGrad();
  const b = bias ? T.randn([m], on).requireGrad() : null;
  const dy = T.randn([n, m], on);
  // The products of the forward and backward passes are all recorded inside the scope.
  const y = withMatmulKernel(kernel, () => {
    const y = fused ? T.linear(x, w, b, act) : composed(x, w, b, act);
    y.backward(dy);
    return y;
  });
  return Promise.all([y, x.grad!, w.grad!, ...(b ? [b.grad!] : [])].map(async (t) => Array.from(await t.data())));
}

describe('linear: fused vs matmul + add + activation', () => {
  for (const shape of SHAPES) {
    for (const act of ACTS) {
      const name = `[${shape.join(', ')}] ${act}`;
      it(`${name}, CPU float64`, async () => {
        const [a, b] = [await run('cpu', 'float64', true, shape, act, true), await run('cpu', 'float64', false, shape, act, true)];
        a.forEach((v, i) => expectClose(v, b[i]!, 1e-12, 1e-10));
      });
      it.runIf(gpu)(`${name}, WebGPU float32 vs CPU float64`, async () => {
        const [a, b] = [await run('webgpu', 'float32', true, shape, act, true), await run('cpu', 'float64', false, shape, act, true)];
        const tol = 2e-5 * Math.sqrt(shape[0] * shape[1]);
        a.forEach((v, i) => expectClose(v, b[i]!, tol, 1e-4));
      });
    }
  }

  // Real GPUs get the shared-memory 'tiled' kernel, llvmpipe the 'subgroup' one: the epilogue
  // is checked in every kernel (the study kernel 'naive' too), including the split-K summing pass.
  for (const kernel of ['tiled', 'register', 'subgroup', 'naive'] as MatmulKernelChoice[]) {
    it.runIf(gpu)(`the epilogue in the '${kernel}' kernel (bias + relu, bias + sigmoid, split K)`, async () => {
      for (const [shape, act] of [[[37, 13, 6], 'relu'], [[5, 7, 64], 'sigmoid'], [[6, 1500, 9], 'relu']] as const) {
        const [a, b] = [await run('webgpu', 'float32', true, shape, act, true, kernel), await run('cpu', 'float64', false, shape, act, true)];
        a.forEach((v, i) => expectClose(v, b[i]!, 2e-5 * Math.sqrt(shape[0] * shape[1]), 1e-4));
      }
    });
  }

  it.runIf(gpu)('no bias, WebGPU', async () => {
    const [a, b] = [await run('webgpu', 'float32', true, [9, 5, 3], 'relu', false), await run('cpu', 'float64', false, [9, 5, 3], 'relu', false)];
    a.forEach((v, i) => expectClose(v, b[i]!, 1e-5, 1e-4));
  });

  it.runIf(gpu)('one dispatch forward (bias and activation included)', () => {
    const x = T.randn([256, 64], { backend: 'webgpu' });
    const w = T.randn([32, 64], { backend: 'webgpu' });
    const b = T.randn([32], { backend: 'webgpu' });
    T.gpuCounters(true);
    T.linear(x, w, b, 'relu');
    expect(T.gpuCounters(true)!.dispatches).toBe(1);
    // A long K is split across workgroups: the summing pass applies the epilogue.
    T.linear(T.randn([6, 1500], { backend: 'webgpu' }), T.randn([9, 1500], { backend: 'webgpu' }), T.randn([9], { backend: 'webgpu' }), 'sigmoid');
    expect(T.gpuCounters()!.dispatchesByOp['linear']).toBe(2);
  });

  it('names the shapes it refuses', () => {
    expect(() => T.linear(T.zeros([2, 3]), T.zeros([4, 5]))).toThrow('linear: expected x [N, in] and weight [out, in], got [2,3] and [4,5]');
    expect(() => T.linear(T.zeros([2, 3]), T.zeros([4, 3]), T.zeros([5]))).toThrow('linear: bias [5] does not match weight [4,3] (expected [4])');
  });
});
