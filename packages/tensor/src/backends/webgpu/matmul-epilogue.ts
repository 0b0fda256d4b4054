// The matmul kernels' epilogue and their split-K summing pass. The epilogue is what the
// fused `linear` op adds to a product as it is stored: a per-column bias, then relu or
// sigmoid. With K split across workgroups the summing pass applies it instead, once the
// whole sum is known.

import { kernelPreamble, memoWgsl } from './backend.js';
import type { GpuBuffer } from './runtime.js';
import type { LinearActivation } from '../../attrs.js';

/** What is applied to each stored output: bias then activation (a no-op by default). */
export interface Epilogue {
  readonly bias: GpuBuffer | null;
  readonly act: LinearActivation;
}

export const NO_EPILOGUE: Epilogue = { bias: null, act: 'none' };

/** WGSL `epi(v, n0, N)`: the epilogue on 4 consecutive columns n0.. (clamped reads past N). */
export function epilogueFn(bias: boolean, act: LinearActivation, vec: boolean): string {
  const ty = vec ? 'vec4<f32>' : 'f32';
  const lines: string[] = ['var r = v;'];
  if (bias) {
    lines.push(
      vec
        ? `r = r + vec4<f32>(BIAS[n0], BIAS[min(n0 + 1u, N - 1u)], BIAS[min(n0 + 2u, N - 1u)], BIAS[min(n0 + 3u, N - 1u)]);`
        : 'r = r + BIAS[n0];',
    );
  }
  // As the elementwise relu: NaN stays NaN (WGSL's max leaves it unspecified, and may give 0).
  if (act === 'relu') lines.push(`r = select(r, ${ty}(0.0), r < ${ty}(0.0));`);
  // As the elementwise sigmoid: exp's argument stays <= 0.
  if (act === 'sigmoid') lines.push(`r = select(exp(r) / (1.0 + exp(r)), 1.0 / (1.0 + exp(-r)), r >= ${ty}(0.0));`);
  return `fn epi(v: ${ty}, n0: u32, N: u32) -> ${ty} {\n  ${lines.join('\n  ')}\n  return r;\n}`;
}

/** Sums the `splits` partial products (each `words` long) into the output, then the epilogue. */
function splitSumCodeBuild(vec: boolean, bias: boolean, act: LinearActivation): string {
  const ty = vec ? 'vec4<f32>' : 'f32';
  const epi = bias || act !== 'none';
  return /* wgsl */ `// bmm: sum of split-K partial products
@group(0) @binding(0) var<storage, read> P: array<${ty}>;
@group(0) @binding(1) var<storage, read_write> C: array<${ty}>;
${bias ? '@group(0) @binding(2) var<storage, read> BIAS: array<f32>;' : ''}
${kernelPreamble(bias ? 3 : 2)}
${epi ? epilogueFn(bias, act, vec) : ''}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let words = pu(0u);
  let i = linear_workgroup_id(wid, nwg) * 64u + lid;
  if (i >= words) { return; }
  var acc = P[i];
  for (var s = 1u; s < pu(1u); s += 1u) { acc += P[s * words + i]; }
  C[i] = ${epi ? `epi(acc, (i * ${vec ? 4 : 1}u) % pu(2u), pu(2u))` : 'acc'};
}
`;
}
export const splitSumCode = memoWgsl(splitSumCodeBuild);
