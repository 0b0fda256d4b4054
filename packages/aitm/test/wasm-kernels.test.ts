// The attention core's wasm kernels (plain loops on the wasm memory, not the reference run
// on views of it): bit for bit the CPU reference's float32 results, NaN included, and the
// whole fused layer on wasm within float32 accuracy of the composed layer on the CPU in float64.

import { beforeAll, describe, expect, it } from 'vitest';
import * as T from '@aitm/tensor';
import { AttentionLayer } from '../src/models/attention.js';
import { attentionCore, attentionCoreGradOp, attentionWeightsOf } from '../src/kernels/attention-kernels.js';

beforeAll(async () => {
  await T.initWasm();
});

describe('the attention core on wasm', () => {
  for (const [batch, dim] of [[13, 5], [13, 32], [1, 70], [0, 4]] as const) {
    it(`batch ${batch}, dim ${dim}: output, weights and gradient equal the CPU's float32 bit for bit`, () => {
      const g = new T.Generator(dim + 1);
      const q = Array.from(T.mul(T.randn([2 * batch, 3 * dim], { generator: g }), 3).dataSync());
      const dy = Array.from(T.randn([batch, dim], { generator: g }).dataSync());
      if (batch > 5) q[5 * 3 * dim] = NaN; // sample 5: NaN in its own query
      if (batch > 7) q[(batch + 7) * 3 * dim + 2 * dim] = Infinity; // sample 7: an infinite info value
      const run = (backend: T.BackendName) => {
        const qkv = T.tensor(q, { shape: [2 * batch, 3 * dim], backend });
        const grad = T.runOp(attentionCoreGradOp, [qkv, T.tensor(dy, { shape: [batch, dim], backend })], null);
        return [attentionCore(qkv), attentionWeightsOf(qkv), grad].map((t) => Array.from(t.dataSync()));
      };
      const [w, c] = [run('wasm'), run('cpu')];
      w.forEach((part, k) => {
        expect(part.length).toBe(c[k]!.length);
        part.forEach((v, i) => expect(Object.is(v, c[k]![i]), `part ${k} element ${i}: ${v} vs ${c[k]![i]}`).toBe(true));
      });
    });
  }

  it('the fused layer on wasm matches the composed layer on the CPU in float64', async () => {
    const run = async (backend: T.BackendName, dtype: T.DType, fused: boolean) => {
      const g = new T.Generator(32);
      await T.setBackend(backend);
      const layer = new AttentionLayer(32, { dtype, generator: g });
      await T.setBackend('cpu');
      const on = { dtype, backend, generator: g };
      const own = T.mul(T.randn([13, 32], on), 2).requireGrad();
      const info = T.randn([13, 32], on).requireGrad();
      const dy = T.randn([13, 32], on);
      const { output, weights } = fused
        ? (({ output, weights }) => ({ output, weights: weights! }))(layer.attendPair(own, info, { weights: true }))
        : layer.attendComposed(T.stack([own, info], 1));
      output.backward(dy);
      const parts = [output, weights, own.grad!, info.grad!, layer.qLayer.weight.grad!, layer.kLayer.weight.grad!, layer.vLayer.weight.grad!];
      return parts.map((t) => Array.from(t.dataSync()));
    };
    const [a, b] = [await run('wasm', 'float32', true), await run('cpu', 'float64', false)];
    a.forEach((part, k) => {
      expect(part.length).toBe(b[k]!.length);
      part.forEach((v, i) => expect(Math.abs(v - b[k]![i]!)).toBeLessThan(2e-4 * (1 + Math.abs(b[k]![i]!))));
    });
  });
});
