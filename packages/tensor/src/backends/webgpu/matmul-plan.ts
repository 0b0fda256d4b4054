// The choice of bmm kernel, tile shape and K split per problem and adapter: pure logic with
// no GPU imports, so it runs (and is tested) on machines without an adapter.

import type { LinearActivation } from '../../attrs.js';

/** Outputs per thread along each axis of C (the columns of every kernel; the rows of most). */
export const BLOCK = 4;

/**
 * 'subgroup' is the register kernel sharing A through subgroups (where the adapter has
 * fixed 4- or 8-lane subgroups; otherwise it falls back to 'register'). 'naive' is the
 * reference kernel for study (matmul-naive.wgsl.ts): one output per invocation, a plain
 * loop over K, no tiling; never picked by 'auto'.
 */
export type MatmulKernelChoice = 'auto' | 'subgroup' | 'register' | 'tiled' | 'naive';

/** One compiled specialisation; every field appears in the generated code. */
export interface BmmVariant {
  readonly algo: 'register' | 'tiled' | 'naive';
  /** Threads per workgroup along N (x) and M (y). */
  readonly wgX: number;
  readonly wgY: number;
  /** Rows of C per thread (4, or 1, 2 or 4 times the subgroup size with shareA); 4 columns ('naive': 1 x 1). */
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

/** How one problem is dispatched: the kernel variant, its grid, the K split and operand copies. */
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

/** One batched product C[batch, m, n] = op(A) @ op(B), summed over k. */
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
 *
 * `choice` overrides the per-adapter kernel ('auto' keeps it).
 */
export function planBmm(p: BmmProblem, device: BmmDevice, choice: MatmulKernelChoice = 'auto'): BmmPlan {
  if (choice === 'naive') return naivePlan(p);
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

/** Workgroup side of the naive kernel: 8 x 8 invocations, one output each. */
export const NAIVE_WG = 8;

/** The naive kernel's plan: 8 x 8 outputs per workgroup, no K split, no operand copies, scalar reads. */
function naivePlan(p: BmmProblem): BmmPlan {
  const variant: BmmVariant = {
    algo: 'naive', wgX: NAIVE_WG, wgY: NAIVE_WG, rows: 1, shareA: false, tk: 0,
    transA: p.transA, transB: p.transB, vecA: false, vecB: false, vecC: false, bias: false, act: 'none',
  };
  const tilesM = Math.ceil(p.m / NAIVE_WG);
  const tilesN = Math.ceil(p.n / NAIVE_WG);
  return { variant, tilesM, tilesN, splits: 1, kChunk: Math.max(p.k, 1), copyA: false, copyB: false };
}
