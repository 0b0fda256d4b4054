// WGSL of the barrier-free bmm kernel ('register', and 'subgroup' when A is shared through
// subgroupBroadcast): the kernel software adapters such as llvmpipe get.

import { BLOCK, type BmmVariant } from './matmul-plan.js';
import { COMP, header, PROLOGUE, range4, storeBlock } from './matmul-common.wgsl.js';

/**
 * The barrier-free kernel: a thread computes `rows` x 4 outputs, reading op(A) and op(B)
 * straight from storage in steps of 4 along K (vec4 reads where aligned), 16 x rows
 * multiply-adds per step. Rows and columns past the edge are clamped to the last valid one
 * (reads stay in bounds, results are discarded), so the K loop has no branches and no
 * thread leaves early (subgroupBroadcast needs every lane). With `shareA` all lanes need the
 * same `rows` rows of A: lane p reads one vec4 of that block per step and broadcasts it,
 * so a lane issues 5 vec4 reads per step instead of rows + 4.
 */
export function registerKernel(v: BmmVariant): string {
  const R = v.rows;
  const TM = v.wgY * R;
  const TN = v.wgX * BLOCK;
  const rowsI = Array.from({ length: R }, (_, i) => i);
  const setup: string[] = [];
  const loadsA: string[] = [];
  const loadsB: string[] = [];
  // Inside a 4-step: a(i, j) = op(A)[m0 + i, k + j], bRow(j) = op(B)[k + j, n0..n0 + 3].
  let a: (i: number, j: number) => string;
  let bRow: (j: number) => string;
  let tailA: (i: number) => string;
  let tailB: (l: number) => string;
  // With shareA the subgroup (S lanes, S = wgX) covers R = S * J rows; per 4-step of K the
  // block of A is R x 4 values, R vec4s, and lane p loads vec4s p, p + S, ... (J of them).
  const S = v.wgX;
  const J = v.shareA ? R / S : 0;
  const loadsPerLane = Array.from({ length: J }, (_, j) => j);
  if (v.shareA && !v.transA) {
    // Load j of lane p is row m0 + p + S j; every lane then takes row i from lane i % S.
    for (const j of loadsPerLane) setup.push(`let rp${j} = aBase + min(m0 + sid + ${S * j}u, M - 1u) * K;`);
    for (const i of rowsI) setup.push(`let ra${i} = aBase + min(m0 + ${i}u, M - 1u) * K;`);
    for (const j of loadsPerLane) {
      loadsA.push(
        v.vecA
          ? `let ap${j} = A[(rp${j} + k) >> 2u];`
          : `let ap${j} = vec4<f32>(A[rp${j} + k], A[rp${j} + k + 1u], A[rp${j} + k + 2u], A[rp${j} + k + 3u]);`,
      );
    }
    for (const i of rowsI) loadsA.push(`let a${i} = subgroupBroadcast(ap${Math.floor(i / S)}, ${i % S}u);`);
    a = (i, j) => `a${i}.${COMP[j]}`;
    tailA = (i) => `ldA(ra${i} + k)`;
  } else if (v.shareA) {
    // The block is G = R / 4 groups of 4 rows (contiguous in A) at 4 values of k: vec4 t
    // holds group t % G at k + t / G, and is load t / S of lane t % S.
    const G = R / 4;
    for (const i of rowsI) setup.push(`let ca${i} = aBase + min(m0 + ${i}u, M - 1u);`);
    for (const j of loadsPerLane) {
      setup.push(`let jp${j} = (sid + ${S * j}u) / ${G}u; let gp${j} = m0 + ((sid + ${S * j}u) % ${G}u) * 4u;`);
      if (v.vecA) setup.push(`let cp${j} = aBase + min(gp${j}, M - 4u);`);
      else setup.push(`${range4.map((c) => `let cp${j}_${c} = aBase + min(gp${j} + ${c}u, M - 1u);`).join(' ')}`);
      loadsA.push(
        v.vecA
          ? `let ap${j} = A[(cp${j} + (k + jp${j}) * M) >> 2u];`
          : `let ap${j} = vec4<f32>(${range4.map((c) => `A[cp${j}_${c} + (k + jp${j}) * M]`).join(', ')});`,
      );
    }
    for (const j of range4) {
      for (let g = 0; g < G; g++) {
        const t = j * G + g;
        loadsA.push(`let a${j}_${g} = subgroupBroadcast(ap${Math.floor(t / S)}, ${t % S}u);`);
      }
    }
    a = (i, j) => `a${j}_${Math.floor(i / 4)}.${COMP[i % 4]}`;
    tailA = (i) => `ldA(ca${i} + k * M)`;
  } else if (!v.transA) {
    for (const i of rowsI) setup.push(`let ra${i} = aBase + min(m0 + ${i}u, M - 1u) * K;`);
    for (const i of rowsI) {
      loadsA.push(
        v.vecA
          ? `let a${i} = A[(ra${i} + k) >> 2u];`
          : `let a${i} = vec4<f32>(A[ra${i} + k], A[ra${i} + k + 1u], A[ra${i} + k + 2u], A[ra${i} + k + 3u]);`,
      );
    }
    a = (i, j) => `a${i}.${COMP[j]}`;
    tailA = (i) => `ldA(ra${i} + k)`;
  } else {
    for (const i of rowsI) setup.push(`let ca${i} = aBase + min(m0 + ${i}u, M - 1u);`);
    // Groups of 4 rows, contiguous in A's storage: with M % 4 == 0 a group is either all
    // inside or all past the edge, so clamping its start keeps vec4 reads in bounds.
    for (let g = 0; g < R / 4; g++) if (v.vecA) setup.push(`let cg${g} = aBase + min(m0 + ${4 * g}u, M - 4u);`);
    for (const j of range4) {
      for (let g = 0; g < R / 4; g++) {
        loadsA.push(
          v.vecA
            ? `let a${j}_${g} = A[(cg${g} + (k + ${j}u) * M) >> 2u];`
            : `let a${j}_${g} = vec4<f32>(${range4.map((c) => `A[ca${4 * g + c} + (k + ${j}u) * M]`).join(', ')});`,
        );
      }
    }
    a = (i, j) => `a${j}_${Math.floor(i / 4)}.${COMP[i % 4]}`;
    tailA = (i) => `ldA(ca${i} + k * M)`;
  }
  if (!v.transB) {
    for (const l of range4) setup.push(`let cb${l} = bBase + min(n0 + ${l}u, N - 1u);`);
    for (const j of range4) {
      loadsB.push(
        v.vecB
          ? `let b${j} = B[(cb0 + (k + ${j}u) * N) >> 2u];`
          : `let b${j} = vec4<f32>(${range4.map((l) => `B[cb${l} + (k + ${j}u) * N]`).join(', ')});`,
      );
    }
    bRow = (j) => `b${j}`;
    tailB = (l) => `ldB(cb${l} + k * N)`;
  } else {
    for (const l of range4) setup.push(`let rb${l} = bBase + min(n0 + ${l}u, N - 1u) * K;`);
    for (const l of range4) {
      loadsB.push(
        v.vecB
          ? `let b${l} = B[(rb${l} + k) >> 2u];`
          : `let b${l} = vec4<f32>(B[rb${l} + k], B[rb${l} + k + 1u], B[rb${l} + k + 2u], B[rb${l} + k + 3u]);`,
      );
    }
    bRow = (j) => `vec4<f32>(${range4.map((l) => `b${l}.${COMP[j]}`).join(', ')})`;
    tailB = (l) => `ldB(rb${l} + k)`;
  }
  const fmas: string[] = [];
  for (const j of range4) {
    fmas.push(`let r${j} = ${bRow(j)};`);
    for (const i of rowsI) fmas.push(`acc${i} = fma(vec4<f32>(${a(i, j)}), r${j}, acc${i});`);
  }
  return /* wgsl */ `// bmm: register-blocked ${TM}x${TN} tile, ${R}x4 per thread, no shared memory${v.shareA ? ', A shared through the subgroup' : ''}
${v.shareA ? 'enable subgroups;' : ''}
${header(v)}
@compute @workgroup_size(${v.wgX}, ${v.wgY})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>${v.shareA ? ', @builtin(subgroup_invocation_id) sid: u32' : ''}) {
${PROLOGUE}
  let m0 = tm * ${TM}u${v.wgY > 1 ? ` + lid.y * ${R}u` : ''};
  let n0 = tn * ${TN}u + lid.x * 4u;
  ${setup.join('\n  ')}
  ${rowsI.map((i) => `var acc${i} = vec4<f32>(0.0);`).join(' ')}
  let k4 = k0 + ((k1 - k0) & ~3u);
  var k = k0;
  for (; k < k4; k += 4u) {
    ${loadsA.join('\n    ')}
    ${loadsB.join('\n    ')}
    ${fmas.join('\n    ')}
  }
  for (; k < k1; k += 1u) {
    let r = vec4<f32>(${range4.map(tailB).join(', ')});
    ${rowsI.map((i) => `acc${i} = fma(vec4<f32>(${tailA(i)}), r, acc${i});`).join('\n    ')}
  }
${storeBlock(v)}
}
`;
}
