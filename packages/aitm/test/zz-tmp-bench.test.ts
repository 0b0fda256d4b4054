import { it } from 'vitest';
import * as T from '@aitm/tensor';

async function time(name: string, fn: () => T.Tensor, sync: T.Tensor) {
  for (let rep = 0; rep < 2; rep++) {
    const t0 = performance.now();
    for (let i = 0; i < 10; i++) T.tidy(() => { const y = fn(); T.sum(y).backward(); });
    await sync.grad!.data();
    if (rep === 1) console.log(name, ((performance.now() - t0) / 10).toFixed(1), 'ms/step');
  }
}

it('bench', async () => {
  await T.initWebGpu();
  await T.setBackend('webgpu');
  const B = 2048, F = 10, H = 2, A = 4;
  const x = T.randn([B, F, 5], { requiresGrad: true });
  const w = T.randn([5, H * A], { requiresGrad: true });
  const q = T.randn([B * H, F, A], { requiresGrad: true });
  const k = T.randn([B * H, F, A], { requiresGrad: true });
  const att = T.randn([B * H, F, F], { requiresGrad: true });
  const y4 = T.randn([B, F, H, A], { requiresGrad: true });
  await time('matmul x@W', () => T.matmul(x, w), w);
  await time('permute', () => T.permute(y4, [0, 2, 1, 3]), y4);
  await time('bmm qk^T', () => T.bmm(q, k, false, true), q);
  await time('bmm att v', () => T.bmm(att, k), att);
  await time('softmax', () => T.softmax(att, -1), att);
  await time('relu', () => T.relu(att), att);
  await T.setBackend('cpu');
  T.disposeWebGpu();
}, 300_000);
