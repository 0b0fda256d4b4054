// Looking at the GPU kernels: with `AITM_DEBUG=wgsl` in the environment (read once, when the
// package loads) or after `debugKernels(true)`, every WebGPU pipeline is printed as it is
// made, with the op that asked for it, the shapes it was specialised for and its WGSL.
// Kernels are generated per shape and cached, so each distinct kernel prints once: the first
// time a training step runs shows every kernel the step needs (tinygrad's DEBUG=4, here).
//
// A leaf module: `runOp` (op.ts) says which op is running, the pipeline cache
// (backends/webgpu/pipeline-cache.ts) says when it compiles a new pipeline; this file joins
// the two and hands the result to a sink.

import { envVar } from './env.js';

/** The shape and dtype of one tensor a kernel was specialised for. */
export interface KernelTensorInfo {
  readonly shape: readonly number[];
  readonly dtype: string;
}

/** One WebGPU pipeline, as it was created. */
export interface KernelDebugEntry {
  /**
   * The op that was running when the pipeline was made (`runOp`'s op name), or the kernel's
   * own label for kernels run outside an op (the fused Adam step, `checkRange`).
   */
  readonly op: string;
  /** The label the kernel was dispatched with (usually the op name; `'bmm'` for matmul's helpers). */
  readonly label: string;
  /** The op's inputs and output (empty and null outside an op). */
  readonly inputs: readonly KernelTensorInfo[];
  readonly output: KernelTensorInfo | null;
  /** The WGSL entry point. */
  readonly entryPoint: string;
  /** The whole WGSL source. */
  readonly wgsl: string;
}

/** Receives each pipeline as it is made. */
export type KernelDebugSink = (entry: KernelDebugEntry) => void;

interface RunningOp {
  readonly op: string;
  readonly inputs: readonly KernelTensorInfo[];
  readonly output: KernelTensorInfo;
}

/** Whether `AITM_DEBUG` (a comma-separated list, e.g. `wgsl` or `wgsl,other`) asks for the kernels. */
export function debugFlagsAskForWgsl(value: string | undefined): boolean {
  return (value ?? '').split(',').some((f) => f.trim() === 'wgsl');
}

let sink: KernelDebugSink | null = debugFlagsAskForWgsl(envVar('AITM_DEBUG')) ? printToStderr : null;
let running: RunningOp | null = null;
let count = 0;

/**
 * Turns the printing of WebGPU kernels on or off. With `to`, each kernel goes to that
 * function instead of stderr. `AITM_DEBUG=wgsl` in the environment turns it on at start.
 *
 * @example
 * debugKernels(true);                      // print to stderr
 * matmul(a, b);                            // prints "[wgsl] #1 bmm: [1,4,8] float32, [1,8,2] float32 -> [1,4,2] float32" and the kernel
 * const seen: KernelDebugEntry[] = [];
 * debugKernels(true, (k) => seen.push(k)); // or collect them
 * debugKernels(false);
 */
export function debugKernels(on: boolean, to?: KernelDebugSink): void {
  sink = on ? (to ?? printToStderr) : null;
}

/** Whether kernels are being printed (`debugKernels(true)` or `AITM_DEBUG=wgsl`). */
export function isKernelDebugOn(): boolean {
  return sink !== null;
}

/** @internal Called by `runOp` around a kernel: the op now running (null once it returned). */
export function setRunningOp(op: RunningOp | null): void {
  running = op;
}

/** @internal Called by the pipeline cache when it creates a pipeline. */
export function reportPipeline(label: string, entryPoint: string, wgsl: string): void {
  if (sink === null) return;
  const op = running;
  sink({ op: op?.op ?? label, label, inputs: op?.inputs ?? [], output: op?.output ?? null, entryPoint, wgsl });
}

/** One entry as text: a header line (op, shapes, label and entry point when they differ), then the WGSL. */
export function formatKernel(e: KernelDebugEntry, n?: number): string {
  const t = (x: KernelTensorInfo): string => `[${x.shape.join(',')}] ${x.dtype}`;
  const shapes = e.output === null ? '' : `: ${e.inputs.map(t).join(', ')} -> ${t(e.output)}`;
  const extra = [e.label !== e.op ? `label ${e.label}` : '', e.entryPoint !== 'main' ? `entry ${e.entryPoint}` : '']
    .filter((s) => s !== '')
    .join(', ');
  return `[wgsl]${n === undefined ? '' : ` #${n}`} ${e.op}${shapes}${extra === '' ? '' : ` (${extra})`}\n${e.wgsl.trimEnd()}\n`;
}

function printToStderr(e: KernelDebugEntry): void {
  console.error(formatKernel(e, ++count));
}
