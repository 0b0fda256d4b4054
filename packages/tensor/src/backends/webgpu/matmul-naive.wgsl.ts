// The matmul kernel to read first: C[z] = op(A[z]) @ op(B[z]) with one output per
// invocation and a plain loop over K. No tiling, no shared memory, no vec4: every product
// reads its two operands straight from storage, so each value of A is fetched N times and
// each of B M times (the tiled and register kernels exist to cut that). Selected with
// `withMatmulKernel('naive', fn)`; 'auto' never picks it. Tested against the CPU in
// test/webgpu-matmul.test.ts like the others.

import { kernelPreamble } from './backend.js';
import { epilogueFn } from './matmul-epilogue.js';
import { NAIVE_WG, type BmmVariant } from './matmul-plan.js';

/** The naive kernel for one variant (only its transposes, bias and activation matter). */
export function naiveKernel(v: BmmVariant): string {
  // Where op(A)[i, k] and op(B)[k, j] live in each matrix: an operand stored transposed is
  // simply read with its strides swapped.
  const a = v.transA ? 'k * M + i' : 'i * K + k';
  const b = v.transB ? 'j * K + k' : 'k * N + j';
  const epi = v.bias || v.act !== 'none'; // the fused linear op's bias and activation
  return /* wgsl */ `// bmm: naive reference kernel, one output per invocation
@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<f32>;
${v.bias ? '@group(0) @binding(3) var<storage, read> BIAS: array<f32>;' : ''}
${kernelPreamble(v.bias ? 4 : 3)}
${epi ? epilogueFn(v.bias, v.act, false) : ''}
@compute @workgroup_size(${NAIVE_WG}, ${NAIVE_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let M = pu(0u); let N = pu(1u); let K = pu(2u); let batch = pu(3u);
  let tilesN = pu(4u); let tilesM = pu(5u);
  // Which ${NAIVE_WG}x${NAIVE_WG} block of which matrix this workgroup computes.
  var id = linear_workgroup_id(wid, nwg);
  if (id >= tilesM * tilesN * batch) { return; }
  let i = (id % tilesM) * ${NAIVE_WG}u + lid.y; id = id / tilesM;   // row of C
  let j = (id % tilesN) * ${NAIVE_WG}u + lid.x; id = id / tilesN;   // column of C
  let z = id;                                                   // matrix in the batch
  if (i >= M || j >= N) { return; }
  let a = z * M * K;
  let b = z * K * N;
  var acc = 0.0;
  for (var k = 0u; k < K; k += 1u) {
    acc += A[a + ${a}] * B[b + ${b}];
  }
  C[z * M * N + i * N + j] = ${epi ? 'epi(acc, j, N)' : 'acc'};
}
`;
}
