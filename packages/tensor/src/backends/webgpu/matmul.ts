// The WebGPU kernel of `bmm`: batched C[z] = op(A[z]) @ op(B[z]), with either operand stored
// transposed, as WGSL generated per specialisation (layout, vec4 alignment, tile shape).
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
import type { BmmAttrs, LinearActivation } from '../../attrs.js';
import { kernelPreamble, type WebGpuBackend } from './backend.js';
import { Params } from './params.js';
import { epilogueFn, NO_EPILOGUE, splitSumCode, type Epilogue } from './matmul-epilogue.js';
import type { GpuBuffer } from './runtime.js';

/** Outputs per thread along each axis of C. */
const BLOCK = 4;

/**
 * 'subgroup' is the register kernel sharing A through subgroups (where the adapter has
 * fixed 4- or 8-lane subgroups; otherwise it falls back to 'register').
 */
export type MatmulKernelChoice = 'auto' | 'subgroup' | 'register' | 'tiled';

let forced: MatmulKernelChoice = 'auto';

/**
 * Overrides the per-adapter kernel choice (tests run both kernels on whatever adapter they
 * have; the benchmark compares them). Returns the previous setting.
 */
export function setMatmulKernel(choice: MatmulKernelChoice): MatmulKernelChoice {
  const prev = forced;
  forced = choice;
  return prev;
}

/** One compiled specialisation; every field appears in the generated code. */
export interface BmmVariant {
  readonly algo: 'register' | 'tiled';
  /** Threads per workgroup along N (x) and M (y). */
  readonly wgX: number;
  readonly wgY: number;
  /** Rows of C per thread (4, or 1, 2 or 4 times the subgroup size with shareA); always 4 columns. */
  readonly rows: number;
  /**
   * 'register' only: the workgroup is one subgroup (wgX lanes) that all need the same
   * `rows` rows of A; each lane reads rows / wgX vec4 of them per step of K and
   * subgroupBroadcast hands them to the rest.
   */
  readonly shareA: boolean;
  /** K-slice staged in shared memory per step ('tiled' only). */
  readonly tk: number;
  readonly transA: boolean;
  readonly transB: boolean;
  /** The operand's contiguous axis is a multiple of 4, so it is bound and read as vec4. */
  readonly vecA: boolean;
  readonly vecB: boolean;
  readonly vecC: boolean;
  /** Epilogue: add BIAS[column] (bound after C), then the activation. */
  readonly bias: boolean;
  readonly act: LinearActivation;
}

export interface BmmPlan {
  readonly variant: BmmVariant;
  /** Workgroup tiles per matrix along M and N. */
  readonly tilesM: number;
  readonly tilesN: number;
  /** How many workgroups share one tile's K range (1: no reduction pass). */
  readonly splits: number;
  /** K per split, a multiple of 4 so vec4 reads stay aligned. */
  readonly kChunk: number;
  /**
   * Copy the operand into its K-contiguous layout first (A as [M, K], B as [N, K]); the
   * variant's trans flags describe the copy. See `planBmm`.
   */
  readonly copyA: boolean;
  readonly copyB: boolean;
}

export interface BmmProblem {
  readonly batch: number;
  readonly m: number;
  readonly n: number;
  readonly k: number;
  readonly transA: boolean;
  readonly transB: boolean;
}

/** What the plan needs to know of the adapter. */
export interface BmmDevice {
  /** A CPU implementation (llvmpipe, SwiftShader): barrier-free kernels win there. */
  readonly isSoftware: boolean;
  /** The subgroup size when the 'subgroups' feature is on and the size is fixed, else 0. */
  readonly subgroupSize: number;
}

/**
 * Picks the kernel, tile shape and K split for a problem.
 *
 * - Real GPUs get the tiled kernel: 64x64 tiles (16x16 threads) when there are enough of
 *   them to fill the device, 32x32 otherwise, 128x8 or 8x128 for outputs 8 or fewer wide.
 * - Software adapters get the register kernel. With fixed-size subgroups of 4 or 8 lanes
 *   (llvmpipe: 8) and an output at least 8 x 16, a workgroup is one subgroup computing an
 *   R x 4S block with A shared by subgroupBroadcast, R = S, 2S or 4S as M allows: at R = S
 *   measured 2x the plain register kernel on llvmpipe, because each lane then reads 5 vec4
 *   per 4-step of K instead of 8 for twice the multiply-adds; R = 4S reads 8 for 4x those.
 *   Otherwise 8x8 threads of 4x4 (2x32 or 32x2 for skinny outputs).
 * - K is split (then summed by a second dispatch) when the output tiles alone would leave
 *   most of the device idle and each split still gets 256 or more steps of K: the weight
 *   gradient of a Linear layer is a [out, in] output summed over thousands of rows.
 */
