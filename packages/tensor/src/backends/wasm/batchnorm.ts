// The wasm backend's batch-norm kernels (SIMD in packages/tensor/wasm/batchnorm.ts): the
// statistics, the training forward with its in-place running-statistics update, the
// backward into one flat block, and eval mode. Split among the threads so that no sum depends
// on the thread count: the column statistics and sums by ranges of columns (each column summed
// over all rows, in row order, by one thread), the per-element passes by rows.

import type { Kernel } from '../../backend.js';
import type { BatchNormAttrs, BatchNormBackwardAttrs, BatchNormForwardAttrs } from '../../attrs.js';
import type { WasmBackend, WasmBuffer } from './backend.js';

/** Runs `fn` with a scratch block of `floats` float32s, freed after. */
function withScratch<T>(backend: WasmBackend, floats: number, fn: (ptr: number) => T): T {
  const s = backend.alloc(floats, 'float32');
  try {
    return fn(s.ptr);
  } finally {
    backend.free(s);
  }
}

export const wasmBnStats: Kernel<'wasm', null> = (backend, [x], out) => {
  const [n, c] = x!.shape as [number, number];
  const o = backend.alloc(out.size, out.dtype);
  backend.parallel('bnStats', [x!.data.ptr, n, c, o.ptr, o.ptr + 4 * c, 0, 0], 5, c, backend.minChunk(2 * n));
  return o;
};

export const wasmBnForward: Kernel<'wasm', BatchNormForwardAttrs> = (backend, [x, w, b, rm, rv, count], out, { eps, act, momentum }) => {
  const [n, c] = x!.shape as [number, number];
  const y: WasmBuffer = backend.alloc(out.size, out.dtype);
  withScratch(backend, 3 * c, (s) => {
    const mean = s;
    const vari = s + 4 * c;
    backend.parallel('bnStats', [x!.data.ptr, n, c, mean, vari, 0, 0], 5, c, backend.minChunk(2 * n));
    if (momentum !== null) {
      // PyTorch's update: running = (1 - m) running + m batch, the variance unbiased.
      const f = new Float32Array(backend.wasmMemory.buffer);
      const runMean = backend.typed(rm!.data, 'float32');
      const runVar = backend.typed(rv!.data, 'float32');
      for (let j = 0; j < c; j++) {
        runMean[j] = (1 - momentum) * runMean[j]! + momentum * f[mean / 4 + j]!;
        runVar[j] = (1 - momentum) * runVar[j]! + (momentum * f[vari / 4 + j]! * n) / (n - 1);
      }
      backend.typed(count!.data, 'int32')[0]! += 1;
    }
    const scale = s + 8 * c;
    backend.kernels.bnScale(w!.data.ptr, vari, eps, scale, c);
    backend.parallel('bnApply', [x!.data.ptr, mean, scale, b!.data.ptr, y.ptr, c, act === 'relu' ? 1 : 0, 0, 0], 7, n, backend.minChunk(c));
  });
  return y;
};

export const wasmBnBackward: Kernel<'wasm', BatchNormBackwardAttrs> = (backend, [x, dy, w, y], out, { eps, act, dw, db }) => {
  const [n, c] = x!.shape as [number, number];
  const o = backend.alloc(out.size, out.dtype);
  const yOut = act === 'relu' ? y!.data.ptr : 0;
  withScratch(backend, 3 * c, (s) => {
    // Pass 1 by columns (statistics, dw, db); pass 2, dx, by rows.
    backend.parallel('bnBackward', [x!.data.ptr, dy!.data.ptr, w!.data.ptr, yOut, o.ptr, n, c, eps, dw, db, s, 0, 0], 11, c, backend.minChunk(4 * n));
    backend.parallel('bnBackwardDx', [x!.data.ptr, dy!.data.ptr, yOut, o.ptr, n, c, dw, db, s, 0, 0], 9, n, backend.minChunk(c));
  });
  return o;
};

export const wasmBnEval: Kernel<'wasm', BatchNormAttrs> = (backend, [x, rm, rv, w, b], out, { eps, act }) => {
  const [n, c] = x!.shape as [number, number];
  const y = backend.alloc(out.size, out.dtype);
  withScratch(backend, c, (s) => {
    backend.kernels.bnScale(w!.data.ptr, rv!.data.ptr, eps, s, c);
    backend.parallel('bnApply', [x!.data.ptr, rm!.data.ptr, s, b!.data.ptr, y.ptr, c, act === 'relu' ? 1 : 0, 0, 0], 7, n, backend.minChunk(c));
  });
  return y;
};
