// checkRange: a value check that needs no readback. On the CPU it raises at the call; on
// WebGPU a kernel records the first offending value in the kernel-error buffer and the next
// read (`await t.data()`) throws the same error, as an out-of-range gather id does. Not an
// op: it makes no tensor and records no graph (as adamStep_, it runs its kernel directly).

import type { BackendKinds, BackendName, Handle, KernelInput } from './backend.js';
import type { CheckRangeAttrs } from './attrs.js';
import type { Tensor } from './tensor.js';
import { isFloat } from './dtype.js';
import { checkRangeCpu } from './backends/cpu/check.js';
import { gpuCheckRange } from './backends/webgpu/check.js';

type RangeKernel<B extends BackendName> = (backend: BackendKinds[B]['backend'], x: KernelInput<Handle<B>>, attrs: CheckRangeAttrs) => void;

const KERNELS: { [B in BackendName]: RangeKernel<B> } = {
  cpu: (_b, x, attrs) => checkRangeCpu(x, attrs),
  webgpu: gpuCheckRange,
  // The reference check on a view of wasm memory: raises at the call, as on the CPU.
  wasm: (backend, x, attrs) => checkRangeCpu({ ...x, data: backend.typed(x.data, x.dtype) }, attrs),
};

/**
 * Raises `op: <what>, got <value> at index <i>` if an element of the floating-point tensor
 * x is outside [lo, hi] or NaN: at the call on the CPU; on WebGPU at the next read of any
 * tensor (the check runs as a kernel, so a training step keeps its single host round trip).
 * `what` defaults to PyTorch's wording, "all elements of input should be between lo and hi".
 *
 * @example
 * checkRange(p, 0, 1, 'bce'); // as F.binary_cross_entropy checks its input
 */
export function checkRange(x: Tensor, lo: number, hi: number, op: string, what = `all elements of input should be between ${lo} and ${hi}`): void {
  if (!isFloat(x.dtype)) throw new Error(`${op}: expected a floating-point tensor, got ${x.dtype}`);
  const b = x.backend;
  const kernel = KERNELS[b.name] as RangeKernel<BackendName>;
  kernel(b as never, { data: x.storage.handle, shape: x.shape, dtype: x.dtype, size: x.size } as never, { op, lo, hi, what });
}
