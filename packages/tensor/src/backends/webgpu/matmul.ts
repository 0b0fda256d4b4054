// Dispatch of the WebGPU `bmm` kernel and of the fused linear forward: plans the product,
// copies an operand to its K-contiguous layout where the plan asks, records the dispatches.
//
// bmm is batched C[z] = op(A[z]) @ op(B[z]), with either operand stored transposed, as WGSL
// generated per specialisation (layout, vec4 alignment, tile shape): matmul-plan.ts picks
// it, matmul-register.wgsl.ts and matmul-tiled.wgsl.ts generate it.
//
// For study, `withMatmulKernel('naive', fn)` selects matmul-naive.wgsl.ts: one output per
// invocation and a plain loop over K, the textbook kernel the two below speed up.
//
// Two kernel families, chosen per adapter by `planBmm`:
// - 'register': barrier-free; each thread keeps a block of C (4 columns, 4 or 8 rows) in
//   registers and reads A and B straight from storage, vec4 where aligned. On software
//   adapters (llvmpipe) a workgroup runs on one CPU thread with the invocations as SIMD
//   lanes: barriers and shared memory only add copies there (the tiled kernel measured 2x
//   slower). Where subgroups have a fixed 4 or 8 lanes, a workgroup is one subgroup that
//   shares the rows of A through subgroupBroadcast (2x again on llvmpipe).
// - 'tiled': the workgroup stages K-slices of A and B in shared memory and each thread
//   computes 4x4 outputs from them, which is what makes real GPUs fast (every value fetched
//   from memory is used by 16-64 threads). Not measurable on this project's CI (llvmpipe);
//   the tests check its results there.
// Both split K across workgroups when the output alone has too few tiles to fill the device
// (the weight gradient of a Linear layer: [out, in] outputs summed over thousands of rows);
// a second dispatch sums the partial products. Sums are accumulated in f32.
// An optional epilogue (a per-column bias, then relu or sigmoid) is applied as the tile is
// stored (or as split-K partials are summed): the fused `linear` op's forward pass.

import type { Kernel, TensorMeta } from '../../backend.js';
import type { BmmAttrs } from '../../attrs.js';
import { kernelPreamble, memoWgsl, type WebGpuBackend } from './backend.js';
import { Params } from './params.js';
import { NO_EPILOGUE, splitSumCode, type Epilogue } from './matmul-epilogue.js';
import { planBmm, type BmmDevice, type BmmPlan, type BmmVariant, type MatmulKernelChoice } from './matmul-plan.js';
import { registerKernel } from './matmul-register.wgsl.js';
import { tiledKernel } from './matmul-tiled.wgsl.js';
import { naiveKernel } from './matmul-naive.wgsl.js';
import type { GpuBuffer } from './runtime.js';

/** The kernel choice inside `withMatmulKernel`; 'auto' (the plan's per-adapter pick) elsewhere. */
let scopedChoice: MatmulKernelChoice = 'auto';

/**
 * Runs `fn` with the per-adapter kernel choice overridden for every bmm and linear product
 * it records (tests run each kernel on whatever adapter they have; the benchmark compares
 * them), then restores the previous choice, also when `fn` throws: no setting outlives the
 * call. Products are planned when an op is called, synchronously, so `fn` must be
 * synchronous; a returned promise is refused, as its continuation would run unscoped.
 *
 * @example
 * const y = withMatmulKernel('tiled', () => T.matmul(a, b));
 */
export function withMatmulKernel<R>(choice: MatmulKernelChoice, fn: () => R): R {
  const prev = scopedChoice;
  scopedChoice = choice;
  let result: R;
  try {
    result = fn();
  } finally {
    scopedChoice = prev;
  }
  if (result instanceof Promise) {
    throw new Error('withMatmulKernel: fn returned a promise; the override covers only what fn records synchronously');
  }
  return result;
}

const devices = new WeakMap<WebGpuBackend, BmmDevice>();

function deviceOf(backend: WebGpuBackend): BmmDevice {
  let d = devices.get(backend);
  if (!d) {
    const { adapter, device } = backend.runtime;
    // adapterInfo is on GPUDevice in current WebGPU; absent, assume no fixed subgroup size.
    const info = (device as { adapterInfo?: { subgroupMinSize?: number; subgroupMaxSize?: number } }).adapterInfo;
    const fixed = info?.subgroupMinSize !== undefined && info.subgroupMinSize === info.subgroupMaxSize;
    d = { isSoftware: adapter.isSoftware, subgroupSize: adapter.features.includes('subgroups') && fixed ? info.subgroupMinSize! : 0 };
    devices.set(backend, d);
  }
  return d;
}

