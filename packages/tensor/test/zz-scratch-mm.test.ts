import { it } from 'vitest';
import * as T from '../src/index.js';
import { setMatmulKernel } from '../src/backends/webgpu/matmul.js';
import { gpuAvailable } from './gpu.js';
await gpuAvailable();
it('scratch', async () => {
  setMatmulKernel('register');
  const [batch, m, n, k] = [2, 33, 65, 17];
  for (const tA of [false, true]) for (const tB of [false, true]) {
    const t: number[] = [performance.now()];
    const aShape = tA ? [batch, k, m] : [batch, m, k];
    const bShape = tB ? [batch, n, k] : [batch, k, n];
    const aData = new Float64Array(batch * m * k).fill(0.5), bData = new Float64Array(batch * k * n).fill(0.25);
    const a64 = T.tensor(aData, { shape: aShape, dtype: 'float64', backend: 'cpu' });
    const b64 = T.tensor(bData, { shape: bShape, dtype: 'float64', backend: 'cpu' });
    const want = T.bmm(a64, b64, tA, tB); t.push(performance.now());
    const scale = T.bmm(T.abs(a64), T.abs(b64), tA, tB); t.push(performance.now());
    const a32 = T.tensor(aData, { shape: aShape, dtype: 'float32', backend: 'webgpu' });
    const b32 = T.tensor(bData, { shape: bShape, dtype: 'float32', backend: 'webgpu' }); t.push(performance.now());
    const got = T.bmm(a32, b32, tA, tB); t.push(performance.now());
    await got.data(); t.push(performance.now());
    await want.data(); await scale.data(); t.push(performance.now());
    console.log(tA, tB, t.slice(1).map((x, i) => (x - t[i]!).toFixed(1)).join(' '));
  }
  T.disposeWebGpu();
}, 600000);
