// The wasm backend's threads: every SIMD kernel gives the same bits on 1, 2 and 3 threads
// (products split by rows, column statistics and sums by columns), so does a 20-step training
// loop; the memory grows under running workers; a script that never disposes still exits;
// thread counts are checked. No timing is asserted.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as T from '../src/index.js';
import type { WasmBackend } from '../src/backends/wasm/backend.js';
import { DEFAULT_SPIN_US, envThreads, spinMicros, splitRange } from '../src/backends/wasm/threads.js';

let backend: WasmBackend;

beforeAll(async () => {
  backend = await T.initWasm();
}, 60_000);

afterAll(async () => {
  backend.grain = 1 << 15;
  await T.setNumThreads(1);
});

/** Deterministic values in [-1, 1) (a Generator, so the test needs no fixture). */
function values(n: number, seed: number): number[] {
  const g = new T.Generator(seed);
  return Array.from({ length: n }, () => 2 * g.uniform() - 1);
}

const wasm = (v: number[], shape: number[], requiresGrad = false) => T.tensor(v, { shape, backend: 'wasm', requiresGrad });

/** The bits of every float32 `fn` returns, one array per tensor. */
async function bits(fn: () => T.Tensor[]): Promise<Uint32Array[]> {
  const out = fn();
  const result = await Promise.all(out.map(async (t) => new Uint32Array(new Float32Array(await t.data()).buffer)));
  for (const t of out) t.dispose();
  return result;
}

/** `fn`'s results on 1 thread and on `n` threads, and how many kernels ran split on `n`. */
async function onThreads(n: number, fn: () => T.Tensor[]): Promise<{ one: Uint32Array[]; many: Uint32Array[]; split: number }> {
  await T.setNumThreads(1);
  const one = await bits(fn);
  await T.setNumThreads(n);
  expect(T.wasmThreads()!.threads).toBe(n);
  const before = backend.threads!.splitRuns;
  const many = await bits(fn);
  return { one, many, split: backend.threads!.splitRuns - before };
}

function expectSameBits(a: Uint32Array[], b: Uint32Array[]): void {
  expect(b.length).toBe(a.length);
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    expect(y.length).toBe(x.length);
    let diff = -1;
    for (let j = 0; j < x.length; j++) if (x[j] !== y[j]) { diff = j; break; }
    expect(diff, `output ${i} differs at element ${diff}`).toBe(-1);
  }
}

