// The wasm backend's SIMD elementwise kernels (packages/tensor/wasm/elementwise.ts): float32
// binary arithmetic where each operand is the whole output block, a row repeated down it or a
// scalar; any other broadcast or dtype runs the op's CPU reference on wasm memory. Threads
// split the binary ops by rows, the activation gradient with column sums by columns.

import type { Kernel, KernelInput, TensorMeta } from '../../backend.js';
import type { ActivationGradSumAttrs, LinearAttrs } from '../../attrs.js';
import type { WasmBuffer } from './backend.js';

/** The SIMD kernel's op codes (wasm/elementwise.ts). */
export const SIMD_BINARY = { add: 0, sub: 1, mul: 2, div: 3, maximum: 4, minimum: 5 } as const;

const FULL = 0;
const ROW = 1;
const SCALAR = 2;

/** How `t` covers an output of `rows` x `cols`: whole, a repeated row, a scalar, or null (other). */
function layoutOf(t: KernelInput<WasmBuffer>, out: TensorMeta, cols: number): number | null {
  if (t.size === out.size) return FULL;
  if (t.size === 1) return SCALAR;
  if (t.size === cols && t.shape[t.shape.length - 1] === cols) return ROW;
  return null;
}

/** The binary op `code` in SIMD where the layouts allow, else `reference`. */
export function wasmBinary(code: number, reference: Kernel<'wasm', null>): Kernel<'wasm', null> {
  return (backend, inputs, out, attrs) => {
    const [a, b] = inputs as [KernelInput<WasmBuffer>, KernelInput<WasmBuffer>];
    const cols = out.shape.length === 0 ? 1 : out.shape[out.shape.length - 1]!;
    const am = layoutOf(a, out, cols);
    const bm = layoutOf(b, out, cols);
    if (out.dtype !== 'float32' || am === null || bm === null || out.size === 0) return reference(backend, inputs, out, attrs);
    const o = backend.alloc(out.size, out.dtype);
    backend.parallel('binary', [code, a.data.ptr, am, b.data.ptr, bm, o.ptr, 0, 0, cols], 6, out.size / cols, backend.minChunk(cols));
    return o;
  };
}

const ACT = { none: 0, relu: 1, sigmoid: 2 } as const;

/** dy * act'(y) from the activation's output y (float32). */
export const wasmActivationGrad: Kernel<'wasm', LinearAttrs> = (backend, [y, dy], out, { act }) => {
  const o = backend.alloc(out.size, out.dtype);
  // Elementwise without the sums: the block as one row, its columns split among the threads.
  backend.parallel('actGradSum', [y!.data.ptr, dy!.data.ptr, o.ptr, 1, 0, 1, out.size, ACT[act], 0, 0, 0], 9, out.size, backend.minChunk(1));
  return o;
};

/** activationGrad at 0 (unless act is none) and its column sums at `sumAt`, for [N, C]. */
export const wasmActivationGradSum: Kernel<'wasm', ActivationGradSumAttrs> = (backend, [y, dy], out, { act, sumAt }) => {
  const [rows, cols] = y!.shape as [number, number];
  const o = backend.alloc(out.size, out.dtype);
  // The padding between the gradient and the sums is not read; zero it anyway (a flat block).
  new Float32Array(backend.wasmMemory.buffer, o.ptr, out.size).fill(0);
  backend.parallel('actGradSum', [y!.data.ptr, dy!.data.ptr, o.ptr, act === 'none' ? 0 : 1, o.ptr + 4 * sumAt, rows, cols, ACT[act], 1, 0, 0], 9, cols, backend.minChunk(rows));
  return o;
};
