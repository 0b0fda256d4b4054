// The aitm kernel library on wasm (SIMD, packages/aitm/wasm/): the attention core and the
// loss against the CPU backend's float64 kernels (the oracle) within float32 accuracy, NaN and
// infinity where the oracle has them, at sizes that leave SIMD tails; the same bits on 1, 2 and
// 3 threads with the work split among them (the workers have the library); a short AITM
// training run the same bits on 1 and 2 threads; and the library defined after the backend
// started (instantiated at first use, on the calling thread) giving the same bits.

import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as T from '@aitm/tensor';
import { Adam, SparseFeature } from '@aitm/nn';
import { AttentionLayer } from '../src/models/attention.js';
import { attentionCore, attentionCoreGradOp, attentionWeightsOf } from '../src/kernels/attention-kernels.js';
import { aitmLossGradOp, fusedAitmLoss } from '../src/kernels/loss-kernels.js';
import { aitmWasm } from '../src/kernels/wasm-library.js';
import { AITM } from '../src/models/aitm.js';

let backend: T.WasmBackend;

beforeAll(async () => {
  backend = await T.initWasm();
}, 60_000);

afterAll(async () => {
  backend.grain = 1 << 15;
  await T.setNumThreads(1);
});

/** Each of `got` within float32 accuracy of `want` (the float64 oracle); NaN and infinities exactly where it has them. */
function expectNear(got: ArrayLike<number>, want: ArrayLike<number>, what: string, rel = 2e-5): void {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const [g, w] = [got[i]!, want[i]!];
    if (!Number.isFinite(w)) expect(Object.is(g, w), `${what} element ${i}: ${g}, the oracle ${w}`).toBe(true);
    else expect(Math.abs(g - w), `${what} element ${i}: ${g}, the oracle ${w}`).toBeLessThanOrEqual(rel * (1 + Math.abs(w)));
  }
}

/** Attention core inputs: QKV [2B, 3d] (scaled by 3, with a NaN and an infinity planted) and dOut [B, d]. */
function attentionInputs(batch: number, dim: number): { q: number[]; dy: number[] } {
  const g = new T.Generator(dim + 1);
  const q = Array.from(T.mul(T.randn([2 * batch, 3 * dim], { generator: g }), 3).dataSync());
  const dy = Array.from(T.randn([batch, dim], { generator: g }).dataSync());
  if (batch > 5) q[5 * 3 * dim] = NaN; // sample 5: NaN in its own query
  if (batch > 7) q[(batch + 7) * 3 * dim + 2 * dim] = Infinity; // sample 7: an infinite info value
  return { q, dy };
}

/** The core's output, weights and gradient on `backend` (float32 inputs; the CPU computes in float64). */
function attentionParts(backend: T.BackendName, { q, dy }: { q: number[]; dy: number[] }, batch: number, dim: number): T.Tensor[] {
  const dtype = backend === 'cpu' ? 'float64' : 'float32';
  const f32 = (v: number[]) => Array.from(Float32Array.from(v)); // the same float32 inputs everywhere
  const qkv = T.tensor(f32(q), { shape: [2 * batch, 3 * dim], backend, dtype });
  const grad = T.runOp(attentionCoreGradOp, [qkv, T.tensor(f32(dy), { shape: [batch, dim], backend, dtype })], null);
  return [attentionCore(qkv), attentionWeightsOf(qkv), grad];
}

/** Loss inputs: p in (0, 1) with ties, a NaN and the ends 0 and 1 planted, labels 0/1; tasks per row. */
function lossInputs(batch: number, tasks: number): { p: number[]; y: number[]; shape: [number, number] } {
  const g = new T.Generator(batch * 7 + tasks);
  const p = Array.from({ length: batch * tasks }, () => Math.fround(g.uniform()));
  const y = Array.from({ length: batch * tasks }, () => (g.uniform() < 0.3 ? 1 : 0));
  if (p.length > 9) {
    p[3] = p[2]!; // a tie: relu's derivative at 0 is 0
    p[6] = 0; // log clamped at -100
    p[9] = 1;
  }
  return { p, y, shape: [batch, tasks] };
}

