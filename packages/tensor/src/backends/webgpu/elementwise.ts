// WGSL kernels for elementwise ops, generated from the expressions in the op tables
// (src/ops/elementwise.ts): one thread per output element. Broadcasting is specialised at
// code-generation time: equal shapes index directly, a one-element operand is read once,
// and only the general case decomposes the output index into coordinates.

import type { Kernel, KernelInput, TensorMeta } from '../../backend.js';
import { broadcastStrides, shapesEqual } from '../../shape.js';
import type { ShapeAttrs, UnaryAttrs } from '../../attrs.js';
import type { GpuBuffer } from './runtime.js';
import { kernelPreamble, wgslType, type WebGpuBackend } from './backend.js';
import { MAX_RANK, Params } from './params.js';

export const ELEMENTWISE_WG = 256;

const HEADER_WORDS = 2; // n, rank
const SHAPE_AT = HEADER_WORDS; // out shape: MAX_RANK words, then each input's strides

/**
 * How one input is read: at the thread's index ('same'), once ('scalar'), repeating along
 * leading axes ('suffix': its shape is the output's trailing axes, like a bias, so the
 * offset is i % size), or through general broadcast strides.
 */
type Access = 'same' | 'scalar' | 'suffix' | 'strided';

function accessOf(input: KernelInput<GpuBuffer>, out: TensorMeta): Access {
  if (input.size === 1) return 'scalar';
  if (shapesEqual(input.shape, out.shape)) return 'same';
  const own = input.shape.slice(input.shape.findIndex((d) => d !== 1));
  return shapesEqual(own, out.shape.slice(out.shape.length - own.length)) ? 'suffix' : 'strided';
}

/** The params word where input k's strides (or, for 'suffix', its size) start. */
const strideWord = (k: number): number => SHAPE_AT + MAX_RANK * (k + 1);

/** WGSL computing the element offset of input `k` for output index `i` (strided access). */
function stridedOffsetFn(k: number): string {
  const strideAt = strideWord(k);
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
  switch (access) {
    case 'same': return 'i';
    case 'scalar': return '0u';
    case 'suffix': return `i % pu(${strideWord(k)}u)`;
    case 'strided': return `offset${k}(i)`;
  }
}

/** Params: n, rank, out shape, then the broadcast strides of each strided input. */
function broadcastParams(label: string, inputs: readonly KernelInput<GpuBuffer>[], out: TensorMeta): Params {
  const p = new Params(label).u32(out.size, out.shape.length).u32Padded(out.shape, MAX_RANK);
  for (const t of inputs) {
    const a = accessOf(t, out);
    p.u32Padded(a === 'strided' ? broadcastStrides(t.shape, out.shape) : a === 'suffix' ? [t.size] : [], MAX_RANK);
  }
  return p;
}

/** Generated shaders by specialisation, so a training loop does not rebuild the strings. */
const codeCache = new Map<string, string>();

/**
 * Shared launcher: `names` are the WGSL identifiers of the inputs (bound 0..k-1), `value`
 * the WGSL expression of one output element in them; `floatAttrs` follow the broadcast
 * block in the params.
 *
 * When no input needs strided access and the length is a multiple of 4, each thread
 * handles four elements through vec4 loads and stores: on a software rasteriser
 * (llvmpipe) the per-invocation cost dominates, and this halves an elementwise op's time.
 */
function launch(
  backend: WebGpuBackend,
  label: string,
  inputs: readonly KernelInput<GpuBuffer>[],
  out: TensorMeta,
  names: readonly string[],
  /** A WGSL type to convert loaded values to ('' keeps the stored type). */
  loadAs: string,
  value: string,
  floatAttrs: readonly number[] = [],
  /** Write the attrs as i32 words instead of f32. */
  intAttrs = false,
): GpuBuffer {
  const y = backend.output(out);
  if (out.size === 0) return y;
  const access = inputs.map((t) => accessOf(t, out));
  const vec4 = out.size % 4 === 0 && access.every((a, k) => a === 'same' || a === 'scalar' || (a === 'suffix' && inputs[k]!.size % 4 === 0));
  const outType = wgslType(out.dtype);
  const key = `${label}|${value}|${loadAs}|${outType}|${vec4}|${inputs.map((t, k) => `${t.dtype}:${access[k]}`).join(',')}`;
  let code = codeCache.get(key);
  if (code === undefined) {
    code = vec4 ? vec4Code(inputs, access, outType, names, loadAs, value) : scalarCode(inputs, access, outType, names, loadAs, value);
    codeCache.set(key, code);
  }
  const params = intAttrs ? broadcastParams(label, inputs, out).i32(...floatAttrs) : broadcastParams(label, inputs, out).f32(...floatAttrs);
  const perThread = vec4 ? 4 : 1;
  backend.run(label, code, [...inputs.map((t) => t.data), y], params, Math.ceil(out.size / perThread / ELEMENTWISE_WG));
  return y;
}

const MAIN_HEAD = `@compute @workgroup_size(${ELEMENTWISE_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = linear_workgroup_id(wid, nwg) * ${ELEMENTWISE_WG}u + lid;`;

