// The wasm backend's softmax, log-softmax and softmax gradient (packages/tensor/wasm/softmax.ts)
// along the last axis in float32; other axes run the op's reference kernel.

import type { Kernel, KernelInput } from '../../backend.js';
import type { AxisAttrs, SoftmaxBackwardAttrs } from '../../attrs.js';
import type { WasmBuffer } from './backend.js';

/** softmax (log false) or logSoftmax (log true) along the last axis; else `reference`. */
export function wasmSoftmax(log: boolean): (reference: Kernel<'wasm', AxisAttrs>) => Kernel<'wasm', AxisAttrs> {
  return (reference) => (backend, inputs, out, attrs) => {
    const x = inputs[0]!;
    if (out.dtype !== 'float32' || attrs.axis !== x.shape.length - 1 || out.size === 0) return reference(backend, inputs, out, attrs);
    const cols = x.shape[attrs.axis]!;
    const o = backend.alloc(out.size, out.dtype);
    backend.parallel('softmaxRows', [x.data.ptr, o.ptr, cols, log ? 1 : 0, 0, 0], 4, out.size / cols, backend.minChunk(4 * cols));
    return o;
  };
}

/** softmaxBackward along the last axis; else `reference`. */
export function wasmSoftmaxBackward(reference: Kernel<'wasm', SoftmaxBackwardAttrs>): Kernel<'wasm', SoftmaxBackwardAttrs> {
  return (backend, inputs, out, attrs) => {
    const [y, dy] = inputs as [KernelInput<WasmBuffer>, KernelInput<WasmBuffer>];
    if (out.dtype !== 'float32' || attrs.axis !== y.shape.length - 1 || out.size === 0) return reference(backend, inputs, out, attrs);
    const cols = y.shape[attrs.axis]!;
    const o = backend.alloc(out.size, out.dtype);
    backend.parallel('softmaxBackwardRows', [y.data.ptr, dy.data.ptr, o.ptr, cols, attrs.log ? 1 : 0, 0, 0], 5, out.size / cols, backend.minChunk(3 * cols));
    return o;
  };
}
