// Printing: toString() gives PyTorch's `print(t)` text where values can be read synchronously
// (cpu, wasm); WebGPU tensors say how to read them and print through toStringAsync()/print().
// The expected strings are PyTorch 2's output for the same tensors, written by hand.

import { inspect } from 'node:util';
import { describe, expect, it, vi } from 'vitest';
import * as T from '../src/index.js';
import { gpuAvailable } from './gpu.js';

const hasWebGpu = await gpuAvailable();

T.setBackend('cpu');

describe('toString as PyTorch prints', () => {
  const cases: [string, () => T.Tensor, string][] = [
    ['torch.tensor([[1., 2.], [3., 4.]])', () => T.tensor([[1, 2], [3, 4]]), 'tensor([[1., 2.],\n        [3., 4.]])'],
    ['torch.tensor([0.5, 1.25])', () => T.tensor([0.5, 1.25]), 'tensor([0.5000, 1.2500])'],
    ['torch.tensor([-0.5, 10.25])', () => T.tensor([-0.5, 10.25]), 'tensor([-0.5000, 10.2500])'],
    ['torch.tensor([0., 10.])', () => T.tensor([0, 10]), 'tensor([ 0., 10.])'],
    ['torch.tensor(3.)', () => T.tensor(3), 'tensor(3.)'],
    ['torch.tensor(0.5)', () => T.tensor(0.5), 'tensor(0.5000)'],
    ['torch.tensor([1e-5, 1.])', () => T.tensor([1e-5, 1]), 'tensor([1.0000e-05, 1.0000e+00])'],
    ['torch.tensor([float("nan"), 1.])', () => T.tensor([NaN, 1]), 'tensor([nan, 1.])'],
    ['torch.tensor([1, 10], dtype=torch.int32)', () => T.tensor([1, 10], { dtype: 'int32' }), 'tensor([ 1, 10], dtype=torch.int32)'],
    ['torch.tensor([True, False])', () => T.tensor([1, 0], { dtype: 'bool' }), 'tensor([ True, False])'],
    ['torch.tensor([1.5], dtype=torch.float64)', () => T.tensor([1.5], { dtype: 'float64' }), 'tensor([1.5000], dtype=torch.float64)'],
    ['torch.ones(2, requires_grad=True)', () => T.ones([2], { requiresGrad: true }), 'tensor([1., 1.], requires_grad=True)'],
    ['torch.zeros(0, 2)', () => T.zeros([0, 2]), 'tensor([], size=(0, 2))'],
    ['torch.arange(1001.)', () => T.arange(0, 1001, 1, { dtype: 'float32' }), 'tensor([   0.,    1.,    2.,  ...,  998.,  999., 1000.])'],
    [
      'torch.arange(1000., 3002.).reshape(1001, 2)',
      () => T.arange(1000, 3002, 1, { dtype: 'float32' }).reshape([1001, 2]),
      'tensor([[1000., 1001.],\n        [1002., 1003.],\n        [1004., 1005.],\n        ...,\n        [2996., 2997.],\n        [2998., 2999.],\n        [3000., 3001.]])',
    ],
    [
      'torch.arange(2002.).reshape(1001, 2) (magnitudes spanning > 1000x: scientific)',
      () => T.arange(0, 2002, 1, { dtype: 'float32' }).reshape([1001, 2]),
      'tensor([[0.0000e+00, 1.0000e+00],\n        [2.0000e+00, 3.0000e+00],\n        [4.0000e+00, 5.0000e+00],\n        ...,\n        [1.9960e+03, 1.9970e+03],\n        [1.9980e+03, 1.9990e+03],\n        [2.0000e+03, 2.0010e+03]])',
    ],
    [
      'torch.arange(30.) (wraps at 80 columns)',
      () => T.arange(0, 30, 1, { dtype: 'float32' }),
      'tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,\n        14., 15., 16., 17., 18., 19., 20., 21., 22., 23., 24., 25., 26., 27.,\n        28., 29.])',
    ],
    [
      'torch.zeros(2, 1, 2)',
      () => T.zeros([2, 1, 2]),
      'tensor([[[0., 0.]],\n\n        [[0., 0.]]])',
    ],
  ];
  for (const [torch, make, want] of cases) {
    it(torch, () => {
      const t = make();
      expect(t.toString()).toBe(want);
      expect(`${t}`).toBe(want);
      t.dispose();
    });
  }

  it('names the gradient function of a non-leaf, and console.log(t) in Node prints the same (util.inspect)', () => {
    const x = T.ones([2], { requiresGrad: true });
    const y = T.mul(x, 2);
    expect(y.toString()).toBe('tensor([2., 2.], grad_fn=<mulBackward>)');
    expect(inspect(y)).toBe(y.toString());
  });

  it('a wasm tensor prints its values synchronously, naming the device', async () => {
    await T.setBackend('wasm');
    try {
      const t = T.tensor([[1, 2], [3, 4]]);
      expect(t.toString()).toBe("tensor([[1., 2.],\n        [3., 4.]], device='wasm')");
    } finally {
      await T.setBackend('cpu');
    }
  });

  it('toStringAsync and print() give the same text on the CPU', async () => {
    const t = T.tensor([0.5]);
    expect(await t.toStringAsync()).toBe(t.toString());
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    await t.print();
    expect(log).toHaveBeenCalledWith('tensor([0.5000])');
    log.mockRestore();
  });

  it.runIf(hasWebGpu)('a WebGPU tensor says how to read it; toStringAsync() reads it', async () => {
    const t = T.tensor([[1, 2], [3, 4]], { backend: 'webgpu' });
    expect(t.toString()).toMatch(/^Tensor\(\[2,2\], float32, webgpu: values on the GPU; await t.toStringAsync\(\) or await t.print\(\) reads them\)$/);
    expect(await t.toStringAsync()).toBe("tensor([[1., 2.],\n        [3., 4.]], device='webgpu')");
    t.dispose();
  });
});

describe('memory()', () => {
  it.runIf(hasWebGpu)('reports the current backend by default (where new tensors go)', async () => {
    await T.setBackend('webgpu');
    try {
      const t = T.zeros([1024]);
      expect(T.memory()).toEqual(T.memory('webgpu'));
      expect(T.memory().bytes).toBeGreaterThanOrEqual(4096);
      t.dispose();
    } finally {
      await T.setBackend('cpu');
    }
  });

  it('is the CPU backend when the CPU is current', () => {
    expect(T.memory()).toEqual(T.memory('cpu'));
  });
});