export function planBmm(p: BmmProblem, device: BmmDevice, choice: MatmulKernelChoice = forced): BmmPlan {
  const algo = choice === 'tiled' || (choice === 'auto' && !device.isSoftware) ? 'tiled' : 'register';
  // Workgroups that keep the device busy: llvmpipe runs one per CPU thread, a GPU wants
  // several per compute unit.
  const target = device.isSoftware ? 8 : 512;
  const sg = device.subgroupSize;
  // On llvmpipe an operand read across K with a row stride of 8 KB or more (B as [K, N],
  // A as [K, M]) aliases in the CPU caches: at 2048^3 such a product ran at 60% of the
  // rate with B stored [N, K]. Copying it to the K-contiguous layout costs one pass.
  const copyB = algo === 'register' && device.isSoftware && !p.transB && p.n >= 2048 && p.k >= 1024;
  const copyA = algo === 'register' && device.isSoftware && p.transA && p.m >= 2048 && p.k >= 1024;
  p = { ...p, transA: p.transA && !copyA, transB: p.transB || copyB };
  const canShare = algo === 'register' && choice !== 'register' && (sg === 4 || sg === 8);
  const shareA = canShare && (choice === 'subgroup' || (p.n >= 16 && p.m >= 8));
  let [wgX, wgY, rows] = [8, 8, BLOCK];
  // A subgroup computes up to 4 S x 4 S outputs (S = sg): per 4-step of K a lane loads 4
  // vec4 of A and 4 of B for 512 multiply-adds, against 5 loads for 128 at S rows. On
  // llvmpipe a load from a storage buffer costs 50-100x a multiply-add (bench/README.md,
  // "What limits us"), so fewer loads per multiply-add is the whole game: measured 1.2-1.4x
  // on the MLP's [2048, 32-64] products and 2-3x on its weight gradients at 4 S rows.
  if (shareA) [wgX, wgY, rows] = [sg, 1, p.m >= 4 * sg ? 4 * sg : p.m >= 2 * sg ? 2 * sg : sg];
  else {
    if (algo === 'tiled' && p.batch * Math.ceil(p.m / 64) * Math.ceil(p.n / 64) >= target) wgX = wgY = 16;
    // Skinny outputs waste most of a square tile: give the short side fewer threads.
    if (p.n <= BLOCK * 2 && p.m > p.n) [wgX, wgY] = [2, 32];
    else if (p.m <= BLOCK * 2 && p.n > p.m) [wgX, wgY] = [32, 2];
  }
  const tilesM = Math.ceil(p.m / (wgY * rows));
  const tilesN = Math.ceil(p.n / (wgX * BLOCK));
  const tiles = p.batch * tilesM * tilesN;
  const minChunk = 256;
  let splits = 1;
  if (tiles < target && p.k >= 2 * minChunk) splits = Math.min(Math.ceil(target / tiles), Math.floor(p.k / minChunk), 64);
  // Chunks are multiples of 16 (the tiled kernel's K step; keeps vec4 reads aligned).
  const kChunk = splits > 1 ? Math.ceil(p.k / splits / 16) * 16 : Math.max(p.k, 1);
  if (splits > 1) splits = Math.ceil(p.k / kChunk);
  const vecA = p.k > 0 && (p.transA ? p.m : p.k) % 4 === 0;
  const vecB = p.k > 0 && (p.transB ? p.k : p.n) % 4 === 0;
  const vecC = p.n % 4 === 0;
  const variant: BmmVariant = { algo, wgX, wgY, rows, shareA, tk: 16, transA: p.transA, transB: p.transB, vecA, vecB, vecC, bias: false, act: 'none' };
  return { variant, tilesM, tilesN, splits, kChunk, copyA, copyB };
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

export const gpuBmm: Kernel<'webgpu', BmmAttrs> = (backend, [a, b], out, { transA, transB }) => {
  const [batch, m, n] = out.shape as [number, number, number];
  const k = transA ? a!.shape[1]! : a!.shape[2]!;
  const c = backend.output(out);
  if (out.size === 0) return c;
  const plan = planBmm({ batch, m, n, k, transA, transB }, deviceOf(backend));
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
  const plan = planBmm({ batch: 1, m, n, k, transA: false, transB: true }, deviceOf(backend));
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

const codeCache = new Map<string, string>();

/** The WGSL of one variant (memoised: the pipeline cache hashes the text anyway). */
export function bmmCode(v: BmmVariant): string {
  const key = JSON.stringify(v);
  let code = codeCache.get(key);
  if (code === undefined) {
    code = v.algo === 'register' ? registerKernel(v) : tiledKernel(v);
    codeCache.set(key, code);
  }
  return code;
}

const COMP = ['x', 'y', 'z', 'w'] as const;
const range4 = [0, 1, 2, 3] as const;

function header(v: BmmVariant): string {
  const ty = (vec: boolean): string => (vec ? 'vec4<f32>' : 'f32');
  // Scalar reads of a vec4-bound operand (the tail of K, the tiled loads' edges).
  const ld = (name: string, vec: boolean): string =>
    vec
      ? `fn ld${name}(i: u32) -> f32 { return ${name}[i >> 2u][i & 3u]; }`
      : `fn ld${name}(i: u32) -> f32 { return ${name}[i]; }`;
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> A: array<${ty(v.vecA)}>;
@group(0) @binding(1) var<storage, read> B: array<${ty(v.vecB)}>;
@group(0) @binding(2) var<storage, read_write> C: array<${ty(v.vecC)}>;
${v.bias ? '@group(0) @binding(3) var<storage, read> BIAS: array<f32>;' : ''}
${kernelPreamble(v.bias ? 4 : 3)}
${ld('A', v.vecA)}
${ld('B', v.vecB)}
${epilogueFn(v.bias, v.act, true)}
`;
}

/**
 * Decodes the linear workgroup id into (tile tm, tile tn, batch z, split s) and the K range.
 * tm varies fastest, so workgroups running together read the same columns of B (measured
 * 20% faster at 2048 on llvmpipe than tn fastest, where the whole of B streams per row).
 */
const PROLOGUE = /* wgsl */ `
  let M = pu(0u); let N = pu(1u); let K = pu(2u); let batch = pu(3u);
  let tilesN = pu(4u); let tilesM = pu(5u); let kChunk = pu(6u); let splits = pu(7u);
  var id = linear_workgroup_id(wid, nwg);
  if (id >= tilesN * tilesM * batch * splits) { return; }
  let tm = id % tilesM; id = id / tilesM;
  let tn = id % tilesN; id = id / tilesN;
  let z = id % batch; let s = id / batch;
  let k0 = s * kChunk;
  let k1 = min(K, k0 + kChunk);
  let aBase = z * M * K;
  let bBase = z * K * N;
  let cBase = (s * batch + z) * M * N;`;

/** Writes the thread's block (a vec4 accumulator per row) at rows m0.., columns n0... */
function storeBlock(v: BmmVariant): string {
  const out: string[] = [];
  for (let i = 0; i < v.rows; i++) {
    const row = `cBase + (m0 + ${i}u) * N + n0`;
    const val = v.bias || v.act !== 'none' ? `epi(acc${i}, n0, N)` : `acc${i}`;
    let body: string;
    if (v.vecC) body = `C[(${row}) >> 2u] = ${val};`;
    else {
      body = `let r = ${row}; let o = ${val}; C[r] = o.x;
      if (n0 + 1u < N) { C[r + 1u] = o.y; }
      if (n0 + 2u < N) { C[r + 2u] = o.z; }
      if (n0 + 3u < N) { C[r + 3u] = o.w; }`;
    }
    out.push(`  if (m0 + ${i}u < M) {\n      ${body}\n  }`);
  }
  return `  if (n0 < N) {\n${out.join('\n')}\n  }`;
}

/**
 * The barrier-free kernel: a thread computes `rows` x 4 outputs, reading op(A) and op(B)
 * straight from storage in steps of 4 along K (vec4 reads where aligned), 16 x rows
 * multiply-adds per step. Rows and columns past the edge are clamped to the last valid one
 * (reads stay in bounds, results are discarded), so the K loop has no branches and no
 * thread leaves early (subgroupBroadcast needs every lane). With `shareA` all lanes need the
 * same `rows` rows of A: lane p reads one vec4 of that block per step and broadcasts it,
 * so a lane issues 5 vec4 reads per step instead of rows + 4.
 */
function registerKernel(v: BmmVariant): string {
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

/**
 * The shared-memory kernel: per step the workgroup copies a TM x tk slice of op(A) and a
 * tk x TN slice of op(B) into workgroup memory (zero outside the matrices), laid out
 * k-major in vec4s, so per k a thread reads its 4 rows and its 4 columns as one vec4 each
 * (2 shared reads per 16 multiply-adds). An operand stored along K is transposed on the
 * way in, one component at a time.
 */
function tiledKernel(v: BmmVariant): string {
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
