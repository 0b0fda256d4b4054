// Losses against PyTorch (fixtures/nn.json "losses"): values for every reduction and the
// gradient of the mean, including p exactly 0 and 1 and logits of +-50; float64 gradchecks.

import { afterAll, describe, expect, it } from 'vitest';
import { disposeWebGpu, gradcheck, rand, randn, tensor, tidy, tryInitWebGpu, Generator, type Tensor } from '@aitm/tensor';
import { assertFinite, bce, BCE_GRAD_EPS, bceWithLogits, checkFiniteLoss, mse, type Reduction } from '../src/node.js';
import { expectClose, fx, nnFixture } from './helpers.js';

const L = nnFixture().losses;
const gpu = await tryInitWebGpu();
afterAll(() => disposeWebGpu());
type LossFn = (a: Tensor, b: Tensor, o: { reduction: Reduction }) => Tensor;

function checkCase(name: string, fn: LossFn, c: ReturnType<typeof nnFixture>): void {
  for (const reduction of ['mean', 'sum', 'none'] as const) {
    tidy(() => expectClose(fn(fx(c.input), fx(c.target), { reduction }), c[reduction], 1e-12, 1e-13, `${name} ${reduction}`));
  }
  const x = fx(c.input, 'float64', true);
  tidy(() => fn(x, fx(c.target), { reduction: 'mean' }).backward());
  expectClose(x.grad!, c.grad_mean, 1e-12, 1e-13, `${name} grad_mean`);
  x.grad!.dispose();
  x.dispose();
}

describe('bce', () => {
  it('matches F.binary_cross_entropy (values and gradient)', () => checkCase('bce', bce, L.bce));

  it('clamps log to -100 at p = 0 and 1 and keeps the gradient finite as PyTorch does', () => {
    checkCase('bce_extreme', bce, L.bce_extreme);
    expect(BCE_GRAD_EPS).toBe(9.999999960041972e-13);
  });

  it('works in float32 too (the gradient uses the same EPS)', () => {
    const p = tensor([0, 1, 0.25], { requiresGrad: true });
    const y = tensor([1, 0, 1]);
    tidy(() => {
      const l = bce(p, y, { reduction: 'sum' });
      expect(l.dataSync()[0]).toBeCloseTo(200 - Math.log(0.25), 4);
      l.backward();
    });
    const g = p.grad!.dataSync();
    expect(g[0]).toBe(Math.fround(-1 / BCE_GRAD_EPS)); // (p - y) / EPS in float32
    expect(g[1]).toBe(Math.fround(1 / BCE_GRAD_EPS));
    expect(g[2]).toBeCloseTo(-4, 5); // (0.25 - 1) / (0.25 * 0.75)
  });

  it('agrees with finite differences inside (0, 1)', () => {
    const g = new Generator(5);
    const p = rand([3, 4], { dtype: 'float64', low: 0.05, high: 0.95, generator: g, requiresGrad: true });
    const y = rand([3, 4], { dtype: 'float64', generator: g });
    gradcheck((a) => bce(a, y, { reduction: 'none' }), [p]);
    gradcheck((a) => bce(a, y), [p]);
  });

  it('names both shapes when they differ', () => {
    expect(() => bce(tensor([0.5, 0.5]), tensor([[1, 0]]))).toThrow(/bce: input \[2\] and target \[1,2\]/);
  });

  // PyTorch: F.binary_cross_entropy raises "all elements of input should be between 0 and 1"
  // (NaN included: its check is (p >= 0) && (p <= 1)). Before, the CPU gave NaN and WebGPU -0.405.
  it('raises on a prediction outside [0, 1] or NaN, naming the op, the value and its index (CPU)', () => {
    const y = tensor([1, 0, 1]);
    expect(() => bce(tensor([0.5, 1.5, 0.2]), y)).toThrow('bce: all elements of input should be between 0 and 1, got 1.5 at index 1');
    expect(() => bce(tensor([0.5, 0.2, -0.25], { dtype: 'float64' }), y.cast('float64'))).toThrow('bce: all elements of input should be between 0 and 1, got -0.25 at index 2');
    expect(() => bce(tensor([NaN, 0.5, 0.5]), y)).toThrow('bce: all elements of input should be between 0 and 1, got NaN at index 0');
    // The bounds themselves are valid (PyTorch clamps the logs there).
    expect(() => bce(tensor([0, 1, 0.5]), y).dispose()).not.toThrow();
  });

  describe.skipIf(!gpu)('on WebGPU', () => {
    it('raises the same error at the next read (checked on the device, no readback per call), and the read after is clean', async () => {
      const on = (v: number[]) => tensor(v, { backend: 'webgpu' });
      const loss = bce(on([0.5, 1.5, 0.2]), on([1, 0, 1]));
      await expect(loss.data()).rejects.toThrow(/^bce: all elements of input should be between 0 and 1, got 1\.5 at index 1; found by a GPU kernel/);
      await expect(bce(on([NaN, 0.5]), on([1, 0])).data()).rejects.toThrow(/^bce: all elements of input should be between 0 and 1, got NaN at index 0/);
      const ok = bce(on([0, 1, 0.25]), on([1, 0, 1]), { reduction: 'sum' });
      expect((await ok.data())[0]).toBeCloseTo(200 - Math.log(0.25), 3);
    });
  });
});

describe('bceWithLogits', () => {
  it('matches F.binary_cross_entropy_with_logits, including logits of +-50 and 0', () => {
    checkCase('bce_with_logits', bceWithLogits, L.bce_with_logits);
  });

  it('agrees with finite differences in the input and the target', () => {
    const g = new Generator(6);
    const x = randn([2, 5], { dtype: 'float64', std: 3, generator: g, requiresGrad: true });
    const y = rand([2, 5], { dtype: 'float64', generator: g, requiresGrad: true });
    gradcheck((a, b) => bceWithLogits(a, b, { reduction: 'sum' }), [x, y]);
  });
});

describe('mse', () => {
  it('matches F.mse_loss', () => checkCase('mse', mse, L.mse));

  it('agrees with finite differences in both arguments', () => {
    const g = new Generator(7);
    const a = randn([3, 2], { dtype: 'float64', generator: g, requiresGrad: true });
    const b = randn([3, 2], { dtype: 'float64', generator: g, requiresGrad: true });
    gradcheck((u, v) => mse(u, v), [a, b]);
  });
});

describe('non-finite losses', () => {
  it('checkFiniteLoss names the step and the value', () => {
    expect(checkFiniteLoss(0.5, 3)).toBe(0.5);
    expect(() => checkFiniteLoss(NaN, 12)).toThrow(/loss is NaN at step 12/);
    expect(() => checkFiniteLoss(Infinity, 4)).toThrow(/loss is Infinity at step 4/);
  });

  it('assertFinite reports the first bad element and the count', async () => {
    await assertFinite(tensor([1, 2, 3]), 'ok');
    const t = tensor([1, NaN, Infinity, 2]);
    await expect(assertFinite(t, 'logits')).rejects.toThrow(/logits \[4\]: 2 non-finite value\(s\), the first NaN at flat index 1/);
    t.dispose();
  });
});
