// WGSL kernels of gatherConcat: every field's embedding lookup written straight into its
// columns of one [B, sum of dims] output, and the backward scatter-add of all fields into
// one flat gradient block. A kernel binds one buffer per table and per id vector (a WGSL
// shader cannot index an array of bindings, so the field is picked with a `switch`); fields
// beyond the adapter's storage-binding limit go to further dispatches, a chunk at a time.
// When all id vectors are views of one buffer (a batch uploaded as one [F, B] block) that
// buffer is bound once, with each field's offset in the parameters.
// Out-of-range ids follow gather's rules: checked on the host when the ids came from it,
// else a zero row forward and a dropped gradient backward.

import type { KernelInput, TensorMeta } from '../../backend.js';
import type { GpuBuffer } from './runtime.js';
import { offsetOf } from './buffer-pool.js';
import { kernelPreamble, numericType, wgslType, type WebGpuBackend, memoWgsl } from './backend.js';
import { MAX_PARAM_WORDS, Params } from './params.js';
import { addStatement, checkIds, ZERO_CODE } from './gather.js';
import { kernelErrorCode, kernelErrorWgsl } from './kernel-errors.js';
import { isDeterministic } from '../../determinism.js';
import { groupedScatter, scanAffordable, scanScatter } from './scatter-ordered.js';

const WG = 256;
/** Params before the per-field words: elements, chunk width, first column, row width. */
const HEAD = 4;
const FWD_WORDS = 3;
const BWD_WORDS = 4;
/** Forward words per field when the ids share one buffer: FWD_WORDS and the field's id offset. */
const SHARED_WORDS = 4;

/**
 * When every field's ids are views of one buffer (a batch uploaded as one [F, B] block), that
 * buffer and each field's element offset in it; otherwise null.
 */
function sharedIds(ids: readonly KernelInput<GpuBuffer>[]): { root: GpuBuffer; offsets: number[] } | null {
  const root = ids[0]!.data.root ?? ids[0]!.data;
  if (!ids.every((i) => (i.data.root ?? i.data) === root)) return null;
  return { root, offsets: ids.map((i) => (offsetOf(i.data) - offsetOf(root)) / 4) };
}

/** Splits 0..n-1 into consecutive chunks of at most `k`. */
function chunks(n: number, k: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < n; i += k) out.push(Array.from({ length: Math.min(k, n - i) }, (_, j) => i + j));
  return out;
}

/**
 * The start of both kernels, one thread per element of the chunk: sample b, chunk column c,
 * its field j (field j starts at column pu(HEAD + j * words)), the column within the field,
 * the field's dim and its table's rows.
 */
function prologue(k: number, words: number): string {
  return `@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let e = linear_workgroup_id(wid, nwg) * ${WG}u + lid;
  if (e >= pu(0u)) { return; }
  let w = pu(1u);
  let b = e / w;
  let c = e - b * w;
  var j = 0u;
  for (var q = 1u; q < ${k}u; q++) { if (c >= pu(${HEAD}u + q * ${words}u)) { j = q; } }
  let off = c - pu(${HEAD}u + j * ${words}u);
  let dim = pu(${HEAD + 1}u + j * ${words}u);
  let rows = pu(${HEAD + 2}u + j * ${words}u);`;
}

/**
 * `shared`: every field's ids are one buffer (IDS, field j's at element pu(HEAD + 3 + j * 4)),
 * bound once; otherwise one id buffer per field. Either way one table buffer per field.
 */
