// Fixed-order scatter-adds (the default; see determinism.ts): instead of one thread per
// source element adding into its target row with an atomic compare-and-swap loop (whose
// order varies run to run), one thread per *output* element sums the values aimed at it in
// index order, so every run gives the same bits, and the same order of additions as the CPU
// reference loop.
//
// - Ids known on the host (uploads keep a copy, `hostInts`; how batches of ids arrive): the
//   positions are grouped by target row on the host (a stable counting sort: per row, the
//   positions in ascending order) and uploaded with the row offsets, one small int32 buffer;
//   a thread walks its row's positions. Work O(output + ids), like the atomic kernel.
// - Ids computed on the GPU: each thread scans all ids in order and adds the matching ones.
//   Work O(output x ids): fine for the small index tensors this happens with, slow for a
//   large table (setDeterministic(false) takes the atomic kernel there).

import { kernelPreamble, memoWgsl, type WebGpuBackend } from './backend.js';
import type { GpuBuffer } from './runtime.js';
import { Params } from './params.js';
import { kernelErrorCode, kernelErrorWgsl } from './kernel-errors.js';

const WG = 256;
/** Words per field in the grouped buffer's header: base, dim, rows, column, offsets start, order start. */
const META = 6;

/** One field of a grouped scatter: where its rows go, and the host ids that pick them. */
export interface GroupedField {
  /** First element of the field's [rows, dim] block in the output. */
  base: number;
  dim: number;
  rows: number;
  /** First column of the field's values in each source row. */
  col: number;
  /** The field's ids, one per source row, all in 0..rows-1 (checked before). */
  ids: Int32Array;
}

/**
 * The grouped buffer: per field META header words, then per field its row offsets
 * (rows + 1, from 0) and its source positions ordered by target row (stable).
 */
export function groupByRow(fields: readonly GroupedField[]): Int32Array {
  let len = fields.length * META;
  for (const f of fields) len += f.rows + 1 + f.ids.length;
  const g = new Int32Array(len);
  let at = fields.length * META;
  fields.forEach((f, j) => {
    const off = at;
    const ord = off + f.rows + 1;
    g.set([f.base, f.dim, f.rows, f.col, off, ord], j * META);
    const n = f.ids.length;
    for (let i = 0; i < n; i++) g[off + f.ids[i]! + 1]!++;
    for (let r = 0; r < f.rows; r++) g[off + r + 1]! += g[off + r]!;
    // Fill with a cursor per row (the offsets shifted by one slot), then shift them back.
    const cursor = g.subarray(off, off + f.rows);
    for (let i = 0; i < n; i++) g[ord + cursor[f.ids[i]!]!++] = i;
    for (let r = f.rows; r > 0; r--) g[off + r] = g[off + r - 1]!;
    g[off] = 0;
    at = ord + n;
  });
  return g;
}

const GROUPED_CODE = memoWgsl((t: 'f32' | 'i32'): string => `${kernelPreamble(3)}
@group(0) @binding(0) var<storage, read> src: array<${t}>;
@group(0) @binding(1) var<storage, read> G: array<i32>;
@group(0) @binding(2) var<storage, read_write> Y: array<${t}>;

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let e = linear_workgroup_id(wid, nwg) * ${WG}u + lid;
  if (e >= pu(0u)) { return; }
  let width = pu(2u);
  var acc = ${t}(0);
  for (var j = 0u; j < pu(1u); j++) {
    let m = j * ${META}u;
    let base = u32(G[m]);
    let dim = u32(G[m + 1u]);
    // Every field covering e adds (two fields may share a table: field order, as on the CPU).
    if (e < base || e >= base + dim * u32(G[m + 2u])) { continue; }
    let r = (e - base) / dim;
    let c = u32(G[m + 3u]) + (e - base - r * dim);
    let off = u32(G[m + 4u]) + r;
    let ord = u32(G[m + 5u]);
    for (var p = u32(G[off]); p < u32(G[off + 1u]); p++) {
      acc += src[u32(G[ord + p]) * width + c];
    }
  }
  Y[e] = acc;
}`);

