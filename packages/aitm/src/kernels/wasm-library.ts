// The aitm package's wasm kernels: AssemblyScript in packages/aitm/wasm/, compiled by the
// tensor package's scripts/build-wasm.mjs into wasm-kernels.generated.ts (not committed; `pnpm
// build` makes it), and defined here as a kernel library, which the wasm backend instantiates
// beside its own kernels and hands to its worker threads. Its constant tables (the exp and log
// tables of AssemblyScript's Math) lie from byte 32768 (the build's --memory-base).

import { defineWasmKernels } from '@aitm/tensor';
import * as binaries from './wasm-kernels.generated.js';

/** The library's exports (addresses in bytes; ranges [lo, hi) last). */
export interface AitmWasmKernels {
  /** wasm/attention.ts: samples [b0, b1) of the core's output [batch, d] (weights 0) or its weights [batch, 2] (weights 1). */
  readonly attentionRows: (qkv: number, out: number, batch: number, d: number, weights: number, b0: number, b1: number) => void;
  /** wasm/attention.ts: samples [b0, b1) of dQKV from QKV and the output's gradient. */
  readonly attentionGradRows: (qkv: number, g: number, out: number, batch: number, d: number, b0: number, b1: number) => void;
  /** wasm/loss.ts: the loss of p and y [batch, tasks]. */
  readonly lossForward: (p: number, y: number, batch: number, tasks: number, alpha: number) => number;
  /** wasm/loss.ts: elements [e0, e1) of dL/dp. */
  readonly lossGradRange: (p: number, y: number, dy: number, out: number, n: number, tasks: number, alpha: number, invBatch: number, eps: number, e0: number, e1: number) => void;
}

/** The aitm kernel library (see the file comment). */
export const aitmWasm = defineWasmKernels<AitmWasmKernels>('aitm', binaries);
