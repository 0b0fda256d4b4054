// WGSL kernels for elementwise ops, generated from the expressions in the op tables
// (src/ops/elementwise.ts): one thread per output element. Broadcasting is specialised at
// code-generation time: equal shapes index directly, a one-element operand is read once,
// and only the general case decomposes the output index into coordinates.

import type { Kernel, KernelInput, TensorMeta } from '../../backend.js';
import { broadcastStrides, shapesEqual } from '../../shape.js';
import type { UnaryAttrs } from '../../ops/elementwise.js';
import type { GpuBuffer } from './runtime.js';
import { kernelPreamble, wgslType, type WebGpuBackend } from './backend.js';
import { MAX_RANK, Params } from './params.js';

export const ELEMENTWISE_WG = 256;

const HEADER_WORDS = 2; // n, rank
const SHAPE_AT = HEADER_WORDS; // out shape: MAX_RANK words, then each input's strides

/** How one input is read: at the thread's index, once, or through broadcast strides. */
type Access = 'same' | 'scalar' | 'strided';

function accessOf(input: KernelInput<GpuBuffer>, out: TensorMeta): Access {
  if (input.size === 1) return 'scalar';
  return shapesEqual(input.shape, out.shape) ? 'same' : 'strided';
}

/** WGSL computing the element offset of input `k` for output index `i` (strided access). */
function stridedOffsetFn(k: number): string {
  const strideAt = SHAPE_AT + MAX_RANK * (k + 1);
  return `
fn offset${k}(i: u32) -> u32 {
  var rem = i;
  var off = 0u;
  let rank = pu(1u);
  for (var d = 0u; d < rank; d++) {
    let dim = rank - 1u - d;
    let size = pu(${SHAPE_AT}u + dim);
    off += (rem % size) * pu(${strideAt}u + dim);
    rem = rem / size;
  }
  return off;
}`;
}

function indexExpr(k: number, access: Access): string {
  return access === 'same' ? 'i' : access === 'scalar' ? '0u' : `offset${k}(i)`;
}

/** Params: n, rank, out shape, then the broadcast strides of each strided input. */
function broadcastParams(label: string, inputs: readonly KernelInput<GpuBuffer>[], out: TensorMeta): Params {
  const p = new Params(label).u32(out.size, out.shape.length).u32Padded(out.shape, MAX_RANK);
  for (const t of inputs) p.u32Padded(accessOf(t, out) === 'strided' ? broadcastStrides(t.shape, out.shape) : [], MAX_RANK);
  return p;
}

/**
 * Shared launcher: `names` are the WGSL identifiers of the inputs (bound 0..k-1, loaded
 * as `let <name> = ...`), `body` the statement computing `Y[i]` from them; `floatAttrs`
 * follow the broadcast block in the params.
 */
function launch(
  backend: WebGpuBackend,
  label: string,
  inputs: readonly KernelInput<GpuBuffer>[],
  out: TensorMeta,
  names: readonly string[],
  /** A WGSL type to convert loaded values to ('' keeps the stored type). */
  loadAs: string,
  body: string,
  floatAttrs: readonly number[] = [],
): GpuBuffer {
  const y = backend.output(out);
  if (out.size === 0) return y;
  const access = inputs.map((t) => accessOf(t, out));
  const outType = wgslType(out.dtype);
  const decls = inputs
    .map((t, k) => `@group(0) @binding(${k}) var<storage, read> In${k}: array<${wgslType(t.dtype)}>;`)
    .join('\n');
  const loads = names.map((n, k) => `  let ${n} = ${loadAs}(In${k}[${indexExpr(k, access[k]!)}]);`).join('\n');
  const code = `${kernelPreamble(inputs.length + 1)}
${decls}
@group(0) @binding(${inputs.length}) var<storage, read_write> Y: array<${outType}>;
${access.map((a, k) => (a === 'strided' ? stridedOffsetFn(k) : '')).join('\n')}
@compute @workgroup_size(${ELEMENTWISE_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = linear_workgroup_id(wid, nwg) * ${ELEMENTWISE_WG}u + lid;
  if (i >= pu(0u)) { return; }
${loads}
  ${body}
}`;
  const params = broadcastParams(label, inputs, out).f32(...floatAttrs);
  backend.run(label, code, [...inputs.map((t) => t.data), y], params, Math.ceil(out.size / ELEMENTWISE_WG));
  return y;
}

/**
 * A unary op from its WGSL expression in `x` (f32) and `p.a`/`p.b`. int32 tensors are
 * computed in f32 and converted back (exact for |x| < 2^24, which covers ids and counts).
 */
export function gpuUnary(name: string, expr: string): Kernel<'webgpu', UnaryAttrs> {
  // The attrs ride after the broadcast block (header, out shape, one input's strides).
  const at = SHAPE_AT + MAX_RANK * 2;
  const e = expr.replaceAll('p.a', `pf(${at}u)`).replaceAll('p.b', `pf(${at + 1}u)`);
  return (backend, inputs, out, { a, b }) =>
    launch(backend, name, inputs, out, ['x'], 'f32', `Y[i] = ${wgslType(out.dtype)}(${e});`, [a, b]);
}

/** A broadcasting binary op from its WGSL expression in `a` and `b` (in the inputs' type). */
export function gpuBinary(name: string, expr: string): Kernel<'webgpu', null> {
  return (backend, inputs, out) =>
    launch(backend, name, inputs, out, ['a', 'b'], '', `Y[i] = ${wgslType(out.dtype)}(${expr});`);
}

/** where(cond, a, b) with broadcasting of all three; cond is nonzero-means-true. */
export const gpuWhere: Kernel<'webgpu', null> = (backend, inputs, out) =>
  launch(backend, 'where', inputs, out, ['c', 'a', 'b'], '', `Y[i] = select(b, a, c != ${wgslType(inputs[0]!.dtype)}(0));`);