describe('wasm threads', () => {
  it('are on in Node: the memory is shared and the default is the core count', () => {
    const info = T.wasmThreads()!;
    expect(info.shared).toBe(true);
    expect(info.reason).toBeNull();
    expect(info.requested).toBeGreaterThanOrEqual(1);
  });

  it('split ranges cover [0, total) in order, inner bounds aligned', () => {
    expect(splitRange(10, 3, 1)).toEqual([0, 3, 6, 10]);
    expect(splitRange(37, 3, 4)).toEqual([0, 12, 24, 37]);
    expect(splitRange(5, 2, 4)).toEqual([0, 0, 5]);
  });

  // Splitting even tiny kernels (grain 1) puts range bounds everywhere: around the 4-row and
  // 8-column blocks and inside the SIMD remainders.
  for (const grain of [1, 1 << 15]) {
    describe(`give the same bits on 1, 2 and 3 threads (grain ${grain})`, () => {
      beforeAll(() => {
        backend.grain = grain;
      });
      afterAll(() => {
        backend.grain = 1 << 15;
      });
      const big = grain > 1;
      const M = big ? 517 : 37;

      for (const n of [2, 3]) {
        it(`bmm, all transposes, on ${n} threads`, async () => {
          // (Products with at most 128 rows of C split their columns, the others their rows.)
          const sizes: [number, number, number, number][] = big
            ? [[1, M, 131, 67], [2, 203, 45, 301], [1, 32, 2048, 50]]
            : [[1, 1, 1, 1], [3, 7, 13, 17], [1, 37, 29, 19], [2, 5, 1, 9], [1, 9, 0, 10], [1, 130, 9, 20]];
          for (const [b, m, k, nn] of sizes) {
            for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
              const av = values(b * m * k, m + k);
              const bv = values(b * k * nn, k + nn);
              const r = await onThreads(n, () => [T.bmm(wasm(av, ta ? [b, k, m] : [b, m, k]), wasm(bv, tb ? [b, nn, k] : [b, k, nn]), ta, tb)]);
              expectSameBits(r.one, r.many);
              if (m * nn * k > 0 && m >= 2) expect(r.split).toBeGreaterThan(0);
            }
          }
        }, 120_000);

        it(`linear (bias, each activation; 13 outputs and 1) forward and backward on ${n} threads`, async () => {
          const K = 23;
          for (const [N, act] of [13, 1].flatMap((N) => (['none', 'relu', 'sigmoid'] as const).map((act) => [N, act] as const))) {
            const xv = values(M * K, 1);
            const wv = values(N * K, 2);
            const bv = values(N, 3);
            const r = await onThreads(n, () => {
              const x = wasm(xv, [M, K], true);
              const w = wasm(wv, [N, K], true);
              const b = wasm(bv, [N], true);
              const y = T.linear(x, w, b, act);
              T.sum(T.mul(y, y)).backward();
              const out = [y, x.grad!, w.grad!, b.grad!];
              for (const t of [x, w, b]) t.grad = null;
              return out;
            });
            expectSameBits(r.one, r.many);
            // (One output column at the default grain is too little work to split.)
            if (N > 1 || !big) expect(r.split).toBeGreaterThan(0);
          }
        }, 120_000);

        it(`batchNorm (training, relu, running statistics), its backward, eval and batchStats on ${n} threads`, async () => {
          const C = big ? 67 : 11;
          const xv = values(M * C, 4).map((v, i) => v * (1 + (i % C)) + (i % 3));
          const wv = values(C, 5);
          const bv = values(C, 6);
          for (const act of ['none', 'relu'] as const) {
            const r = await onThreads(n, () => {
              const x = wasm(xv, [M, C], true);
              const w = wasm(wv, [C], true);
              const b = wasm(bv, [C], true);
              const running = { mean: T.zeros([C], { backend: 'wasm' }), variance: T.ones([C], { backend: 'wasm' }), count: T.zeros([], { backend: 'wasm', dtype: 'int32' }), momentum: 0.1 };
              const y = T.batchNorm(x, w, b, 1e-5, act, running);
              T.sum(T.mul(y, wasm(values(M * C, 7), [M, C]))).backward();
              const ev = T.batchNormEval(x, running.mean, running.variance, w, b, 1e-5, act);
              const stats = T.batchStats(x);
              const out = [y, x.grad!, w.grad!, b.grad!, running.mean, running.variance, ev, stats];
              for (const t of [x, w, b]) t.grad = null;
              running.count.dispose();
              return out;
            });
            expectSameBits(r.one, r.many);
            expect(r.split).toBeGreaterThan(0);
          }
        }, 120_000);

        it(`elementwise binary ops (whole, row, scalar operands, NaN and inf) on ${n} threads`, async () => {
          const C = big ? 203 : 7;
          const av = values(M * C, 8).map((v, i) => (i % 17 === 0 ? NaN : i % 19 === 0 ? Infinity : v));
          const bv = values(M * C, 9).map((v, i) => (i % 23 === 0 ? -0 : v));
          const rv = values(C, 10);
          const r = await onThreads(n, () => {
            const a = wasm(av, [M, C]);
            const b = wasm(bv, [M, C]);
            const row = wasm(rv, [C]);
            const s = wasm([0.5], []);
            return [T.add(a, b), T.sub(a, row), T.mul(row, b), T.div(a, s), T.maximum(a, b), T.minimum(b, row)];
          });
          expectSameBits(r.one, r.many);
          expect(r.split).toBeGreaterThan(0);
        }, 120_000);
      }
    });
  }

  it('train an MLP (linear, batchNorm, relu, mean, backward, adamStep_) for 20 steps to the same bits on 1, 2 and 3 threads', async () => {
    const N = 203;
    const D = 19;
    const H = 37;
    const xv = values(N * D, 11);
    const tv = values(N, 12);
    const train = (): T.Tensor[] => {
      const params = [
        wasm(values(H * D, 13).map((v) => v * 0.3), [H, D], true),
        wasm(values(H, 14), [H], true),
        T.ones([H], { backend: 'wasm', requiresGrad: true }),
        T.zeros([H], { backend: 'wasm', requiresGrad: true }),
        wasm(values(H, 15).map((v) => v * 0.3), [1, H], true),
        wasm([0.1], [1], true),
      ];
      const [w1, b1, gamma, beta, w2, b2] = params as [T.Tensor, T.Tensor, T.Tensor, T.Tensor, T.Tensor, T.Tensor];
      const moments = params.map((p) => [T.zeros(p.shape, { backend: 'wasm' }), T.zeros(p.shape, { backend: 'wasm' })] as const);
      const x = wasm(xv, [N, D]);
      const target = wasm(tv, [N, 1]);
      for (let step = 1; step <= 20; step++) {
        T.tidy(() => {
          const h = T.batchNorm(T.linear(x, w1, b1), gamma, beta, 1e-5, 'none');
          const y = T.linear(T.relu(h), w2, b2);
          const d = T.sub(y, target);
          T.mean(T.mul(d, d)).backward();
        });
        params.forEach((p, i) => {
          T.adamStep_(p, p.grad!, moments[i]![0], moments[i]![1], { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, decoupled: true, step });
          p.grad!.dispose();
          p.grad = null;
        });
      }
      for (const [m, v] of moments) {
        m.dispose();
        v.dispose();
      }
      x.dispose();
      target.dispose();
      return params;
    };
    backend.grain = 1;
    try {
      await T.setNumThreads(1);
      const one = await bits(train);
      for (const n of [2, 3]) {
        await T.setNumThreads(n);
        const before = backend.threads!.splitRuns;
        expectSameBits(one, await bits(train));
        expect(backend.threads!.splitRuns).toBeGreaterThan(before);
      }
    } finally {
      backend.grain = 1 << 15;
    }
  }, 180_000);

  it('run on memory grown while the workers exist', async () => {
    await T.setNumThreads(2);
    const grain = backend.grain;
    backend.grain = 1;
    try {
      const before = backend.pool().memoryBytes;
      const big = T.zeros([before / 4 + 1024], { backend: 'wasm' }); // more than the whole memory holds now
      expect(backend.pool().memoryBytes).toBeGreaterThan(before);
      const av = values(61 * 29, 16);
      const bv = values(29 * 43, 17);
      const run = () => [T.matmul(wasm(av, [61, 29]), wasm(bv, [29, 43]))];
      const splitBefore = backend.threads!.splitRuns;
      const after = await bits(run); // allocated past the old end of memory
      expect(backend.threads!.splitRuns).toBeGreaterThan(splitBefore);
      big.dispose();
      await T.setNumThreads(1);
      expectSameBits(await bits(run), after);
    } finally {
      backend.grain = grain;
    }
  }, 60_000);

  it('AITM_SPIN_US sets how long a waiting thread spins (default 200 us), refusing what is not whole microseconds', () => {
    const saved = process.env.AITM_SPIN_US;
    try {
      delete process.env.AITM_SPIN_US;
      expect(spinMicros()).toBe(DEFAULT_SPIN_US);
      expect(DEFAULT_SPIN_US).toBe(200);
      process.env.AITM_SPIN_US = '0';
      expect(spinMicros()).toBe(0);
      for (const bad of ['abc', '-1', '1.5', '2000000']) {
        process.env.AITM_SPIN_US = bad;
        expect(() => spinMicros()).toThrow(`AITM_SPIN_US=${bad}: expected a whole number of microseconds from 0 to 1000000`);
      }
    } finally {
      if (saved === undefined) delete process.env.AITM_SPIN_US;
      else process.env.AITM_SPIN_US = saved;
    }
  });

  it('refuse thread counts that are not whole numbers from 1 to 64, naming the value', () => {
    expect(() => T.setNumThreads(0)).toThrow(/setNumThreads: the thread count must be a whole number from 1 to 64, got 0/);
    expect(() => T.setNumThreads(1.5)).toThrow(/got 1\.5/);
    expect(() => T.setNumThreads(65)).toThrow(/got 65/);
    const saved = process.env.AITM_THREADS;
    try {
      process.env.AITM_THREADS = 'many';
      expect(() => envThreads()).toThrow(/AITM_THREADS=many: the thread count must be a whole number/);
      process.env.AITM_THREADS = '3';
      expect(envThreads()).toBe(3);
      process.env.AITM_THREADS = '';
      expect(envThreads()).toBeUndefined();
    } finally {
      if (saved === undefined) delete process.env.AITM_THREADS;
      else process.env.AITM_THREADS = saved;
    }
  });
});

