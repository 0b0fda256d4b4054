// The wasm backend's unary functions, where and float32 <-> int32 casts
// (packages/tensor/wasm/unary.ts). Each takes the op's reference kernel for what it does not
// handle: other dtypes, other functions, broadcasts other than a whole block or a scalar.

import type { Kernel, KernelInput } from '../../backend.js';
import type { CastAttrs, UnaryAttrs } from '../../attrs.js';
import type { WasmBuffer } from './backend.js';

/** The unary functions with a SIMD kernel, by their op names, and the kernel's op codes. */
export const SIMD_UNARY: Readonly<Record<string, number>> = { relu: 0, neg: 1, abs: 2, sqrt: 3, exp: 4, log: 5, tanh: 6, sigmoid: 7 };

/** Codes whose int32 form the kernel has (relu, neg, abs). */
const INT_CODES = new Set([0, 1, 2]);

/** The unary op `code` (SIMD_UNARY) for float32, and int32 where it has one; else `reference`. */
export function wasmUnary(code: number): (reference: Kernel<'wasm', UnaryAttrs>) => Kernel<'wasm', UnaryAttrs> {
  return (reference) => (backend, inputs, out, attrs) => {
    const x = inputs[0]!;
    const isInt = out.dtype === 'int32';
    if ((out.dtype !== 'float32' && !isInt) || (isInt && !INT_CODES.has(code))) return reference(backend, inputs, out, attrs);
    const o = backend.alloc(out.size, out.dtype);
    backend.parallel('unary', [code, x.data.ptr, o.ptr, isInt ? 1 : 0, 0, 0], 4, out.size, backend.minChunk(4));
    return o;
  };
}

const COND_KIND: Partial<Record<string, number>> = { float32: 0, int32: 1, bool: 2 };

/** where(c, a, b) for float32/int32 branches, each operand the whole block or a scalar; else `reference`. */
export function wasmWhere(reference: Kernel<'wasm', null>): Kernel<'wasm', null> {
  return (backend, inputs, out, attrs) => {
    const [c, a, b] = inputs as [KernelInput<WasmBuffer>, KernelInput<WasmBuffer>, KernelInput<WasmBuffer>];
    const kind = COND_KIND[c.dtype];
    const fits = (t: KernelInput<WasmBuffer>) => t.size === out.size || t.size === 1;
    if ((out.dtype !== 'float32' && out.dtype !== 'int32') || kind === undefined || !fits(c) || !fits(a) || !fits(b) || out.size === 0) {
      return reference(backend, inputs, out, attrs);
    }
    const scalar = (t: KernelInput<WasmBuffer>) => (t.size === 1 && out.size !== 1 ? 1 : 0);
    const o = backend.alloc(out.size, out.dtype);
    backend.parallel('where', [c.data.ptr, kind, scalar(c), a.data.ptr, scalar(a), b.data.ptr, scalar(b), o.ptr, 0, 0], 8, out.size, backend.minChunk(1));
    return o;
  };
}

/** cast float32 <-> int32 (and copies of either); else `reference`. */
export function wasmCast(reference: Kernel<'wasm', CastAttrs>): Kernel<'wasm', CastAttrs> {
  return (backend, inputs, out, attrs) => {
    const x = inputs[0]!;
    const four = (d: string) => d === 'float32' || d === 'int32';
    if (!four(x.dtype) || !four(out.dtype)) return reference(backend, inputs, out, attrs);
    const o = backend.alloc(out.size, out.dtype);
    if (x.dtype === out.dtype) backend.copy(x.data, o, out.size, out.dtype);
    else backend.parallel('castF32I32', [x.data.ptr, o.ptr, out.dtype === 'int32' ? 1 : 0, 0, 0], 3, out.size, backend.minChunk(1));
    return o;
  };
}