function scalarCode(inputs: readonly KernelInput<GpuBuffer>[], access: Access[], outType: string, names: readonly string[], loadAs: string, value: string): string {
  const decls = inputs.map((t, k) => `@group(0) @binding(${k}) var<storage, read> In${k}: array<${wgslType(t.dtype)}>;`).join('\n');
  const loads = names.map((n, k) => `  let ${n} = ${loadAs}(In${k}[${indexExpr(k, access[k]!)}]);`).join('\n');
  return `${kernelPreamble(inputs.length + 1)}
${decls}
@group(0) @binding(${inputs.length}) var<storage, read_write> Y: array<${outType}>;
${access.map((a, k) => (a === 'strided' ? stridedOffsetFn(k) : '')).join('\n')}
${MAIN_HEAD}
  if (i >= pu(0u)) { return; }
${loads}
  Y[i] = ${outType}(${value});
}`;
}

function vec4Code(inputs: readonly KernelInput<GpuBuffer>[], access: Access[], outType: string, names: readonly string[], loadAs: string, value: string): string {
  const decls = inputs
    .map((t, k) => {
      const el = wgslType(t.dtype);
      return `@group(0) @binding(${k}) var<storage, read> In${k}: array<${access[k] === 'scalar' ? el : `vec4<${el}>`}>;`;
    })
    .join('\n');
  const index4 = (k: number): string => (access[k] === 'same' ? 'i' : access[k] === 'suffix' ? `i % (pu(${strideWord(k)}u) / 4u)` : '0u');
  const loads4 = inputs.map((_, k) => `  let v${k} = In${k}[${index4(k)}];`).join('\n');
  const loads = names.map((n, k) => `    let ${n} = ${loadAs}(${access[k] === 'scalar' ? `v${k}` : `v${k}[lane]`});`).join('\n');
  return `${kernelPreamble(inputs.length + 1)}
${decls}
@group(0) @binding(${inputs.length}) var<storage, read_write> Y: array<vec4<${outType}>>;
${MAIN_HEAD}
  if (i * 4u >= pu(0u)) { return; }
${loads4}
  var r: vec4<${outType}>;
  for (var lane = 0u; lane < 4u; lane++) {
${loads}
    r[lane] = ${outType}(${value});
  }
  Y[i] = r;
}`;
}

/**
 * A unary op from its WGSL expression in `x` (f32) and `p.a`/`p.b`. int32 tensors use
 * `intExpr` in i32 (exact over the whole range), with the parameters truncated to integers
 * and saturated; an op without one refuses int32 on the GPU rather than round through f32.
 */
export function gpuUnary(name: string, expr: string, intExpr?: string): Kernel<'webgpu', UnaryAttrs> {
  // The attrs ride after the broadcast block (header, out shape, one input's strides).
  const at = SHAPE_AT + MAX_RANK * 2;
  const e = expr.replaceAll('p.a', `pf(${at}u)`).replaceAll('p.b', `pf(${at + 1}u)`);
  const ei = intExpr?.replaceAll('p.a', `pi(${at}u)`).replaceAll('p.b', `pi(${at + 1}u)`);
  return (backend, inputs, out, { a, b }) => {
    if (inputs[0]!.dtype !== 'int32') return launch(backend, name, inputs, out, ['x'], 'f32', e, [a, b]);
    if (ei === undefined) throw new Error(`${name}: int32 is not supported on the webgpu backend`);
    return launch(backend, name, inputs, out, ['x'], '', ei, [toInt32Bound(a), toInt32Bound(b)], true);
  };
}

/** A float parameter as the i32 an int32 op compares with: truncated, saturated (+-inf included). */
function toInt32Bound(v: number): number {
  if (Number.isNaN(v)) return 0;
  return Math.max(-2147483648, Math.min(2147483647, Math.trunc(v)));
}

/** A broadcasting binary op from its WGSL expression in `a` and `b` (in the inputs' type). */
export function gpuBinary(name: string, expr: string, intExpr = expr): Kernel<'webgpu', null> {
  return (backend, inputs, out) =>
    launch(backend, name, inputs, out, ['a', 'b'], '', inputs[0]!.dtype === 'int32' ? intExpr : expr);
}

/**
 * An op giving bool (stored as u32) from inputs of any dtype: `value(names)` is its WGSL
 * expression, given each input's truthiness test where it needs one. Used by the logical
 * ops and isnan.
 */
export function gpuPredicate(name: string, value: (inputs: readonly KernelInput<GpuBuffer>[]) => string): Kernel<'webgpu', null> {
  return (backend, inputs, out) => launch(backend, name, inputs, out, inputs.map((_, k) => `v${k}`), '', value(inputs));
}

/** WGSL testing input k (named v<k>) for nonzero in its own type; NaN counts as true, as in PyTorch. */
export const truthy = (inputs: readonly KernelInput<GpuBuffer>[], k: number): string => `!(v${k} == ${wgslType(inputs[k]!.dtype)}(0))`;

/** where(cond, a, b) with broadcasting of all three; cond is nonzero-means-true. */
export const gpuWhere: Kernel<'webgpu', null> = (backend, inputs, out) =>
  launch(backend, 'where', inputs, out, ['c', 'a', 'b'], '', `select(a, b, c == ${wgslType(inputs[0]!.dtype)}(0))`); // NaN is true

/** expand (broadcast_to) is the identity under broadcasting: it gets the same specialised access paths. */
export const gpuExpand: Kernel<'webgpu', ShapeAttrs> = (backend, inputs, out) =>
  launch(backend, 'expand', inputs, out, ['x'], '', 'x');
