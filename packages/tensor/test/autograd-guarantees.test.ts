// What autograd guarantees, as PyTorch does: no gradient is lost or wrong without an error.
// Each case here gave a wrong answer silently before the graph owned its saved values.

import { describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import type { Tensor } from '../src/index.js';

const f64 = (v: number[], requiresGrad = false): Tensor => T.tensor(v, { dtype: 'float64', requiresGrad });
const values = (t: Tensor | null): number[] => Array.from(t!.dataSync());

describe('the graph keeps what backward needs', () => {
  it('backward after tidy disposed the intermediates gives the same gradient as without tidy', () => {
    const w = f64([0.5, -1, 2], true);
    const x = f64([1, 2, 3]);
    const forward = () => T.sum(T.mul(T.tanh(T.mul(x, w)), T.exp(w)));
    const loss = T.tidy(forward); // tanh, mul, exp handles are disposed here
    loss.backward();
    const viaTidy = values(w.grad);
    w.grad = null;
    forward().backward();
    expect(viaTidy).toEqual(values(w.grad));
    // d/dw sum(tanh(x w) e^w) = x (1 - tanh^2) e^w + tanh e^w, worked out by hand:
    const expected = [0.5, -1, 2].map((wi, i) => {
      const xi = [1, 2, 3][i]!;
      const t = Math.tanh(xi * wi);
      return (xi * (1 - t * t) + t) * Math.exp(wi);
    });
    values(w.grad).forEach((g, i) => expect(g).toBeCloseTo(expected[i]!, 12));
  });

  it('assign on a tensor saved for backward does not change the gradient (the graph kept the old values)', () => {
    // PyTorch raises here (the version counter); our assign rebinds storage instead of
    // writing it, so the saved value is intact and the gradient is the true one: 2, not 100.
    const w = f64([3], true);
    const x = f64([2]);
    const y = T.mul(w, x);
    x.assign(f64([100]));
    y.backward();
    expect(values(w.grad)).toEqual([2]);
  });

  it('an in-place write into a saved value (an optimizer step) makes backward raise, naming the op', () => {
    const w = f64([1, 2], true);
    const y = T.sum(T.mul(w, w));
    const m = T.zerosLike(w);
    const v = T.zerosLike(w);
    T.adamStep_(w, f64([1, 1]), m, v, { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false, step: 1 });
    expect(() => y.backward()).toThrow(/'mul' for its gradient, was modified in place after the forward pass/);
  });

  it('an in-place write into a value the rule does not read is fine (add needs no saved values)', () => {
    const w = f64([1, 2], true);
    const y = T.sum(T.add(w, 1));
    T.adamStep_(w, f64([1, 1]), T.zerosLike(w), T.zerosLike(w), { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, decoupled: false, step: 1 });
    y.backward();
    expect(values(w.grad)).toEqual([1, 1]);
  });

  it('FlatBlock.copyIn bumps the version of every view of the block', () => {
    const w = f64([1, 2], true);
    const block = T.FlatBlock.pack([w]);
    const y = T.sum(T.mul(w, w));
    block.copyIn(0, f64([5, 5]));
    expect(() => y.backward()).toThrow(/modified in place/);
    block.dispose();
  });

  it('a second backward through a freed graph raises; retainGraph allows it and accumulates', () => {
    const w = f64([1, 2], true);
    const y = T.sum(T.mul(w, w));
    y.backward();
    expect(() => y.backward()).toThrow(/a second time.*retainGraph/);

    w.grad = null;
    const z = T.sum(T.mul(w, w));
    z.backward({ retainGraph: true });
    z.backward();
    expect(values(w.grad)).toEqual([4, 8]); // 2 * (2w)
    expect(() => z.backward()).toThrow(/a second time/);
  });

  it('a gradient rule returning too few gradients, or a wrongly shaped one, raises', () => {
    const tooFew = T.defineOp<null>({
      name: 'test.tooFew',
      infer: ([a]) => ({ shape: a!.shape, dtype: a!.dtype }),
      kernels: { cpu: (_b, [a, b]) => (a!.data as Float64Array).map((v, i) => v * (b!.data as Float64Array)[i]!) } as never,
      grad: (dy) => [dy],
    });
    const a = f64([1, 2], true);
    const b = f64([3, 4], true);
    expect(() => T.sum(T.runOp(tooFew, [a, b], null)).backward()).toThrow(/'test.tooFew' returned 1 gradients for 2 inputs/);

    const wrongShape = T.defineOp<null>({
      name: 'test.wrongShape',
      infer: ([x]) => ({ shape: x!.shape, dtype: x!.dtype }),
      kernels: { cpu: (_b, [x]) => (x!.data as Float64Array).slice() } as never,
      grad: (dy) => [T.sum(dy)], // a scalar where [2] is expected: would broadcast silently
    });
    expect(() => T.sum(T.runOp(wrongShape, [a], null)).backward()).toThrow(/'test.wrongShape' returned \[\] float64 for input 0, which is \[2\] float64/);

    const missing = T.defineOp<null>({
      name: 'test.missing',
      infer: ([x]) => ({ shape: x!.shape, dtype: x!.dtype }),
      kernels: { cpu: (_b, [x]) => (x!.data as Float64Array).slice() } as never,
      grad: () => [null],
    });
    expect(() => T.sum(T.runOp(missing, [a], null)).backward()).toThrow(/'test.missing' returned no gradient for input 0 \[2\] float64/);
  });
});

describe('backward frees what it makes', () => {
  it('a step without tidy: backward adds only the leaf gradients, and disposing the forward handles frees the rest', () => {
    const w = T.randn([8, 4], { requiresGrad: true });
    const b = T.zeros([4], { requiresGrad: true });
    const x = T.randn([16, 8]);
    const step = () => {
      const h = [T.matmul(x, w)];
      h.push(T.add(h[0]!, b));
      h.push(T.sigmoid(h[1]!));
      h.push(T.pow(h[2]!, 2));
      const loss = T.mean(h[3]!);
      const afterForward = T.memory();
      loss.backward();
      const afterBackward = T.memory();
      for (const t of [...h, loss]) t.dispose();
      T.noGrad(() => {
        for (const p of [w, b]) {
          const next = T.tidy(() => T.sub(p, T.mul(p.grad!, 0.1)));
          p.assign(next);
          next.dispose();
          p.grad!.dispose();
          p.grad = null;
        }
      });
      return { afterForward, afterBackward };
    };
    step();
    const start = T.memory();
    for (let i = 0; i < 20; i++) {
      const { afterForward, afterBackward } = step();
      // Backward made exactly two tensors (w.grad and b.grad) and nothing else.
      expect(afterBackward.tensors).toBe(afterForward.tensors + 2);
    }
    const end = T.memory();
    expect(end.tensors).toBe(start.tensors);
    expect(end.buffers).toBe(start.buffers);
    expect(end.bytes).toBe(start.bytes);
  });

  it('the graph alone (every handle disposed by tidy) holds the saved values until backward frees them', () => {
    const w = T.randn([32, 32], { requiresGrad: true });
    const x = T.randn([64, 32]);
    const base = T.memory();
    const loss = T.tidy(() => T.mean(T.relu(T.matmul(T.tanh(T.matmul(x, w)), w))));
    const held = T.memory();
    expect(held.tensors).toBe(base.tensors + 1); // only the loss handle...
    expect(held.bytes).toBeGreaterThan(base.bytes + 3 * 64 * 32 * 4); // ...but the graph keeps its saved values (float32)
    loss.backward();
    loss.dispose();
    const after = T.memory();
    expect(after.tensors).toBe(base.tensors + 1); // w.grad
    expect(after.bytes).toBe(base.bytes + 32 * 32 * 4);
  });

  it('a graph never run backward is freed when its output is disposed', () => {
    const w = T.randn([16], { requiresGrad: true });
    const base = T.memory();
    const y = T.tidy(() => T.sum(T.exp(T.mul(w, 2))));
    expect(T.memory().bytes).toBeGreaterThan(base.bytes);
    y.dispose();
    expect(T.memory()).toEqual(base);
  });
});

describe('non-leaf gradients: retainGrad and hooks', () => {
  it('retainGrad keeps an intermediate gradient in .grad', () => {
    const x = f64([1, 2, 3], true);
    const h = T.mul(x, 2).retainGrad();
    T.sum(T.mul(h, h)).backward();
    expect(values(h.grad)).toEqual([4, 8, 12]); // 2h
    expect(values(x.grad)).toEqual([8, 16, 24]);
  });

  it('a hook sees the gradient and may replace it, on leaves and intermediates; remove() stops it', () => {
    const x = f64([1, 2], true);
    const seen: number[][] = [];
    const h = T.mul(x, 3);
    h.registerHook((g) => {
      seen.push(values(g));
      return T.mul(g, 10);
    });
    const leafHook = x.registerHook((g) => void seen.push(values(g)));
    T.sum(h).backward();
    expect(seen).toEqual([[1, 1], [30, 30]]);
    expect(values(x.grad)).toEqual([30, 30]);
    leafHook.remove();
    x.grad = null;
    T.sum(T.mul(x, 1)).backward();
    expect(seen.length).toBe(2);
  });

  it('a hook returning a wrong shape raises', () => {
    const x = f64([1, 2], true);
    x.registerHook(() => f64([1]));
    expect(() => T.sum(x).backward()).toThrow(/hook returned \[1\] float64 for a gradient \[2\] float64/);
  });
});

describe('higher-order gradients', () => {
  it('grad(grad(f)): d2/dx2 x^3 = 6x', () => {
    const d1 = T.grad((x: Tensor) => T.sum(T.pow(x, 3))); // 3x^2
    const d2 = T.grad((x: Tensor) => T.sum(d1(x)));
    expect(values(d2(f64([2, -1])))).toEqual([12, -6]);
  });

  it('mixed second derivatives: d/db of (d/da sum(a * b)) is 1, though the first pass only asked for a', () => {
    const a = f64([2, 3], true);
    const b = f64([5, 7], true);
    const [ga] = T.gradients(T.sum(T.mul(a, b)), [a], { createGraph: true }); // = b
    expect(values(ga!)).toEqual([5, 7]);
    const [gb] = T.gradients(T.sum(ga!), [b]);
    expect(values(gb!)).toEqual([1, 1]);
  });

  it('gradients returns without touching .grad; unused inputs raise unless allowUnused', () => {
    const x = f64([1, 2], true);
    const u = f64([5], true);
    const [g] = T.gradients(T.sum(T.mul(x, x)), [x]);
    expect(values(g!)).toEqual([2, 4]);
    expect(x.grad).toBeNull();
    expect(() => T.gradients(T.sum(x), [u])).toThrow(/input 0 \[1\] was not used/);
    expect(T.gradients(T.sum(x), [x, u], { allowUnused: true })[1]).toBeNull();
  });

  it('a Hessian-vector product through tanh, softmax, matmul and a fused linear matches finite differences of the gradient', () => {
    const gen = new T.Generator(7);
    const w = T.randn([4, 3], { dtype: 'float64', generator: gen });
    const a = T.randn([5, 4], { dtype: 'float64', generator: gen });
    const b = T.randn([3], { dtype: 'float64', generator: gen });
    const f = (x: Tensor) => {
      const h = T.linear(T.tanh(T.matmul(a, x)), T.transpose(w), b, 'sigmoid');
      return T.sum(T.mul(T.softmax(h, 1), T.logSoftmax(T.mul(h, 3), 1)));
    };
    const x0 = T.randn([4, 4], { dtype: 'float64', generator: gen });
    const v = T.randn([4, 4], { dtype: 'float64', generator: gen });
    const gradAt = (x: Tensor) => T.grad(f)(x);

    const x = x0.clone().requireGrad();
    const [g] = T.gradients(f(x), [x], { createGraph: true });
    expect(g!.requiresGrad).toBe(true);
    const [hv] = T.gradients(T.sum(T.mul(g!, v)), [x]);

    const eps = 1e-5;
    const plus = gradAt(T.add(x0, T.mul(v, eps))).dataSync();
    const minus = gradAt(T.sub(x0, T.mul(v, eps))).dataSync();
    const numeric = Array.from(plus, (p, i) => (p - minus[i]!) / (2 * eps));
    values(hv!).forEach((h, i) => expect(h).toBeCloseTo(numeric[i]!, 6));
  });

  it('gradcheck of a gradient (gradgradcheck) through batch norm, concat and gather', () => {
    const gen = new T.Generator(3);
    const table = T.randn([5, 2], { dtype: 'float64', generator: gen });
    const ids = T.tensor([0, 3, 3, 1], { dtype: 'int32' });
    const x = T.randn([4, 3], { dtype: 'float64', generator: gen, requiresGrad: true });
    const wt = T.tensor([1.5, 0.5, -1], { dtype: 'float64' });
    const bias = T.tensor([0.1, 0.2, 0.3], { dtype: 'float64' });
    const f = (xx: Tensor) => {
      const h = T.batchNorm(xx, wt, bias, 1e-5);
      const cat = T.concat([h, T.gather(table, ids)], 1);
      return T.sum(T.mul(T.tanh(cat), cat));
    };
    T.gradcheck((xx) => T.grad(f)(xx), [x]);
  });

  it('a double backward through a fused backward kernel used directly raises instead of giving zeros', () => {
    const y = f64([0.2, 0.8], true);
    const dy = f64([1, 1], true);
    const out = T.runOp(T.softmaxBackwardOp, [y, dy], { axis: 0, log: false });
    expect(() => T.sum(out).backward()).toThrow(/'softmaxBackward' has no gradient rule/);
  });
});
