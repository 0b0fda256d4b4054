// The CPU reference kernels run in place on wasm memory: the inputs are typed-array views of
// the linear memory (no copy), the result is copied into a fresh block. This is how the ops
// without a SIMD kernel of their own run on the wasm backend (the package README lists them):
// the same loops the CPU backend runs, in float64 arithmetic rounded to float32 on store.

import type { Kernel, KernelInput, KernelTable } from '../../backend.js';
import type { TypedArray } from '../../dtype.js';
import type { CpuBackend } from '../cpu/backend.js';
import type { WasmBackend, WasmBuffer } from './backend.js';

const referenceKernels = new WeakSet<object>();

/** Whether a wasm kernel is a CPU reference loop run on wasm memory (made by onWasmMemory). */
export function isReferenceOnWasm(kernel: object): boolean {
  return referenceKernels.has(kernel);
}

/** The wasm kernel that runs `cpu` on views of the inputs (in-place writes reach the memory). */
export function onWasmMemory<A>(cpu: Kernel<'cpu', A>): Kernel<'wasm', A> {
  const kernel: Kernel<'wasm', A> = (backend, inputs, out, attrs) => {
    const views: KernelInput<TypedArray>[] = inputs.map((t) => ({ shape: t.shape, dtype: t.dtype, size: t.size, data: backend.typed(t.data, t.dtype) }));
    // The CPU kernels never use their backend argument beyond its type.
    const result = cpu(null as unknown as CpuBackend, views, out, attrs);
    // A zero-copy kernel (reshape) returns an input's own view: share that input's storage.
    const same = backend.handleOf(result, inputs.map((t) => t.data));
    if (same !== undefined) return same;
    return copyIn(backend, result, out.dtype);
  };
  referenceKernels.add(kernel);
  return kernel;
}

function copyIn(backend: WasmBackend, data: TypedArray, dtype: KernelInput<TypedArray>['dtype']): WasmBuffer {
  if (data.buffer !== backend.wasmMemory.buffer) {
    const h = backend.alloc(data.length, dtype);
    backend.typed(h, dtype).set(data);
    return h;
  }
  // A view of wasm memory: allocating may grow the memory and detach it, so copy by address.
  const from = data.byteOffset;
  const h = backend.alloc(data.length, dtype);
  new Uint8Array(backend.wasmMemory.buffer).copyWithin(h.ptr, from, from + data.byteLength);
  return h;
}

/**
 * An op's kernel table whose wasm kernel is its CPU reference run on wasm memory: written
 * `kernels: referenceOnWasm({ cpu, webgpu })` by the ops that have no SIMD kernel yet.
 */
export function referenceOnWasm<A>(k: { readonly cpu: Kernel<'cpu', A>; readonly webgpu: Kernel<'webgpu', A> }): KernelTable<A> {
  return { cpu: k.cpu, webgpu: k.webgpu, wasm: onWasmMemory(k.cpu) };
}

/**
 * `table` with its wasm kernel replaced by `simd(reference)`: a SIMD kernel that runs the
 * reference (`table.wasm`) for the cases it does not handle.
 */
export function withWasm<A>(table: KernelTable<A>, simd: (reference: Kernel<'wasm', A>) => Kernel<'wasm', A>): KernelTable<A> {
  return { ...table, wasm: simd(table.wasm) };
}
