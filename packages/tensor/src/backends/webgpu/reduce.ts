// WGSL reductions (sum, max) over any set of axes. The input is first viewed as alternating
// blocks of kept and reduced dimensions (size-1 axes dropped, neighbours of the same kind
// merged), so `sum(x, [1, 2])` of [a, b, c, d] is a reduction of [a, b*c, d] over the
// middle. Two strategies: one thread per output when the reduced length R is short, and
// one workgroup per output with a shared-memory tree when R is long, so that a few outputs
// over many elements (bias gradients: [8192, 32] summed over axis 0) still fill the GPU.

import type { Kernel } from '../../backend.js';
import type { ReduceAttrs } from '../../attrs.js';
import { kernelPreamble, numericType, wgslType, memoWgsl } from './backend.js';
import { MAX_RANK, Params } from './params.js';
import { int32SumOverflow } from '../cpu/kernels.js';
import { kernelErrorCodeFor, kernelErrorWgsl } from './kernel-errors.js';

/** Threads per workgroup in the one-thread-per-output kernel. */
const THREAD_WG = 64;
/** Threads per workgroup in the one-workgroup-per-output kernel (a power of two for the tree). */
const TREE_WG = 256;
/** Up to this reduced length each output is a plain loop in one thread. */
const SHORT_REDUCTION = 64;

const HEADER_WORDS = 3; // outputs, R, init bits

interface Block {
  size: number;
  stride: number;
}

/**
 * The kept and reduced blocks of `shape` (row-major strides), each list outermost first.
 * Output index o is the row-major index over `kept`; r the row-major index over `reduced`.
 */
export function reductionBlocks(shape: readonly number[], axes: readonly number[]): { kept: Block[]; reduced: Block[] } {
  const kept: Block[] = [];
  const reduced: Block[] = [];
  let last: Block[] | null = null;
  let stride = 1;
  const dims: { size: number; stride: number; red: boolean }[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    dims.unshift({ size: shape[d]!, stride, red: axes.includes(d) });
    stride *= shape[d]!;
  }
  for (const { size, stride: s, red } of dims) {
    if (size === 1) continue; // contributes nothing to either index
    const list = red ? reduced : kept;
    if (last === list) {
      // Adjacent in memory (only size-1 axes between): merge into one block.
      const prev = list[list.length - 1]!;
      prev.size *= size;
      prev.stride = s;
    } else {
      list.push({ size, stride: s });
    }
    last = list;
  }
  return { kept, reduced };
}

/** WGSL `fn name(i: u32) -> u32`: the element offset of row-major index i over `n` blocks whose sizes start at word `at`. */
function offsetFn(name: string, n: number, at: number): string {
  if (n === 0) return `fn ${name}(i: u32) -> u32 { return 0u; }`;
  const lines: string[] = [];
  for (let k = n - 1; k >= 1; k--) {
    lines.push(`  off += (rem % pu(${at + k}u)) * pu(${at + n + k}u);`, `  rem = rem / pu(${at + k}u);`);
  }
  // The outermost block needs no modulo: i is below the product of the sizes.
  lines.push(`  off += rem * pu(${at + n}u);`);
  return `fn ${name}(i: u32) -> u32 {\n  var rem = i;\n  var off = 0u;\n${lines.join('\n')}\n  return off;\n}`;
}

/** The error code of an int32 sum that does not fit int32: payload the low and high words of the exact sum. */
const sumOverflowCode = (): number =>
  kernelErrorCodeFor('sum', 'int32 overflow', (lo, hi) => int32SumOverflow((hi | 0) * 4294967296 + lo), 'int32 sums that do not fit');

/**
 * An int32 sum accumulates exactly in 64 bits (vec2<u32>: low word, high word with the carry);
 * its store checks that the result fits int32 and otherwise reports it (see ./kernel-errors.ts).
 */
function wideSumFns(): string {
  return /* wgsl */ `
fn lift(v: i32) -> vec2<u32> { return vec2<u32>(bitcast<u32>(v), select(0u, 0xffffffffu, v < 0)); }
fn combine(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
  let lo = a.x + b.x;
  return vec2<u32>(lo, a.y + b.y + select(0u, 1u, lo < a.x));
}
fn store(o: u32, acc: vec2<u32>) {
  if (acc.y != select(0u, 0xffffffffu, (acc.x & 0x80000000u) != 0u)) { report_kernel_error(${sumOverflowCode()}u, acc.x, acc.y); }
  Y[o] = bitcast<i32>(acc.x);
}`;
}

function combineFn(kind: 'sum' | 'max', t: 'f32' | 'i32'): string {
  if (kind === 'sum' && t === 'i32') return wideSumFns();
  const plain = `fn lift(v: ${t}) -> ${t} { return v; }\nfn store(o: u32, acc: ${t}) { Y[o] = acc; }\n`;
  if (kind === 'sum') return `${plain}fn combine(a: ${t}, b: ${t}) -> ${t} { return a + b; }`;
  return plain + combineMax(t);
}

