// The AITM package's fused ops against the composed ops they replace (their definitions):
// the loss (BCE of every task + label constraint) and, further down, the attention layer.
// CPU float64 must agree to rounding, WebGPU float32 to float32 accuracy; gradients are
// also checked against finite differences. WebGPU cases skip without an adapter (and fail
// with AITM_REQUIRE_WEBGPU=1).

import { afterAll, describe, expect, it } from 'vitest';
import * as T from '@aitm/tensor';
import { AttentionLayer, aitmLoss, aitmLossReference } from '../src/node.js';

const gpu = await T.tryInitWebGpu();
afterAll(() => T.disposeWebGpu());

async function values(t: T.Tensor | null | undefined): Promise<number[]> {
  return t ? Array.from(await t.data()) : [];
}

function expectClose(a: readonly number[], b: readonly number[], tol: number): void {
  expect(a.length).toBe(b.length);
  a.forEach((v, i) => expect(Math.abs(v - b[i]!)).toBeLessThan(tol * (1 + Math.abs(b[i]!))));
}

/** Probabilities with ties, exact 0 and 1 (log clamped at -100) and later > earlier, for 3 tasks. */
function lossProblem(backend: T.BackendName, dtype: T.DType) {
  const g = new T.Generator(9);
  const raw = T.rand([37, 3], { dtype: 'float64', generator: g }).dataSync();
  raw[0] = 0; raw[1] = 1; raw[2] = 1; // p = 0 with y below, and a tie between tasks 1 and 2
  raw[4] = raw[3]!; // tie between tasks 0 and 1
  const labels = T.cast(T.randint(0, 2, [37, 3], { generator: g }), 'float64').dataSync();
  labels[0] = 1; labels[1] = 0;
  const on = { dtype, backend };
  return { p: T.tensor(raw, { shape: [37, 3], ...on, requiresGrad: true }), y: T.tensor(labels, { shape: [37, 3], ...on }) };
}

async function lossRun(backend: T.BackendName, dtype: T.DType, fused: boolean, alpha: number): Promise<number[][]> {
  const { p, y } = lossProblem(backend, dtype);
  const total = (fused ? aitmLoss(p, y, alpha) : aitmLossReference(p, y, alpha)).total;
  T.mul(total, 1.5).backward();
  return [await values(total), await values(p.grad)];
}

describe('fused aitmLoss vs the composed reference', () => {
  for (const alpha of [0.6, 0]) {
    it(`CPU float64, alpha ${alpha}: loss and dL/dp equal`, async () => {
      const [a, b] = [await lossRun('cpu', 'float64', true, alpha), await lossRun('cpu', 'float64', false, alpha)];
      expectClose(a[0]!, b[0]!, 1e-13);
      expectClose(a[1]!, b[1]!, 1e-12);
    });
    it.runIf(gpu)(`WebGPU float32, alpha ${alpha}: against CPU float64`, async () => {
      const [a, b] = [await lossRun('webgpu', 'float32', true, alpha), await lossRun('cpu', 'float64', false, alpha)];
      expectClose(a[0]!, b[0]!, 1e-5);
      // dL/dp at p = 0 or 1 is (p - y) / 1e-12: compare it relatively.
      expectClose(a[1]!, b[1]!, 1e-4);
    });
  }

  it('gradient matches finite differences away from ties and the clamp', () => {
    const g = new T.Generator(4);
    const p = T.add(T.mul(T.rand([6, 3], { dtype: 'float64', generator: g }), 0.8), 0.1).requireGrad();
    const y = T.cast(T.randint(0, 2, [6, 3], { generator: g }), 'float64');
    const r = T.gradcheck((q) => aitmLoss(q, y, 0.6).total, [p]);
    expect(r.ok).toBe(true);
  });

  it('parts are still available (composed, on demand) and agree with the total', async () => {
    const { p, y } = lossProblem('cpu', 'float64');
    const l = aitmLoss(p, y, 0.6);
    const want = (await values(T.sum(l.perTask)))[0]! + (await values(l.constraint))[0]!;
    expect((await values(l.total))[0]).toBeCloseTo(want, 12);
  });

  it('names the shapes it refuses', () => {
    expect(() => aitmLoss(T.zeros([4, 2]), T.zeros([4, 3]))).toThrow('aitmLoss: probabilities [4,2] and labels [4,3] must both be [B, nTask]');
  });

  // A NaN probability (a diverged model) gives a NaN loss and NaN gradients on every backend,
  // as the CPU kernel's Math.max does; the WGSL max used to turn it into a finite number.
  for (const backend of ['cpu', 'webgpu', 'wasm'] as const) {
    it.skipIf(backend === 'webgpu' && !gpu)(`a NaN probability gives a NaN loss and gradient on ${backend}`, async () => {
      if (backend === 'wasm') await T.initWasm();
      const dtype = backend === 'cpu' ? 'float64' : 'float32';
      const p = T.tensor([[0.5, NaN], [0.25, 0.125]], { dtype, backend, requiresGrad: true });
      const y = T.tensor([[1, 0], [0, 0]], { dtype, backend });
      const total = aitmLoss(p, y, 0.6).total;
      total.backward();
      expect(Number.isNaN((await values(total))[0])).toBe(true);
      expect((await values(p.grad)).map(Number.isNaN)).toEqual([false, true, false, false]);
    });
  }
});

