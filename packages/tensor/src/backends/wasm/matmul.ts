// The wasm backend's bmm and fused linear forward: B (each batch's) is packed into panels of
// 8 columns in a scratch block (panels split among the threads), then the SIMD microkernel
// (packages/tensor/wasm/gemm.ts) computes C, split among the threads by rows (or, where C has
// few rows, by panels of columns): each output is one sum over k in one thread, so the thread
// count never changes a bit.
// Transposed operands are read through strides, never copied. A product with one output
// column (a one-unit head) and a row-major A runs as dot products instead (gemvRows).

import type { Kernel } from '../../backend.js';
import type { BmmAttrs, LinearAttrs } from '../../attrs.js';
import type { WasmBackend, WasmBuffer } from './backend.js';

/** At most this many rows of C, a product without epilogue splits its columns among the threads. */
const FEW_ROWS = 128;

/** Strides, in elements, of element (row, col) of a matrix stored [rows, cols] or, transposed, [cols, rows]. */
function strides(rows: number, cols: number, transposed: boolean): [number, number] {
  return transposed ? [1, rows] : [cols, 1];
}

/**
 * C [M, N] (at c) = A @ B for one batch: A's element (i, k) at a + 4 (i sam + k sak), B's
 * element (k, n) at b + 4 (k sbk + n sbn); then, with `epilogue`, bias (address, 0: none)
 * and the activation code on each row.
 */
function gemm(
  backend: WasmBackend, a: number, sam: number, sak: number, b: number, sbk: number, sbn: number, c: number, M: number, K: number, N: number,
  epilogue?: { bias: number; act: number },
): void {
  if (M === 0 || N === 0) return;
  if (N === 1 && sak === 1) {
    // One output column and row-major A (a one-unit head): dot products, SIMD along k.
    const e = epilogue ?? { bias: 0, act: 0 };
    backend.parallel('gemvRows', [a, sam, b, sbk, c, 0, 0, K, e.bias, e.act], 5, M, backend.minChunk(K));
    return;
  }
  const panels = Math.ceil(N / 8);
  const scratch = backend.alloc(8 * K * panels, 'float32');
  try {
    // Packing a large B (a weight gradient's [rows, out] activation) costs as much as a share
    // of the product, so its panels are split among the threads too.
    backend.parallel('packB', [b, scratch.ptr, K, N, sbk, sbn, 0, 0], 6, panels, backend.minChunk(8 * K));
    const chunk = backend.minChunk(K * N + N);
    // Few rows (a weight gradient: M is a layer's width, K the batch): split the columns, so
    // that each thread streams only its panels of B (by rows, each would stream all of B).
    // Measured at 2 threads: 1.1-1.5x the row split on the step's weight gradients.
    if (epilogue === undefined && M <= FEW_ROWS && panels >= 2) backend.parallel('gemmPanels', [a, sam, sak, scratch.ptr, c, M, K, N, 0, 0], 8, panels, backend.minChunk(8 * K * M));
    else if (epilogue === undefined) backend.parallel('gemmRows', [a, sam, sak, scratch.ptr, c, 0, 0, K, N], 5, M, chunk);
    else backend.parallel('linearRows', [a, sam, sak, scratch.ptr, c, 0, 0, K, N, epilogue.bias, epilogue.act], 5, M, chunk);
  } finally {
    backend.free(scratch);
  }
}

export const wasmBmm: Kernel<'wasm', BmmAttrs> = (backend, [a, b], out, { transA, transB }) => {
  const [B, M, N] = out.shape as [number, number, number];
  const K = transA ? a!.shape[1]! : a!.shape[2]!;
  const c = backend.alloc(out.size, out.dtype);
  const [sam, sak] = strides(M, K, transA);
  const [sbk, sbn] = strides(K, N, transB);
  for (let z = 0; z < B; z++) {
    gemm(backend, a!.data.ptr + 4 * z * M * K, sam, sak, b!.data.ptr + 4 * z * K * N, sbk, sbn, c.ptr + 4 * z * M * N, M, K, N);
  }
  return c;
};

const ACT = { none: 0, relu: 1, sigmoid: 2 } as const;

/** act(x W^T + b) for x [N, in], W [out, in], b [out] or absent. */
export const wasmLinear: Kernel<'wasm', LinearAttrs> = (backend, [x, w, bias], out, { act }) => {
  const [M, N] = out.shape as [number, number];
  const K = x!.shape[1]!;
  const c: WasmBuffer = backend.alloc(out.size, out.dtype);
  // B = W^T: element (k, n) is W[n, k].
  const epilogue = bias !== undefined || act !== 'none' ? { bias: bias?.data.ptr ?? 0, act: ACT[act] } : undefined;
  gemm(backend, x!.data.ptr, K, 1, w!.data.ptr, 1, K, c.ptr, M, K, N, epilogue);
  return c;
};
