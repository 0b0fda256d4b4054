// WGSL row gather (embedding lookup) and its adjoint, the row scatter-add, one thread per
// element. Ids uploaded from the host (the backend keeps a copy: `hostInts`), which is how
// token ids arrive, are validated on the host before the kernel runs, so the error comes at
// the call as on the CPU. Ids computed on the GPU are checked by the kernel: an out-of-range
// one reads as a zero row (gather) or is dropped (scatterAdd) instead of touching memory it
// must not, and is reported through the kernel-error buffer at the next read.

import type { Kernel, KernelInput } from '../../backend.js';
import type { ScatterAddAttrs } from '../../attrs.js';
import type { GpuBuffer } from './runtime.js';
import { kernelPreamble, numericType, wgslType, type WebGpuBackend, memoWgsl } from './backend.js';
import { Params } from './params.js';
import { kernelErrorCode, kernelErrorWgsl } from './kernel-errors.js';
import { isDeterministic } from '../../determinism.js';
import { groupedScatter, scanAffordable, scanScatter } from './scatter-ordered.js';

const WG = 256;

/** Throws the CPU kernel's error for the first id outside 0..rows-1, if the ids are known on the host. */
export function checkIds(backend: WebGpuBackend, op: string, idx: KernelInput<GpuBuffer>, rows: number): void {
  const ids = backend.hostInts(idx.data);
  if (ids === undefined) return;
  for (let i = 0; i < idx.size; i++) {
    const r = ids[i]!;
    if (r < 0 || r >= rows) {
      const valid = op === 'scatterAdd' ? '' : ` (valid: 0..${rows - 1})`;
      throw new Error(`${op}: index ${r} at position ${i} is out of range for ${rows} rows${valid}`);
    }
  }
}

const rowSizeOf = (shape: readonly number[]): number => shape.slice(1).reduce((a, b) => a * b, 1);

// Params for both kernels: elements, row size, rows. Both start alike: element e of the
// source rows, its row i, the id r of that row, and whether r is in range.
const ELEMENT_ENTRY = `@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let e = linear_workgroup_id(wid, nwg) * ${WG}u + lid;
  if (e >= pu(0u)) { return; }
  let row_size = pu(1u);
  let i = e / row_size;
  let r = ids[i];
  let valid = r >= 0 && u32(r) < pu(2u);`;

function gatherCodeBuild(t: 'f32' | 'i32'): string {
  return `${kernelPreamble(4)}
@group(0) @binding(0) var<storage, read> table: array<${t}>;
@group(0) @binding(1) var<storage, read> ids: array<i32>;
@group(0) @binding(2) var<storage, read_write> Y: array<${t}>;
${kernelErrorWgsl(3)}

${ELEMENT_ENTRY}
  if (!valid) { Y[e] = ${t}(0); report_index_error(${kernelErrorCode('gather')}u, r, pu(2u)); return; }
  Y[e] = table[u32(r) * row_size + (e - i * row_size)];
}`;
}
const gatherCode = memoWgsl(gatherCodeBuild);

/** out[i, :] = table[idx[i], :]; see the file comment for ids that are out of range. */
export const gpuGather: Kernel<'webgpu', null> = (backend, [table, idx], out) => {
  const rows = table!.shape[0]!;
  checkIds(backend, 'gather', idx!, rows);
  const y = backend.output(out);
  if (out.size === 0) return y;
  const t = numericType('gather', out.dtype);
  const p = new Params('gather').u32(out.size, rowSizeOf(table!.shape), rows);
  backend.run('gather', gatherCode(t), [table!.data, idx!.data, y, backend.runtime.kernelErrors], p, Math.ceil(out.size / WG));
  return y;
};

export const ZERO_CODE = `${kernelPreamble(1)}
@group(0) @binding(0) var<storage, read_write> Y: array<u32>;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let e = linear_workgroup_id(wid, nwg) * ${WG}u + lid;
  if (e < pu(0u)) { Y[e] = 0u; }
}`;

/**
 * The atomic add into Y[dst]. WGSL has atomics on i32/u32 only, so an f32 add is a
 * compare-and-swap loop on the bit pattern: read, add, and publish only if nobody changed
 * the word in between, else retry with the value that won.
 */
export function addStatement(t: 'f32' | 'i32'): string {
  if (t === 'i32') return 'atomicAdd(&Y[dst], v);';
  return `var old = atomicLoad(&Y[dst]);
  loop {
    let next = bitcast<u32>(bitcast<f32>(old) + v);
    let res = atomicCompareExchangeWeak(&Y[dst], old, next);
    if (res.exchanged) { break; }
    old = res.old_value;
  }`;
}

function scatterCodeBuild(t: 'f32' | 'i32'): string {
  return `${kernelPreamble(4)}
@group(0) @binding(0) var<storage, read> src: array<${t}>;
@group(0) @binding(1) var<storage, read> ids: array<i32>;
@group(0) @binding(2) var<storage, read_write> Y: array<atomic<${t === 'f32' ? 'u32' : 'i32'}>>;
${kernelErrorWgsl(3)}

${ELEMENT_ENTRY}
  if (!valid) { report_index_error(${kernelErrorCode('scatterAdd')}u, r, pu(2u)); return; }
  let dst = u32(r) * row_size + (e - i * row_size);
  let v = src[e];
  ${addStatement(t)}
}`;
}
const scatterCode = memoWgsl(scatterCodeBuild);

/**
 * out[idx[i], :] += src[i, :] into zeros. By default (`setDeterministic`) in a fixed order,
 * the CPU's: positions grouped by target row when the ids are known on the host, else a scan
 * of the ids per output element (scatter-ordered.ts). With `setDeterministic(false)`, atomic
 * adds, whose order for repeated ids (and so the last bits of an f32 sum) varies run to run.
 */
export const gpuScatterAdd: Kernel<'webgpu', ScatterAddAttrs> = (backend, [src, idx], out, { rows }) => {
  checkIds(backend, 'scatterAdd', idx!, rows);
  const y = backend.output(out);
  if (out.size === 0) return y;
  const t = numericType('gather', out.dtype);
  const rowSize = rowSizeOf(out.shape);
  if (isDeterministic() && src!.size > 0) {
    const ids = backend.hostInts(idx!.data);
    if (ids !== undefined) {
      groupedScatter(backend, t, src!.data, rowSize, [{ base: 0, dim: rowSize, rows, col: 0, ids: ids.subarray(0, idx!.size) }], y, out.size);
      return y;
    }
    if (scanAffordable('scatterAdd', out.size, idx!.size)) {
      scanScatter(backend, 'scatterAdd', t, src!.data, idx!.data, idx!.size, { width: rowSize, col: 0, rows, dim: rowSize }, y);
      return y;
    }
  }
  backend.run('scatterAdd.zero', ZERO_CODE, [y], new Params('scatterAdd').u32(out.size), Math.ceil(out.size / WG));
  if (src!.size === 0) return y;
  const p = new Params('scatterAdd').u32(src!.size, rowSize, rows);
  backend.run('scatterAdd', scatterCode(t), [src!.data, idx!.data, y, backend.runtime.kernelErrors], p, Math.ceil(src!.size / WG));
  return y;
};