/** An attention layer of `dim` on `backend`, own/info [13, dim] and an upstream gradient, all seeded. */
async function attentionRun(dim: number, backend: T.BackendName, dtype: T.DType, fused: boolean): Promise<number[][]> {
  const g = new T.Generator(dim);
  await T.setBackend(backend);
  const layer = new AttentionLayer(dim, { dtype, generator: g });
  await T.setBackend('cpu');
  const on = { dtype, backend, generator: g };
  const own = T.mul(T.randn([13, dim], on), 2).requireGrad();
  const info = T.randn([13, dim], on).requireGrad();
  const dy = T.randn([13, dim], on);
  const { output, weights } = fused
    ? (({ output, weights }) => ({ output, weights: weights! }))(layer.attendPair(own, info, { weights: true }))
    : layer.attendComposed(T.stack([own, info], 1));
  output.backward(dy);
  const out = [await values(output), await values(weights), await values(own.grad), await values(info.grad)];
  for (const l of [layer.qLayer, layer.kLayer, layer.vLayer]) out.push(await values(l.weight.grad));
  return out;
}

describe('fused attention vs the composed AttentionLayer', () => {
  // 5: fewer features than threads; 32: AITM's usual; 70: threads own two features each.
  for (const dim of [5, 32, 70]) {
    it(`dim ${dim}, CPU float64: output, weights and all five gradients equal`, async () => {
      const [a, b] = [await attentionRun(dim, 'cpu', 'float64', true), await attentionRun(dim, 'cpu', 'float64', false)];
      a.forEach((part, k) => expectClose(part, b[k]!, 1e-12));
    });
    it.runIf(gpu)(`dim ${dim}, WebGPU float32 vs CPU float64`, async () => {
      const [a, b] = [await attentionRun(dim, 'webgpu', 'float32', true), await attentionRun(dim, 'cpu', 'float64', false)];
      a.forEach((part, k) => expectClose(part, b[k]!, 2e-4));
    });
  }

  it('gradients match finite differences', () => {
    const g = new T.Generator(3);
    const x = (shape: number[]) => T.randn(shape, { dtype: 'float64', generator: g }).requireGrad();
    const layer = new AttentionLayer(4, { dtype: 'float64', generator: g });
    const [own, info] = [x([3, 4]), x([3, 4])];
    const w = [layer.qLayer.weight, layer.kLayer.weight, layer.vLayer.weight];
    const r = T.gradcheck((a, b) => layer.attendPair(a!, b!).output, [own, info, ...w]);
    expect(r.ok).toBe(true);
  });

  it.runIf(gpu)('the softmax core is one kernel each way around one projection matmul', async () => {
    await T.setBackend('webgpu');
    const layer = new AttentionLayer(32);
    const own = T.randn([64, 32]).requireGrad();
    const info = T.randn([64, 32]).requireGrad();
    await T.setBackend('cpu');
    T.gpuCounters(true);
    const out = layer.attendPair(own, info).output;
    // The concatenations of [own; info] and [Wq; Wk; Wv] are buffer copies, not kernels.
    expect(T.gpuCounters(true).dispatchesByOp).toEqual({ bmm: 1, aitmAttention: 1 });
    out.backward(T.onesLike(out));
    const c = T.gpuCounters()!.dispatchesByOp;
    expect(c['aitmAttentionGrad']).toBe(1);
    expect(c['slice'] ?? 0).toBe(0); // the concatenations' gradients are views
  });

  it('a wide layer (dim 300) and the stacked-input API agree with the reference', async () => {
    const layer = new AttentionLayer(300, { dtype: 'float64', generator: new T.Generator(1) });
    const x = T.randn([3, 2, 300], { dtype: 'float64', generator: new T.Generator(2) });
    const [a, b] = [layer.attend(x), layer.attendComposed(x)];
    expectClose(await values(a.output), await values(b.output), 1e-12);
    expectClose(await values(a.weights), await values(b.weights), 1e-12);
  });
});