describe('a process with wasm threads', () => {
  const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'index.js');

  it.skipIf(!existsSync(dist))('exits after its work without disposing anything (the built package, AITM_THREADS=3)', () => {
    const script = `
      import * as T from ${JSON.stringify(dist)};
      await T.setBackend('wasm');
      const a = T.randn([300, 200]);
      const b = T.randn([200, 100]);
      const c = T.matmul(a, b);
      const info = T.wasmThreads();
      console.log(JSON.stringify({ threads: info.threads, split: T.wasmBackend().threads.splitRuns, n: c.dataSync().length }));
    `;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, AITM_THREADS: '3' }, encoding: 'utf8', timeout: 60_000 });
    expect(r.error, String(r.error)).toBeUndefined();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout.trim())).toEqual({ threads: 3, split: 1, n: 30000 });
  }, 90_000);

  it.skipIf(!existsSync(dist))('runs one thread without SharedArrayBuffer, says why in wasmThreads(), and in one line when threads were asked for', () => {
    const script = `
      import * as T from ${JSON.stringify(dist)};
      await T.setBackend('wasm');
      const c = T.matmul(T.randn([300, 200]), T.randn([200, 100]));
      console.log(JSON.stringify({ ...T.wasmThreads(), n: c.dataSync().length }));
    `;
    const run = (env: Record<string, string>) =>
      spawnSync(process.execPath, ['--no-harmony-sharedarraybuffer', '--input-type=module', '-e', script], { env: { ...process.env, AITM_THREADS: '', ...env }, encoding: 'utf8', timeout: 60_000 });
    const asked = run({ AITM_THREADS: '2' });
    expect(asked.status, asked.stderr).toBe(0);
    expect(JSON.parse(asked.stdout.trim())).toEqual({ threads: 1, requested: 2, shared: false, reason: 'this host has no SharedArrayBuffer', n: 30000 });
    expect(asked.stderr).toBe('wasm backend: 1 thread, not 2: this host has no SharedArrayBuffer\n');
    const byDefault = run({});
    expect(byDefault.status, byDefault.stderr).toBe(0);
    expect(JSON.parse(byDefault.stdout.trim())).toMatchObject({ threads: 1, shared: false, reason: 'this host has no SharedArrayBuffer' });
    expect(byDefault.stderr).toBe('');
  }, 90_000);
});