function combineMax(t: 'f32' | 'i32'): string {
  if (t === 'i32') return 'fn combine(a: i32, b: i32) -> i32 { return max(a, b); }';
  // NaN wins, as in the CPU kernel. Tested on the bits so no compiler assumes NaN away.
  return /* wgsl */ `
fn combine(a: f32, b: f32) -> f32 {
  if (is_nan(a)) { return a; }
  if (is_nan(b) || b > a) { return b; }
  return a;
}`;
}

function reduceCodeBuild(kind: 'sum' | 'max', t: 'f32' | 'i32', nk: number, nr: number, perWorkgroup: boolean): string {
  const keptAt = HEADER_WORDS;
  const redAt = HEADER_WORDS + 2 * nk;
  const wide = kind === 'sum' && t === 'i32';
  const acc = wide ? 'vec2<u32>' : t;
  const init = wide ? 'vec2<u32>(0u, 0u)' : `bitcast<${t}>(pu(2u))`;
  const head = `${kernelPreamble(wide ? 3 : 2)}
@group(0) @binding(0) var<storage, read> X: array<${t}>;
@group(0) @binding(1) var<storage, read_write> Y: array<${t}>;
${wide ? kernelErrorWgsl(2) : ''}
${combineFn(kind, t)}
${offsetFn('kept_offset', nk, keptAt)}
${offsetFn('reduced_offset', nr, redAt)}
`;
  if (!perWorkgroup) {
    return `${head}
@compute @workgroup_size(${THREAD_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let o = linear_workgroup_id(wid, nwg) * ${THREAD_WG}u + lid;
  if (o >= pu(0u)) { return; }
  let base = kept_offset(o);
  let len = pu(1u);
  var acc = ${init};
  for (var r = 0u; r < len; r++) { acc = combine(acc, lift(X[base + reduced_offset(r)])); }
  store(o, acc);
}`;
  }
  return `${head}
var<workgroup> partial: array<${acc}, ${TREE_WG}>;

@compute @workgroup_size(${TREE_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let o = linear_workgroup_id(wid, nwg);
  if (o >= pu(0u)) { return; } // uniform: the whole workgroup leaves together
  let base = kept_offset(o);
  let len = pu(1u);
  var acc = ${init};
  for (var r = lid; r < len; r += ${TREE_WG}u) { acc = combine(acc, lift(X[base + reduced_offset(r)])); }
  partial[lid] = acc;
  workgroupBarrier();
  for (var s = ${TREE_WG / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) { partial[lid] = combine(partial[lid], partial[lid + s]); }
    workgroupBarrier();
  }
  if (lid == 0u) { store(o, partial[0]); }
}`;
}
const reduceCode = memoWgsl(reduceCodeBuild);

/** The identity of `kind` as the bits of a `dtype` word (WGSL constants cannot be infinite). */
function initParam(p: Params, kind: 'sum' | 'max', t: 'f32' | 'i32'): Params {
  if (kind === 'sum') return p.u32(0);
  return t === 'f32' ? p.f32(-Infinity) : p.i32(-2147483648);
}

/**
 * The WebGPU kernel of `sum` or `max` (see ReduceAttrs; keepdim only changes the output's
 * shape, not its data). Sums accumulate in f32, or for int32 exactly in 64 bits, a result
 * that does not fit int32 being reported through the kernel-error buffer (the next read
 * throws, as the CPU kernel does at the call). A sum
 * over an empty axis gives zeros; max over one is rejected before reaching the kernel.
 */
export function gpuReduce(kind: 'sum' | 'max'): Kernel<'webgpu', ReduceAttrs> {
  return (backend, [x], out, { axes }) => {
    const y = backend.output(out);
    if (out.size === 0) return y;
    if (x!.shape.length > MAX_RANK) throw new Error(`${kind}: rank ${x!.shape.length} exceeds the ${MAX_RANK} the GPU kernels index`);
    const t = numericType(kind, x!.dtype);
    const { kept, reduced } = reductionBlocks(x!.shape, axes);
    const len = reduced.reduce((acc, b) => acc * b.size, 1); // 0 when reducing an empty axis
    const perWorkgroup = len > SHORT_REDUCTION;
    const p = initParam(new Params(kind).u32(out.size, len), kind, t)
      .u32(...kept.map((b) => b.size), ...kept.map((b) => b.stride))
      .u32(...reduced.map((b) => b.size), ...reduced.map((b) => b.stride));
    const code = reduceCode(kind, t, kept.length, reduced.length, perWorkgroup);
    const buffers = kind === 'sum' && t === 'i32' ? [x!.data, y, backend.runtime.kernelErrors] : [x!.data, y];
    backend.run(kind, code, buffers, p, perWorkgroup ? out.size : Math.ceil(out.size / THREAD_WG));
    return y;
  };
}