/** The `bmm` op's WebGPU kernel: [batch, M, N] from A and B, either stored transposed. */
export const gpuBmm: Kernel<'webgpu', BmmAttrs> = (backend, [a, b], out, { transA, transB }) => {
  const [batch, m, n] = out.shape as [number, number, number];
  const k = transA ? a!.shape[1]! : a!.shape[2]!;
  const c = backend.output(out);
  if (out.size === 0) return c;
  const plan = planBmm({ batch, m, n, k, transA, transB }, deviceOf(backend), scopedChoice);
  runBmm(backend, plan, a!.data, b!.data, c, out, batch, m, n, k, NO_EPILOGUE);
  return c;
};

/**
 * act(x @ W^T + bias) for x [M, K] and W [N, K] (torch Linear layout): one matmul dispatch
 * with the epilogue, or two when K is split.
 */
export function gpuLinearForward(backend: WebGpuBackend, x: GpuBuffer, w: GpuBuffer, out: TensorMeta, k: number, epi: Epilogue): GpuBuffer {
  const [m, n] = out.shape as [number, number];
  const c = backend.output(out);
  if (out.size === 0) return c;
  const plan = planBmm({ batch: 1, m, n, k, transA: false, transB: true }, deviceOf(backend), scopedChoice);
  runBmm(backend, plan, x, w, c, out, 1, m, n, k, epi);
  return c;
}

function runBmm(
  backend: WebGpuBackend,
  plan: BmmPlan,
  a: GpuBuffer,
  b: GpuBuffer,
  c: GpuBuffer,
  out: TensorMeta,
  batch: number,
  m: number,
  n: number,
  k: number,
  epi: Epilogue,
): void {
  const { tilesM, tilesN, splits, kChunk } = plan;
  // With split K the epilogue runs in the summing pass, after the whole sum is known.
  const variant: BmmVariant = splits === 1 ? { ...plan.variant, bias: epi.bias !== null, act: epi.act } : plan.variant;
  const bias = epi.bias ? [epi.bias] : [];
  const temps: GpuBuffer[] = [];
  // [batch, K, M] -> [batch, M, K] and [batch, K, N] -> [batch, N, K].
  if (plan.copyA) temps.push((a = transposed(backend, a, batch, k, m)));
  if (plan.copyB) temps.push((b = transposed(backend, b, batch, k, n)));
  const params = new Params('bmm').u32(m, n, k, batch, tilesN, tilesM, kChunk, splits);
  const workgroups = batch * tilesM * tilesN * splits;
  const label = epi.bias !== null || epi.act !== 'none' ? 'linear' : 'bmm';
  if (splits === 1) backend.run(label, bmmCode(variant), [a, b, c, ...bias], params, workgroups);
  else {
    const partial = backend.runtime.alloc(splits * out.size * 4);
    temps.push(partial);
    backend.run(label, bmmCode(variant), [a, b, partial], params, workgroups);
    // vec4 groups must not straddle rows when the epilogue needs each one's column.
    const vec = out.size % 4 === 0 && (label === 'bmm' || n % 4 === 0);
    const words = vec ? out.size / 4 : out.size;
    const sumParams = new Params('bmm').u32(words, splits, n);
    backend.run(label, splitSumCode(vec, epi.bias !== null, epi.act), [partial, c, ...bias], sumParams, Math.ceil(words / 64));
  }
  // Safe: the dispatches recorded above still see the buffers' contents.
  for (const t of temps) backend.runtime.release(t);
}

/** A new buffer holding each [rows, cols] matrix of x transposed to [cols, rows]. */
function transposed(backend: WebGpuBackend, x: GpuBuffer, batch: number, rows: number, cols: number): GpuBuffer {
  const size = batch * rows * cols;
  const y = backend.runtime.alloc(size * 4);
  backend.run('bmm', TRANSPOSE_CODE, [x, y], new Params('bmm').u32(rows, cols, size), Math.ceil(size / 64));
  return y;
}

/** out[z, c, r] = x[z, r, c]: one output per thread, so the writes are contiguous. */
const TRANSPOSE_CODE = /* wgsl */ `// bmm: operand copied to its K-contiguous layout
@group(0) @binding(0) var<storage, read> X: array<f32>;
@group(0) @binding(1) var<storage, read_write> Y: array<f32>;
${kernelPreamble(2)}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let rows = pu(0u); let cols = pu(1u);
  let i = linear_workgroup_id(wid, nwg) * 64u + lid;
  if (i >= pu(2u)) { return; }
  let z = i / (rows * cols); let j = i % (rows * cols);
  let c = j / rows; let r = j % rows;
  Y[i] = X[z * rows * cols + r * cols + c];
}
`;

// memoWgsl takes scalar arguments: a variant is keyed by its JSON (all its fields are scalars).
const bmmCodeByKey = memoWgsl((key: string): string => {
  const v = JSON.parse(key) as BmmVariant;
  return v.algo === 'register' ? registerKernel(v) : v.algo === 'tiled' ? tiledKernel(v) : naiveKernel(v);
});

/** The WGSL of one variant (memoised: the pipeline cache hashes the text anyway). */
export function bmmCode(v: BmmVariant): string {
  return bmmCodeByKey(JSON.stringify(v));
}