function lossParts(backend: T.BackendName, { p, y, shape }: ReturnType<typeof lossInputs>, nanAt?: number): T.Tensor[] {
  const dtype = backend === 'cpu' ? 'float64' : 'float32';
  const pv = nanAt === undefined ? p : p.map((v, i) => (i === nanAt ? NaN : v));
  const pt = T.tensor(pv, { shape, backend, dtype });
  const yt = T.tensor(y, { shape, backend, dtype });
  const dy = T.tensor([1.5], { shape: [], backend, dtype });
  return [fusedAitmLoss(pt, yt, 0.6), T.runOp(aitmLossGradOp, [pt, yt, dy], { alpha: 0.6 })];
}

const data = (ts: T.Tensor[]) => ts.map((t) => Array.from(t.dataSync()));
const bits = (ts: T.Tensor[]) => ts.map((t) => Array.from(new Uint32Array(Float32Array.from(t.dataSync()).buffer)));

describe('the attention core on wasm (SIMD)', () => {
  for (const [batch, dim] of [[13, 5], [13, 32], [1, 70], [0, 4], [300, 33]] as const) {
    it(`batch ${batch}, dim ${dim}: output, weights and gradient within float32 accuracy of the float64 CPU kernels`, () => {
      const inputs = attentionInputs(batch, dim);
      const [w, c] = [data(attentionParts('wasm', inputs, batch, dim)), data(attentionParts('cpu', inputs, batch, dim))];
      ['output', 'weights', 'gradient'].forEach((what, k) => expectNear(w[k]!, c[k]!, what));
      if (batch > 7) expect(w[0]!.filter(Number.isNaN).length).toBeGreaterThan(0); // the planted NaN got through
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
    a.forEach((part, k) => expectNear(part, b[k]!, `part ${k}`, 2e-4));
  });
});

describe('the AITM loss on wasm (SIMD gradient)', () => {
  for (const [batch, tasks] of [[37, 2], [16, 1], [21, 3], [9, 5], [1, 2], [2048, 2]] as const) {
    it(`batch ${batch}, ${tasks} task(s): loss and gradient within float32 accuracy of the float64 CPU kernels`, () => {
      const inputs = lossInputs(batch, tasks);
      expectNear(data(lossParts('wasm', inputs))[0]!, data(lossParts('cpu', inputs))[0]!, 'loss', 1e-6);
      expectNear(data(lossParts('wasm', inputs))[1]!, data(lossParts('cpu', inputs))[1]!, 'gradient');
    });
  }

  it('a NaN probability gives NaN where the oracle does, in the SIMD blocks and the tail', () => {
    const inputs = lossInputs(37, 2);
    for (const at of [0, 5, 12, 73]) {
      const [w, c] = [data(lossParts('wasm', inputs, at)), data(lossParts('cpu', inputs, at))];
      expectNear(w[0]!, c[0]!, `loss, NaN at ${at}`);
      expectNear(w[1]!, c[1]!, `gradient, NaN at ${at}`);
    }
  });
});

describe('the aitm kernels on 1, 2 and 3 threads', () => {
  it('give the same bits, split among the threads (the workers have the library)', async () => {
    expect(backend.threads?.has('aitm/attentionRows'), 'the pool has the library').toBe(true);
    const run = () => [...attentionParts('wasm', attentionInputs(301, 33), 301, 33), ...lossParts('wasm', lossInputs(999, 3))];
    backend.grain = 1;
    try {
      await T.setNumThreads(1);
      const one = bits(run());
      for (const n of [2, 3]) {
        await T.setNumThreads(n);
        const before = backend.threads!.splitRuns;
        expect(bits(run())).toEqual(one);
        expect(backend.threads!.splitRuns - before).toBeGreaterThanOrEqual(3); // attention, weights, gradient, loss gradient
      }
    } finally {
      backend.grain = 1 << 15;
      await T.setNumThreads(1);
    }
  }, 60_000);

  it('an AITM trained for 5 steps ends with the same bits on 1 and 2 threads', async () => {
    const train = () => {
      const g = new T.Generator(3);
      const features = [0, 1, 2].map((i) => new SparseFeature({ name: `f${i}`, vocabSize: 40, embedDim: 8 }));
      const model = new AITM(features, 2, { dims: [32, 16], dropout: 0 }, [{ dims: [16] }, { dims: [16] }], { generator: g });
      const opt = new Adam(model.parameters(), { lr: 0.01 });
      const inputs = Object.fromEntries(features.map((f) => [f.name, T.randint(0, 40, [256], { generator: g, backend: 'wasm' })]));
      const y = T.cast(T.randint(0, 2, [256, 2], { generator: g, backend: 'wasm' }), 'float32');
      for (let s = 0; s < 5; s++) {
        opt.zeroGrad();
        fusedAitmLoss(model.forward(inputs), y, 0.6).backward();
        opt.step();
      }
      return model.parameters();
    };
    await T.setBackend('wasm');
    backend.grain = 1;
    try {
      await T.setNumThreads(1);
      const one = bits(train());
      await T.setNumThreads(2);
      const before = backend.threads!.splitRuns;
      expect(bits(train())).toEqual(one);
      expect(backend.threads!.splitRuns).toBeGreaterThan(before);
    } finally {
      backend.grain = 1 << 15;
      await T.setNumThreads(1);
      await T.setBackend('cpu');
    }
  }, 120_000);
});

describe('the aitm library defined after the backend started', () => {
  it('is instantiated at first use, runs on the calling thread, and gives the same bits', () => {
    // A fresh process: the backend starts first, then the aitm package is imported.
    const here = dirname(fileURLToPath(import.meta.url));
    const url = (p: string) => pathToFileURL(join(here, p)).href;
    const script = `
      const T = await import(${JSON.stringify(url('../../tensor/dist/index.js'))});
      const b = await T.initWasm();
      await T.setNumThreads(2);
      const { attentionCore } = await import(${JSON.stringify(url('../dist/kernels/attention-kernels.js'))});
      const { aitmWasm } = await import(${JSON.stringify(url('../dist/kernels/wasm-library.js'))});
      const q = T.tensor(Array.from({ length: 6 * 9 * 3 }, (_, i) => Math.sin(i)), { shape: [18, 9], backend: 'wasm' });
      const out = Array.from(new Uint32Array(Float32Array.from(attentionCore(q).dataSync()).buffer));
      console.log(JSON.stringify({ pooled: b.threads.has('aitm/attentionRows'), loaded: typeof b.kernelsOf(aitmWasm).attentionRows, out }));
      process.exit(0);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: here, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout.trim().split('\n').pop()!) as { pooled: boolean; loaded: string; out: number[] };
    expect(got.pooled).toBe(false);
    expect(got.loaded).toBe('function');
    const q = T.tensor(Array.from({ length: 6 * 9 * 3 }, (_, i) => Math.sin(i)), { shape: [18, 9], backend: 'wasm' });
    expect(got.out).toEqual(bits([attentionCore(q)])[0]);
    expect(aitmWasm.name).toBe('aitm');
  }, 90_000);
});

describe('defineWasmKernels refuses', () => {
  const binaries = () => ({ ...aitmWasm.binaries });
  it('a second library of the same name', () => {
    expect(() => T.defineWasmKernels('aitm', binaries())).toThrow('defineWasmKernels: a library named aitm is already defined');
  });
  it('a library whose tables overlap another’s', () => {
    const [from, to] = aitmWasm.binaries.STATIC_BYTES;
    expect(() => T.defineWasmKernels('other', binaries())).toThrow(`defineWasmKernels(other): its tables (bytes ${from}..${to}) overlap those of aitm`);
  });
  it('tables outside the libraries’ bytes, and a name that is not a word', () => {
    expect(() => T.defineWasmKernels('low', { ...binaries(), STATIC_BYTES: [1024, 7424] })).toThrow('its tables lie at bytes 1024..7424, expected within 32768..65536');
    expect(() => T.defineWasmKernels('high', { ...binaries(), STATIC_BYTES: [60000, 70000] })).toThrow('expected within 32768..65536');
    expect(() => T.defineWasmKernels('two words', binaries())).toThrow('defineWasmKernels: the name must be a word');
  });
});