function forwardCodeBuild(t: 'f32' | 'i32', k: number, shared: boolean): string {
  const words = shared ? SHARED_WORDS : FWD_WORDS;
  const bind = Array.from({ length: k }, (_, i) =>
    shared
      ? `@group(0) @binding(${i}) var<storage, read> T${i}: array<${t}>;`
      : `@group(0) @binding(${2 * i}) var<storage, read> T${i}: array<${t}>;\n@group(0) @binding(${2 * i + 1}) var<storage, read> I${i}: array<i32>;`,
  ).join('\n');
  const idOf = (i: number) => (shared ? `IDS[pu(${HEAD + 3}u + j * ${words}u) + b]` : `I${i}[b]`);
  const cases = Array.from({ length: k }, (_, i) =>
    `    case ${i}u: { let r = ${idOf(i)}; if (r >= 0 && u32(r) < rows) { v = T${i}[u32(r) * dim + off]; } else { report_index_error(${kernelErrorCode('gatherConcat')}u, r, rows); } }`,
  ).join('\n');
  const nBuf = shared ? k + 3 : 2 * k + 2;
  return `${kernelPreamble(nBuf)}
${bind}
${shared ? `@group(0) @binding(${k}) var<storage, read> IDS: array<i32>;` : ''}
@group(0) @binding(${nBuf - 2}) var<storage, read_write> Y: array<${t}>;
${kernelErrorWgsl(nBuf - 1)}

${prologue(k, words)}
  var v = ${t}(0);
  switch j {
${cases}
    default: {}
  }
  Y[b * pu(3u) + pu(2u) + c] = v;
}`;
}
const forwardCode = memoWgsl(forwardCodeBuild);

/** `shared`: every field's ids are one buffer (field j's at element pu(HEAD + 4 + j * 5)), so no switch at all. */
function backwardCodeBuild(t: 'f32' | 'i32', k: number, shared: boolean): string {
  const words = shared ? BWD_WORDS + 1 : BWD_WORDS;
  const nIds = shared ? 1 : k;
  const bind = shared
    ? '@group(0) @binding(1) var<storage, read> IDS: array<i32>;'
    : Array.from({ length: k }, (_, i) => `@group(0) @binding(${i + 1}) var<storage, read> I${i}: array<i32>;`).join('\n');
  const cases = Array.from({ length: k }, (_, i) => `    case ${i}u: { r = I${i}[b]; }`).join('\n');
  return `${kernelPreamble(nIds + 3)}
@group(0) @binding(0) var<storage, read> DY: array<${t}>;
${bind}
@group(0) @binding(${nIds + 1}) var<storage, read_write> Y: array<atomic<${t === 'f32' ? 'u32' : 'i32'}>>;
${kernelErrorWgsl(nIds + 2)}

${prologue(k, words)}
  ${
    shared
      ? `let r = IDS[pu(${HEAD + 4}u + j * ${words}u) + b];`
      : `var r = -1;
  switch j {
${cases}
    default: {}
  }`
  }
  if (r < 0 || u32(r) >= rows) { report_index_error(${kernelErrorCode('gatherConcatGrad')}u, r, rows); return; }
  let dst = pu(${HEAD + 3}u + j * ${words}u) + u32(r) * dim + off;
  let v = DY[b * pu(3u) + pu(2u) + c];
  ${addStatement(t)}
}`;
}
const backwardCode = memoWgsl(backwardCodeBuild);

/** Column where each field starts, and the total width. */
function columns(dims: readonly number[]): { starts: number[]; width: number } {
  const starts: number[] = [];
  let width = 0;
  for (const d of dims) {
    starts.push(width);
    width += d;
  }
  return { starts, width };
}

export function gpuGatherConcat(
  backend: WebGpuBackend,
  tables: readonly KernelInput<GpuBuffer>[],
  ids: readonly KernelInput<GpuBuffer>[],
  out: TensorMeta,
): GpuBuffer {
  tables.forEach((tb, f) => checkIds(backend, `gatherConcat: field ${f}`, ids[f]!, tb.shape[0]!));
  const y = backend.output(out);
  const [batch, width] = out.shape as [number, number];
  if (out.size === 0) return y;
  const t = numericType('gatherConcat', out.dtype);
  const limit = backend.runtime.limits.maxStorageBuffersPerShaderStage;
  const shared = sharedIds(ids);
  const perDispatch = shared
    ? Math.min(limit - 3, Math.floor((MAX_PARAM_WORDS - HEAD) / SHARED_WORDS))
    : Math.min(Math.floor((limit - 2) / 2), Math.floor((MAX_PARAM_WORDS - HEAD) / FWD_WORDS));
  const { starts } = columns(tables.map((tb) => tb.shape[1]!));
  for (const fs of chunks(tables.length, perDispatch)) {
    const c0 = starts[fs[0]!]!;
    const w = fs.reduce((a, f) => a + tables[f]!.shape[1]!, 0);
    if (w === 0) continue;
    const p = new Params('gatherConcat').u32(batch * w, w, c0, width);
    for (const f of fs) {
      p.u32(starts[f]! - c0, tables[f]!.shape[1]!, tables[f]!.shape[0]!);
      if (shared) p.u32(shared.offsets[f]!);
    }
    const bufs = shared ? [...fs.map((f) => tables[f]!.data), shared.root] : fs.flatMap((f) => [tables[f]!.data, ids[f]!.data]);
    backend.run('gatherConcat', forwardCode(t, fs.length, shared !== null), [...bufs, y, backend.runtime.kernelErrors], p, Math.ceil((batch * w) / WG));
  }
  return y;
}

