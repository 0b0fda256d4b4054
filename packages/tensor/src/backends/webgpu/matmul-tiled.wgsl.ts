// WGSL of the shared-memory bmm kernel ('tiled'): K-slices of A and B staged in workgroup
// memory, the kernel hardware GPUs get.

import { BLOCK, type BmmVariant } from './matmul-plan.js';
import { COMP, header, PROLOGUE, range4, storeBlock } from './matmul-common.wgsl.js';

/**
 * The shared-memory kernel: per step the workgroup copies a TM x tk slice of op(A) and a
 * tk x TN slice of op(B) into workgroup memory (zero outside the matrices), laid out
 * k-major in vec4s, so per k a thread reads its 4 rows and its 4 columns as one vec4 each
 * (2 shared reads per 16 multiply-adds). An operand stored along K is transposed on the
 * way in, one component at a time.
 */
export function tiledKernel(v: BmmVariant): string {
  const TM = v.wgY * BLOCK;
  const TN = v.wgX * BLOCK;
  const TK = v.tk;
  const threads = v.wgX * v.wgY;
  // Each thread fetches groups of 4 consecutive words along the operand's contiguous axis.
  const fetch = (vec: boolean, arr: 'A' | 'B', base: string, inBounds: (c: number) => string, whole: string): string =>
    vec
      ? `if (${whole}) { v = ${arr}[(${base}) >> 2u]; }`
      : range4.map((c) => `if (${inBounds(c)}) { v.${COMP[c]} = ${arr}[${base} + ${c}u]; }`).join(' ');

  // One loop per operand (not unrolled: llvmpipe compiles barrier-split code slowly).
  const loop = (groups: number, body: string): string => {
    const rounds = Math.ceil(groups / threads);
    const guard = groups % threads !== 0 ? `if (t >= ${groups}u) { break; }` : '';
    return `for (var r = 0u; r < ${rounds}u; r += 1u) {
      let t = lidx + r * ${threads}u; ${guard}
      var v = vec4<f32>(0.0);${body}
    }`;
  };
  const loadA = !v.transA
    ? // Contiguous along k: TM rows of TK/4 groups.
      loop(
        (TM * TK) / 4,
        `
      let row = t / ${TK / 4}u; let kq = (t % ${TK / 4}u) * 4u;
      let gm = tm * ${TM}u + row; let gk = kt + kq;
      if (gm < M) { ${fetch(v.vecA, 'A', 'aBase + gm * K + gk', (c) => `gk + ${c}u < k1`, 'gk < k1')} }
      ${range4.map((c) => `As[(kq + ${c}u) * ${TM / 4}u + row / 4u][row & 3u] = v.${COMP[c]};`).join(' ')}`,
      )
    : // Contiguous along m: TK rows of TM/4 groups.
      loop(
        (TM * TK) / 4,
        `
      let kr = t / ${TM / 4}u; let mq = (t % ${TM / 4}u) * 4u;
      let gk = kt + kr; let gm = tm * ${TM}u + mq;
      if (gk < k1) { ${fetch(v.vecA, 'A', 'aBase + gk * M + gm', (c) => `gm + ${c}u < M`, 'gm < M')} }
      As[kr * ${TM / 4}u + mq / 4u] = v;`,
      );
  const loadB = !v.transB
    ? // Contiguous along n: TK rows of TN/4 groups.
      loop(
        (TN * TK) / 4,
        `
      let kr = t / ${TN / 4}u; let nq = (t % ${TN / 4}u) * 4u;
      let gk = kt + kr; let gn = tn * ${TN}u + nq;
      if (gk < k1) { ${fetch(v.vecB, 'B', 'bBase + gk * N + gn', (c) => `gn + ${c}u < N`, 'gn < N')} }
      Bs[kr * ${TN / 4}u + nq / 4u] = v;`,
      )
    : // Contiguous along k: TN rows of TK/4 groups.
      loop(
        (TN * TK) / 4,
        `
      let row = t / ${TK / 4}u; let kq = (t % ${TK / 4}u) * 4u;
      let gn = tn * ${TN}u + row; let gk = kt + kq;
      if (gn < N) { ${fetch(v.vecB, 'B', 'bBase + gn * K + gk', (c) => `gk + ${c}u < k1`, 'gk < k1')} }
      ${range4.map((c) => `Bs[(kq + ${c}u) * ${TN / 4}u + row / 4u][row & 3u] = v.${COMP[c]};`).join(' ')}`,
      );
  return /* wgsl */ `// bmm: shared-memory ${TM}x${TN}x${TK} tile, 4x4 per thread
${header(v)}
var<workgroup> As: array<vec4<f32>, ${(TK * TM) / 4}>;
var<workgroup> Bs: array<vec4<f32>, ${(TK * TN) / 4}>;

@compute @workgroup_size(${v.wgX}, ${v.wgY})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) lidx: u32) {
${PROLOGUE}
  let m0 = tm * ${TM}u + lid.y * 4u;
  let n0 = tn * ${TN}u + lid.x * 4u;
  var acc0 = vec4<f32>(0.0); var acc1 = vec4<f32>(0.0); var acc2 = vec4<f32>(0.0); var acc3 = vec4<f32>(0.0);
  for (var kt = k0; kt < k1; kt += ${TK}u) {
    ${loadA}
    ${loadB}
    workgroupBarrier();
    for (var kk = 0u; kk < ${TK}u; kk += 1u) {
      let a = As[kk * ${TM / 4}u + lid.y];
      let b = Bs[kk * ${TN / 4}u + lid.x];
      acc0 = fma(vec4<f32>(a.x), b, acc0);
      acc1 = fma(vec4<f32>(a.y), b, acc1);
      acc2 = fma(vec4<f32>(a.z), b, acc2);
      acc3 = fma(vec4<f32>(a.w), b, acc3);
    }
    workgroupBarrier();
  }
${storeBlock(v)}
}
`;
}
