// WGSL kernel of checkRange: one thread per element; a value outside [lo, hi] (or NaN) is
// recorded in the kernel-error buffer (./kernel-errors.ts), so the next read throws the
// error the CPU raises at the call, without a readback of its own.

import type { KernelInput } from '../../backend.js';
import type { GpuBuffer } from './runtime.js';
import type { CheckRangeAttrs } from '../../attrs.js';
import { rangeErrorMessage } from '../cpu/check.js';
import { kernelPreamble, memoWgsl, type WebGpuBackend } from './backend.js';
import { f32FromBits, kernelErrorCodeFor, kernelErrorWgsl } from './kernel-errors.js';
import { Params } from './params.js';

const WG = 256;

const code = memoWgsl((errorCode: number) => `${kernelPreamble(2)}
@group(0) @binding(0) var<storage, read> X: array<f32>;
${kernelErrorWgsl(1)}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = linear_workgroup_id(wid, nwg) * ${WG}u + lid;
  if (i >= pu(0u)) { return; }
  let v = X[i];
  // Written so that NaN fails too (and tested on the bits, which no compiler folds away).
  if (is_nan(v) || !(v >= pf(1u) && v <= pf(2u))) { report_kernel_error(${errorCode}u, i, bitcast<u32>(v)); }
}`);

/** Records the first element of x outside [lo, hi] (or NaN) for the next read to throw; float32 only. */
export function gpuCheckRange(backend: WebGpuBackend, x: KernelInput<GpuBuffer>, { op, lo, hi, what }: CheckRangeAttrs): void {
  if (x.dtype !== 'float32') throw new Error(`${op}: checkRange expects float32 on WebGPU, got ${x.dtype}`);
  if (x.size === 0) return;
  const errorCode = kernelErrorCodeFor(op, `range ${what}`, (index, bits) => rangeErrorMessage(what, f32FromBits(bits), index), 'values out of range');
  const p = new Params('checkRange').u32(x.size).f32(lo, hi);
  backend.run('checkRange', code(errorCode), [x.data, backend.runtime.kernelErrors], p, Math.ceil(x.size / WG));
}