export function gpuGatherConcatGrad(
  backend: WebGpuBackend,
  dy: KernelInput<GpuBuffer>,
  ids: readonly KernelInput<GpuBuffer>[],
  fields: readonly { rows: number; dim: number; base: number }[],
  out: TensorMeta,
): GpuBuffer {
  fields.forEach(({ rows }, f) => checkIds(backend, `gatherConcat backward: field ${f}`, ids[f]!, rows));
  const y = backend.output(out);
  if (out.size === 0) return y;
  const t = numericType('gatherConcat', out.dtype);
  const [batch, width] = dy.shape as [number, number];
  if (isDeterministic() && batch > 0) {
    // Fixed order (determinism.ts): one dispatch when every field's ids are known on the host.
    const { starts } = columns(fields.map((f) => f.dim));
    const host = ids.map((i) => backend.hostInts(i.data)?.subarray(0, batch));
    if (host.every((h) => h !== undefined)) {
      groupedScatter(backend, t, dy.data, width, fields.map((f, j) => ({ base: f.base, dim: f.dim, rows: f.rows, col: starts[j]!, ids: host[j]! })), y, out.size);
      return y;
    }
    if (scanAffordable('gatherConcatGrad', out.size, batch)) {
      backend.run('gatherConcat.zero', ZERO_CODE, [y], new Params('gatherConcat').u32(out.size), Math.ceil(out.size / WG));
      fields.forEach((f, j) => {
        if (f.rows * f.dim === 0) return;
        const view = backend.runtime.view(y, f.base * 4, f.rows * f.dim * 4);
        scanScatter(backend, 'gatherConcatGrad', t, dy.data, ids[j]!.data, batch, { width, col: starts[j]!, rows: f.rows, dim: f.dim }, view, true);
      });
      return y;
    }
  }
  backend.run('gatherConcat.zero', ZERO_CODE, [y], new Params('gatherConcat').u32(out.size), Math.ceil(out.size / WG));
  if (batch === 0) return y;
  const limit = backend.runtime.limits.maxStorageBuffersPerShaderStage;
  const shared = sharedIds(ids);
  const words = shared ? BWD_WORDS + 1 : BWD_WORDS;
  const perDispatch = Math.min(shared ? Infinity : limit - 3, Math.floor((MAX_PARAM_WORDS - HEAD) / words));
  const { starts } = columns(fields.map((f) => f.dim));
  for (const fs of chunks(fields.length, perDispatch)) {
    const c0 = starts[fs[0]!]!;
    const w = fs.reduce((a, f) => a + fields[f]!.dim, 0);
    if (w === 0) continue;
    const p = new Params('gatherConcat').u32(batch * w, w, c0, width);
    for (const f of fs) {
      p.u32(starts[f]! - c0, fields[f]!.dim, fields[f]!.rows, fields[f]!.base);
      if (shared) p.u32(shared.offsets[f]!);
    }
    const idBufs = shared ? [shared.root] : fs.map((f) => ids[f]!.data);
    backend.run('gatherConcatGrad', backwardCode(t, fs.length, shared !== null), [dy.data, ...idBufs, y, backend.runtime.kernelErrors], p, Math.ceil((batch * w) / WG));
  }
  return y;
}
