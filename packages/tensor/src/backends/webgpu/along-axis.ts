// WGSL kernels that walk one axis per thread: argmax/argmin and cumsum. A tensor is seen as
// [outer, n, inner] around the axis; thread t takes the line at (t / inner, :, t % inner),
// whose element k sits at base + k * inner. Lines are independent, so there is no
// cross-thread step; a line is sequential, which is also what keeps cumsum's order fixed.

import type { Kernel } from '../../backend.js';
import type { ArgReduceAttrs, CumsumAttrs } from '../../attrs.js';
import { kernelPreamble, memoWgsl, numericType } from './backend.js';
import { Params } from './params.js';

const WG = 128;

const LINE_ENTRY = `@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let t = linear_workgroup_id(wid, nwg) * ${WG}u + lid;
  if (t >= pu(0u)) { return; }
  let n = pu(1u);
  let inner = pu(2u);
  let base = (t / inner) * n * inner + t % inner;`;

/** Params: lines (outer * inner), n, inner. */
function lineParams(op: string, shape: readonly number[], axis: number): { p: Params; lines: number } {
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i]!;
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i]!;
  return { p: new Params(op).u32(outer * inner, shape[axis]!, inner), lines: outer * inner };
}

const ARG_CODE = memoWgsl((t: 'f32' | 'i32', min: boolean): string => {
  const cmp = min ? '<' : '>';
  // NaN beats any number (PyTorch's argmax/argmin pick the first NaN); ties keep the first index.
  const better = t === 'f32' ? `(!is_nan(best) && (v ${cmp} best || is_nan(v)))` : `v ${cmp} best`;
  return `${kernelPreamble(2)}
@group(0) @binding(0) var<storage, read> X: array<${t}>;
@group(0) @binding(1) var<storage, read_write> Y: array<i32>;
${LINE_ENTRY}
  var best = X[base];
  var at = 0u;
  for (var k = 1u; k < n; k++) {
    let v = X[base + k * inner];
    if (${better}) { best = v; at = k; }
  }
  Y[t] = i32(at);
}`;
});

/** Index of the largest (or smallest) value along `axis`; int32 output of the reduced shape. */
export const gpuArgReduce: Kernel<'webgpu', ArgReduceAttrs> = (backend, [x], out, { axis, min }) => {
  const y = backend.output(out);
  if (out.size === 0) return y;
  const { p, lines } = lineParams('argmax', x!.shape, axis);
  backend.run(min ? 'argmin' : 'argmax', ARG_CODE(numericType('argmax', x!.dtype), min), [x!.data, y], p, Math.ceil(lines / WG));
  return y;
};

const CUMSUM_CODE = memoWgsl((t: 'f32' | 'i32', reverse: boolean): string => `${kernelPreamble(2)}
@group(0) @binding(0) var<storage, read> X: array<${t}>;
@group(0) @binding(1) var<storage, read_write> Y: array<${t}>;
${LINE_ENTRY}
  var acc = ${t}(0);
  for (var k = 0u; k < n; k++) {
    let at = base + ${reverse ? '(n - 1u - k)' : 'k'} * inner;
    acc += X[at];
    Y[at] = acc;
  }
}`);

/** Running sums along `axis` (from the end when `reverse`: cumsum's gradient). */
export const gpuCumsum: Kernel<'webgpu', CumsumAttrs> = (backend, [x], out, { axis, reverse }) => {
  const y = backend.output(out);
  if (out.size === 0) return y;
  const { p, lines } = lineParams('cumsum', x!.shape, axis);
  backend.run('cumsum', CUMSUM_CODE(numericType('cumsum', x!.dtype), reverse), [x!.data, y], p, Math.ceil(lines / WG));
  return y;
};