/**
 * Y (a fresh buffer of `size` elements) = the grouped sum: element base_j + r * dim_j + c is
 * the sum, in position order, of src[i * width + col_j + c] over the positions i whose id is
 * r; elements outside every field's block are 0. One dispatch.
 */
export function groupedScatter(backend: WebGpuBackend, t: 'f32' | 'i32', src: GpuBuffer, width: number, fields: readonly GroupedField[], y: GpuBuffer, size: number): void {
  const g = backend.runtime.upload(groupByRow(fields));
  try {
    const p = new Params('scatterAdd').u32(size, fields.length, width);
    backend.run('scatterAdd.ordered', GROUPED_CODE(t), [src, g, y], p, Math.ceil(size / WG));
  } finally {
    backend.runtime.release(g);
  }
}

const SCAN_CODE = memoWgsl((t: 'f32' | 'i32', op: string): string => `${kernelPreamble(4)}
@group(0) @binding(0) var<storage, read> src: array<${t}>;
@group(0) @binding(1) var<storage, read> ids: array<i32>;
@group(0) @binding(2) var<storage, read_write> Y: array<${t}>;
${kernelErrorWgsl(3)}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let e = linear_workgroup_id(wid, nwg) * ${WG}u + lid;
  if (e >= pu(0u)) { return; }
  let dim = pu(1u);
  let rows = pu(2u);
  let n = pu(3u);
  let r = e / dim;
  let c = pu(5u) + (e - r * dim);
  var acc = ${t}(0);
  if (pu(6u) != 0u) { acc = Y[e]; }
  for (var i = 0u; i < n; i++) {
    if (ids[i] == i32(r)) { acc += src[i * pu(4u) + c]; }
  }
  Y[e] = acc;
  if (e == 0u) {
    for (var i = 0u; i < n; i++) {
      let q = ids[i];
      if (q < 0 || u32(q) >= rows) { report_index_error(${kernelErrorCode(op)}u, q, rows); break; }
    }
  }
}`);

/**
 * Y[r * dim + c] (a buffer of rows * dim elements, written whole) = the sum over i in order of
 * src[i * width + col + c] where ids[i] == r (added to Y's values with `accumulate`): for ids
 * that have no host copy. Out-of-range ids are dropped and the first is reported at the next
 * read, under `op`.
 */
export function scanScatter(
  backend: WebGpuBackend,
  op: string,
  t: 'f32' | 'i32',
  src: GpuBuffer,
  ids: GpuBuffer,
  n: number,
  { width, col, rows, dim }: { width: number; col: number; rows: number; dim: number },
  y: GpuBuffer,
  accumulate = false,
): void {
  const size = rows * dim;
  if (size === 0) return;
  const p = new Params(op).u32(size, dim, rows, n, width, col, accumulate ? 1 : 0);
  backend.run(`${op}.ordered`, SCAN_CODE(t, op), [src, ids, y, backend.runtime.kernelErrors], p, Math.ceil(size / WG), [2]);
}

/**
 * Comparisons the scan kernel may take (output elements x ids) before a scatter-add of ids
 * with no host copy falls back to the atomic kernel (about a second on a software adapter).
 */
export const SCAN_LIMIT = 1 << 26;

let warned = false;

/**
 * Whether a scatter-add of `n` ids with no host copy into `outSize` elements scans in order;
 * if not (too large), says once on stderr that it adds with atomics, run-to-run different.
 */
export function scanAffordable(op: string, outSize: number, n: number): boolean {
  if (outSize * n <= SCAN_LIMIT) return true;
  if (!warned) {
    warned = true;
    console.warn(
      `${op}: ${n} ids computed on the GPU (or over the host-copy limit) into ${outSize} elements: ` +
        'added with atomics, whose order (and so the last bits) varies run to run; upload ids from the host for a fixed order',
    );
  }
  return false;
}
